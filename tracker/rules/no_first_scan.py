"""`no_first_scan`: shipped in the shop, no carrier event since (000 §7 "发货后 3-4天一直没有物流信息的";
docs/domain.md)."""

from __future__ import annotations

from datetime import datetime, timedelta

from tracker.rules.common import epoch, is_final, is_return, whole_hours
from tracker.rules.model import Flag, ParcelView
from tracker.rules.policy import Policy
from tracker.rules.rule import Rule
from tracker.status import FlagKind, Severity

KIND = FlagKind.no_first_scan


def evaluate(parcel: ParcelView, *, now: datetime, policy: Policy) -> Flag | None:
    """Open outbound parcel, not final, shipped and never scanned: warn at no_first_scan.warn_hours
    after shipped_at, escalate at escalate_hours (thresholds inclusive). Anchor: shipped_at."""
    if not parcel.is_open or is_return(parcel) or is_final(parcel):
        return None
    if parcel.first_scan_at is not None or parcel.shipped_at is None:
        return None
    limits = policy.no_first_scan
    if parcel.shipped_at > now - timedelta(hours=limits.warn_hours):
        return None
    escalated = parcel.shipped_at <= now - timedelta(hours=limits.escalate_hours)
    return Flag(
        KIND,
        Severity.escalate if escalated else Severity.warn,
        level=1 if escalated else 0,
        anchor=epoch(parcel.shipped_at),
        value=whole_hours(now, parcel.shipped_at),
        since=epoch(parcel.shipped_at),
    )


RULE = Rule(KIND, evaluate, thresholds=("no_first_scan",))
