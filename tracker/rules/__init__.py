"""Exception rules (docs/domain.md, docs/adding-a-rule.md): one pure rule per module, registered in RULES.

Every rule is `evaluate(parcel: ParcelView, *, now, policy) -> Flag | None`: plain values in, a flag or
nothing out, `now` passed in, no I/O. `evaluate_parcel` runs them all. The set-based SQL forms used at
scale live in tracker/flags/queries.py and are tested to agree with these.

Each rule as implemented, with its seed file and section: docs/domain.md."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from tracker.rules import (
    address_problem,
    blind_area,
    damaged,
    delivered_disputed,
    late_shipment,
    locker_overdue,
    lost,
    lost_suspected,
    no_first_scan,
    out_of_area,
    refund_deadline,
    refused,
    return_abandoned,
    return_no_movement,
    return_no_waybill,
    return_partial,
    return_surface_mail,
    return_waybill_invalid,
    return_waybill_shared,
    returned,
    returning,
    stale,
    stranded,
    unreachable,
)
from tracker.rules.model import Fact, Flag, ParcelView
from tracker.rules.policy import Policy, resolve_policy
from tracker.status import FlagKind

Rule = Callable[..., Flag | None]

# The registry: (kind, evaluate) for every rule, outbound then return.
RULES: list[tuple[FlagKind, Rule]] = [
    (m.KIND, m.evaluate)
    for m in (
        no_first_scan,
        stale,
        lost_suspected,
        lost,
        out_of_area,
        blind_area,
        stranded,
        refused,
        returning,
        returned,
        address_problem,
        unreachable,
        locker_overdue,
        damaged,
        delivered_disputed,
        late_shipment,
        return_no_waybill,
        return_no_movement,
        return_abandoned,
        return_surface_mail,
        return_waybill_shared,
        return_waybill_invalid,
        return_partial,
        refund_deadline,
    )
]


def evaluate_parcel(parcel: ParcelView, *, now: datetime, policy: Policy) -> list[Flag]:
    """Every flag the rules raise for one parcel, in registry order (at most one per kind)."""
    flags = []
    for _kind, rule in RULES:
        flag = rule(parcel, now=now, policy=policy)
        if flag is not None:
            flags.append(flag)
    return flags


__all__ = ["RULES", "Fact", "Flag", "ParcelView", "Policy", "evaluate_parcel", "resolve_policy"]
