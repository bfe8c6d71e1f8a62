"""`return_waybill_shared`: the same return waybill recorded for several different buyer ids (000 §23.3).
One buyer using one waybill for several orders is legitimate and does not count. (docs/domain.md)"""

from __future__ import annotations

from datetime import datetime

from tracker.rules.common import is_return
from tracker.rules.model import Flag, ParcelView
from tracker.rules.policy import Policy
from tracker.rules.rule import Rule
from tracker.status import FlagKind, Severity

KIND = FlagKind.return_waybill_shared


def evaluate(parcel: ParcelView, *, now: datetime, policy: Policy) -> Flag | None:
    """Return parcel whose waybill is recorded (on any return parcel) for at least
    returns.shared_waybill_buyers distinct buyer ids (`waybill_buyers`, counted by the shell)."""
    if not is_return(parcel) or parcel.waybill_buyers < policy.returns.shared_waybill_buyers:
        return None
    return Flag(KIND, Severity.escalate, value=parcel.waybill_buyers)


RULE = Rule(KIND, evaluate, thresholds=("returns",), against_courier=False)
