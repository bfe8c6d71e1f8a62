"""`return_no_waybill`: return agreed, no return waybill recorded after returns.no_waybill_days
(002 售后跟进流程图 "超过2天没有物流单 ... 联系客户询问是否退回并录入单号"; docs/domain.md "Return cases")."""

from __future__ import annotations

from datetime import datetime, timedelta

from tracker.rules.common import epoch, is_return, whole_days
from tracker.rules.model import Flag, ParcelView
from tracker.rules.policy import Policy
from tracker.rules.rule import Rule
from tracker.status import FlagKind, Severity

KIND = FlagKind.return_no_waybill


def evaluate(parcel: ParcelView, *, now: datetime, policy: Policy) -> Flag | None:
    """Outbound parcel with return_agreed_at MORE than no_waybill_days ago (超过: strictly, so not at the
    exact second) and no return parcel for its order. Resolves itself when the return waybill is recorded."""
    agreed = parcel.return_agreed_at
    if is_return(parcel) or agreed is None or parcel.return_recorded:
        return None
    if agreed >= now - timedelta(days=policy.returns.no_waybill_days):
        return None
    return Flag(KIND, Severity.warn, value=whole_days(now, agreed), since=epoch(agreed))


RULE = Rule(KIND, evaluate, thresholds=("returns",), against_courier=False)
