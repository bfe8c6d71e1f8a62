"""Frozen value types shared by the pure core: no ORM, no I/O, no clock."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import NamedTuple

from tracker.status import Direction, TrackingStatus

# An order paid and not shipped yet (买家已付款，等待卖家发货) is kept as the parcel it will become, so that the
# late_shipment rule (延迟发货) watches it: no courier yet, and in the waybill's place the order number behind
# 订单, which no courier's number starts with. It is never polled; the import that brings the order's waybill
# turns it into that parcel (tracker/storage/repo.py, adopt_awaiting). docs/importing.md.
AWAITING_COURIER = ""
# what a filter (a board URL's courier=, the CLI's --courier) says for it: an empty text would be no filter at all
NO_COURIER_FILTER = "-"
AWAITING_PREFIX = "订单"
WAYBILL_WIDTH = 40  # the parcel table's waybill column (tracker/storage/rows.py)


def awaiting_waybill(order_id: str) -> str:
    """The waybill's place of the order `order_id` awaiting its parcel."""
    return AWAITING_PREFIX + order_id


# What a parcel is, as imported from an order or return export; the key is (courier, waybill). A named tuple
# (immutable, changed with _replace): an import makes one per row, and a frozen dataclass's __init__ of 27
# fields cost 3.8 us against 0.6 us (a tenth of a 100,000-row import's parse), and its fields in storage
# order are the tuple itself.
class ParcelFacts(NamedTuple):
    courier: str
    waybill: str
    direction: Direction | None = Direction.outbound  # None: the file does not say (an order export, a bill)
    order_id: str | None = None
    shop: str | None = None
    buyer_id: str | None = None
    province: str | None = None
    city: str | None = None
    district: str | None = None
    phone_last4: str | None = None
    recipient: str | None = None  # masked (tracker/masking.py): 张**
    phone_masked: str | None = None  # 138****1234
    address_detail: str | None = None  # the street, masked: 文三路****
    goods_title: str | None = None  # 宝贝标题
    goods_value: Decimal | None = None
    supplier_value: Decimal | None = None  # 供货商货值: a damaged accessory's claim base (an ERP's cost export)
    currency: str = "CNY"
    category: str | None = None
    forward_freight: Decimal | None = None
    return_freight: Decimal | None = None
    order_created_at: datetime | None = None
    issued_at: datetime | None = None  # order issued to the warehouse (订单下发), a claim anchor
    paid_at: datetime | None = None
    shipped_at: datetime | None = None
    promised_ship_by: datetime | None = None
    # Juhuasuan freight insurance (聚划算大运险); None: the file does not say (no such column), a stored parcel keeps
    # what an earlier export said
    freight_insured: bool | None = None
    refund_deadline: datetime | None = None
    return_agreed_at: datetime | None = None


# One normalized tracking event, from any provider, spider or push. A named tuple (immutable, compared and
# hashed by value, changed with _replace): one is made for every event of every reply read, and a frozen
# dataclass's __init__ cost two and a half times as much.
class TrackingEvent(NamedTuple):
    time: datetime  # UTC-aware
    status: TrackingStatus
    raw_code: str
    text: str
    location: str | None = None
