"""Issue 16: Tmall's timers to the second (pure), the late-shipment exposure from tmall.toml, and the facts
people record (buyer reached, a third party's signature, the return's weight) read the same way by the pure
rules and the SQL evaluation, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from tracker.flags import evaluate_all, next_action
from tracker.flags.details import exposure_extra
from tracker.flags.views import load_views
from tracker.rules import evaluate_parcel, resolve_policy
from tracker.rules.actions import render
from tracker.rules.model import Fact
from tracker.rules.tmall_timers import (
    TimerKind,
    complaint_window,
    late_shipment_exposure,
    negotiation,
    next_open,
    parcel_timers,
    seven_day_return,
)
from tracker.settings import ConfigError, Settings
from tracker.status import Direction, FactKind, FlagKind, FlagState
from tracker.storage.tables import FLAG, PARCEL
from tracker.tmall import parse_tmall, tmall_rules

NOW = datetime.fromisoformat("2026-11-23T04:00:00+00:00")
CST = "+08:00"
SECOND = timedelta(seconds=1)


def t(text: str) -> datetime:
    return datetime.fromisoformat(text + CST)


@pytest.fixture
def tmall(settings: Settings):  # type: ignore[no-untyped-def]
    return settings.tmall


# --- the timers (pure) ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("signed", "closes"),
    [
        ("2026-11-03T15:20:00", "2026-11-11T00:00:00"),  # from 11-04 00:00 + 168 h
        ("2026-11-03T23:59:59", "2026-11-11T00:00:00"),  # the last second of the day: the same next day
        ("2026-11-04T00:00:00", "2026-11-12T00:00:00"),  # the first second of a day counts from the next
    ],
)
def test_seven_day_return_counts_168_h_from_the_next_midnight_in_shanghai(tmall, signed, closes) -> None:  # type: ignore[no-untyped-def]
    # the signing time as UTC, as the tracker stores it: the calendar day is Shanghai's
    deadline = seven_day_return(t(signed).astimezone(tz=None), tmall.seven_day_return)
    assert deadline.kind == TimerKind.seven_day_return
    assert deadline.starts_at == t(closes) - timedelta(hours=168)
    assert deadline.due_at == t(closes)
    assert deadline.is_open(t(closes)) and deadline.is_open(t(closes) - SECOND)
    assert not deadline.is_open(t(closes) + SECOND)


def test_complaint_window_is_15_days_after_trade_success_inclusive(tmall) -> None:  # type: ignore[no-untyped-def]
    window = complaint_window(t("2026-11-05T10:30:00"), tmall.not_received)
    assert window.due_at == t("2026-11-20T10:30:00")
    assert window.is_open(t("2026-11-20T10:30:00")) and not window.is_open(t("2026-11-20T10:30:01"))
    assert window.seconds_left(t("2026-11-20T10:29:00")) == 60


def test_negotiation_is_72_h_and_only_changes_in_the_last_24_h_extend_it(tmall) -> None:  # type: ignore[no-untyped-def]
    rules = tmall.not_received
    opened = t("2026-11-10T09:00:00")
    plain = negotiation(opened, [], rules)
    assert plain.due_at == t("2026-11-13T09:00:00") and not plain.extended
    # 前48小时内 (inclusive): a change at exactly 48 h, or before, leaves the deadline
    at_48 = opened + timedelta(hours=48)
    assert negotiation(opened, [opened + timedelta(hours=1), at_48], rules).due_at == plain.due_at
    # one second into the last 24 h: 从修改点顺延24小时
    moved = negotiation(opened, [at_48 + SECOND], rules)
    assert moved.due_at == at_48 + SECOND + timedelta(hours=24) and moved.extended
    # a change at the deadline's very second still counts; one after it does not
    assert negotiation(opened, [plain.due_at], rules).due_at == plain.due_at + timedelta(hours=24)
    assert negotiation(opened, [plain.due_at + SECOND], rules).due_at == plain.due_at
    # a second change inside the moved deadline's last part moves it again
    first = opened + timedelta(hours=60)
    second = first + timedelta(hours=20)
    assert negotiation(opened, [second, first], rules).due_at == second + timedelta(hours=24)


@pytest.mark.parametrize(
    ("price", "cny", "points", "capped"),
    [
        ("899.00", "269.70", 26970, False),
        ("1899.00", "500.00", 50000, True),
        ("1666.67", "500.00", 50000, True),  # 500.001 is over the cap: the cap, not a rounded 500.00
        ("1666.65", "499.995", None, False),
        ("0.05", "0.02", 2, False),  # 0.015 rounds half up
    ],
)
def test_late_shipment_exposure_is_30_percent_capped_at_500(tmall, price, cny, points, capped) -> None:  # type: ignore[no-untyped-def]
    exposure = late_shipment_exposure(Decimal(price), tmall.late_shipment_compensation)
    expected = Decimal(cny).quantize(Decimal("0.01"), rounding="ROUND_HALF_UP")
    assert exposure.cny == expected and exposure.capped is capped
    assert exposure.points == (points if points is not None else int(expected * 100))


def test_parcel_timers_read_the_signing_time_and_the_facts(view, tmall) -> None:  # type: ignore[no-untyped-def]
    facts = (
        Fact(1, FactKind.trade_succeeded, NOW, {"at": t("2026-11-12T08:00:00").isoformat()}),
        Fact(2, FactKind.complaint_opened, NOW, {"at": t("2026-11-20T09:00:00").isoformat()}),
        Fact(3, FactKind.complaint_amount_changed, NOW, {"at": t("2026-11-22T10:00:00").isoformat()}),
        # a change before the complaint was opened belongs to no negotiation
        Fact(4, FactKind.complaint_amount_changed, NOW, {"at": t("2026-11-19T10:00:00").isoformat()}),
    )
    parcel = view(delivered_at=t("2026-11-04T18:00:00"), facts=facts)
    timers = {d.kind: d for d in parcel_timers(parcel, tmall)}
    assert timers[TimerKind.seven_day_return].due_at == t("2026-11-12T00:00:00")
    assert timers[TimerKind.complaint_window].due_at == t("2026-11-27T08:00:00")
    assert timers[TimerKind.negotiation].due_at == t("2026-11-23T10:00:00")  # the change + 24 h
    assert next_open(timers.values(), t("2026-11-23T09:00:00")).kind == TimerKind.negotiation  # type: ignore[union-attr]
    assert next_open(timers.values(), t("2026-11-28T00:00:00")) is None
    assert parcel_timers(view(), tmall) == []
    # a buyer's return delivered to the shop starts no seven-day return (that counts from the buyer's signature)
    returned_to_shop = view(direction=Direction.ret, delivered_at=t("2026-11-04T18:00:00"))
    assert parcel_timers(returned_to_shop, tmall) == []


def test_tmall_toml_is_validated_naming_the_file_and_the_key(settings: Settings, tmp_path: Path) -> None:
    assert tmall_rules(settings.config_dir).late_shipment_compensation.cap == Decimal("500.00")
    path = tmp_path / "tmall.toml"
    bad = {
        "late_shipment_compensation": {
            "percent": "thirty",
            "cap": "500",
            "points_per_cny": 100,
        },
        "not_received": {"complaint_days": 15, "negotiate_hours": 72, "fixed_hours": 80, "extension_hours": 24},
        "seven_day_return": {"hours": 168, "timezone": "Mars/Base", "extra": 1},
    }
    with pytest.raises(ConfigError) as err:
        parse_tmall(bad, path)
    text = str(err.value)
    assert f"{path}: late_shipment_compensation.percent:" in text
    assert f"{path}: not_received: fixed_hours must be less than negotiate_hours" in text
    assert f"{path}: seven_day_return.timezone:" in text and "seven_day_return.extra: unknown key" in text


# --- the facts, pure and SQL -----------------------------------------------------------------------------------


def _pure(engine, settings: Settings, ids: list[int], now: datetime) -> dict:  # type: ignore[no-untyped-def,type-arg]
    expected = {}
    for parcel_id, parcel in load_views(engine, ids).items():
        policy = resolve_policy(settings.rules, courier=parcel.courier, province=parcel.province, city=parcel.city)
        for flag in evaluate_parcel(parcel, now=now, policy=policy):
            extra = None
            if flag.kind == FlagKind.late_shipment and parcel.goods_value is not None:
                extra = exposure_extra(
                    late_shipment_exposure(parcel.goods_value, settings.tmall.late_shipment_compensation)
                )
            zh, en = render(
                flag,
                courier=parcel.courier,
                waybill=parcel.waybill,
                actions=settings.next_actions,
                couriers=settings.couriers,
                extra=extra,
                now=now,
            )
            expected[(parcel_id, str(flag.kind))] = (str(flag.severity), flag.level, flag.anchor, zh, en)
    return expected


def _stored(engine, settings: Settings, now: datetime = NOW) -> dict:  # type: ignore[no-untyped-def,type-arg]
    """The unresolved flags as read at `now` (their next actions rendered: tracker/flags/next_action.py)."""
    query = (
        select(FLAG, PARCEL.c.waybill)
        .join(PARCEL, PARCEL.c.id == FLAG.c.parcel_id)
        .where(FLAG.c.state != str(FlagState.resolved))
    )
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(query)]
    next_action.fill(rows, settings, now)
    return {
        (r["parcel_id"], r["kind"]): (r["severity"], r["level"], r["anchor"], r["next_action_zh"], r["next_action_en"])
        for r in rows
    }


def _details(engine, parcel_id: int, kind: FlagKind) -> dict:  # type: ignore[no-untyped-def,type-arg]
    with engine.connect() as conn:
        return conn.execute(
            select(FLAG.c.details).where(FLAG.c.parcel_id == parcel_id, FLAG.c.kind == str(kind))
        ).scalar_one()


def test_buyer_reached_resets_the_unreachable_attempts(db, settings) -> None:  # type: ignore[no-untyped-def]
    agreed = NOW - timedelta(days=25)
    ids = {}
    for name, kinds in {
        "two_attempts": ["buyer_unreachable", "buyer_unreachable"],
        "reached_after": ["buyer_unreachable", "buyer_unreachable", "buyer_reached"],
        "reached_then_one": ["buyer_unreachable", "buyer_unreachable", "buyer_reached", "buyer_unreachable"],
        "reached_then_two": ["buyer_unreachable", "buyer_reached", "buyer_unreachable", "buyer_unreachable"],
    }.items():
        ids[name] = pid = db.parcel(
            created=agreed, waybill=f"YT{len(ids):013d}", order_id=name, return_agreed_at=agreed
        )
        for kind in kinds:
            db.fact(pid, kind, agreed + timedelta(days=1))
    evaluate_all(db.engine, now=NOW, settings=settings)
    stored = _stored(db.engine, settings)
    assert stored == _pure(db.engine, settings, list(ids.values()), NOW)
    abandoned = {name for name, pid in ids.items() if (pid, "return_abandoned") in stored}
    assert abandoned == {"two_attempts", "reached_then_two"}


def test_a_third_party_signature_without_consent_opens_delivered_disputed(db, settings) -> None:  # type: ignore[no-untyped-def]
    at = NOW - timedelta(days=1)
    cases = {
        "without": ["signed_without_consent"],
        "with": ["signed_with_consent"],
        "with_complaint": ["signed_with_consent", "not_received"],
        "complaint_only": ["not_received"],
        "corrected": ["signed_without_consent", "signed_with_consent"],  # the buyer had asked after all
        "complaint_then_without": ["not_received", "signed_without_consent"],
    }
    ids = {}
    for name, kinds in cases.items():
        ids[name] = pid = db.parcel(
            created=at,
            waybill=f"SF{len(ids):010d}",
            courier="sf",
            status="delivered",
            is_open=False,
            first_scan_at=at,
            last_event_at=at,
            delivered_at=at,
        )
        for kind in kinds:
            db.fact(pid, kind, at, {"signer": "门卫", "consent": kind == "signed_with_consent"})
    evaluate_all(db.engine, now=NOW, settings=settings)
    stored = _stored(db.engine, settings)
    assert stored == _pure(db.engine, settings, list(ids.values()), NOW)
    disputed = {
        name: stored[(pid, "delivered_disputed")][3]
        for name, pid in ids.items()
        if (pid, "delivered_disputed") in stored
    }
    assert set(disputed) == {"without", "with_complaint", "complaint_only", "complaint_then_without"}
    assert "未经买家同意代签" in disputed["without"] and "向顺丰速运索赔" in disputed["without"]
    assert "未经买家同意代签" in disputed["complaint_then_without"]
    assert "买家同意" in disputed["with_complaint"] and "第三方签收证明" in disputed["with_complaint"]
    assert "核对签收人" in disputed["complaint_only"]
    assert _details(db.engine, ids["without"], FlagKind.delivered_disputed)["signer"] == "门卫"


def test_a_return_lighter_than_shipped_beyond_the_tolerance_is_partial(db, settings) -> None:  # type: ignore[no-untyped-def]
    at = NOW - timedelta(days=1)
    tolerance = settings.rules.returns.short_weight_tolerance_grams
    ids = {}
    for returned_g in (1200 - tolerance, 1200 - tolerance - 1, 1250):
        pid = db.parcel(created=at, waybill=f"YT9{returned_g:012d}", direction="return", order_id=f"R{returned_g}")
        db.fact(pid, "return_weighed", at, {"shipped_g": 1200, "returned_g": returned_g})
        ids[returned_g] = pid
    # an earlier short count stays the anchor's fallback; a newer weighing within tolerance does not raise
    counted = db.parcel(created=at, waybill="YT9000000000001", direction="return", order_id="R1")
    db.fact(counted, "return_short", at, {"items_claimed": 3, "items_received": 2})
    db.fact(counted, "return_weighed", at, {"shipped_g": 900, "returned_g": 900})
    evaluate_all(db.engine, now=NOW, settings=settings)
    stored = _stored(db.engine, settings)
    assert stored == _pure(db.engine, settings, [*ids.values(), counted], NOW)
    partial = {g for g, pid in ids.items() if (pid, "return_partial") in stored}
    assert partial == {1200 - tolerance - 1}  # exactly the tolerance lighter is not short; one gram more is
    assert "称重" in stored[(ids[1200 - tolerance - 1], "return_partial")][3]
    assert _details(db.engine, ids[1200 - tolerance - 1], FlagKind.return_partial)["returned_g"] == 1149
    assert (counted, "return_partial") in stored and "少件" in stored[(counted, "return_partial")][3]


def test_late_shipment_shows_the_exposure_in_cny_and_points(db, settings) -> None:  # type: ignore[no-untyped-def]
    paid = NOW - timedelta(hours=80)
    priced = db.parcel(
        created=paid, waybill="YT7000000000001", order_id="L1", paid_at=paid, goods_value=Decimal("899.00")
    )
    unpriced = db.parcel(created=paid, waybill="YT7000000000002", order_id="L2", paid_at=paid)
    evaluate_all(db.engine, now=NOW, settings=settings)
    stored = _stored(db.engine, settings)
    assert stored == _pure(db.engine, settings, [priced, unpriced], NOW)
    zh, en = stored[(priced, "late_shipment")][3:]
    assert "269.70元" in zh and "26,970天猫积分" in zh and "269.70 CNY (26,970 Tmall points)" in en
    assert "30%" in stored[(unpriced, "late_shipment")][3]  # no price: the rule in words
    details = _details(db.engine, priced, FlagKind.late_shipment)
    assert details["exposure_cny"] == "269.70" and details["exposure_points"] == 26970
    assert _details(db.engine, unpriced, FlagKind.late_shipment) is None
