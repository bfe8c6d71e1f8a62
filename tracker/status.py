"""The one status taxonomy (docs/tracking-status.md), the flag vocabulary (docs/domain.md) and the unit of money."""

from decimal import Decimal
from enum import StrEnum

# The smallest amount of money (CNY 1 分): every amount, computed or read, is quantized to it.
CENT = Decimal("0.01")


# Normalized tracking status of one event or of a parcel snapshot.
class TrackingStatus(StrEnum):
    pending = "pending"  # shipped in the shop, no carrier event yet
    info_received = "info_received"
    picked_up = "picked_up"
    in_transit = "in_transit"
    out_for_delivery = "out_for_delivery"
    available_for_pickup = "available_for_pickup"
    delivered = "delivered"
    stale = "stale"
    overdue_unsigned = "overdue_unsigned"
    no_first_scan = "no_first_scan"
    lost = "lost"
    out_of_area = "out_of_area"
    returning = "returning"
    returned = "returned"
    refused = "refused"
    damaged = "damaged"
    stranded = "stranded"
    address_problem = "address_problem"
    unreachable = "unreachable"
    delivery_failed = "delivery_failed"
    locker_overdue = "locker_overdue"
    intercepted = "intercepted"
    cancelled = "cancelled"
    missorted = "missorted"
    forwarded = "forwarded"
    customs = "customs"
    unknown = "unknown"


# Parcel states that end tracking: no time-based flag, never polled again (docs/domain.md). Not `lost`: a
# provider's or courier's word of a loss (17TRACK Exception_Lost, 快件丢失) is a suspicion until a person
# confirms it (fact loss_confirmed, final for the rules: tracker.rules.common.is_final), and couriers do find
# parcels again (遗失快件已找回，正在派送), which only a parcel still polled can show.
FINAL_STATUSES: frozenset[TrackingStatus] = frozenset(
    {TrackingStatus.delivered, TrackingStatus.returned, TrackingStatus.cancelled}
)
# the same as the database stores them (plain text, for comparing stored rows by the thousand)
FINAL_STATUS_TEXTS: frozenset[str] = frozenset(str(s) for s in FINAL_STATUSES)


# Statuses before any carrier scan (the shop printed a label, the courier has the order): a parcel in one has not
# been in the courier's hands (docs/domain.md, no_first_scan). Its first scan is the first event in no other status.
PRE_SCAN_STATUSES: frozenset[TrackingStatus] = frozenset({TrackingStatus.pending, TrackingStatus.info_received})


class Direction(StrEnum):
    outbound = "outbound"  # warehouse -> buyer
    ret = "return"  # buyer -> warehouse


class FlagKind(StrEnum):
    no_first_scan = "no_first_scan"
    stale = "stale"
    lost_suspected = "lost_suspected"
    lost = "lost"
    out_of_area = "out_of_area"
    blind_area = "blind_area"
    stranded = "stranded"
    refused = "refused"
    returning = "returning"
    returned = "returned"
    address_problem = "address_problem"
    unreachable = "unreachable"
    locker_overdue = "locker_overdue"
    damaged = "damaged"
    delivered_disputed = "delivered_disputed"
    late_shipment = "late_shipment"
    return_no_waybill = "return_no_waybill"
    return_no_movement = "return_no_movement"
    return_abandoned = "return_abandoned"
    return_surface_mail = "return_surface_mail"
    return_waybill_shared = "return_waybill_shared"
    return_waybill_invalid = "return_waybill_invalid"
    return_partial = "return_partial"
    refund_deadline = "refund_deadline"


# Manual facts a person records about a parcel (parcel_fact.kind).
class FactKind(StrEnum):
    loss_confirmed = "loss_confirmed"  # the courier confirmed the loss -> `lost`
    not_received = "not_received"  # buyer says a delivered parcel never arrived or arrived short
    return_agreed = "return_agreed"  # refund case with its deadline (ordinary or express)
    buyer_unreachable = "buyer_unreachable"  # one failed attempt to reach the buyer
    return_short = "return_short"  # fewer items received than the return claims
    waybill_invalid = "waybill_invalid"  # the return waybill finds nothing or shows wrong logistics
    # issue 16 (docs/domain.md): what only people know, and the platform's events the timers count from
    buyer_reached = "buyer_reached"  # the buyer answered: earlier unreachable attempts no longer count
    signed_without_consent = "signed_without_consent"  # a third party or a locker, the buyer never asked
    signed_with_consent = "signed_with_consent"  # a third party or a locker, as the buyer asked (000 §21 (3))
    return_weighed = "return_weighed"  # the return parcel's weight against the shipped weight (grams)
    trade_succeeded = "trade_succeeded"  # 交易成功 on the platform (data: at): the complaint window
    complaint_opened = "complaint_opened"  # the buyer opened a 未收到货 complaint (data: at)
    complaint_amount_changed = "complaint_amount_changed"  # the buyer changed its amount (data: at)


class Severity(StrEnum):
    warn = "warn"
    escalate = "escalate"


class FlagState(StrEnum):
    open = "open"
    acknowledged = "acknowledged"
    resolved = "resolved"


class ClaimState(StrEnum):
    draft = "draft"
    needs_config = "needs_config"  # drafted, but a formula input is unset (docs/domain.md "Claims without an amount")
    filed = "filed"
    paid = "paid"
    rejected = "rejected"
    expired = "expired"
    withdrawn = "withdrawn"


class AlertState(StrEnum):
    pending = "pending"
    held = "held"  # quiet hours: sent in the next window's digest
    sent = "sent"
    failed = "failed"
    cancelled = "cancelled"  # the flag was resolved before the alert went out
