"""A courier's words raise a status rule only as the phrase book reads them: "请当面验货，如有破损请拒收" is advice,
"超时将退回" a locker's warning, "快件将退回" a plan. The rules' text fallback ([text_patterns]) skips a text that
holds one of phrases.toml's negations of that status, on the pure and the SQL path alike; a real refusal or
return still raises its flag."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from tracker.flags import evaluate_all
from tracker.rules import RULES
from tracker.status import FlagKind, TrackingStatus
from tracker.storage.tables import FLAG, PARCEL

NOW = datetime.fromisoformat("2026-11-23T04:00:00+00:00")
H = timedelta(hours=1)
RULE = {rule.kind: rule.evaluate for rule in RULES}
TEXT_KINDS = (FlagKind.refused, FlagKind.returning, FlagKind.stranded, FlagKind.out_of_area)

# (the parcel's status, as a provider code left it, and its newest courier text) -> the text kinds it raises.
# The status is one a specific code gave (the courier's words do not override it at ingest), so only the
# text fallback can raise these kinds.
CASES = [
    ("out_for_delivery", "【杭州市】您的快件正在派送中，派件员：王五，请当面验货，如有破损请拒收", set()),
    ("out_for_delivery", "【杭州市】快件派送中，如需拒收请联系派件员", set()),
    ("available_for_pickup", "快件已到达【菜鸟驿站】，请凭取件码及时取件，超时将退回", set()),
    ("available_for_pickup", "您的快件已存放至【丰巢智能柜】，逾期未取将会退回寄件人", set()),
    ("in_transit", "【杭州市】收件人拒收，快件将退回", {FlagKind.refused}),
    ("out_for_delivery", "【杭州市】收件人拒收", {FlagKind.refused}),
    ("in_transit", "【杭州市】快件已退回，正在返回寄件人途中", {FlagKind.returning}),
    ("in_transit", "【义乌市】因网点暂停营业，快件滞留在中转站", {FlagKind.stranded}),
]


@pytest.mark.parametrize(("status", "text", "kinds"), CASES)
def test_the_pure_rules_read_the_negations(view, policy, status: str, text: str, kinds: set[FlagKind]) -> None:  # type: ignore[no-untyped-def]
    parcel = view(status=TrackingStatus(status), status_text=text, is_open=True, last_event_at=NOW - H)
    raised = {kind for kind in TEXT_KINDS if RULE[kind](parcel, now=NOW, policy=policy) is not None}
    assert raised == kinds


def test_the_sql_path_reads_the_negations(db, settings) -> None:  # type: ignore[no-untyped-def]
    wanted = {}
    for n, (status, text, kinds) in enumerate(CASES):
        waybill = f"YT72{n:02d}00000000"
        db.parcel(
            created=NOW - 30 * H,
            waybill=waybill,
            shipped_at=NOW - 20 * H,
            first_scan_at=NOW - 19 * H,
            last_event_at=NOW - H,
            status=status,
            status_text=text,
            is_open=True,
        )
        wanted[waybill] = {str(k) for k in kinds}
    evaluate_all(db.engine, now=NOW, settings=settings)
    with db.engine.connect() as conn:
        rows = conn.execute(select(PARCEL.c.waybill, FLAG.c.kind).join(PARCEL, PARCEL.c.id == FLAG.c.parcel_id)).all()
    raised: dict[str, set[str]] = {waybill: set() for waybill in wanted}
    for waybill, kind in rows:
        if kind in {str(k) for k in TEXT_KINDS}:
            raised[waybill].add(kind)
    assert raised == wanted


def test_the_negations_are_the_phrase_book_s(settings) -> None:  # type: ignore[no-untyped-def]
    negations = settings.rules.text_negations
    assert set(negations) == {"refused", "returning", "stranded"}  # the text kinds phrases.toml gives negations to
    assert "请拒收" in negations["refused"] and "将退回" in negations["returning"]


def test_a_blind_area_is_one_flag_not_two(db, settings) -> None:  # type: ignore[no-untyped-def]
    """盲区件 (无网点件) is not 超区 (seed 001 names them apart): the courier's words read as a delivery not made,
    and only the blind-area flag (one call to the buyer, not two) is raised."""
    text = "【拉萨市】该地区无网点，快件暂无法派送"
    status = settings.phrasebook.classify(text)
    assert status is TrackingStatus.delivery_failed
    db.parcel(
        created=NOW - 30 * H,
        waybill="YT7300000000001",
        shipped_at=NOW - 20 * H,
        first_scan_at=NOW - 19 * H,
        last_event_at=NOW - H,
        status=str(status),
        status_text=text,
        is_open=True,
    )
    evaluate_all(db.engine, now=NOW, settings=settings)
    with db.engine.connect() as conn:
        kinds = set(conn.execute(select(FLAG.c.kind)).scalars())
    assert kinds == {str(FlagKind.blind_area)}
