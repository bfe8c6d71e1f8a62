"""When a parcel is polled next (pure; `now` passed in). Cadence from config/providers.toml [polling]."""

from __future__ import annotations

from datetime import datetime, timedelta

from tracker.settings import PollingConfig
from tracker.status import FINAL_STATUS_TEXTS


def is_retired(*, shipped_at: datetime | None, created_at: datetime | None, now: datetime, cfg: PollingConfig) -> bool:
    """Parcels older than `retire_days` (from shipping, else import) are no longer polled."""
    start = shipped_at or created_at
    return start is not None and now - start > timedelta(days=cfg.retire_days)


def next_poll_time(
    *,
    status: str,
    is_open: bool,
    shipped_at: datetime | None,
    created_at: datetime | None,
    first_scan_at: datetime | None,
    last_event_at: datetime | None,
    now: datetime,
    cfg: PollingConfig,
    min_interval_minutes: float = 0,
) -> datetime | None:
    """The next poll time, or None for never (final status, closed or retired).

    New shipments (within `new_hours` of shipping, or with no first scan yet) every `new_interval_minutes`;
    moving parcels every `active_interval_minutes`; parcels silent for `stale_after_hours` every
    `stale_interval_minutes`. Never sooner than the provider's per-waybill minimum interval.
    """
    if not is_open or status in FINAL_STATUS_TEXTS:
        return None
    if is_retired(shipped_at=shipped_at, created_at=created_at, now=now, cfg=cfg):
        return None
    start = shipped_at or created_at or now
    if first_scan_at is None or now - start < timedelta(hours=cfg.new_hours):
        minutes = cfg.new_interval_minutes
    elif last_event_at is not None and now - last_event_at >= timedelta(hours=cfg.stale_after_hours):
        minutes = cfg.stale_interval_minutes
    else:
        minutes = cfg.active_interval_minutes
    return now + timedelta(minutes=max(minutes, min_interval_minutes))
