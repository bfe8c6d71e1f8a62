"""`return_waybill_invalid`: the return waybill finds nothing at the courier, or the logistics shown are
wrong (000 §23.1): the provider's error says so (rules.toml [text_patterns] waybill_invalid), or a
person recorded it. (docs/domain.md)"""

from __future__ import annotations

from datetime import datetime

from tracker.rules.common import is_return, text_matches
from tracker.rules.model import Flag, ParcelView
from tracker.rules.policy import Policy
from tracker.rules.rule import Rule
from tracker.status import FINAL_STATUSES, FactKind, FlagKind, Severity

KIND = FlagKind.return_waybill_invalid


def evaluate(parcel: ParcelView, *, now: datetime, policy: Policy) -> Flag | None:
    """Return parcel with a `waybill_invalid` fact (anchor: the newest fact), or, not final and never
    scanned, a provider error matching the waybill_invalid patterns."""
    if not is_return(parcel):
        return None
    facts = parcel.facts_of(FactKind.waybill_invalid)
    if facts:
        return Flag(KIND, Severity.warn, anchor=max(f.id for f in facts))
    if parcel.status in FINAL_STATUSES or parcel.first_scan_at is not None:
        return None
    if text_matches(parcel.provider_error, policy.text_patterns.get("waybill_invalid", ())):
        return Flag(KIND, Severity.warn)
    return None


RULE = Rule(KIND, evaluate, thresholds=("text_patterns",), against_courier=False)
