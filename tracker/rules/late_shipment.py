"""`late_shipment`: paid and not shipped by the promised time, by default late_shipment.hours_after_payment
after payment (002 "延迟发货 买家操作付款后72小时后"). (docs/domain.md)"""

from __future__ import annotations

from datetime import datetime, timedelta

from tracker.rules.common import epoch, is_return, whole_hours
from tracker.rules.model import Flag, ParcelView
from tracker.rules.policy import Policy
from tracker.rules.rule import Rule
from tracker.status import FlagKind, Severity

KIND = FlagKind.late_shipment
WITH_EXPOSURE = f"{KIND}.exposure"  # next_actions.toml key: the text with {exposure_cny} and {exposure_points}


def evaluate(parcel: ParcelView, *, now: datetime, policy: Policy) -> Flag | None:
    """Open outbound parcel with no shipped_at, paid, and now past promised_ship_by (000: 超过官方规定的发货时间:
    strictly after; the promised second itself is on time), or, when the order has no promise, at or past
    paid_at + hours_after_payment (002: 买家操作付款后72小时后). Resolves itself once shipped."""
    if not parcel.is_open or is_return(parcel) or parcel.shipped_at is not None or parcel.paid_at is None:
        return None
    if parcel.promised_ship_by is not None:
        due = parcel.promised_ship_by < now
    else:
        due = parcel.paid_at <= now - timedelta(hours=policy.late_shipment.hours_after_payment)
    if not due:
        return None
    # with a price, the next action names the shop's exposure (filled from tmall.toml after evaluation)
    action = WITH_EXPOSURE if parcel.goods_value is not None else ""
    return Flag(KIND, Severity.warn, value=whole_hours(now, parcel.paid_at), since=epoch(parcel.paid_at), action=action)


RULE = Rule(KIND, evaluate, thresholds=("late_shipment",), actions=(str(KIND), WITH_EXPOSURE), against_courier=False)
