"""Exception rules (docs/domain.md, docs/adding-a-rule.md): one rule per module, each a `Rule`
(tracker/rules/rule.py) listed in RULES (tracker/rules/registry.py).

Every rule is `evaluate(parcel: ParcelView, *, now, policy) -> Flag | None`: plain values in, a flag or
nothing out, `now` passed in, no I/O. `evaluate_parcel` runs them all. The set-based SQL forms used at
scale are registered by kind in tracker/flags/queries.py and are tested to agree with these.

Each rule as implemented, with its seed file and section: docs/domain.md."""

from __future__ import annotations

from datetime import datetime

from tracker.rules.model import Fact, Flag, ParcelView
from tracker.rules.policy import Policy, resolve_policy
from tracker.rules.registry import BY_KIND, RULES
from tracker.rules.rule import Rule


def evaluate_parcel(parcel: ParcelView, *, now: datetime, policy: Policy) -> list[Flag]:
    """Every flag the rules raise for one parcel, in registry order (at most one per kind)."""
    flags = []
    for rule in RULES:
        flag = rule.evaluate(parcel, now=now, policy=policy)
        if flag is not None:
            flags.append(flag)
    return flags


__all__ = ["BY_KIND", "RULES", "Rule", "Fact", "Flag", "ParcelView", "Policy", "evaluate_parcel", "resolve_policy"]
