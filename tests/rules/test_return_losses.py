"""A buyer's return parcel that goes missing is not an outbound loss: nothing is reshipped to the buyer, and who
claims depends on who booked the courier (seed 002: a pick-up return's loss is paid to the shop; seed 003: a
return the buyer sent is the buyer's to take up with the courier, and the shop may refuse the refund until the
goods arrive). So the next action says so, on the pure and the SQL path alike, and `claims propose` drafts no
goods_lost claim for it by itself; a person who knows it was a pick-up return still opens one."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from claims.service import open_claims, propose
from claims.tables import load_tables
from tracker.flags import evaluate_all, next_action
from tracker.rules import RULES
from tracker.status import Direction, FactKind, FlagKind, TrackingStatus
from tracker.storage.tables import CLAIM, FLAG, PARCEL

NOW = datetime.fromisoformat("2026-11-23T04:00:00+00:00")
H = timedelta(hours=1)
RULE = {rule.kind: rule.evaluate for rule in RULES}


def _parcel(db, waybill: str, direction: Direction, **cols) -> int:  # type: ignore[no-untyped-def]
    last = NOW - 200 * H  # past lost_suspected's 168 h
    return db.parcel(
        created=NOW - 300 * H,
        waybill=waybill,
        direction=direction,
        order_id=f"O{waybill}",
        goods_value="128.00",
        shipped_at=NOW - 250 * H,
        first_scan_at=NOW - 240 * H,
        last_event_at=last,
        status=str(TrackingStatus.in_transit),
        **cols,
    )


def _next_actions(db, settings) -> dict[tuple[str, str], tuple[str, str]]:  # type: ignore[no-untyped-def]
    """(waybill, kind) -> (zh, en) next action of every flag, as a person reads it."""
    columns = (FLAG.c.kind, FLAG.c.courier, FLAG.c.next_action_zh, FLAG.c.next_action_en, *next_action.RENDERED_FROM)
    with db.engine.connect() as conn:
        rows = conn.execute(select(PARCEL.c.waybill, *columns).join(PARCEL, PARCEL.c.id == FLAG.c.parcel_id)).all()
    return {(r.waybill, r.kind): next_action.texts(dict(r._mapping), settings, NOW) for r in rows}


def test_the_pure_rules_name_the_return_s_own_next_action(view, policy) -> None:  # type: ignore[no-untyped-def]
    stalled = {
        "is_open": True,
        "status": TrackingStatus.in_transit,
        "first_scan_at": NOW - 240 * H,
        "last_event_at": NOW - 200 * H,
    }
    outbound = RULE[FlagKind.lost_suspected](view(**stalled), now=NOW, policy=policy)
    returned = RULE[FlagKind.lost_suspected](view(**stalled, direction=Direction.ret), now=NOW, policy=policy)
    assert outbound is not None and outbound.action_key == "lost_suspected"
    assert returned is not None and returned.action_key == "lost_suspected.return"


def test_a_lost_return_is_not_reshipped_and_is_not_claimed_by_itself(db, settings) -> None:  # type: ignore[no-untyped-def]
    out_id = _parcel(db, "YT7000000000001", Direction.outbound)
    ret_id = _parcel(db, "YT7000000000002", Direction.ret)
    evaluate_all(db.engine, now=NOW, settings=settings)
    texts = _next_actions(db, settings)
    zh, en = texts[("YT7000000000002", "lost_suspected")]
    assert zh.startswith("退货疑似丢件(已8天8小时无更新)") and "补发" not in zh and "淘宝小二介入" in zh
    assert "reship" not in en and "pick-up return" in en
    assert "给买家补发" in texts[("YT7000000000001", "lost_suspected")][0]  # the outbound parcel's, as before

    # the courier confirms both losses
    for parcel_id in (out_id, ret_id):
        db.fact(parcel_id, FactKind.loss_confirmed, NOW - H)
    evaluate_all(db.engine, now=NOW + H, settings=settings)
    texts = _next_actions(db, settings)
    assert (
        texts[("YT7000000000002", "lost")][0].startswith("圆通速递已确认退货丢件")
        and "补发" not in texts[("YT7000000000002", "lost")][0]
    )
    tables = load_tables(settings.config_dir / "claims")
    summary = propose(db.engine, tables=tables, now=NOW + H)
    assert (
        "YT7000000000002: a return parcel lost: the shop claims only for a pick-up return; open the claim by hand"
        in (summary.skipped)
    )
    with db.engine.connect() as conn:
        claimed = dict(conn.execute(select(CLAIM.c.parcel_id, CLAIM.c.claim_type)).all())
    assert claimed == {out_id: "goods_lost"}

    # a lead who knows the courier picked the return up opens the claim by hand
    [opened] = open_claims(db.engine, parcel_ids=[ret_id], tables=tables, actor="lead.wang", now=NOW + H)
    assert opened["claim_type"] == "goods_lost"


def test_a_damaged_return_names_who_claims_and_is_not_claimed_by_itself(db, settings) -> None:  # type: ignore[no-untyped-def]
    out_id = _parcel(db, "YT7000000000003", Direction.outbound)
    ret_id = _parcel(db, "YT7000000000004", Direction.ret)
    for parcel_id in (out_id, ret_id):
        db.set(parcel_id, status=str(TrackingStatus.damaged), last_event_at=NOW - 5 * H)
    evaluate_all(db.engine, now=NOW, settings=settings)
    texts = _next_actions(db, settings)
    assert texts[("YT7000000000004", "damaged")][0] == (
        "退货破损:拍照留证;上门取件的退货可向圆通速递索赔;买家自寄的请买家联系快递协商赔偿"
    )
    assert texts[("YT7000000000003", "damaged")][0] == "包裹破损:收集照片等证据,向圆通速递索赔"
    summary = propose(db.engine, tables=load_tables(settings.config_dir / "claims"), now=NOW)
    with db.engine.connect() as conn:
        claimed = dict(conn.execute(select(CLAIM.c.parcel_id, CLAIM.c.claim_type)).all())
    assert claimed == {out_id: "goods_lost"}
    assert any(line.startswith("YT7000000000004: a return parcel damaged") for line in summary.skipped)
