"""A buyer's return parcel that is out of area, stranded, refused, sent back, returned to the buyer, badly
addressed, unreachable or left in a locker travels to the shop, not to the buyer: its next action never tells a
lead to reship to the buyer, transfer the buyer's parcel or remind the buyer to collect. The pure rules and the
SQL path name the same `.return` key, and the outbound parcel keeps its kind's own."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from tracker.flags import evaluate_all, next_action
from tracker.rules import RULES
from tracker.status import Direction, FlagKind, TrackingStatus
from tracker.storage.tables import FLAG, PARCEL

NOW = datetime.fromisoformat("2026-11-23T04:00:00+00:00")
H = timedelta(hours=1)
RULE = {rule.kind: rule.evaluate for rule in RULES}

# kind -> (status, newest courier text), as a courier reports each
CASES = {
    FlagKind.out_of_area: (TrackingStatus.out_of_area, "【南宁市】快件超区,无法派送"),
    FlagKind.blind_area: (TrackingStatus.in_transit, "【拉萨市】该地区无网点,快件暂无法派送"),
    FlagKind.stranded: (TrackingStatus.stranded, "【义乌市】因网点暂停营业,快件滞留在中转站"),
    FlagKind.refused: (TrackingStatus.refused, "【杭州市】收件人拒收,快件将退回"),
    FlagKind.returning: (TrackingStatus.returning, "【杭州市】快件已退回,正在返回寄件人途中"),
    FlagKind.returned: (TrackingStatus.returned, "【成都市】快件已退回寄件人并签收"),
    FlagKind.address_problem: (TrackingStatus.address_problem, "【杭州市】收件地址不详,请联系寄件人"),
    FlagKind.unreachable: (TrackingStatus.unreachable, "【杭州市】收件人电话无人接听"),
    FlagKind.locker_overdue: (TrackingStatus.locker_overdue, "【杭州市】快件在丰巢柜超时未取"),
}
# words that speak of the buyer as the one the parcel goes to
OUTBOUND_ZH = ("补发", "重新发货", "买家自提", "提醒买家取件", "联系买家安排派送")
OUTBOUND_EN = ("reship", "buyer pick-up", "remind the buyer", "contact the buyer to arrange")


def _status(kind: FlagKind) -> dict[str, object]:
    status, text = CASES[kind]
    final = status in (TrackingStatus.returned,)
    return {"status": str(status), "status_text": text, "is_open": not final}


@pytest.mark.parametrize("kind", list(CASES), ids=str)
def test_the_pure_rules_name_the_return_s_own_next_action(view, policy, kind: FlagKind) -> None:  # type: ignore[no-untyped-def]
    status, text = CASES[kind]
    cols = {"status": status, "status_text": text, "is_open": status is not TrackingStatus.returned}
    outbound = RULE[kind](view(**cols, last_event_at=NOW - H), now=NOW, policy=policy)
    ret = RULE[kind](view(**cols, last_event_at=NOW - H, direction=Direction.ret), now=NOW, policy=policy)
    assert outbound is not None and outbound.action_key == str(kind)
    assert ret is not None and ret.action_key == f"{kind}.return"


def test_a_return_s_next_actions_speak_of_the_return_on_the_sql_path(db, settings) -> None:  # type: ignore[no-untyped-def]
    waybills = {}
    for n, kind in enumerate(CASES):
        for direction in (Direction.outbound, Direction.ret):
            waybill = f"YT71{n:02d}{'1' if direction is Direction.ret else '0'}0000000"
            db.parcel(
                created=NOW - 50 * H,
                waybill=waybill,
                direction=direction,
                order_id=f"O{waybill}",
                shipped_at=NOW - 40 * H,
                first_scan_at=NOW - 39 * H,
                last_event_at=NOW - 2 * H,
                **_status(kind),
            )
            waybills[waybill] = (kind, direction)
    evaluate_all(db.engine, now=NOW, settings=settings)
    columns = (FLAG.c.kind, FLAG.c.courier, FLAG.c.next_action_zh, FLAG.c.next_action_en, *next_action.RENDERED_FROM)
    with db.engine.connect() as conn:
        rows = conn.execute(select(PARCEL.c.waybill, *columns).join(PARCEL, PARCEL.c.id == FLAG.c.parcel_id)).all()
    seen = set()
    for row in rows:
        kind, direction = waybills[row.waybill]
        if row.kind != kind:
            continue  # another rule's flag on the same parcel (a refused parcel's text also says 退回)
        seen.add(row.waybill)
        zh, en = next_action.texts(dict(row._mapping), settings, NOW)
        if direction is Direction.ret:
            assert row.action_key == f"{kind}.return", row.waybill
            assert zh.startswith(("退货", "快递联系不上退货")), (kind, zh)
            assert not any(word in zh for word in OUTBOUND_ZH), (kind, zh)
            assert not any(word in en for word in OUTBOUND_EN), (kind, en)
        else:
            assert row.action_key == str(kind), row.waybill
    assert seen == set(waybills)
