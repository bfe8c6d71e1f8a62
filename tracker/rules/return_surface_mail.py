"""`return_surface_mail`: the return waybill starts with a surface-mail (平邮) prefix (000 §23.4). (docs/domain.md)"""

from __future__ import annotations

from datetime import datetime

from tracker.rules.common import is_final, is_return
from tracker.rules.model import Flag, ParcelView
from tracker.rules.policy import Policy
from tracker.rules.rule import Rule
from tracker.status import FlagKind, Severity

KIND = FlagKind.return_surface_mail


def evaluate(parcel: ParcelView, *, now: datetime, policy: Policy) -> Flag | None:
    """Return parcel, not final (nor a loss a person confirmed), whose waybill starts with one of
    returns.surface_mail_prefixes."""
    if not is_return(parcel) or is_final(parcel):
        return None
    if not parcel.waybill.startswith(tuple(policy.returns.surface_mail_prefixes)):
        return None
    return Flag(KIND, Severity.warn)


RULE = Rule(KIND, evaluate, thresholds=("returns",), against_courier=False)
