"""Rules raised by the tracking status itself, falling back to the courier's text.

A status rule fires on a watched parcel (open, or closed within the watch period) whose normalized
status is one of its statuses (the parsers map Kuaidi100 207 / Kdniao 423 to out_of_area, ...), or,
when the parcel is open and not final, whose newest courier text contains one of rules.toml
[text_patterns] and none of its negations (config/phrases.toml's for the status of that name: "如有破损请拒收"
is advice, not a refusal; RulesConfig.text_negations). A closed parcel is judged by its status alone.
These are not time-based: they stay while the status or text holds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tracker.rules.common import is_return, text_matches, watched
from tracker.rules.model import Flag, ParcelView
from tracker.rules.policy import Policy
from tracker.status import FINAL_STATUSES, FlagKind, Severity, TrackingStatus


@dataclass(frozen=True)
class StatusRule:
    kind: FlagKind
    statuses: frozenset[TrackingStatus]
    patterns: str | None = None  # key of rules.toml [text_patterns]
    severity: Severity = Severity.warn
    return_action: str = ""  # next_actions.toml key on a buyer's return parcel (empty: the kind's own)

    def evaluate(self, parcel: ParcelView, *, now: datetime, policy: Policy) -> Flag | None:
        """A flag of this kind when the status or (not final) the text says so; else None."""
        if not watched(parcel, now, policy):
            return None
        hit = parcel.status in self.statuses
        if not hit and self.patterns and parcel.is_open and parcel.status not in FINAL_STATUSES:
            patterns = policy.text_patterns.get(self.patterns, ())
            hit = text_matches(parcel.status_text, patterns, policy.text_negations.get(self.patterns, ""))
        if not hit:
            return None
        return Flag(self.kind, self.severity, action=self.return_action if is_return(parcel) else "")
