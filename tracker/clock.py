"""The one reading of the clock's override: TRACKER_NOW pins "now" for demos and tests.

Only entrypoints (CLI, board) ask for the time; everything below them takes `now` as an argument."""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import UTC, datetime

from tracker.errors import TrackerError

ENV = "TRACKER_NOW"


def parse_now(text: str) -> datetime:
    """An ISO 8601 time ("Z" allowed) as an aware datetime; a time without an offset is taken as UTC."""
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise TrackerError(f"{ENV}: expected an ISO time such as 2026-11-23T12:00:00+08:00, got {text!r}") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def pinned_now(environ: Mapping[str, str] | None = None) -> datetime | None:
    """TRACKER_NOW as a datetime, or None when it is unset or empty."""
    text = (os.environ if environ is None else environ).get(ENV)
    return parse_now(text) if text else None


def now() -> datetime:
    """TRACKER_NOW when set, else the system clock (UTC)."""
    return pinned_now() or datetime.now(UTC)
