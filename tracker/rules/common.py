"""Small pure helpers shared by the rules: time arithmetic in whole seconds, finality, text matching."""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterable
from datetime import datetime, timedelta

from tracker.rules.model import ParcelView
from tracker.rules.policy import Policy
from tracker.status import FINAL_STATUSES, Direction, FactKind, TrackingStatus

HOUR = 3600
DAY = 86400


def epoch(value: datetime) -> int:
    """Whole seconds since 1970 (floor), the unit anchors and {hours}/{days} are computed in."""
    return math.floor(value.timestamp())


def whole_hours(now: datetime, since: datetime) -> int:
    return (epoch(now) - epoch(since)) // HOUR


def whole_days(now: datetime, since: datetime) -> int:
    return (epoch(now) - epoch(since)) // DAY


def is_final(parcel: ParcelView) -> bool:
    """Delivered, returned, cancelled, or lost once confirmed (a person recorded the courier's word)."""
    return parcel.status in FINAL_STATUSES or bool(parcel.facts_of(FactKind.loss_confirmed))


def watched(parcel: ParcelView, now: datetime, policy: Policy) -> bool:
    """Open, or closed less than the watch period ago (001 (七): 15 days after the transaction)."""
    if parcel.is_open:
        return True
    cutoff = now - timedelta(days=policy.watch.days_after_success)
    return parcel.last_event_at is not None and parcel.last_event_at >= cutoff


def text_matches(text: str | None, patterns: Iterable[str], negations: str = "") -> bool:
    """Does the text contain one of the patterns, and none of the negations (a regular expression: 请拒收)?"""
    if not text or not any(p in text for p in patterns):
        return False
    return not negations or _compiled(negations).search(text) is None


@functools.lru_cache(maxsize=64)
def _compiled(regex: str) -> re.Pattern[str]:
    return re.compile(regex)


def is_return(parcel: ParcelView) -> bool:
    return parcel.direction == Direction.ret


def return_case_without_logistics(parcel: ParcelView) -> bool:
    """A return case that has no return logistics yet: an agreed return on the outbound parcel with no
    return parcel recorded, or a return parcel not final and never scanned."""
    if is_return(parcel):
        return parcel.status not in FINAL_STATUSES and parcel.first_scan_at is None
    return parcel.return_agreed_at is not None and not parcel.return_recorded


def return_since(parcel: ParcelView) -> datetime | None:
    """When the return case started: the agreement, else (return parcels) when it was recorded."""
    return parcel.return_agreed_at or (parcel.created_at if is_return(parcel) else None)


__all__ = ["TrackingStatus"]
