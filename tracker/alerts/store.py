"""Reads and writes of the alert log (SQLAlchemy Core, set-based), and loading of flags and claims
into the planner's plain values."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Container, Iterable, Mapping, Sequence
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Boolean, Engine, and_, bindparam, case, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql import ColumnElement

from tracker.alerts.model import AlertHistory, BookedCall, ClaimFacts, FlagFacts, LastAlert, PlannedAlert, case_key
from tracker.alerts.planning import parse_alert_key
from tracker.alerts.schedule import local_date
from tracker.flags import next_action
from tracker.labels import courier_name
from tracker.settings import Settings
from tracker.storage.tables import ALERT, CLAIM, FLAG, PARCEL

_FLAG_COLUMNS = (
    FLAG.c.id.label("flag_id"), FLAG.c.parcel_id, FLAG.c.kind, FLAG.c.severity, FLAG.c.level, FLAG.c.state,
    FLAG.c.opened_at, FLAG.c.escalated_at, FLAG.c.next_action_zh, FLAG.c.next_action_en,
    *next_action.RENDERED_FROM, FLAG.c.details,
    PARCEL.c.courier, PARCEL.c.waybill, PARCEL.c.shop, PARCEL.c.province, PARCEL.c.buyer_id,
    PARCEL.c.order_id, PARCEL.c.direction, PARCEL.c.shipped_at, PARCEL.c.last_event_at, PARCEL.c.paid_at,
    PARCEL.c.refund_deadline,
)  # fmt: skip

# an alert not done with: due (pending, or held for its group's digest) or failed and to be retried while it has
# attempts left (due_alerts); sent and cancelled ones are done
OUTSTANDING = ("pending", "held", "failed")


def load_claims(
    engine: Engine, parcel_ids: Iterable[int] | None = None, *, states: Sequence[str] | None = None
) -> list[ClaimFacts]:
    """Claims (all, or of the given parcels, or in the given states) with the parcel fields digests
    route on."""
    query = select(
        CLAIM.c.parcel_id,
        CLAIM.c.courier,
        CLAIM.c.claim_type,
        CLAIM.c.state,
        CLAIM.c.amount,
        CLAIM.c.currency,
        CLAIM.c.filing_closes_at,
        PARCEL.c.waybill,
        PARCEL.c.shop,
        PARCEL.c.province,
    ).join(PARCEL, PARCEL.c.id == CLAIM.c.parcel_id)
    if parcel_ids is not None:
        ids = list(parcel_ids)
        if not ids:
            return []
        query = query.where(CLAIM.c.parcel_id.in_(ids))
    if states is not None:
        query = query.where(CLAIM.c.state.in_(states))
    with engine.connect() as conn:
        return [ClaimFacts(**row._mapping) for row in conn.execute(query.order_by(CLAIM.c.id))]


def load_flags(
    engine: Engine, settings: Settings, *, lead_kinds: Sequence[str], since: datetime, now: datetime
) -> list[FlagFacts]:
    """Open flags, plus any flag opened since `since` (for the digest), with their parcels and next actions as
    of `now`; lead-kind flags carry their parcels' claims."""
    query = (
        select(*_FLAG_COLUMNS)
        .join(PARCEL, PARCEL.c.id == FLAG.c.parcel_id)
        .where(or_(FLAG.c.state == "open", FLAG.c.opened_at >= since))
        .order_by(FLAG.c.id)
    )
    with engine.connect() as conn:
        rows = [dict(row._mapping) for row in conn.execute(query)]
    lost_parcels = {r["parcel_id"] for r in rows if r["kind"] in lead_kinds and r["state"] == "open"}
    claims: dict[int, list[ClaimFacts]] = {}
    for claim in load_claims(engine, lost_parcels):
        claims.setdefault(claim.parcel_id, []).append(claim)
    next_action.fill(rows, settings, now)
    facts = []
    for row in rows:
        row["details"] = row["details"] or {}
        row["courier_name"] = courier_name(settings.couriers, row["courier"], "zh")  # 未发货: an order waiting
        row["courier_name_en"] = courier_name(settings.couriers, row["courier"], "en")
        row["claims"] = tuple(claims.get(row["parcel_id"], ()))
        facts.append(FlagFacts(**row))
    return facts


def load_history(
    engine: Engine, *, tz: ZoneInfo, now: datetime, max_attempts: int, channels: Container[str]
) -> AlertHistory:
    """Keys and, per flag episode, level and group, the latest alert (its reminder number, when it was sent,
    whether one still waits, what the next reminder counts from when it did not go) of alerts about
    unresolved flags; recent digest keys; the call counts: per case (order, else parcel) over all time, per
    buyer and local day from yesterday on. An alert waits only while it can still go: held, pending, or failed
    with attempts left, on a channel still in `channels` (the configured ones; the sender skips the others)."""
    keys: set[str] = set()
    latest: dict[tuple[str, str, str], int] = {}
    sent: dict[tuple[str, str, str, int], datetime] = {}
    stored: dict[tuple[str, str, str, int], datetime] = {}
    went: dict[tuple[str, str, str], datetime] = {}  # the latest alert of the level sent to the group
    waiting: set[tuple[str, str, str]] = set()
    states: dict[tuple[str, str, str, int], set[str]] = {}  # the states of each alert's rows (one per channel)
    with engine.connect() as conn:
        about_flags = (
            select(ALERT.c.dedupe_key, ALERT.c.state, ALERT.c.sent_at, ALERT.c.attempts, ALERT.c.created_at)
            .join(FLAG, FLAG.c.id == ALERT.c.flag_id)
            .where(FLAG.c.state != "resolved")
        )
        for key, state, sent_at, attempts, created_at in conn.execute(about_flags):
            keys.add(key)
            parsed = parse_alert_key(key)
            if parsed is None:
                continue
            flag_episode, level, group, channel, reminder = parsed
            slot = (flag_episode, level, group)
            at = (*slot, reminder)
            latest[slot] = max(reminder, latest.get(slot, reminder))
            can_go = state in OUTSTANDING and attempts < max_attempts  # as due_alerts reads them
            if can_go and channel in channels:
                waiting.add(slot)
            if state == "sent" and sent_at is not None:
                sent[at] = max(sent_at, sent.get(at, sent_at))
                went[slot] = max(sent_at, went.get(slot, sent_at))
            stored[at] = max(created_at, stored.get(at, created_at))
            states.setdefault(at, set()).add(state)
        told = Counter(at[:3] for at in sent)  # the alerts of each level that went to the group
        last = {
            slot: LastAlert(
                reminder,
                sent.get((*slot, reminder)),
                # a channel that delivered the latest alert ends the wait: one failing channel (a mail server
                # down, retried for a day) does not hold back the reminders of the others
                slot in waiting and (*slot, reminder) not in sent,
                went.get(slot, stored[(*slot, reminder)]),
                told=told[slot],
                cancelled=states[(*slot, reminder)] == {"cancelled"},
            )
            for slot, reminder in latest.items()
        }
        digests = select(ALERT.c.dedupe_key).where(
            ALERT.c.flag_id.is_(None), ALERT.c.created_at >= now - timedelta(days=2)
        )
        keys.update(k for (k,) in conn.execute(digests))
        # when each group's latest digest went on each channel: the next one counts from there (digest.digest_since).
        # A prefix by LIKE: a range of keys ("digest:" to "digest;") holds them only in a byte-order collation.
        went_out = and_(ALERT.c.flag_id.is_(None), ALERT.c.dedupe_key.startswith("digest:"), ALERT.c.state == "sent")
        made = (
            select(ALERT.c.recipient, ALERT.c.channel, func.max(ALERT.c.created_at))
            .where(went_out)
            .group_by(ALERT.c.recipient, ALERT.c.channel)
        )
        last_digests = {(group, channel): at for group, channel, at in conn.execute(made) if at is not None}
        calls = (
            select(
                ALERT.c.call_key,
                ALERT.c.parcel_id,
                PARCEL.c.order_id,
                ALERT.c.due_at,
                PARCEL.c.buyer_id,
                ALERT.c.recipient,
            )
            .join(PARCEL, PARCEL.c.id == ALERT.c.parcel_id)
            .where(ALERT.c.call_key.is_not(None), ALERT.c.state != "cancelled", ALERT.c.due_at.is_not(None))
            .distinct()
        )
        # a call asked again (its alert never reached the group) keeps its key at a later slot: the latest counts
        booked: dict[str, tuple[datetime, str, str, str | None]] = {}  # key -> when, group calling, case, buyer
        first: dict[str, datetime] = {}  # when each call was first due: its number in its case
        for key, parcel_id, order_id, due, buyer, group in sorted(conn.execute(calls), key=lambda row: row[3]):
            booked[key] = (due, group, case_key(order_id, parcel_id), buyer)
            first.setdefault(key, due)
    per_case: Counter[str] = Counter(of_case for _, _, of_case, _ in booked.values())
    per_day: Counter[tuple[str, Any]] = Counter(
        (buyer, local_date(due, tz)) for due, _, _, buyer in booked.values() if buyer is not None
    )
    keys_of_case: dict[str, list[tuple[datetime, str]]] = {}
    for key, (_, _, of_case, _) in booked.items():
        keys_of_case.setdefault(of_case, []).append((first[key], key))
    # each stored call with its number in its case (in the order they were first due), for a group routed the same
    # case later: told whose call it is, not asked to phone again (planning._CallBook)
    calls_booked = {
        key: BookedCall(slot=booked[key][0], number=n, owner=booked[key][1])
        for case_keys in keys_of_case.values()
        for n, (_, key) in enumerate(sorted(case_keys), start=1)
    }
    return AlertHistory(frozenset(keys), last, dict(per_case), dict(per_day), last_digests, calls_booked)


def planned_row(p: PlannedAlert, *, created_at: datetime) -> dict[str, Any]:
    """The alert row a planned alert becomes."""
    row = asdict(p)
    row.update(attempts=0, created_at=created_at, held=p.state == "held")
    return row


def insert_planned(engine: Engine, planned: Sequence[PlannedAlert], *, now: datetime) -> int:
    """Store planned alerts; a key already stored (a concurrent run) is skipped. Returns rows inserted."""
    if not planned:
        return 0
    rows = [planned_row(p, created_at=now) for p in planned]
    with engine.begin() as conn:
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        stmt = dialect.insert(ALERT).on_conflict_do_nothing(index_elements=["dedupe_key"])
        result = conn.execute(stmt, rows)
        return max(result.rowcount or 0, 0)


def cancel_for_resolved_flags(engine: Engine, *, now: datetime) -> int:
    """Alerts not yet delivered whose flag is resolved (or no longer open) will not be sent."""
    closed = select(FLAG.c.id).where(FLAG.c.state != "open").scalar_subquery()
    stmt = (
        update(ALERT)
        .where(ALERT.c.state.in_(OUTSTANDING), ALERT.c.flag_id.in_(closed))
        .values(state="cancelled", error="flag no longer open")
    )
    with engine.begin() as conn:
        return conn.execute(stmt).rowcount or 0


def cancel_for_removed_routes(engine: Engine, *, routes: Mapping[str, Collection[str]]) -> int:
    """Alerts not yet delivered to a group, or on a channel, that the configuration no longer holds (`routes`:
    each group's channels) will not be sent: cancelled, so that they are neither counted as held nor sent on a
    channel taken off the group, and the next alert of their level goes to the group's channels now
    (planning._reminder_due) rather than a day after they were stored."""
    outstanding = select(ALERT.c.id, ALERT.c.recipient, ALERT.c.channel).where(ALERT.c.state.in_(OUTSTANDING))
    with engine.begin() as conn:
        gone = [i for i, group, channel in conn.execute(outstanding) if channel not in routes.get(group, ())]
        for start in range(0, len(gone), 500):
            conn.execute(
                update(ALERT)
                .where(ALERT.c.id.in_(gone[start : start + 500]), ALERT.c.state.in_(OUTSTANDING))
                .values(state="cancelled", error="channel or group removed from alerts.toml")
            )
    return len(gone)


def due_alerts(engine: Engine, *, now: datetime, max_attempts: int) -> list[dict[str, Any]]:
    """Alerts to deliver now: pending and held ones that are due, failed ones whose retry time came."""
    query = (
        select(ALERT)
        .where(
            ALERT.c.state.in_(OUTSTANDING),
            ALERT.c.due_at <= now,
            ALERT.c.attempts < max_attempts,
        )
        .order_by(ALERT.c.due_at, ALERT.c.id)
    )
    with engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(query)]


def take(engine: Engine, ids: Sequence[int], *, now: datetime, until: datetime) -> bool:
    """Take due alerts for sending by moving their due time to `until`; False when another run took
    (or sent) any of them first, and then nothing is taken."""
    with engine.begin() as conn:
        result = conn.execute(
            update(ALERT)
            .where(
                ALERT.c.id.in_(ids),
                ALERT.c.due_at <= now,
                ALERT.c.state.in_(OUTSTANDING),
            )
            .values(due_at=until)
        )
        if result.rowcount != len(ids):
            conn.rollback()
            return False
    return True


def mark_sent(
    engine: Engine, ids: Sequence[int], *, now: datetime, due: Sequence[datetime | None] | None = None
) -> None:
    """The alerts were sent at `now`. `due`: each one's due time before `take` moved it to the end of the
    sending lease, put back so that the log says when it was due (a sent alert was never due after it went)."""
    sent = {"state": "sent", "sent_at": now, "attempts": ALERT.c.attempts + 1, "error": None}
    with engine.begin() as conn:
        if due is None:
            conn.execute(update(ALERT).where(ALERT.c.id.in_(ids)).values(**sent))
            return
        by_id = (
            update(ALERT)
            .where(ALERT.c.id == bindparam("alert_id"))
            .values(**sent, due_at=func.coalesce(bindparam("was_due"), ALERT.c.due_at))
        )
        conn.execute(by_id, [{"alert_id": i, "was_due": d} for i, d in zip(ids, due, strict=True)])


def mark_failed(
    engine: Engine,
    ids: Sequence[int],
    *,
    error: str,
    retry_at: datetime | None,
    now: datetime,
    held: bool = False,
) -> None:
    """A try failed at `now`: retried at `retry_at`; `held` keeps the alerts in their group's held digest (a held
    digest that failed is retried as one digest again)."""
    with engine.begin() as conn:
        conn.execute(
            update(ALERT)
            .where(ALERT.c.id.in_(ids))
            .values(
                state="failed",
                attempts=ALERT.c.attempts + 1,
                error=error[:1000],
                due_at=retry_at,
                held=held,
                failed_at=now,
            )
        )


def move_due(engine: Engine, moves: Sequence[tuple[int, datetime, bool]], *, now: datetime) -> int:
    """Due alerts found outside the hours they may go in (id, new due time, held): due then instead; a held one
    goes in its group's held digest (a pending one becomes `held`). An alert another run took meanwhile is
    left alone. Returns the alerts moved."""
    if not moves:
        return 0
    to_held = bindparam("to_held", type_=Boolean())
    stmt = (
        update(ALERT)
        .where(
            ALERT.c.id == bindparam("alert_id"),
            ALERT.c.due_at <= now,
            or_(*(ALERT.c.state == state for state in OUTSTANDING)),  # no IN in executemany
        )
        .values(
            due_at=bindparam("until"),
            held=to_held,
            state=case((and_(ALERT.c.state == "pending", to_held), "held"), else_=ALERT.c.state),
        )
    )
    params = [{"alert_id": i, "until": until, "to_held": held} for i, until, held in moves]
    with engine.begin() as conn:
        return conn.execute(stmt, params).rowcount or 0


def held_alerts(max_attempts: int | None) -> ColumnElement[bool]:
    """Alerts waiting for their group's next held digest: `held` ones, and `failed` ones still marked held (a
    held digest, or a retry moved outside working hours, that failed) while they have attempts left (all of
    them when `max_attempts` is None). What the run's held count, `tracker alerts --state held` and the
    board's alert log filtered by held show."""
    failed = and_(ALERT.c.state == "failed", ALERT.c.held.is_(True))
    if max_attempts is not None:
        failed = and_(failed, ALERT.c.attempts < max_attempts)
    return or_(ALERT.c.state == "held", failed)


def state_is(state: str, *, max_attempts: int | None = None) -> ColumnElement[bool]:
    """The alert log's filter by state; `held` takes the failed alerts still held too (held_alerts)."""
    return held_alerts(max_attempts) if state == "held" else ALERT.c.state == state


def list_alerts(
    engine: Engine, *, state: str | None = None, limit: int = 200, max_attempts: int | None = None
) -> list[dict[str, Any]]:
    """The alert log, newest first, with the parcel's waybill; `state` filters it (state_is)."""
    query = select(ALERT, PARCEL.c.waybill).outerjoin(PARCEL, PARCEL.c.id == ALERT.c.parcel_id)
    if state:
        query = query.where(state_is(state, max_attempts=max_attempts))
    query = query.order_by(ALERT.c.created_at.desc(), ALERT.c.id.desc()).limit(limit)
    with engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(query)]


def count_held(engine: Engine, *, max_attempts: int) -> int:
    """Alerts waiting for their group's next held digest (held_alerts), failed ones still held included."""
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(ALERT).where(held_alerts(max_attempts))).scalar_one())


def stuck_failures(engine: Engine, *, max_attempts: int, since: datetime) -> list[dict[str, Any]]:
    """Failed alerts that used up their attempts at `since` or later (the run's own): `tracker alert` names them
    and exits 1 in the run they give up, not in every later one (monitoring stayed red for good, with nothing
    to clear it); the alert log keeps showing them (已放弃)."""
    query = select(ALERT).where(
        and_(ALERT.c.state == "failed", ALERT.c.attempts >= max_attempts, ALERT.c.failed_at >= since)
    )
    with engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(query)]
