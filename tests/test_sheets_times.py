"""Times shown side by side (tracker.sheets.local_times): to the minute, to the second when the minute alone
would show two different times as the same."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from dashboard.i18n import error_text
from tracker.errors import TrackerError
from tracker.flags.facts import trade_succeeded
from tracker.sheets import local_times

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOON = datetime(2026, 11, 20, 4, 0, 5, tzinfo=UTC)  # 12:00:05 in Shanghai


def test_times_minutes_apart_read_to_the_minute() -> None:
    assert local_times([NOON + timedelta(minutes=3), NOON], SHANGHAI) == ["2026-11-20 12:03", "2026-11-20 12:00"]


def test_times_in_the_same_minute_read_to_the_second() -> None:
    later = NOON + timedelta(seconds=35)
    assert local_times([later, NOON], SHANGHAI) == ["2026-11-20 12:00:40", "2026-11-20 12:00:05"]


def test_times_under_a_second_apart_read_to_the_millisecond() -> None:
    later = NOON + timedelta(microseconds=250_000)
    assert local_times([later, NOON], SHANGHAI) == ["2026-11-20 12:00:05.250", "2026-11-20 12:00:05.000"]


def test_the_same_time_twice_reads_to_the_minute_and_naive_times_are_utc() -> None:
    naive = NOON.replace(tzinfo=None)
    assert local_times([NOON, naive], SHANGHAI) == ["2026-11-20 12:00", "2026-11-20 12:00"]


def test_a_platform_event_seconds_after_now_names_the_seconds() -> None:
    """The refusal of a 交易成功 dated 35 s after now: "12:00 is later than now (12:00)" said nothing."""
    with pytest.raises(TrackerError) as caught:
        trade_succeeded(None, waybill="SF1", actor="lily", now=NOON, at=NOON + timedelta(seconds=35), tz=SHANGHAI)  # type: ignore[arg-type]
    assert "2026-11-20 12:00:40 is later than now (2026-11-20 12:00:05, Asia/Shanghai)" in str(caught.value)


def test_the_boards_refusal_names_the_seconds_too() -> None:
    later = NOON + timedelta(seconds=35)
    exc = TrackerError("later", field="at", code="event_after_now", at=later, now=NOON)
    assert error_text(exc, "zh", SHANGHAI) == "事件时间 2026-11-20 12:00:40 晚于现在(2026-11-20 12:00:05)"
    exc = TrackerError("later", field="at", code="event_after_now", at=later + timedelta(hours=1), now=NOON)
    assert error_text(exc, "en", SHANGHAI) == "The event's time 2026-11-20 13:00 is later than now (2026-11-20 12:00)"
