"""Plain values the alert planner works on: a flag with its parcel, what is already stored, a plan."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any


# A claim row as the planner sees it (proposal attached to lost_suspected alerts, digest totals).
@dataclass(frozen=True, slots=True)
class ClaimFacts:
    parcel_id: int
    courier: str
    claim_type: str
    state: str
    amount: Decimal | None
    currency: str
    filing_closes_at: datetime | None
    waybill: str = ""
    shop: str | None = None
    province: str | None = None


# An open flag joined with the parcel fields routing and messages need.
@dataclass(frozen=True, slots=True)
class FlagFacts:
    flag_id: int
    parcel_id: int
    kind: str
    severity: str
    level: int
    opened_at: datetime
    courier: str
    waybill: str
    escalated_at: datetime | None = None
    state: str = "open"
    next_action_zh: str | None = None
    next_action_en: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)
    courier_name: str = ""
    courier_name_en: str = ""
    shop: str | None = None
    province: str | None = None
    buyer_id: str | None = None
    order_id: str | None = None
    direction: str = "outbound"
    shipped_at: datetime | None = None
    last_event_at: datetime | None = None
    paid_at: datetime | None = None
    refund_deadline: datetime | None = None
    claims: tuple[ClaimFacts, ...] = ()


# A Tmall timer of a parcel for the digest (tracker.flags.timers; docs/domain.md "Tmall's timers").
@dataclass(frozen=True)
class DeadlineFacts:
    parcel_id: int
    waybill: str
    courier: str
    kind: str  # tracker.rules.tmall_timers.TimerKind
    due_at: datetime
    shop: str | None = None
    province: str | None = None


# The latest alert of one level of a flag episode to one group, for its reminders.
@dataclass(frozen=True, slots=True)
class LastAlert:
    reminder: int  # 0 for the level's first alert, n for its n-th reminder (the highest stored)
    sent_at: datetime | None  # when that alert went (the latest of its channels); None while none went
    # an alert of the level to the group can still go (held, pending, failed and retried) and none of that
    # latest alert's channels has delivered it
    waiting: bool
    # what the next reminder counts from when that alert did not go and none waits (cancelled, gave up, its
    # channel removed): the latest time an alert of the level went to the group, else when that alert was stored
    counted_from: datetime | None = None
    # how many alerts of the level went to the group (its first, then reminders, as the group counts them: one
    # cancelled or given up before it went is not among them); None: every one stored went
    told: int | None = None
    # that latest alert was cancelled on every channel (its flag no longer open, a channel removed)
    cancelled: bool = False

    @property
    def seen(self) -> bool:
        """Whether an alert of the level went to the group."""
        return self.told is None or self.told > 0


@dataclass(frozen=True, slots=True)
class BookedCall:
    """A phone task stored by an earlier run: when it is due, its number in its case, the group calling."""

    slot: datetime
    number: int
    owner: str


# What the alert log already holds, as far as planning needs it.
@dataclass(frozen=True)
class AlertHistory:
    keys: frozenset[str] = frozenset()
    # (flag episode, level, group) -> the latest alert of that level to that group
    last_alert: Mapping[tuple[str, str, str], LastAlert] = field(default_factory=dict)
    # distinct phone tasks per case (see case_key) and per (buyer id, local day of the call)
    calls_per_case: Mapping[str, int] = field(default_factory=dict)
    calls_per_buyer_day: Mapping[tuple[str, date], int] = field(default_factory=dict)
    # (group, channel) -> when its latest daily digest went out (the next one counts new exceptions from there)
    last_digests: Mapping[tuple[str, str], datetime] = field(default_factory=dict)
    # call key -> the phone task stored for it (when, its number in its case, the group calling)
    calls_booked: Mapping[str, BookedCall] = field(default_factory=dict)


# One alert to store: a message for one group over one channel.
@dataclass(frozen=True, slots=True)
class PlannedAlert:
    dedupe_key: str
    flag_id: int | None
    parcel_id: int | None
    channel: str
    recipient: str
    level: str
    subject: str
    body: str
    state: str  # pending | held
    due_at: datetime
    call_key: str | None = None


def case_key(order_id: str | None, parcel_id: int | None) -> str:
    """The after-sales case a phone call belongs to: the order (its outbound and return parcels are one
    case), or the parcel when the order is unknown."""
    return f"order:{order_id}" if order_id else f"parcel:{parcel_id}"
