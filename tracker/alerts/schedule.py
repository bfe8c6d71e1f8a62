"""Working hours and calling windows as pure time arithmetic (times local to the configured zone)."""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

Window = tuple[time, time]

# How far ahead to look for an open slot; a schedule with no slot in this span is a config mistake.
_HORIZON_DAYS = 60


def next_slot(
    now: datetime,
    tz: ZoneInfo,
    windows: Collection[Window],
    *,
    weekdays: Collection[int] | None = None,
    day_ok: Callable[[date], bool] | None = None,
) -> datetime:
    """The earliest UTC time >= `now` that lies inside every window (local times in `tz`), on an
    allowed ISO weekday, on a local date `day_ok` accepts. `now` itself when it already qualifies.

    Windows are intersected: the slot opens at the latest start and closes at the earliest end of a day.
    Raises ValueError when no slot exists within 60 days (an empty intersection, say)."""
    start = max(w[0] for w in windows)
    end = min(w[1] for w in windows)
    local_now = now.astimezone(tz)
    for offset in range(_HORIZON_DAYS):
        day = local_now.date() + timedelta(days=offset)
        if weekdays is not None and day.isoweekday() not in weekdays:
            continue
        if day_ok is not None and not day_ok(day):
            continue
        opens = datetime.combine(day, start, tzinfo=tz)
        closes = datetime.combine(day, end, tzinfo=tz)
        candidate = max(opens, local_now)
        if candidate < closes:
            return candidate.astimezone(UTC)
    raise ValueError(f"no time inside {start:%H:%M}-{end:%H:%M} within {_HORIZON_DAYS} days")


def is_inside(now: datetime, tz: ZoneInfo, windows: Collection[Window], weekdays: Collection[int] | None) -> bool:
    """Whether `now` lies inside every window on an allowed weekday."""
    return next_slot(now, tz, windows, weekdays=weekdays) == now.astimezone(UTC)


def local_date(moment: datetime, tz: ZoneInfo) -> date:
    return moment.astimezone(tz).date()
