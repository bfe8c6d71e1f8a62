"""`return_abandoned`: buyer unreachable after repeated attempts, returns.abandoned_days after the return
was agreed: treat as not returned (002 "若订单20天后我们多次确认无法联系上顾客,视为顾客没有寄回"). Once the buyer
was reached (a `buyer_reached` fact), the attempts before it no longer count: the buyer was not unreachable
after all; only the attempts recorded after the newest contact do (docs/domain.md)."""

from __future__ import annotations

from datetime import datetime, timedelta

from tracker.rules.common import epoch, return_case_without_logistics, return_since, whole_days
from tracker.rules.model import Fact, Flag, ParcelView
from tracker.rules.policy import Policy
from tracker.rules.rule import Rule
from tracker.status import FactKind, FlagKind, Severity

KIND = FlagKind.return_abandoned


def attempts_since_contact(parcel: ParcelView) -> tuple[Fact, ...]:
    """The `buyer_unreachable` facts recorded after the newest `buyer_reached` one (all when none)."""
    reached = max((f.id for f in parcel.facts_of(FactKind.buyer_reached)), default=0)
    return tuple(f for f in parcel.facts_of(FactKind.buyer_unreachable) if f.id > reached)


def evaluate(parcel: ParcelView, *, now: datetime, policy: Policy) -> Flag | None:
    """A return case without logistics, started at least abandoned_days ago, with at least
    abandoned_min_attempts `buyer_unreachable` facts recorded on the parcel since the buyer was last reached."""
    if not return_case_without_logistics(parcel):
        return None
    since = return_since(parcel)
    if since is None or since > now - timedelta(days=policy.returns.abandoned_days):
        return None
    if len(attempts_since_contact(parcel)) < policy.returns.abandoned_min_attempts:
        return None
    return Flag(KIND, Severity.escalate, value=whole_days(now, since), since=epoch(since))


RULE = Rule(KIND, evaluate, thresholds=("returns",), against_courier=False)
