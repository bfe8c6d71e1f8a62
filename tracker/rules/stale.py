"""`stale`: scanned by the courier, not final, no new event since the last one (000 §7 "物流一直没有更新的").

Applies to both directions, so a returning parcel's return leg goes stale too. A parcel still before any
carrier scan (PRE_SCAN_STATUSES: an order-only event such as 已下单，等待揽收 at most) is no_first_scan's, or on
a buyer's return the return rules': one flag for one situation. Read from the status, which the stale index
covers.
(docs/domain.md)"""

from __future__ import annotations

from datetime import datetime, timedelta

from tracker.rules.common import epoch, is_final, whole_hours
from tracker.rules.model import Flag, ParcelView
from tracker.rules.policy import Policy
from tracker.rules.rule import Rule
from tracker.status import PRE_SCAN_STATUSES, FlagKind, Severity

KIND = FlagKind.stale


def evaluate(parcel: ParcelView, *, now: datetime, policy: Policy) -> Flag | None:
    """Open, not final, last event at least stale.warn_hours ago: warn; escalate_hours: escalate.
    Anchor: last_event_at, so a new scan makes a new occurrence."""
    if not parcel.is_open or is_final(parcel) or parcel.last_event_at is None or parcel.status in PRE_SCAN_STATUSES:
        return None
    limits = policy.stale
    if parcel.last_event_at > now - timedelta(hours=limits.warn_hours):
        return None
    escalated = parcel.last_event_at <= now - timedelta(hours=limits.escalate_hours)
    return Flag(
        KIND,
        Severity.escalate if escalated else Severity.warn,
        level=1 if escalated else 0,
        anchor=epoch(parcel.last_event_at),
        value=whole_hours(now, parcel.last_event_at),
        since=epoch(parcel.last_event_at),
    )


RULE = Rule(KIND, evaluate, thresholds=("stale",))
