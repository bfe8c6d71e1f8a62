"""`return_no_movement`: return waybill recorded, no logistics after returns.no_movement_days
(002 "超过10天 没有物流 查找物流信息,如果异常,找物流并联系顾客确认"; docs/domain.md "Return cases")."""

from __future__ import annotations

from datetime import datetime, timedelta

from tracker.rules.common import epoch, is_return, return_case_without_logistics, return_since, whole_days
from tracker.rules.model import Flag, ParcelView
from tracker.rules.policy import Policy
from tracker.rules.rule import Rule
from tracker.status import FlagKind, Severity

KIND = FlagKind.return_no_movement


def evaluate(parcel: ParcelView, *, now: datetime, policy: Policy) -> Flag | None:
    """Return parcel, not final, never scanned, and the case (return_agreed_at, else the time the
    return parcel was recorded) MORE than no_movement_days old (超过: strictly). Resolves itself on the first scan."""
    if not is_return(parcel) or not return_case_without_logistics(parcel):
        return None
    since = return_since(parcel)
    if since is None or since >= now - timedelta(days=policy.returns.no_movement_days):
        return None
    return Flag(KIND, Severity.warn, value=whole_days(now, since), since=epoch(since))


RULE = Rule(KIND, evaluate, thresholds=("returns",), against_courier=False)
