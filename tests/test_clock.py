"""TRACKER_NOW, read in one place (tracker/clock.py) by every entrypoint."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from tracker.clock import now, parse_now, pinned_now
from tracker.errors import TrackerError

SHANGHAI = timezone(timedelta(hours=8))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-23T12:00:00+08:00", datetime(2026, 11, 23, 12, 0, tzinfo=SHANGHAI)),
        ("2026-11-23T04:00:00Z", datetime(2026, 11, 23, 4, 0, tzinfo=UTC)),
        ("2026-11-23T04:00:00", datetime(2026, 11, 23, 4, 0, tzinfo=UTC)),  # no offset: UTC
        (" 2026-11-23 04:00 ", datetime(2026, 11, 23, 4, 0, tzinfo=UTC)),
    ],
)
def test_parse_now_gives_an_aware_time(text: str, expected: datetime) -> None:
    value = parse_now(text)
    assert value == expected and value.tzinfo is not None


def test_a_bad_value_is_one_line_naming_the_variable() -> None:
    with pytest.raises(TrackerError, match=r"^TRACKER_NOW: expected an ISO time .*, got 'yesterday'$"):
        parse_now("yesterday")


def test_pinned_or_system_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    assert pinned_now({}) is None and pinned_now({"TRACKER_NOW": ""}) is None
    monkeypatch.setenv("TRACKER_NOW", "2026-11-23T04:00:00Z")
    assert now() == datetime(2026, 11, 23, 4, 0, tzinfo=UTC)
    monkeypatch.delenv("TRACKER_NOW")
    before = datetime.now(UTC)
    assert before <= now() <= datetime.now(UTC)
