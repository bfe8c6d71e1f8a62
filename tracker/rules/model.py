"""Plain values the rules read and return: a parcel as the rules see it, its manual facts, a flag."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from tracker.status import Direction, FactKind, FlagKind, Severity, TrackingStatus


# A manual fact a person recorded (parcel_fact row).
@dataclass(frozen=True, slots=True)
class Fact:
    id: int
    kind: FactKind
    recorded_at: datetime
    data: Mapping[str, Any] = field(default_factory=dict)


# One parcel as the rules see it: the import facts, the tracking snapshot, the manual facts and the
# little cross-parcel context the return rules need (computed by the shell).
@dataclass(frozen=True, slots=True)
class ParcelView:
    id: int
    courier: str
    waybill: str
    direction: Direction = Direction.outbound
    status: TrackingStatus = TrackingStatus.pending  # normalized status of the newest event
    status_text: str | None = None  # the courier's text of the newest event
    provider_error: str | None = None
    is_open: bool = True
    order_id: str | None = None
    buyer_id: str | None = None
    province: str | None = None
    city: str | None = None
    paid_at: datetime | None = None
    shipped_at: datetime | None = None
    promised_ship_by: datetime | None = None
    first_scan_at: datetime | None = None
    last_event_at: datetime | None = None
    return_agreed_at: datetime | None = None
    refund_deadline: datetime | None = None
    refund_express: bool = False
    created_at: datetime | None = None
    delivered_at: datetime | None = None  # signed (签收), the seven-day return counts from the next 00:00
    goods_value: Decimal | None = None  # the price the late-shipment exposure is computed from
    facts: tuple[Fact, ...] = ()
    return_recorded: bool = False  # outbound: a return parcel exists for the same order
    waybill_buyers: int = 1  # return: distinct buyer ids recorded with this return waybill

    def facts_of(self, kind: FactKind) -> tuple[Fact, ...]:
        return tuple(f for f in self.facts if f.kind == kind)


# A flag a rule raises. `level` orders escalation (0 = first step); `anchor` names the occurrence
# (epoch seconds of the time the rule measures from, or a fact id) so a person's resolution holds
# until the condition clears or moves on; `value` fills {hours} / {days} in the next action.
@dataclass(frozen=True, slots=True)
class Flag:
    kind: FlagKind
    severity: Severity = Severity.warn
    level: int = 0
    anchor: int = 0
    value: int | None = None
    # when the value is whole hours or days since a time: that time (epoch seconds), so that a reader can count
    # them again at its own now (tracker/flags/next_action.py); None for other values (days left, counts)
    since: int | None = None
    action: str = ""  # key in next_actions.toml; empty = the kind
    # what alert planning reads besides the level: the refund ladder's position
    # (tracker.rules.ladder.LadderPosition.to_details); None for other kinds
    details: Mapping[str, Any] | None = field(default=None, compare=False)

    @property
    def action_key(self) -> str:
        return self.action or str(self.kind)
