"""Rules raised by a fact a person recorded: the flag stays while the fact stands (resolved by a person)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tracker.rules.common import is_return
from tracker.rules.model import Flag, ParcelView
from tracker.rules.policy import Policy
from tracker.status import Direction, FactKind, FlagKind, Severity


@dataclass(frozen=True)
class FactRule:
    kind: FlagKind
    fact: FactKind
    severity: Severity = Severity.warn
    direction: Direction | None = None  # only parcels of this direction
    return_action: str = ""  # next_actions.toml key on a buyer's return parcel (empty: the kind's own)

    def evaluate(self, parcel: ParcelView, *, now: datetime, policy: Policy) -> Flag | None:
        """A flag anchored on the newest such fact (a newer fact reopens a resolved flag); else None."""
        if self.direction is not None and parcel.direction != self.direction:
            return None
        facts = parcel.facts_of(self.fact)
        if not facts:
            return None
        action = self.return_action if is_return(parcel) else ""
        return Flag(self.kind, self.severity, anchor=max(f.id for f in facts), action=action)
