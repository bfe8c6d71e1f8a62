"""A parcel waiting at a pick-up point or in a locker is not suspected lost, and one the courier never scanned is
neither stale nor suspected lost (no_first_scan alone), on the pure and the SQL path."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from tracker.flags import evaluate_all
from tracker.rules import RULES
from tracker.status import FlagKind, TrackingStatus
from tracker.storage.tables import FLAG, PARCEL

NOW = datetime.fromisoformat("2026-11-23T04:00:00+00:00")
H = timedelta(hours=1)
RULE = {rule.kind: rule.evaluate for rule in RULES}


def _parcel(db, waybill: str, status: TrackingStatus) -> int:  # type: ignore[no-untyped-def]
    return db.parcel(
        created=NOW - 300 * H,
        waybill=waybill,
        order_id=f"O{waybill}",
        shipped_at=NOW - 250 * H,
        first_scan_at=NOW - 240 * H,
        last_event_at=NOW - 200 * H,  # past lost_suspected's 168 h
        status=str(status),
    )


def test_a_parcel_waiting_at_a_pick_up_point_is_not_suspected_lost(view, policy, db, settings) -> None:  # type: ignore[no-untyped-def]
    """A parcel the buyer leaves at a 驿站 or in a locker for a week is where the courier said: no loss claim and
    no reship (the pure and the SQL path); a parcel in transit for as long is."""
    for status in (TrackingStatus.available_for_pickup, TrackingStatus.locker_overdue):
        waiting = view(is_open=True, status=status, last_event_at=NOW - 200 * H)
        assert RULE[FlagKind.lost_suspected](waiting, now=NOW, policy=policy) is None
    _parcel(db, "YT7000000000005", TrackingStatus.available_for_pickup)
    _parcel(db, "YT7000000000006", TrackingStatus.locker_overdue)
    _parcel(db, "YT7000000000007", TrackingStatus.in_transit)  # 200 h without a scan
    evaluate_all(db.engine, now=NOW, settings=settings)
    with db.engine.connect() as conn:
        suspected = conn.execute(
            select(PARCEL.c.waybill)
            .join(FLAG, FLAG.c.parcel_id == PARCEL.c.id)
            .where(FLAG.c.kind == str(FlagKind.lost_suspected))
        ).scalars()
        assert list(suspected) == ["YT7000000000007"]


def test_a_parcel_never_scanned_is_no_first_scan_alone(view, policy, db, settings) -> None:  # type: ignore[no-untyped-def]
    """An outbound parcel whose only event is the order (已下单，等待揽收) 200 h ago: the courier never had it, so it
    is neither stale nor suspected lost, only not scanned (one flag, one alert)."""
    unscanned = view(
        is_open=True, status=TrackingStatus.info_received, shipped_at=NOW - 210 * H, last_event_at=NOW - 200 * H
    )
    raised = {kind for kind in FlagKind if kind in RULE and RULE[kind](unscanned, now=NOW, policy=policy)}
    assert raised == {FlagKind.no_first_scan}
    db.parcel(
        created=NOW - 300 * H,
        waybill="YT7000000000008",
        order_id="OYT7000000000008",
        shipped_at=NOW - 210 * H,
        last_event_at=NOW - 200 * H,
        status=str(TrackingStatus.info_received),
        status_text="已下单，等待揽收",
    )
    evaluate_all(db.engine, now=NOW, settings=settings)
    with db.engine.connect() as conn:
        assert set(conn.execute(select(FLAG.c.kind)).scalars()) == {str(FlagKind.no_first_scan)}
