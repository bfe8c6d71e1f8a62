"""`lost_suspected`: stale for longer still, or the provider reports loss (17TRACK Exception_Lost,
AfterShip Exception_013, normalized to status `lost`) and no person has confirmed it yet. (docs/domain.md)

A buyer's return parcel names its own next action (RETURN): reshipping to the buyer makes no sense there, and
who claims depends on who booked the courier (seed 002: a pick-up return's loss is paid to the shop; seed 003:
a return the buyer sent is the buyer's to take up with the courier)."""

from __future__ import annotations

from datetime import datetime, timedelta

from tracker.rules.common import epoch, is_final, is_return, whole_hours
from tracker.rules.model import Flag, ParcelView
from tracker.rules.policy import Policy
from tracker.rules.rule import Rule
from tracker.status import PRE_SCAN_STATUSES, FactKind, FlagKind, Severity, TrackingStatus

KIND = FlagKind.lost_suspected
RETURN = f"{KIND}.return"  # next_actions.toml key: a buyer's return parcel
# A parcel waiting at a pick-up point or in a locker is where the courier last said: not suspected lost, however
# long the buyer leaves it there (000 §7 speaks of "丢件"; the locker's own flag reminds the buyer to collect).
WAITING = frozenset({TrackingStatus.available_for_pickup, TrackingStatus.locker_overdue})


def evaluate(parcel: ParcelView, *, now: datetime, policy: Policy) -> Flag | None:
    """Escalate-severity flag when the provider says lost (unconfirmed), or when an open, non-final
    parcel's last event is at least lost_suspected.hours old and it is not waiting at a pick-up point or in a
    locker (WAITING). A confirmed loss (`lost`) replaces it."""
    if parcel.facts_of(FactKind.loss_confirmed) or parcel.last_event_at is None:
        return None
    anchor, value = epoch(parcel.last_event_at), whole_hours(now, parcel.last_event_at)
    action = RETURN if is_return(parcel) else ""
    if parcel.status == TrackingStatus.lost:
        return Flag(KIND, Severity.escalate, anchor=anchor, value=value, since=anchor, action=action)
    if not parcel.is_open or is_final(parcel) or parcel.status in WAITING or parcel.status in PRE_SCAN_STATUSES:
        return None  # never scanned: the courier never had it (no_first_scan's), so it cannot be lost in transit
    if parcel.last_event_at > now - timedelta(hours=policy.lost_suspected.hours):
        return None
    return Flag(KIND, Severity.escalate, anchor=anchor, value=value, since=anchor, action=action)


RULE = Rule(KIND, evaluate, thresholds=("lost_suspected",), actions=(str(KIND), RETURN))
