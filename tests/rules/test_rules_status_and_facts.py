"""Status rules (normalized status first, courier text as fallback) and rules raised by manual facts."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tracker.rules import RULES, Fact, evaluate_parcel
from tracker.status import Direction, FactKind, FlagKind, TrackingStatus

NOW = datetime.fromisoformat("2026-11-23T04:00:00+00:00")
RULE = {rule.kind: rule.evaluate for rule in RULES}
S, K = TrackingStatus, FlagKind

BY_STATUS = [
    (K.out_of_area, S.out_of_area), (K.stranded, S.stranded), (K.refused, S.refused),
    (K.returning, S.returning), (K.returned, S.returned), (K.address_problem, S.address_problem),
    (K.unreachable, S.unreachable), (K.locker_overdue, S.locker_overdue), (K.damaged, S.damaged),
]  # fmt: skip

BY_TEXT = [
    (K.out_of_area, "【拉萨】您的快件超区,暂无法派送"),
    (K.out_of_area, "收件地址超出服务范围"),
    (K.blind_area, "目的地无网点,无法派送"),
    (K.stranded, "因网点暂停,快件滞留中转站"),
    (K.refused, "收件人拒收"),
    (K.returning, "快件已退回寄件人"),
    (K.address_problem, "收件地址不详,请联系客服"),
]


@pytest.mark.parametrize(("kind", "status"), BY_STATUS)
def test_status_rule_fires_on_the_normalized_status(view, policy, kind, status) -> None:  # type: ignore[no-untyped-def]
    assert RULE[kind](view(status=status, last_event_at=NOW), now=NOW, policy=policy).kind == kind


@pytest.mark.parametrize(("kind", "text"), BY_TEXT)
def test_status_rule_falls_back_to_the_courier_text(view, policy, kind, text) -> None:  # type: ignore[no-untyped-def]
    parcel = view(status=S.in_transit, status_text=text, last_event_at=NOW)
    assert RULE[kind](parcel, now=NOW, policy=policy).kind == kind


def test_plain_transit_text_raises_no_status_flag(view, policy) -> None:  # type: ignore[no-untyped-def]
    parcel = view(status=S.in_transit, status_text="【杭州转运中心】已发出", last_event_at=NOW)
    assert evaluate_parcel(parcel, now=NOW, policy=policy) == []


def test_text_of_a_final_parcel_raises_nothing(view, policy) -> None:  # type: ignore[no-untyped-def]
    parcel = view(status=S.delivered, status_text="超区件已由本人签收", is_open=False, last_event_at=NOW)
    assert evaluate_parcel(parcel, now=NOW, policy=policy) == []


def test_returned_is_watched_for_the_watch_period_only(view, policy) -> None:  # type: ignore[no-untyped-def]
    days = policy.watch.days_after_success
    recent = view(status=S.returned, is_open=False, last_event_at=NOW - timedelta(days=days))
    old = view(status=S.returned, is_open=False, last_event_at=NOW - timedelta(days=days, minutes=1))
    assert RULE[K.returned](recent, now=NOW, policy=policy) is not None
    assert RULE[K.returned](old, now=NOW, policy=policy) is None


def test_out_of_area_without_time_threshold_raises_no_stale(view, policy) -> None:  # type: ignore[no-untyped-def]
    # worked example 3: Kuaidi100 state 2 + statusCode 207 -> out_of_area, stale only if the time is also up
    parcel = view(status=S.out_of_area, first_scan_at=NOW - timedelta(hours=30), last_event_at=NOW - timedelta(hours=5))
    assert [f.kind for f in evaluate_parcel(parcel, now=NOW, policy=policy)] == [K.out_of_area]
    late = view(status=S.out_of_area, first_scan_at=NOW - timedelta(hours=90), last_event_at=NOW - timedelta(hours=80))
    assert [f.kind for f in evaluate_parcel(late, now=NOW, policy=policy)] == [K.stale, K.out_of_area]


FACT_CASES = [
    (K.lost, FactKind.loss_confirmed, Direction.outbound),
    (K.delivered_disputed, FactKind.not_received, Direction.outbound),
    (K.return_partial, FactKind.return_short, Direction.ret),
    (K.return_waybill_invalid, FactKind.waybill_invalid, Direction.ret),
]


@pytest.mark.parametrize(("kind", "fact", "direction"), FACT_CASES)
def test_fact_rule_fires_on_the_newest_fact(view, policy, kind, fact, direction) -> None:  # type: ignore[no-untyped-def]
    facts = (Fact(3, fact, NOW), Fact(9, fact, NOW))
    parcel = view(direction=direction, status=S.delivered, is_open=False, facts=facts)
    flag = RULE[kind](parcel, now=NOW, policy=policy)
    assert (flag.kind, flag.anchor) == (kind, 9)
    assert RULE[kind](view(direction=direction), now=NOW, policy=policy) is None


def test_confirmed_loss_makes_the_parcel_final_for_time_rules(view, policy) -> None:  # type: ignore[no-untyped-def]
    old = NOW - timedelta(days=30)
    parcel = view(
        status=S.in_transit, first_scan_at=old, last_event_at=old, facts=(Fact(1, FactKind.loss_confirmed, NOW),)
    )
    assert [f.kind for f in evaluate_parcel(parcel, now=NOW, policy=policy)] == [K.lost]


@pytest.mark.parametrize(
    ("waybill", "fires"), [("KA123456789CN", True), ("PA123456789CN", True), ("SF1234567890123", False)]
)
def test_surface_mail_return_waybill(view, policy, waybill, fires) -> None:  # type: ignore[no-untyped-def]
    # worked example 4: return waybill KA123456789CN -> return_surface_mail
    flag = RULE[K.return_surface_mail](view(direction=Direction.ret, waybill=waybill), now=NOW, policy=policy)
    assert (flag is not None) == fires


@pytest.mark.parametrize(("buyers", "fires"), [(1, False), (2, True), (3, True)])
def test_shared_return_waybill_needs_two_buyers(view, policy, buyers, fires) -> None:  # type: ignore[no-untyped-def]
    flag = RULE[K.return_waybill_shared](view(direction=Direction.ret, waybill_buyers=buyers), now=NOW, policy=policy)
    assert (flag is not None) == fires


def test_invalid_return_waybill_from_the_provider_error(view, policy) -> None:  # type: ignore[no-untyped-def]
    parcel = view(direction=Direction.ret, provider_error="查无此单,请核对单号")
    assert RULE[K.return_waybill_invalid](parcel, now=NOW, policy=policy) is not None
    moving = view(direction=Direction.ret, provider_error="查无此单", first_scan_at=NOW)
    assert RULE[K.return_waybill_invalid](moving, now=NOW, policy=policy) is None
