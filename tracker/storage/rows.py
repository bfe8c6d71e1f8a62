"""The tables (rows only; no behaviour), declared as annotated classes (tracker/storage/declare.py). Schema
changes go through Alembic migrations.

Money is Numeric(14, 2) read back as Decimal; times are UTC-aware. Partial indexes carry the hot
queries (docs/architecture.md, "Storage": an index on last_event_at alone loses to a plain scan).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, LargeBinary, Numeric, UniqueConstraint, text

from tracker.domain import AWAITING_COURIER, WAYBILL_WIDTH
from tracker.status import FINAL_STATUSES
from tracker.storage.declare import Field, Row

MONEY = Numeric(14, 2)
# PostgreSQL: the open parcels' status texts indexed whole up to this many bytes (a B-tree entry must stay
# under ~2.7 kB; a Chinese character is 3 bytes in UTF-8). Migration 0008 has the same number.
OPEN_TEXT_INDEX_BYTES = 2000
# a flag a person resolved, its condition not yet seen clear since (anchor -1 = tracker.flags.diff.CLEARED;
# 'rules' = RULES_ACTOR): ix_flag_resolved_by_person's predicate, and the evaluation's WHERE word for word
PERSON_RESOLVED_UNCLEARED = "state = 'resolved' AND resolved_by <> 'rules' AND coalesce(anchor, 0) <> -1"
# return parcels not in a final status: ix_parcel_open_return_waybill's predicate, which the surface-mail rule
# states word for word (the other return rules write the final statuses as parameters, so SQLite, which has
# no statistics to compare them by, never picks this index for them instead of ix_parcel_return_unscanned)
OPEN_RETURN = "direction = 'return' AND status NOT IN ({})".format(
    ", ".join(f"'{s}'" for s in sorted(str(s) for s in FINAL_STATUSES))
)


AWAITING_INDEX = "ix_parcel_awaiting"  # repo.any_awaiting names it to SQLite's planner
# an order still awaiting its parcel (domain.AWAITING_COURIER), not closed: ix_parcel_awaiting's predicate, which
# repo.any_awaiting states word for word (SQLite uses a partial index only for terms written as its own)
AWAITING_OPEN = {
    "sqlite": f"courier = '{AWAITING_COURIER}' AND is_open = 1",
    "postgresql": f"courier = '{AWAITING_COURIER}' AND is_open",
}
# ix_parcel_shipped's predicate, which the scorecards' reads repeat as a term (courier is never empty)
SCORECARD_INDEXED = "courier <> ''"
# the queue's "escalated" sort key, false (0) for an escalated flag: ix_flag_unresolved_queue's first column and
# the board's ORDER BY word for word (an expression index serves only the same expression)
QUEUE_ESCALATED_FIRST = text("(severity <> 'escalate')")


def _money(**kw: Any) -> Any:
    return Field(default=None, sa_type=MONEY, **kw)


# A parcel, outbound or return; identified by (courier, waybill).
class ParcelRow(Row):
    __tablename__ = "parcel"
    __table_args__ = (
        UniqueConstraint("waybill", "courier", name="uq_parcel_waybill_courier"),
        # due for polling: open parcels by next poll time
        Index(
            "ix_parcel_due",
            "next_poll_at",
            sqlite_where=text("is_open = 1"),
            postgresql_where=text("is_open"),
        ),
        # stale scan: open parcels by last event, covering courier (docs/architecture.md), and what the
        # stale and lost rules read (status, waybill; PostgreSQL: id): no parcel row lookups (migrations
        # 0007, 0008)
        Index(
            "ix_parcel_open_last_event",
            "last_event_at",
            "courier",
            "status",
            "waybill",
            "shipped_at",  # the scorecards' stale share: open stale parcels of a shipping period (migration 0016)
            # every reader compares last_event_at with a time: a parcel with no event yet (all an import adds)
            # is left out, and its first event adds it (migration 0023)
            sqlite_where=text("is_open = 1 AND last_event_at IS NOT NULL"),
            postgresql_where=text("is_open AND last_event_at IS NOT NULL"),
            postgresql_include=["id"],
        ),
        # the status rules' text scan over open parcels reads this instead of the parcel rows; is_open
        # is a column so that SQLite's planner takes it over ix_parcel_due (migration 0007). SQLite
        # only: PostgreSQL refuses B-tree entries over ~2.7 kB, and a courier text may be that long.
        Index(
            "ix_parcel_open_text",
            "status",
            "status_text",
            "is_open",
            sqlite_where=text("is_open = 1 AND status_text IS NOT NULL"),
        ).ddl_if(dialect="sqlite"),
        # PostgreSQL's version of it (migration 0008): texts up to OPEN_TEXT_INDEX_BYTES; the longer ones
        # (rare) are found by the next index and matched one by one
        Index(
            "ix_parcel_open_short_text",
            "status",
            "status_text",
            postgresql_where=text(
                f"is_open AND status_text IS NOT NULL AND octet_length(status_text) <= {OPEN_TEXT_INDEX_BYTES}"
            ),
        ).ddl_if(dialect="postgresql"),
        Index(
            "ix_parcel_open_long_text",
            "id",
            postgresql_where=text(f"is_open AND octet_length(status_text) > {OPEN_TEXT_INDEX_BYTES}"),
        ).ddl_if(dialect="postgresql"),
        # no first scan: open, shipped, no carrier event yet
        Index(
            "ix_parcel_open_no_scan",
            "shipped_at",
            "courier",
            sqlite_where=text("is_open = 1 AND first_scan_at IS NULL"),
            postgresql_where=text("is_open AND first_scan_at IS NULL"),
        ),
        Index("ix_parcel_order", "order_id"),
        # the parcels a worker holds (few at a time): the board's polling line counts them (migration 0015)
        Index(
            "ix_parcel_leased",
            "lease_until",
            "lease_owner",
            sqlite_where=text("lease_until IS NOT NULL"),
            postgresql_where=text("lease_until IS NOT NULL"),
        ),
        # the orders still awaiting their parcel (domain.AWAITING_COURIER): repo.any_awaiting (migration 0027)
        Index(
            AWAITING_INDEX,
            "id",
            sqlite_where=text(AWAITING_OPEN["sqlite"]),
            postgresql_where=text(AWAITING_OPEN["postgresql"]),
        ),
        # late shipment: open, paid, not shipped yet (migration 0003_rules)
        Index(
            "ix_parcel_open_unshipped",
            "paid_at",
            "promised_ship_by",
            sqlite_where=text("is_open = 1 AND shipped_at IS NULL"),
            postgresql_where=text("is_open AND shipped_at IS NULL"),
        ),
        # return parcels not scanned yet (return cases without logistics)
        Index(
            "ix_parcel_return_unscanned",
            "return_agreed_at",
            sqlite_where=text("direction = 'return' AND first_scan_at IS NULL"),
            postgresql_where=text("direction = 'return' AND first_scan_at IS NULL"),
        ),
        # open return parcels by waybill: the surface-mail rule's prefixes read here, not in every parcel
        # (status and direction columns too: SQLite reads a partial index alone only when it holds every
        # column named)
        Index(
            "ix_parcel_open_return_waybill",
            "waybill",
            "status",
            "direction",
            sqlite_where=text(OPEN_RETURN),
            postgresql_where=text(OPEN_RETURN),
        ),
        # outbound parcels with an agreed return (return cases without a return waybill yet)
        Index(
            "ix_parcel_return_agreed",
            "return_agreed_at",
            sqlite_where=text("return_agreed_at IS NOT NULL AND direction != 'return'"),
            postgresql_where=text("return_agreed_at IS NOT NULL AND direction != 'return'"),
        ),
        # exception statuses are rare: the status rules look them up instead of scanning
        Index("ix_parcel_status", "status", "last_event_at"),
        # a shipping period's parcels: the scorecards' days recomputed (tracker/storage/scorecard_days.py,
        # migration 0016). Its predicate is true of every parcel; a query uses the index only when it says so
        # (SCORECARD_INDEXED, in so many words): SQLite would otherwise take it over the rules' own partial
        # indexes for unscanned and unshipped parcels
        Index(
            "ix_parcel_shipped",
            "shipped_at",
            "courier",
            "delivered_at",
            sqlite_where=text(SCORECARD_INDEXED),
            postgresql_where=text(SCORECARD_INDEXED),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    courier: str = Field(max_length=32)
    waybill: str = Field(max_length=WAYBILL_WIDTH)
    direction: str = Field(default="outbound", max_length=10)
    order_id: str | None = Field(default=None, max_length=200)
    shop: str | None = Field(default=None, max_length=100)
    buyer_id: str | None = Field(default=None, max_length=100)
    province: str | None = Field(default=None, max_length=32)
    city: str | None = Field(default=None, max_length=32)
    district: str | None = Field(default=None, max_length=32)
    phone_last4: str | None = Field(default=None, max_length=4)
    # masked at import as Taobao masks them (tracker/masking.py); the clear text is never stored
    recipient: str | None = Field(default=None, max_length=32)  # 收货人: 张**
    phone_masked: str | None = Field(default=None, max_length=20)  # 138****1234
    address_detail: str | None = Field(default=None, max_length=200)  # street part: 文三路****
    goods_title: str | None = Field(default=None, max_length=200)  # 宝贝标题
    goods_value: Decimal | None = _money()
    supplier_value: Decimal | None = _money()  # 供货商货值: a damaged accessory's claim base (migration 0024)
    currency: str = Field(default="CNY", max_length=3)
    category: str | None = Field(default=None, max_length=64)
    forward_freight: Decimal | None = _money()
    return_freight: Decimal | None = _money()
    order_created_at: datetime | None = None
    issued_at: datetime | None = None
    paid_at: datetime | None = None
    shipped_at: datetime | None = None
    promised_ship_by: datetime | None = None
    freight_insured: bool = False
    refund_deadline: datetime | None = None
    return_agreed_at: datetime | None = None
    refund_express: bool | None = None  # 极速退款 (express refund ladder), recorded with the return agreement
    # tracking snapshot, maintained by the ingest path
    status: str = Field(default="pending", max_length=32)
    status_text: str | None = None
    first_scan_at: datetime | None = None
    last_event_at: datetime | None = None
    delivered_at: datetime | None = None
    is_open: bool = True
    next_poll_at: datetime | None = None
    last_polled_at: datetime | None = None
    # held by a `tracker worker` job while it polls the parcel (tracker/leases.py); NULL when free
    lease_until: datetime | None = None
    lease_owner: str | None = Field(default=None, max_length=64)
    provider_error: str | None = None  # the last provider error, shown to people
    created_at: datetime
    updated_at: datetime


# One tracking event; re-ingesting the same event adds nothing (unique per parcel, time and text).
class TrackingEventRow(Row):
    __tablename__ = "tracking_event"
    __table_args__ = (UniqueConstraint("parcel_id", "event_time", "text_hash", name="uq_event_parcel_time_text"),)

    id: int | None = Field(default=None, primary_key=True)
    parcel_id: int = Field(foreign_key="parcel.id")
    event_time: datetime
    status: str = Field(max_length=32)
    raw_code: str = Field(default="", max_length=64)
    text: str
    text_hash: str = Field(max_length=16)  # first 16 hex digits of sha1(text), for the unique key
    location: str | None = None
    source: str = Field(default="", max_length=16)  # kuaidi100 | kdniao | track17 | spider | push
    ingested_at: datetime


# The flag indexes no flag enters as the rules open it (open, unassigned, never resolved): their predicates
# refuse it. A large opening keeps them as they are instead of building them again after its rows
# (tracker/flags/bulk.py): each would read the whole table to gain no entry.
FLAG_INDEXES_NO_OPENING_ENTERS = frozenset(
    {"ix_flag_resolved_by_person", "ix_flag_unresolved_assignee", "ix_flag_resolved_at"}
)


# An exception flag: one per parcel and kind; its history lives in the audit log (its opening in its own row
# until the rules next change it: tracker/flags/history.py). On PostgreSQL the parcel_id foreign key is kept by
# triggers (migration 0008), which the rule evaluation may skip.
class FlagRow(Row):
    __tablename__ = "flag"
    __table_args__ = (
        UniqueConstraint("parcel_id", "kind", name="uq_flag_parcel_kind"),
        Index(
            "ix_flag_unresolved_kind_courier",
            "kind",
            "courier",
            sqlite_where=text("state != 'resolved'"),
            postgresql_where=text("state != 'resolved'"),
        ),
        # the flags a person resolved whose condition has not been seen clear yet (few): each evaluation
        # looks at these, not at every resolved flag (migration 0009)
        Index(
            "ix_flag_resolved_by_person",
            "id",
            sqlite_where=text(PERSON_RESOLVED_UNCLEARED),
            postgresql_where=text(PERSON_RESOLVED_UNCLEARED),
        ),
        # the board (migration 0015): the queue's first sort (escalated first, newest first) read in index
        # order, its page found in the index before any parcel is read; the assignee filter's choices (few
        # flags are assigned); exceptions opened and resolved per day
        Index(
            "ix_flag_unresolved_queue",
            QUEUE_ESCALATED_FIRST,
            text("opened_at DESC"),
            text("id DESC"),
            sqlite_where=text("state != 'resolved'"),
            postgresql_where=text("state != 'resolved'"),
        ),
        Index(
            "ix_flag_unresolved_assignee",
            "assignee",
            sqlite_where=text("state != 'resolved' AND assignee IS NOT NULL"),
            postgresql_where=text("state != 'resolved' AND assignee IS NOT NULL"),
        ),
        # the ageing histogram and the queue's age filters: unresolved flags by their parcel's last update
        # (state a column too: SQLite reads a partial index alone only when it holds every column named)
        Index(
            "ix_flag_unresolved_last_update",
            "last_update",
            "parcel_id",
            "state",
            sqlite_where=text("state != 'resolved'"),
            postgresql_where=text("state != 'resolved'"),
        ),
        # the evaluation's resolve step: the unresolved flags no rule raises any more, found in the index
        # alone in (parcel, kind) order (state a column too, as above), not by a scan of every flag row
        Index(
            "ix_flag_unresolved_parcel_kind",
            "parcel_id",
            "kind",
            "state",
            sqlite_where=text("state != 'resolved'"),
            postgresql_where=text("state != 'resolved'"),
        ),
        Index("ix_flag_opened_at", "opened_at"),
        Index(
            "ix_flag_resolved_at",
            "resolved_at",
            sqlite_where=text("resolved_at IS NOT NULL"),
            postgresql_where=text("resolved_at IS NOT NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    parcel_id: int = Field(foreign_key="parcel.id")
    courier: str = Field(max_length=32)  # denormalised for the queue's filters
    kind: str = Field(max_length=32)
    severity: str = Field(default="warn", max_length=10)
    level: int = 0  # ladder step for the refund-deadline ladder, 0 otherwise
    state: str = Field(default="open", max_length=16)
    opened_at: datetime
    escalated_at: datetime | None = None
    resolved_at: datetime | None = None
    assignee: str | None = Field(default=None, max_length=64)
    note: str | None = None
    # the next action: the template the rule names (config/next_actions.toml) and the number it fills in
    # ({hours}, {days}), rendered when read (tracker/flags/next_action.py); the texts are stored only when
    # they need more than those two (the refund ladder's and the late-shipment exposure's, written by
    # tracker/flags/details.py) or were written before migration 0019
    action_key: str | None = Field(default=None, max_length=64)
    action_value: int | None = None
    # when the number is whole hours or days since a time: that time (epoch seconds), counted again when read
    action_since: int | None = Field(default=None, sa_type=BigInteger)
    next_action_zh: str | None = None
    next_action_en: str | None = None
    details: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    # which occurrence of the condition the flag is about (epoch seconds of the anchoring time or the
    # fact id); -1 once the condition was seen clear after a person resolved it (it may then reopen)
    anchor: int | None = Field(default=None, sa_type=BigInteger)
    resolved_by: str | None = Field(default=None, max_length=64)  # "rules" or the person
    # the parcel's last update (its last event, else its shipping or creation time), copied here for the
    # board's ageing and age filters; kept by tracker/storage/rollups.py (migration 0015)
    last_update: datetime | None = None


# A fact a person recorded about a parcel (loss confirmed, buyer says not received, ...).
class ParcelFactRow(Row):
    __tablename__ = "parcel_fact"
    __table_args__ = (Index("ix_parcel_fact_parcel", "parcel_id", "kind"),)

    id: int | None = Field(default=None, primary_key=True)
    parcel_id: int = Field(foreign_key="parcel.id")
    kind: str = Field(max_length=32)
    recorded_at: datetime
    recorded_by: str = Field(max_length=64)
    data: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))


# A buyer recorded with a return parcel: one row per (parcel, buyer id), kept when a later row or file names
# the same return waybill for another buyer (the parcel row holds one buyer_id). The return_waybill_shared
# rule counts the distinct buyers per waybill here (000 §23.3); `waybill` is the parcel's, copied so the
# count needs no join.
class ReturnBuyerRow(Row):
    __tablename__ = "return_buyer"
    __table_args__ = (Index("ix_return_buyer_waybill", "waybill"),)

    parcel_id: int = Field(foreign_key="parcel.id", primary_key=True)
    buyer_id: str = Field(max_length=100, primary_key=True)
    waybill: str = Field(max_length=WAYBILL_WIDTH)
    order_id: str | None = Field(default=None, max_length=200)
    first_seen_at: datetime


# A courier claim: one per parcel and claim type; keeps the table version it was computed with.
class ClaimRow(Row):
    __tablename__ = "claim"
    __table_args__ = (
        UniqueConstraint("parcel_id", "claim_type", name="uq_claim_parcel_type"),
        Index("ix_claim_state_closes", "state", "filing_closes_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    parcel_id: int = Field(foreign_key="parcel.id")
    courier: str = Field(max_length=32)
    claim_type: str = Field(max_length=32)
    scenario: str = Field(default="default", max_length=32)
    state: str = Field(default="draft", max_length=16)
    amount: Decimal | None = _money()
    currency: str = Field(default="CNY", max_length=3)
    formula: str | None = None
    missing: str | None = None  # inputs the formula needs that are not known
    table_version: str = Field(max_length=32)
    filing_opens_at: datetime | None = None
    filing_closes_at: datetime | None = None
    reference_no: str | None = Field(default=None, max_length=64)
    filed_at: datetime | None = None
    paid_amount: Decimal | None = _money()
    paid_at: datetime | None = None
    reject_reason: str | None = None
    created_at: datetime
    updated_at: datetime


# One alert sent (or held, or failed) to an agent or lead about a flag.
class AlertRow(Row):
    __tablename__ = "alert"
    __table_args__ = (
        UniqueConstraint("dedupe_key", name="uq_alert_dedupe"),
        Index("ix_alert_state_due", "state", "due_at"),
        Index("ix_alert_call_key", "call_key"),
    )

    id: int | None = Field(default=None, primary_key=True)
    flag_id: int | None = Field(default=None, foreign_key="flag.id")
    parcel_id: int | None = Field(default=None, foreign_key="parcel.id")
    dedupe_key: str = Field(max_length=200)
    channel: str = Field(max_length=32)
    recipient: str = Field(max_length=200)
    level: str = Field(default="", max_length=32)
    subject: str = ""
    body: str = ""
    state: str = Field(default="pending", max_length=16)
    attempts: int = 0
    due_at: datetime | None = None
    sent_at: datetime | None = None
    error: str | None = None
    created_at: datetime
    # the phone task this alert carries (one per flag, level and reminder), for the per-case and
    # per-buyer call limits (docs/domain.md "Calling buyers"); None when it asks for no call
    call_key: str | None = Field(default=None, max_length=120)
    # goes out in the group's digest of alerts held outside working hours, also when a try of it failed
    # (state `failed`) and it is retried (migration 0021)
    held: bool = False
    failed_at: datetime | None = None  # when its last try failed (the board's failures of the day; migration 0025)


# Who did what, when: every state change a person or the system makes.
class AuditRow(Row):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_entity", "entity", "entity_id"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime
    actor: str = Field(max_length=64)
    action: str = Field(max_length=64)
    entity: str = Field(max_length=32)
    entity_id: int | None = None
    detail: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))


# Statistics of one poll cycle per provider.
class PollRunRow(Row):
    __tablename__ = "poll_run"

    id: int | None = Field(default=None, primary_key=True)
    started_at: datetime
    finished_at: datetime | None = None
    provider: str = Field(max_length=16)
    polled: int = 0
    changed: int = 0
    failed: int = 0
    detail: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))


# One slot of a provider's shared rate window (tracker/shared_limits.py): `limit` rows per provider, each
# stamped when its last request finished (while one is on the wire: now + hold); a request may take a slot
# stamped at least `per` seconds ago.
class ProviderSlotRow(Row):
    __tablename__ = "provider_slot"
    __table_args__ = (Index("ix_provider_slot_used", "provider", "used_at"),)  # the oldest slot, at once

    provider: str = Field(max_length=16, primary_key=True)
    slot: int = Field(primary_key=True)
    used_at: datetime


# A provider paused for every worker after its circuit breaker opened (tracker/shared_limits.py).
class ProviderPauseRow(Row):
    __tablename__ = "provider_pause"

    provider: str = Field(max_length=16, primary_key=True)
    paused_until: datetime
    reason: str = ""
    paused_by: str = Field(default="", max_length=64)


# A parcel's push subscription with its provider (tracker/subscriptions.py): one row per parcel, the current
# one. state: pending (to subscribe, or to ask again at retry_at) | active (pushes come) | failed (refused for
# good, the provider's message kept) | aborted (Kuaidi100 status=abort) | stopped (17TRACK TRACKING_STOPPED).
# A parcel whose subscription is active and heard from within silent_hours is not polled (migration 0012).
class SubscriptionRow(Row):
    __tablename__ = "subscription"
    __table_args__ = (
        # the subscriber's pick: pending subscriptions whose time has come
        Index(
            "ix_subscription_pending",
            "retry_at",
            sqlite_where=text("state = 'pending'"),
            postgresql_where=text("state = 'pending'"),
        ),
        Index("ix_subscription_state", "state", "provider"),
    )

    parcel_id: int = Field(foreign_key="parcel.id", primary_key=True)
    provider: str = Field(max_length=16)
    courier: str = Field(max_length=32)  # the courier subscribed with (a corrected one after a stop)
    state: str = Field(default="pending", max_length=16)
    attempts: int = 0  # subscribe calls made
    resubscribes: int = 0  # re-subscriptions after a stop
    retry_at: datetime | None = None  # a pending subscription is asked (again) from this time
    subscribed_at: datetime | None = None
    last_push_at: datetime | None = None
    stopped_at: datetime | None = None
    code: str | None = Field(default=None, max_length=32)  # the provider's answer code
    message: str | None = None  # the provider's words (subscribe answer or stop reason)
    updated_at: datetime


# Provider quota spent per day (the provider's own day, config/tracker.toml timezone): queries, subscriptions,
# registers, counted as the requests go out.
class ProviderQuotaRow(Row):
    __tablename__ = "provider_quota"

    provider: str = Field(max_length=16, primary_key=True)
    day: str = Field(max_length=10, primary_key=True)  # YYYY-MM-DD
    kind: str = Field(max_length=16, primary_key=True)  # query | subscribe | register
    count: int = 0


# A signed push that could not be read whole (not JSON, too deep, a waybill or event the parser refused): kept
# exactly as received with its error, so it is never acknowledged and lost (tracker/deadletter.py; `tracker
# pushes --failed`, `--replay ID`). One row per provider and payload: a resent push counts an attempt.
# state: failed (waiting) | replayed (read whole since). Migration 0013.
class PushDeadLetterRow(Row):
    __tablename__ = "push_dead_letter"
    __table_args__ = (
        UniqueConstraint("provider", "digest", name="uq_push_dead_letter_payload"),
        Index("ix_push_dead_letter_state", "state", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    provider: str = Field(max_length=16)
    digest: str = Field(max_length=64)  # sha256 of the payload, hex
    payload: bytes = Field(sa_type=LargeBinary)  # the signed payload: Kuaidi100 param, Kdniao RequestData, a body
    error: str  # why it could not be read, for people
    state: str = Field(default="failed", max_length=16)
    attempts: int = 1  # times the provider sent it
    received_at: datetime
    last_received_at: datetime
    replayed_at: datetime | None = None


# What the board's filters offer (shops, provinces, couriers): each value a parcel was imported with, kept by
# the import (tracker/storage/rollups.py), so that no page reads DISTINCT over every parcel. Migration 0015.
class FilterChoiceRow(Row):
    __tablename__ = "filter_choice"

    field: str = Field(max_length=16, primary_key=True)  # courier | shop | province
    value: str = Field(max_length=100, primary_key=True)


# The courier scorecards per shipping day (tracker/storage/scorecard_days.py): per local day of the zone the
# rollup_state row 'scorecard_zone' names, per courier, what the parcels shipped that day add up to. Days are
# recomputed from the rows when scorecard_dirty names one of their hours. Migration 0016.
class ScorecardDayRow(Row):
    __tablename__ = "scorecard_day"

    day: str = Field(max_length=10, primary_key=True)  # YYYY-MM-DD in the zone
    courier: str = Field(max_length=32, primary_key=True)
    parcels: int
    flagged: int  # parcels with at least one flag of a kind against the courier (registry.AGAINST_COURIER), any state
    claims_filed: int = 0  # claims on the day's parcels that were filed, by the claim's courier
    recovered: Decimal = Field(default=Decimal("0"), sa_type=MONEY)  # what those claims paid
    # [[whole hours shipped -> delivered, delivered parcels], ...]; {flag kind: parcels}
    transit: list[list[int]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    kinds: dict[str, int] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


# A UTC hour ("YYYY-MM-DD HH") whose shipped parcels changed in what scorecard_day sums (shipping time,
# courier, delivery time, flags, claims). Written by database triggers (migration 0016) and the evaluation's
# opening of flags.
class ScorecardDirtyRow(Row):
    __tablename__ = "scorecard_dirty"

    hour: str = Field(max_length=13, primary_key=True)


# One value per name that a rollup keeps about itself ('scorecard_zone': the zone scorecard_day's days are in).
class RollupStateRow(Row):
    __tablename__ = "rollup_state"

    name: str = Field(max_length=32, primary_key=True)
    value: str = Field(max_length=64)


# The status rules' text scan, kept between evaluations (tracker/flags/text_hits.py): the open parcels whose
# courier text matches the rules' patterns (as of the fingerprint in rollup_state 'rule_text_patterns').
class RuleTextHitRow(Row):
    __tablename__ = "rule_text_hit"

    parcel_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})


# The parcels whose rule inputs changed since the rules last read them (tracker/flags/marks.py), written by
# database triggers whoever writes the parcel, its facts or its return's buyers (migration 0022).
class RuleMarkRow(Row):
    __tablename__ = "rule_mark"
    __table_args__ = {"sqlite_with_rowid": False}

    parcel_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
