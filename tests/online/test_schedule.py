from datetime import UTC, datetime, timedelta

import pytest

from tracker.schedule import next_poll_time
from tracker.settings import PollingConfig

NOW = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)
CFG = PollingConfig()
H = timedelta(hours=1)


@pytest.mark.parametrize(
    ("case", "snapshot", "expected_minutes"),
    [
        ("new, no first scan", {"shipped_at": NOW - 10 * H, "first_scan_at": None}, CFG.new_interval_minutes),
        ("old, never scanned", {"shipped_at": NOW - 100 * H}, CFG.new_interval_minutes),
        (
            "moving",
            {"shipped_at": NOW - 72 * H, "first_scan_at": NOW - 70 * H, "last_event_at": NOW - H},
            CFG.active_interval_minutes,
        ),
        (
            "stale",
            {"shipped_at": NOW - 99 * H, "first_scan_at": NOW - 98 * H, "last_event_at": NOW - 30 * H},
            CFG.stale_interval_minutes,
        ),
        ("delivered is final", {"status": "delivered", "shipped_at": NOW - 50 * H}, None),
        ("closed", {"is_open": False, "shipped_at": NOW - 50 * H}, None),
        ("retired by age", {"shipped_at": NOW - timedelta(days=CFG.retire_days + 1)}, None),
    ],
)
def test_next_poll_time_follows_the_cadence(case, snapshot, expected_minutes) -> None:
    base = {
        "status": "in_transit",
        "is_open": True,
        "shipped_at": None,
        "created_at": NOW - 200 * H,
        "first_scan_at": None,
        "last_event_at": None,
    }
    got = next_poll_time(**{**base, **snapshot}, now=NOW, cfg=CFG)
    assert got == (None if expected_minutes is None else NOW + timedelta(minutes=expected_minutes)), case


def test_next_poll_is_never_sooner_than_the_waybill_minimum() -> None:
    cfg = PollingConfig(new_interval_minutes=5)
    got = next_poll_time(
        status="pending",
        is_open=True,
        shipped_at=NOW,
        created_at=NOW,
        first_scan_at=None,
        last_event_at=None,
        now=NOW,
        cfg=cfg,
        min_interval_minutes=30,
    )
    assert got == NOW + timedelta(minutes=30)


def test_rules_run_after_a_poll_cycle(sqlite_engine, settings) -> None:
    from sqlalchemy import select

    from tracker.domain import ParcelFacts
    from tracker.poller import evaluate_rules
    from tracker.storage import repo
    from tracker.storage.rows import FlagRow

    shipped = NOW - timedelta(hours=100)  # past the no_first_scan escalate threshold (96 h)
    repo.upsert_parcels(
        sqlite_engine, [ParcelFacts(courier="yto", waybill="YT7500000000001", shipped_at=shipped)], now=shipped
    )
    assert evaluate_rules(sqlite_engine, settings, now=NOW, parcel_ids=[]) is True
    with sqlite_engine.connect() as conn:
        flags = conn.execute(select(FlagRow.kind, FlagRow.severity)).all()
    assert [tuple(f) for f in flags] == [("no_first_scan", "escalate")]
