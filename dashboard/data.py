"""The board's reads: plain functions over an engine, with `now` passed in, filtering, grouping and
paging in SQL (docs/architecture.md: never load the open set into Python). bench/board.py and the
tests call them directly; the Streamlit shell wraps them with st.cache_data (see `cached`)."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Boolean, Engine, and_, case, exists, func, literal, literal_column, or_, select, true
from sqlalchemy.sql import ColumnElement, Select

from claims.claimable import UNFILED_STATES, days_left
from claims.money import claimable_where, state_at, unknown_amounts
from claims.reconcile import FILED, totals_by_courier
from tracker.alerts.store import state_is
from tracker.auth import LoginAttempt
from tracker.domain import AWAITING_COURIER, NO_COURIER_FILTER
from tracker.flags import next_action
from tracker.flags.history import with_openings
from tracker.flags.rulesql import LOSS_CONFIRMED, Context, groups, no_loss, not_final
from tracker.settings import RulesConfig
from tracker.status import CENT, PRE_SCAN_STATUSES, AlertState, ClaimState, FlagKind, FlagState, Severity
from tracker.storage import rollups, scorecard_days
from tracker.storage.repo import any_awaiting, starts_with
from tracker.storage.rows import QUEUE_ESCALATED_FIRST
from tracker.storage.tables import ALERT, AUDIT, CLAIM, EVENT, FACT, FLAG, PARCEL, RETURN_BUYER, SUBSCRIPTION

# literals, not bound parameters: SQLite uses a partial index only when the query's own terms imply its predicate
UNRESOLVED = FLAG.c.state != literal_column(f"'{FlagState.resolved}'")  # ix_flag_unresolved_* (state != 'resolved')
OPEN = PARCEL.c.is_open == true()  # renders `is_open = 1` on SQLite: the open-parcel partial indexes' predicate
# hours since the last update, as the overview's ageing chart buckets them (lower bounds)
AGE_BUCKETS = (0, 24, 48, 72, 96, 168)


def _rows(engine: Engine, query: Select) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


def _scalar(engine: Engine, query: Select) -> Any:
    with engine.connect() as conn:
        return conn.execute(query).scalar()


# --- overview -----------------------------------------------------------------------------------------


def open_by(engine: Engine, column: str) -> list[dict[str, Any]]:
    """Unresolved flags counted by `kind` or `courier`, largest first: the counts per (kind, courier) read in
    the order of the partial flag index ix_flag_unresolved_kind_courier, then added up (no sort of the flags)."""
    per_pair = select(FLAG.c.kind, FLAG.c.courier, func.count().label("n")).where(UNRESOLVED)
    pairs = per_pair.group_by(FLAG.c.kind, FLAG.c.courier).subquery()
    col = pairs.c[column]
    n = func.sum(pairs.c.n).label("n")
    return _rows(engine, select(col.label(column), n).group_by(col).order_by(n.desc(), col))


def _last_update(p: Any = PARCEL) -> ColumnElement:
    """The time a parcel last changed: its last carrier event, else its shipping or creation time (the flags
    hold a copy, flag.last_update: tracker/storage/rollups.py)."""
    return rollups.parcel_last_update(p)


def _age_where(now: datetime, min_hours: int | None, max_hours: int | None) -> list[Any]:
    """Flags whose parcel's last update is at least `min_hours` and less than `max_hours` before `now`
    (either bound optional): the queue's age filters and the ageing buckets, on the flags' own copy."""
    where = []
    if min_hours:
        where.append(FLAG.c.last_update <= now - timedelta(hours=min_hours))
    if max_hours:
        where.append(FLAG.c.last_update > now - timedelta(hours=max_hours))
    return where


def ageing(engine: Engine, *, now: datetime) -> list[dict[str, Any]]:
    """Unresolved exceptions (flags, as the queue lists them) by hours since their parcel's last update:
    bucket `hours` holds [hours, next bucket's hours), the last one everything older; `parcels` is how many
    parcels those flags are on. A bucket is the queue filtered by min_age_hours=hours, max_age_hours=next.

    Each bucket is a range of ix_flag_unresolved_last_update, counted in one statement: flags, and parcels
    as distinct (last update, parcel) pairs (a parcel's flags share its last update)."""
    upper = [*AGE_BUCKETS[1:], None]
    columns = []
    for h, nxt in zip(AGE_BUCKETS, upper, strict=True):
        where = [UNRESOLVED, *_age_where(now, h, nxt)]
        pairs = select(FLAG.c.last_update, FLAG.c.parcel_id).where(*where).distinct().subquery()
        columns.append(select(func.count()).select_from(FLAG).where(*where).scalar_subquery().label(f"n{h}"))
        columns.append(select(func.count()).select_from(pairs).scalar_subquery().label(f"p{h}"))
    with engine.connect() as conn:
        found = conn.execute(select(*columns)).one()._mapping
    return [
        {"hours": h, "below": nxt, "n": int(found[f"n{h}"] or 0), "parcels": int(found[f"p{h}"] or 0)}
        for h, nxt in zip(AGE_BUCKETS, upper, strict=True)
    ]


def open_parcels(engine: Engine) -> int:
    """How many parcels the unresolved flags are on (the overview says both numbers): distinct (last update,
    parcel) pairs, read in the order of ix_flag_unresolved_last_update (no sort of the flags)."""
    pairs = select(FLAG.c.last_update, FLAG.c.parcel_id).where(UNRESOLVED).distinct().subquery()
    return int(_scalar(engine, select(func.count()).select_from(pairs)) or 0)


# a parcel as the board's lists of parcels name it (a waybill opens its page: parcel_id)
_PARCEL_NAMED = (
    PARCEL.c.id.label("parcel_id"),
    PARCEL.c.waybill,
    PARCEL.c.order_id,
    PARCEL.c.courier,
    PARCEL.c.shop,
    PARCEL.c.province,
)


def open_parcels_page(engine: Engine, *, limit: int = 50, offset: int = 0) -> list[dict[str, Any]]:
    """The parcels open_parcels counts, one row each, the longest without an update first: what the overview's
    "on N parcels" opens (the queue lists flags, and a parcel with two exceptions is two of them), each with
    the kinds of its unresolved flags (`kinds`, in the order the rules list them). Read as open_parcels
    counts: the (last update, parcel) pairs in ix_flag_unresolved_last_update's order."""
    pairs = (
        select(FLAG.c.last_update, FLAG.c.parcel_id)
        .where(UNRESOLVED)
        .distinct()
        .order_by(FLAG.c.last_update, FLAG.c.parcel_id)
        .limit(limit)
        .offset(offset)
        .subquery()
    )
    query = (
        select(*_PARCEL_NAMED, pairs.c.last_update)
        .join(PARCEL, PARCEL.c.id == pairs.c.parcel_id)
        .order_by(pairs.c.last_update, pairs.c.parcel_id)
    )
    rows = _rows(engine, query)
    kinds = _flag_kinds(engine, [r["parcel_id"] for r in rows], unresolved=True)
    for r in rows:
        r["kinds"] = kinds[r["parcel_id"]]
    return rows


def _stale(
    now: datetime, rules: RulesConfig, *, within_hours: int | None = None, scanned: bool = True
) -> tuple[list[Any], Any]:
    """What the stale rule reads (tracker.flags.queries.stale) but its loss term (no_loss, below): open parcels
    past their first carrier scan (an order-only event, 已下单, makes no_first_scan, not stale), their last event
    past the stale threshold of their override group (rules.toml [[overrides]], tracker.flags.rulesql.groups, as
    the rule reads them). With `within_hours`, those crossing it within that many hours from now instead.
    `scanned=False` leaves out the status term (the scorecards: see there). (The WHERE terms, each parcel's
    threshold in hours as a column.)"""
    last = PARCEL.c.last_event_at
    windows, hours, cuts = [], [], []
    for limits, terms in groups(Context(now=now, config=rules), "stale"):
        cut = now - timedelta(hours=limits.warn_hours)
        window = [last <= cut] if within_hours is None else [last > cut, last <= cut + timedelta(hours=within_hours)]
        windows.append(and_(*window, *terms))
        hours.append((and_(true(), *terms), limits.warn_hours))
        cuts.append(cut)
    where = [OPEN, windows[0] if len(windows) == 1 else or_(*windows)]
    if len(windows) > 1:
        # the range every group's window lies in, which each implies: with the OR alone the planner finds no
        # range of ix_parcel_open_last_event (nor, on SQLite, its predicate) and scans the open parcels
        later = max(cuts) + timedelta(hours=within_hours or 0)
        where += [last <= later] if within_hours is None else [last > min(cuts), last <= later]
    where += [not_final(also=PRE_SCAN_STATUSES)] if scanned else []
    return where, literal(hours[0][1]) if len(hours) == 1 else case(*hours)


_CONFIRMED_LOST = select(FACT.c.parcel_id).where(LOSS_CONFIRMED)


def _count_stale(engine: Engine, where: list[Any], by: Any = None) -> dict[Any, int]:
    """How many parcels `where` (of _stale, and more) selects that no one confirmed lost (the stale rule leaves
    those to lost_suspected), per value of the column `by` (or under None), the largest first:
    all of them less the confirmed losses among them, read from the facts (few), not a fact lookup per parcel
    (a third of the scorecards' read at 1,000,000 parcels)."""
    key = [by] if by is not None else []
    n = func.count().label("n")
    counts: dict[Any, int] = {}
    for found, sign in ((where, 1), ([*where, PARCEL.c.id.in_(_CONFIRMED_LOST)], -1)):
        query = select(*key, n).select_from(PARCEL).where(*found)
        for row in _rows(engine, query.group_by(*key) if key else query):
            name = row[by.name] if by is not None else None
            counts[name] = counts.get(name, 0) + sign * row["n"]
    ranked = sorted(((k, v) for k, v in counts.items() if v), key=lambda kv: -kv[1])
    return dict(ranked)


def stale_soon(engine: Engine, *, now: datetime, rules: RulesConfig, within_hours: int = 24) -> list[dict[str, Any]]:
    """Open parcels that cross the stale threshold within the next `within_hours`, by courier, the most first
    (last event in (now - stale, now - stale + within]; the partial index ix_parcel_open_last_event)."""
    where, _ = _stale(now, rules, within_hours=within_hours)
    return [{"courier": c, "n": n} for c, n in _count_stale(engine, where, PARCEL.c.courier).items()]


def turning_stale_count(
    engine: Engine, *, now: datetime, rules: RulesConfig, courier: str | None = None, within_hours: int = 24
) -> int:
    """How many parcels stale_soon counts (for `courier`, or all): the row count of their list."""
    where, _ = _stale(now, rules, within_hours=within_hours)
    where += [PARCEL.c.courier == courier] if courier else []
    return _count_stale(engine, where).get(None, 0)


def turning_stale_page(
    engine: Engine,
    *,
    now: datetime,
    rules: RulesConfig,
    courier: str | None = None,
    within_hours: int = 24,
    limit: int = 50,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """The parcels stale_soon counts, the soonest to turn stale first: they mostly have no exception yet,
    so the queue shows them as parcels, not flags."""
    where, threshold = _stale(now, rules, within_hours=within_hours)
    where += [no_loss(), *([PARCEL.c.courier == courier] if courier else [])]
    query = (
        select(
            PARCEL.c.id,
            PARCEL.c.waybill,
            PARCEL.c.order_id,
            PARCEL.c.courier,
            PARCEL.c.status,
            PARCEL.c.shop,
            PARCEL.c.province,
            PARCEL.c.last_event_at.label("last_update"),
            threshold.label("stale_hours"),
        )
        .where(*where)
        .order_by(PARCEL.c.last_event_at, PARCEL.c.id)
        .limit(limit)
        .offset(offset)
    )
    rows = _rows(engine, query)
    for r in rows:
        r["stale_at"] = _aware(r["last_update"]) + timedelta(hours=r.pop("stale_hours"))
    return rows


def _days_in_order(kw: dict[str, Any], problems: list[ParamProblem]) -> None:
    """A filter's shipping days (shipped_from, shipped_to) running backwards: the last named and dropped (nothing
    would be listed, and nothing would say why)."""
    start, end = kw.get("shipped_from"), kw.get("shipped_to")
    if start and end and end < start:
        problems.append(ParamProblem("shipped_to", kw.pop("shipped_to"), "param_day_order"))


def _url_params(f: Any) -> dict[str, str]:
    """A filter's URL parameters: its fields that are set, but the zone (the board's, not the URL's)."""
    return {
        k.name: str(getattr(f, k.name)) for k in fields(f) if k.name != "zone" and getattr(f, k.name) not in (None, "")
    }


def day_bounds(first: str | None, last: str | None, zone: str) -> tuple[datetime | None, datetime | None]:
    """The UTC bounds [start, end) of the local days `first` to `last` (YYYY-MM-DD, both included; None: open),
    as the scorecards count them (scorecard_days.midnight)."""
    tz = ZoneInfo(zone)
    start = scorecard_days.midnight(date.fromisoformat(first), tz) if first else None
    end = scorecard_days.midnight(date.fromisoformat(last) + timedelta(days=1), tz) if last else None
    return start, end


SHIPPED_LISTS = ("all", "flagged", "stale")  # a courier scorecard's parcels, exception rate's and stale share's


@dataclass(frozen=True)
class ShippedFilter:
    """The parcels behind a courier scorecard's numbers (the queue's ?shipped=): `shipped` "all" (its parcels),
    "flagged" (those with at least one flag the scorecards count, whatever became of it: the exception rate's;
    with `kind`, a flag of that kind: the kind's rate; scorecard_days.counted_kind) or "stale" (open, past their
    stale threshold, no loss confirmed: the stale share); of `courier`, shipped in the days `shipped_from` to
    `shipped_to` (both included, on the clock of `zone`; an end left out is open). As data.scorecards and
    scorecard_days.tally count them."""

    shipped: str = "all"
    courier: str | None = None
    kind: str | None = None
    shipped_from: str | None = None
    shipped_to: str | None = None
    zone: str = field(default="UTC", compare=False)  # the board's time zone, not a filter of the URL

    @classmethod
    def parse(
        cls, params: dict[str, Any], *, couriers: Collection[str] | None = None, zone: str = "UTC"
    ) -> tuple[ShippedFilter, list[ParamProblem]]:
        """From URL query parameters (other keys ignored): a wrong value is dropped and named, never raised
        (the courier one of `couriers` when given, the kind a flag kind the scorecards count and only with
        "flagged", the days real days in order)."""
        kw: dict[str, Any] = {"zone": zone}
        problems: list[ParamProblem] = []
        kinds = set(scorecard_days.COUNTED_KINDS)
        for name in ("shipped", "courier", "kind", "shipped_from", "shipped_to"):
            value = params.get(name)
            if value in (None, ""):
                continue
            value = str(value)
            if (
                (name == "shipped" and value not in SHIPPED_LISTS)
                or (name == "kind" and value not in kinds)
                or (name == "courier" and couriers is not None and value not in couriers)
            ):
                problems.append(ParamProblem(name, value, "param_choice"))
            elif name in ("shipped_from", "shipped_to") and not _is_day(value):
                problems.append(ParamProblem(name, value, "param_day"))
            else:
                kw[name] = value
        if "kind" in kw and kw.get("shipped", "all") != "flagged":  # a kind's rate counts flagged parcels only
            problems.append(ParamProblem("kind", kw.pop("kind"), "param_not_here"))
        _days_in_order(kw, problems)
        return cls(**kw), problems

    def params(self) -> dict[str, str]:
        return _url_params(self)


def _shipped_where(f: ShippedFilter, *, now: datetime, rules: RulesConfig) -> list[Any]:
    """The terms of the parcels `f` lists, as the scorecards count them: the period's parcels as
    scorecard_days.tally reads them (the courier not empty, which is the partial ix_parcel_shipped's predicate,
    SCORECARD_INDEXED: repeated, the index serves the read), with a flag of any state of a kind the scorecards
    count for "flagged"; the stale ones as data.scorecards reads its stale share (_stale without the status term, from
    ix_parcel_open_last_event: the period's terms alone, without the index's predicate, which would take the
    planner to the period's every parcel), no confirmed loss."""
    start, end = day_bounds(f.shipped_from, f.shipped_to, f.zone)
    where: list[Any] = [PARCEL.c.shipped_at >= start] if start else [PARCEL.c.shipped_at.is_not(None)]
    where += [PARCEL.c.shipped_at < end] if end else []
    where += [PARCEL.c.courier == f.courier] if f.courier else []
    if f.shipped == "stale":
        return [*where, *_stale(now, rules, scanned=False)[0], no_loss()]
    where.append(scorecard_days.COURIER_NAMED)
    if f.shipped == "flagged":
        kind = FLAG.c.kind == f.kind if f.kind else scorecard_days.counted_kind()
        where.append(exists().where(FLAG.c.parcel_id == PARCEL.c.id, kind))
    return where


def shipped_count(engine: Engine, f: ShippedFilter, *, now: datetime, rules: RulesConfig) -> int:
    """How many parcels `f` lists: the scorecard's number the list opens. A period's parcels and flagged
    parcels (in all or of a kind) are read where the scorecards read them, from their rollup per shipping day
    (scorecard_days.tallies: a live count walked the period's every parcel and probed its flags, 60-180 ms at
    1,000,000 parcels); the stale ones, and a period with an end left open, from the parcels."""
    start, end = day_bounds(f.shipped_from, f.shipped_to, f.zone)
    if f.shipped == "stale" or start is None or end is None:
        where = _shipped_where(f, now=now, rules=rules)
        return int(_scalar(engine, select(func.count()).select_from(PARCEL).where(*where)) or 0)
    found = scorecard_days.tallies(engine, start=start, end=end, tz=f.zone)
    couriers = [t for courier, t in found.items() if f.courier in (None, courier)]
    if f.shipped == "all":
        return sum(t.parcels for t in couriers)
    return sum(t.kinds.get(f.kind, 0) if f.kind else t.flagged for t in couriers)


def shipped_page(
    engine: Engine, f: ShippedFilter, *, now: datetime, rules: RulesConfig, limit: int = 50, offset: int = 0
) -> list[dict[str, Any]]:
    """One page of the parcels `f` lists, the last shipped first (the flagged ones are mostly the recent, still
    open parcels: the newest first finds a page of them soonest), the stale ones the longest without an update
    first; each with the kinds of every flag it had (`kinds`, in the order the rules list them)."""
    order: list[Any] = [PARCEL.c.last_event_at, PARCEL.c.id]
    if f.shipped != "stale":
        order = [PARCEL.c.shipped_at.desc(), PARCEL.c.id.desc()]
    query = (
        select(
            *_PARCEL_NAMED,
            PARCEL.c.status,
            PARCEL.c.shipped_at,
            PARCEL.c.last_event_at.label("last_update"),
            PARCEL.c.delivered_at,
        )
        .where(*_shipped_where(f, now=now, rules=rules))
        .order_by(*order)
        .limit(limit)
        .offset(offset)
    )
    rows = _rows(engine, query)
    kinds = _flag_kinds(engine, [r["parcel_id"] for r in rows], unresolved=False)
    for r in rows:
        r["kinds"] = kinds[r["parcel_id"]]
    return rows


def _flag_kinds(engine: Engine, parcel_ids: list[int], *, unresolved: bool) -> dict[int, list[str]]:
    """Each of these parcels' flag kinds (only the unresolved flags' with `unresolved`), in the order the rules
    list them."""
    found: dict[int, set[str]] = {pid: set() for pid in parcel_ids}
    if found:
        query = select(FLAG.c.parcel_id, FLAG.c.kind).where(FLAG.c.parcel_id.in_(parcel_ids))
        for r in _rows(engine, query.where(UNRESOLVED) if unresolved else query):
            found[r["parcel_id"]].add(r["kind"])
    order = {str(kind): i for i, kind in enumerate(FlagKind)}
    return {pid: sorted(kinds, key=lambda kind: order.get(kind, len(order))) for pid, kinds in found.items()}


def claimable(engine: Engine, *, now: datetime) -> dict[str, Any]:
    """Claimable money and how many claims it is (claims.money.claimable, the one definition the CLI uses too)."""
    from claims.money import claimable

    total = claimable(engine, now=now)
    return {"amount": total.amount, "count": total.count}


def deadlines(
    engine: Engine, *, now: datetime, tz: str, limit: int = 10, days: int | None = None, claimable: bool = False
) -> list[dict[str, Any]]:
    """The next `limit` claims still to file whose filing window has not closed at `now`, soonest first
    (only those closing within `days` when given; with `claimable`, only the claims the claimable money counts:
    drafts with an amount); `days_left` in days on the shop's calendar (zone `tz`)."""
    query = (
        select(
            CLAIM.c.id,
            PARCEL.c.waybill,
            CLAIM.c.courier,
            CLAIM.c.claim_type,
            CLAIM.c.state,
            CLAIM.c.amount,
            CLAIM.c.filing_closes_at,
            CLAIM.c.parcel_id,
        )
        .join(PARCEL, PARCEL.c.id == CLAIM.c.parcel_id)
        .where(CLAIM.c.state.in_(UNFILED_STATES), CLAIM.c.filing_closes_at >= now)
        .order_by(CLAIM.c.filing_closes_at, CLAIM.c.id)
        .limit(limit)
    )
    if days is not None:
        query = query.where(CLAIM.c.filing_closes_at <= now + timedelta(days=days))
    if claimable:
        from claims.money import claimable_where

        query = query.where(claimable_where(now))
    rows = _rows(engine, query)
    for r in rows:
        r["days_left"] = days_left(r["filing_closes_at"], now, ZoneInfo(tz))
    return rows


def alerts_of_day(day_start: datetime) -> ColumnElement[bool]:
    """The alerts of the day that starts at `day_start`: sent since then, or not sent and failed since then (the
    morning's digest of alerts held overnight, stored the evening before), or stored since then (the overview's
    figures and the alert log's list they open)."""
    return or_(
        ALERT.c.sent_at >= day_start,
        and_(ALERT.c.sent_at.is_(None), or_(ALERT.c.failed_at >= day_start, ALERT.c.created_at >= day_start)),
    )


def alerts_today(engine: Engine, *, day_start: datetime) -> dict[str, int]:
    """Alerts sent and failed since `day_start` (midnight in the configured zone, as UTC)."""
    sent = func.sum(case((ALERT.c.state == str(AlertState.sent), 1), else_=0))
    failed = func.sum(case((ALERT.c.state == str(AlertState.failed), 1), else_=0))
    query = select(sent, failed).where(alerts_of_day(day_start))
    with engine.connect() as conn:
        s, f = conn.execute(query).one()
    return {"sent": int(s or 0), "failed": int(f or 0)}


# --- exception queue ------------------------------------------------------------------------------------


_UINT = re.compile(r"[0-9]{1,12}")  # ASCII digits only: int() would also take "１２", "1_0" and " 1"
_ID = re.compile(r"[0-9]{1,18}")  # a row id: up to 18 digits fit the database's 64-bit integer
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")


@dataclass(frozen=True)
class ParamProblem:
    """A URL parameter the board ignored: which, the value as given, and why (an i18n key, its limit)."""

    param: str
    value: str
    reason: str  # "param_int" | "param_choice" | "param_text" | "param_not_here" (dashboard/i18n.py)
    limit: int | None = None


def parcel_ref(params: dict[str, Any], *, max_text: int = 200) -> tuple[int | None, str | None, ParamProblem | None]:
    """The parcel a page URL asks for: (?id as int, ?waybill, problem). An id is 1..18 ASCII digits (a
    bigger number overflows the database's integer), a waybill a short text without control characters."""
    raw_id, waybill = params.get("id"), params.get("waybill")
    if raw_id not in (None, ""):
        if _ID.fullmatch(str(raw_id)):
            return int(str(raw_id)), None, None
        return None, None, ParamProblem("id", str(raw_id), "param_int", 10**18 - 1)
    if waybill not in (None, ""):
        waybill = str(waybill)
        if len(waybill) > max_text or _CONTROL.search(waybill):
            return None, None, ParamProblem("waybill", waybill, "param_text", max_text)
        return None, waybill, None
    return None, None, None


# the URL's word for "no courier yet" (an order awaiting its parcel: domain.AWAITING_COURIER, an empty text a URL
# cannot tell from no filter at all), in the queue's and the ledger's courier filter
NO_COURIER = NO_COURIER_FILTER


def courier_of(value: str) -> str:
    """The courier code a URL's courier filter names (NO_COURIER: an order awaiting its parcel)."""
    return AWAITING_COURIER if value == NO_COURIER else value


@dataclass(frozen=True)
class QueueFilter:
    """The queue's filters; None/"" means any. `state` "unresolved" = open or acknowledged."""

    kind: str | None = None
    courier: str | None = None
    shop: str | None = None
    region: str | None = None  # province
    min_age_hours: int | None = None  # since the parcel's last update (at least)
    max_age_hours: int | None = None  # since the parcel's last update (less than): an ageing bucket's top
    assignee: str | None = None  # "-" = nobody
    state: str | None = "unresolved"
    waybill: str | None = None

    @classmethod
    def from_params(cls, params: dict[str, Any], *, max_age_hours: int = 8760, max_text: int = 200) -> QueueFilter:
        """From URL query parameters, dropping the ones `parse` finds wrong."""
        return cls.parse(params, max_age_hours=max_age_hours, max_text=max_text)[0]

    @classmethod
    def parse(
        cls, params: dict[str, Any], *, max_age_hours: int, max_text: int, couriers: Collection[str] | None = None
    ) -> tuple[QueueFilter, list[ParamProblem]]:
        """From URL query parameters (unknown keys ignored): a wrong value is dropped and named in the
        problems (never an exception): age a whole number in 0..max_age_hours, kind and state known
        values, the courier one of `couriers` (the configured slugs) when given, texts at most `max_text`
        characters without control characters."""
        kw: dict[str, Any] = {}
        problems: list[ParamProblem] = []
        choices = {"kind": {str(k) for k in FlagKind}, "state": {"unresolved", *(str(s) for s in FlagState)}}
        if couriers is not None:
            choices["courier"] = {*couriers, NO_COURIER}
        for f in fields(cls):
            value = params.get(f.name)
            if value in (None, ""):
                continue
            value = str(value)
            if f.name in ("min_age_hours", "max_age_hours"):
                if not _UINT.fullmatch(value) or int(value) > max_age_hours:
                    problems.append(ParamProblem(f.name, value, "param_int", max_age_hours))
                    continue
                kw[f.name] = int(value)
            elif f.name in choices and value not in choices[f.name]:
                problems.append(ParamProblem(f.name, value, "param_choice"))
            elif len(value) > max_text or _CONTROL.search(value):
                problems.append(ParamProblem(f.name, value, "param_text", max_text))
            else:
                kw[f.name] = value
        return cls(**kw), problems

    def params(self) -> dict[str, str]:
        return {f.name: str(getattr(self, f.name)) for f in fields(self) if getattr(self, f.name) not in (None, "")}


# the queue's sorts: each key expression with its direction (True: descending); the flag id ends every order
SORT_KEYS: dict[str, Callable[[], list[tuple[Any, bool]]]] = {
    "escalated": lambda: [
        (case((FLAG.c.severity == str(Severity.escalate), 0), else_=1), False),
        (FLAG.c.opened_at, True),
    ],
    "newest": lambda: [(FLAG.c.opened_at, True)],
    "oldest": lambda: [(FLAG.c.opened_at, False)],
    "last_update": lambda: [(_last_update(), False)],
    "courier": lambda: [(FLAG.c.courier, False), (FLAG.c.opened_at, True)],
}
# ix_flag_unresolved_queue's first column as a typed column (a key to compare and read back; its text as the index)
_ESCALATED_FIRST = literal_column(QUEUE_ESCALATED_FIRST.text, Boolean)


def _ordering(keys: list[tuple[Any, bool]]) -> list[Any]:
    return [expr.desc() if descending else expr for expr, descending in keys]


def _sorts(name: str) -> Callable[[], list[Any]]:
    return lambda: _ordering(SORT_KEYS[name]())


SORTS: dict[str, Callable[[], list[Any]]] = {name: _sorts(name) for name in SORT_KEYS}


def _queue_where(f: QueueFilter, *, now: datetime) -> list[Any]:
    where: list[Any] = []
    if f.state == "unresolved":
        where.append(UNRESOLVED)
    elif f.state:
        where.append(FLAG.c.state == f.state)
    if f.kind:
        where.append(FLAG.c.kind == f.kind)
    if f.courier:
        where.append(FLAG.c.courier == courier_of(f.courier))
    if f.shop:
        where.append(PARCEL.c.shop == f.shop)
    if f.region:
        where.append(PARCEL.c.province == f.region)
    if f.assignee == "-":
        where.append(FLAG.c.assignee.is_(None))
    elif f.assignee:
        where.append(FLAG.c.assignee == f.assignee)
    where += _age_where(now, f.min_age_hours, f.max_age_hours)
    if f.waybill:
        where.append(PARCEL.c.waybill == f.waybill.strip().upper())
    return where


def _needs_parcel(f: QueueFilter) -> bool:
    return bool(f.shop or f.region or f.waybill)


def queue_count(engine: Engine, f: QueueFilter, *, now: datetime) -> int:
    """How many flags match (COUNT in SQL; joins parcel only when a parcel column filters)."""
    src = FLAG.join(PARCEL, PARCEL.c.id == FLAG.c.parcel_id) if _needs_parcel(f) else FLAG
    return int(_scalar(engine, select(func.count()).select_from(src).where(*_queue_where(f, now=now))) or 0)


def queue_page(
    engine: Engine,
    f: QueueFilter,
    *,
    now: datetime,
    sort: str = "escalated",
    limit: int = 50,
    offset: int = 0,
    after: tuple[Any, ...] | None = None,
) -> list[dict[str, Any]]:
    """One page of flags with their parcel and next action, sorted by `sort` (a SORTS key), id breaks ties.
    Each row's `page_key` is its place in that order: the next page is the rows `after` the last row's key
    (keyset paging: PostgreSQL sorts for a deep OFFSET; docs/architecture.md has the figures); without it,
    `offset` rows are skipped (a page jumped to). The page's flag ids are found first, from the flags alone
    when no parcel column filters or sorts (the default sort reads ix_flag_unresolved_queue in order), and
    only those rows' parcels are read."""
    keys = [*SORT_KEYS[sort](), (FLAG.c.id, True)]
    if sort == "escalated" and f.state == "unresolved" and not (f.kind or f.courier or f.assignee or f.waybill):
        # the same order as ix_flag_unresolved_queue's columns, read in index order until the page is full; a
        # kind, courier, assignee or waybill filter keeps the CASE form, which the planner serves from that
        # filter's index and a sort of its few rows instead of walking the whole queue in order
        keys = [(_ESCALATED_FIRST, False), (FLAG.c.opened_at, True), (FLAG.c.id, True)]
    order = _ordering(keys)
    where = _queue_where(f, now=now)
    if after is not None:
        where.append(_after(keys, after))
    src = FLAG.join(PARCEL, PARCEL.c.id == FLAG.c.parcel_id) if _needs_parcel(f) or sort == "last_update" else FLAG
    page = (
        select(FLAG.c.id)
        .select_from(src)
        .where(*where)
        .order_by(*order)
        .limit(limit)
        .offset(0 if after is not None else offset)
        .subquery()
    )
    query = (
        select(
            FLAG.c.id.label("flag_id"),
            PARCEL.c.waybill,
            PARCEL.c.order_id,
            FLAG.c.courier,
            FLAG.c.kind,
            FLAG.c.severity,
            FLAG.c.state,
            FLAG.c.assignee,
            PARCEL.c.shop,
            PARCEL.c.province,
            PARCEL.c.status,
            _last_update().label("last_update"),
            FLAG.c.opened_at,
            FLAG.c.next_action_zh,
            FLAG.c.next_action_en,
            *next_action.RENDERED_FROM,
            FLAG.c.note,
            FLAG.c.parcel_id,
            *(expr.label(f"page_key_{i}") for i, (expr, _) in enumerate(keys)),
        )
        .join(PARCEL, PARCEL.c.id == FLAG.c.parcel_id)
        .join(page, page.c.id == FLAG.c.id)
        .order_by(*order)
    )
    rows = _rows(engine, query)
    for r in rows:
        r["page_key"] = tuple(r.pop(f"page_key_{i}") for i in range(len(keys)))
    return rows


def _after(keys: list[tuple[Any, bool]], values: tuple[Any, ...]) -> ColumnElement:
    """The rows after the one whose keys are `values` in the order of `keys` (the last key unique): beyond it
    on the first key, or equal on the first and beyond on the second, and so on. The first key's bound is
    also stated alone, as a range an index can seek to."""
    if len(values) != len(keys):
        raise ValueError(f"a page key of {len(keys)} values, got {len(values)}")
    bound = [literal(value, expr.type) for (expr, _), value in zip(keys, values, strict=True)]  # True a value too
    terms = []
    for i, ((expr, descending), value) in enumerate(zip(keys, bound, strict=True)):
        beyond = expr < value if descending else expr > value
        terms.append(and_(*(e == v for (e, _), v in zip(keys[:i], bound[:i], strict=True)), beyond))
    first, descending = keys[0]
    return and_(first <= bound[0] if descending else first >= bound[0], or_(*terms))


def claims_without_courier(engine: Engine) -> bool:
    """Whether a claim has no courier (domain.AWAITING_COURIER): a 发货延迟 claim of an order not shipped, yet or
    ever (the ledger's courier filter then offers NO_COURIER, 未发货)."""
    query = select(CLAIM.c.id).where(CLAIM.c.courier == AWAITING_COURIER).limit(1)
    with engine.connect() as conn:
        return conn.execute(query).first() is not None


def distinct_values(engine: Engine, column: str) -> list[str]:
    """Values for a filter's choices (capped at 500): couriers, shops and provinces from the small table the
    import keeps (tracker/storage/rollups.py, never DISTINCT over every parcel), assignees and kinds from
    unresolved flags (ix_flag_unresolved_assignee, ix_flag_unresolved_kind_courier). The couriers end with
    NO_COURIER (未发货) while an order awaits its parcel (any_awaiting): the overview counts them."""
    if column == "courier":
        with engine.connect() as conn:
            waiting = [NO_COURIER] if any_awaiting(conn) else []
        return [*rollups.choices(engine, column, limit=500), *waiting]
    if column in rollups.CHOICE_FIELDS:
        return rollups.choices(engine, column, limit=500)
    col = FLAG.c[column]
    # the literal IS NOT NULL: ix_flag_unresolved_assignee's predicate
    query = select(col.label(column)).where(UNRESOLVED, col.is_not(None)).distinct().order_by(col).limit(500)
    return [r[column] for r in _rows(engine, query)]


# --- parcel page ------------------------------------------------------------------------------------------


# --- logins ----------------------------------------------------------------------------------------------

LOGIN_ENTITY = "board_login"


def login_attempts(engine: Engine, *, since: datetime, limit: int = 5000) -> list[LoginAttempt]:
    """The checked logins recorded since `since`, newest first (what tracker.auth.lockout_until reads)."""
    query = (
        select(AUDIT.c.at, AUDIT.c.actor, AUDIT.c.action, AUDIT.c.detail)
        .where(AUDIT.c.entity == LOGIN_ENTITY, AUDIT.c.at >= since)
        .order_by(AUDIT.c.at.desc(), AUDIT.c.id.desc())
        .limit(limit)
    )
    return [
        LoginAttempt(
            at=_aware(r["at"]),
            user=r["actor"],
            address=str((r["detail"] or {}).get("address", "")),
            ok=r["action"] == "login",
        )
        for r in _rows(engine, query)
    ]


def failed_logins(engine: Engine, *, since: datetime, limit: int = 50) -> list[dict[str, Any]]:
    """Failed logins since `since` for the leads: when, the name typed, from where, the lock-out it caused."""
    query = (
        select(AUDIT.c.at, AUDIT.c.actor, AUDIT.c.detail)
        .where(AUDIT.c.entity == LOGIN_ENTITY, AUDIT.c.action == "login_failed", AUDIT.c.at >= since)
        .order_by(AUDIT.c.at.desc(), AUDIT.c.id.desc())
        .limit(limit)
    )
    out = []
    for r in _rows(engine, query):
        detail = r["detail"] or {}
        locked = detail.get("locked_until")
        out.append(
            {
                "at": _aware(r["at"]),
                "login_name": r["actor"],
                "address": detail.get("address", ""),
                "locked_until": datetime.fromisoformat(locked) if locked else None,
            }
        )
    return out


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


# what people paste around a number: a label (No: / No. / 运单号: / 订单号:), quotes, Excel's text prefix '
_SEARCH_QUOTES = re.compile(r"['\"‘’“”`]+")
# a leading label; 订单 alone before digits is an order awaiting its parcel as the board and its alerts name it
# (domain.awaiting_waybill): searched as its order number, it is found once it has become its parcel too
_SEARCH_LABEL = re.compile(
    r"^\s*(?:no\s*[.:：#]|no\s+|(?:(?:快递|运单|订单|物流)单?编?号|单号)\s*[:：]?|订单\s*[:：]?(?=\s*[0-9]))", re.I
)
_SEARCH_SPACE = re.compile(r"\s+")
SEARCH_MIN_CONTAINS = 4  # shorter texts match by prefix only (a 2-digit "contains" search matches everything)


def search_text(raw: str) -> str:
    """The number in what was typed or pasted: quotes and Excel's leading ' removed, a leading label
    (No:, No., 运单号:, 订单号:, 订单 before digits) dropped, then every space. Pure."""
    text = _SEARCH_QUOTES.sub("", raw or "")
    return _SEARCH_SPACE.sub("", _SEARCH_LABEL.sub("", text, count=1))


SEARCH_LIMIT = 20  # parcels a search lists at most


def find_parcels(engine: Engine, text: str, *, limit: int = SEARCH_LIMIT) -> list[dict[str, Any]]:
    """Parcels whose waybill or order number is, or starts with, or (4+ characters) contains the number in
    `text` (search_text): exact matches first; each step is bounded by `limit` and the next runs only when
    the one before found nothing, so a unique number costs one index look-up."""
    text = search_text(text)
    if not text or len(text) > 200 or _CONTROL.search(text):  # typed or from a URL: nothing can match it
        return []
    columns = (
        PARCEL.c.id,
        PARCEL.c.waybill,
        PARCEL.c.courier,
        PARCEL.c.order_id,
        PARCEL.c.status,
        PARCEL.c.shop,
        _last_update().label("last_update"),
    )
    waybill = text.upper()
    steps = [
        or_(PARCEL.c.waybill == waybill, PARCEL.c.order_id == text),
        or_(starts_with(PARCEL.c.waybill, waybill), starts_with(PARCEL.c.order_id, text)),
    ]
    if len(text) >= SEARCH_MIN_CONTAINS:  # the last resort scans, so it stops at `limit` rows
        steps.append(
            or_(PARCEL.c.waybill.contains(waybill, autoescape=True), PARCEL.c.order_id.contains(text, autoescape=True))
        )
    for where in steps:
        found = _rows(engine, select(*columns).where(where).order_by(PARCEL.c.id.desc()).limit(limit))
        if found:
            return found
    return []


def parcel_detail(engine: Engine, parcel_id: int, now: datetime | None = None) -> dict[str, Any] | None:
    """Everything the parcel page shows: the parcel row, events (newest first), flags, facts, claims (their
    states read at `now`, as the ledger reads them: a draft whose window closed is expired), alerts and the audit
    trail of the parcel, its flags and its claims."""
    with engine.connect() as conn:
        row = conn.execute(select(PARCEL).where(PARCEL.c.id == parcel_id)).first()
        if row is None:
            return None

        def rows(query: Select) -> list[dict[str, Any]]:
            return [dict(r._mapping) for r in conn.execute(query)]

        flags = rows(select(FLAG).where(FLAG.c.parcel_id == parcel_id).order_by(FLAG.c.opened_at))
        for flag in flags:
            flag["waybill"] = row.waybill  # its next action names it (tracker/flags/next_action.py)
        claims = rows(
            select(CLAIM)
            .with_only_columns(*(state_at(now).label("state") if c.name == "state" else c for c in CLAIM.c))
            .where(CLAIM.c.parcel_id == parcel_id)
            .order_by(CLAIM.c.created_at)
        )
        entities = [("parcel", [parcel_id]), ("flag", [f["id"] for f in flags]), ("claim", [c["id"] for c in claims])]
        audit_where = or_(*(and_(AUDIT.c.entity == e, AUDIT.c.entity_id.in_(ids)) for e, ids in entities if ids))
        return {
            "parcel": dict(row._mapping),
            "events": rows(
                select(
                    EVENT.c.event_time, EVENT.c.status, EVENT.c.raw_code, EVENT.c.text, EVENT.c.location, EVENT.c.source
                )
                .where(EVENT.c.parcel_id == parcel_id)
                .order_by(EVENT.c.event_time.desc(), EVENT.c.id.desc())
            ),
            "flags": flags,
            # every buyer that named this return waybill (two or more: return_waybill_shared)
            "return_buyers": rows(
                select(RETURN_BUYER.c.buyer_id, RETURN_BUYER.c.order_id, RETURN_BUYER.c.first_seen_at)
                .where(RETURN_BUYER.c.waybill == row.waybill)
                .order_by(RETURN_BUYER.c.first_seen_at, RETURN_BUYER.c.buyer_id)
            )
            if row.direction == "return"
            else [],
            "facts": rows(select(FACT).where(FACT.c.parcel_id == parcel_id).order_by(FACT.c.recorded_at)),
            "claims": claims,
            "alerts": rows(select(ALERT).where(ALERT.c.parcel_id == parcel_id).order_by(ALERT.c.created_at.desc())),
            # with each flag's opening that its row still holds (tracker/flags/history.py), newest first
            "audit": with_openings(rows(select(AUDIT).where(audit_where)), flags),
            # the push subscription (tracker/subscriptions.py; the page says it in words), or None
            "subscription": next(iter(rows(select(SUBSCRIPTION).where(SUBSCRIPTION.c.parcel_id == parcel_id))), None),
        }


# --- claims ledger ------------------------------------------------------------------------------------------


CLAIMABLE = "claimable"  # the ledger's state filter for claimable money (claims.money.claimable_where)
# the ledger's state filter for the claims filed with the courier and standing: outstanding, paid or rejected (the
# reconciliation's 累计提交, claims.reconcile.FILED; a claim withdrawn after filing is not one of them)
SUBMITTED = "submitted"


@dataclass(frozen=True)
class LedgerFilter:
    """The claims ledger's filters (mirrored in its URL); None/"" means any. `state` is a claim state,
    "claimable" or "submitted" (CLAIMABLE, SUBMITTED); `text` a waybill, order or reference number (or their
    start; search_text cleans it); `closes_within_days`: claims still to file whose window closes within that
    many days; `filed` ("1"): the claims filed with the courier, whatever became of them since;
    `shipped_from`/`shipped_to` (YYYY-MM-DD, both days included, on the clock of `zone`): the claims on parcels
    shipped in those days. The last three are a courier scorecard's (its claims filed and money recovered open
    these claims)."""

    text: str | None = None
    courier: str | None = None
    claim_type: str | None = None
    state: str | None = None
    closes_within_days: int | None = None
    filed: str | None = None
    shipped_from: str | None = None
    shipped_to: str | None = None
    parcel: int | None = None  # one parcel's claims (its page's link: a waybill searched would find its prefixes')
    zone: str = field(default="UTC", compare=False)  # the board's time zone, not a filter of the URL

    @classmethod
    def parse(
        cls,
        params: dict[str, Any],
        *,
        max_text: int,
        max_days: int = 366,
        couriers: Collection[str] | None = None,
        claim_types: Collection[str] | None = None,
        zone: str = "UTC",
    ) -> tuple[LedgerFilter, list[ParamProblem]]:
        """From URL query parameters (unknown keys ignored): a wrong value is dropped and named, never raised
        (the courier must be one of `couriers`, the configured slugs, and the claim type one of `claim_types`,
        when given). `zone`: the board's, whose days the shipping days are."""
        kw: dict[str, Any] = {"zone": zone}
        problems: list[ParamProblem] = []
        for f in fields(cls):
            value = params.get(f.name)
            if value in (None, "") or f.name == "zone":
                continue
            value = str(value)
            if f.name == "filed" and value != "1":
                problems.append(ParamProblem(f.name, value, "param_choice"))
            elif f.name in ("shipped_from", "shipped_to") and not _is_day(value):
                problems.append(ParamProblem(f.name, value, "param_day"))
            elif f.name == "parcel":  # a row id, as the parcel page's ?id= (parcel_ref)
                if not _ID.fullmatch(value):
                    problems.append(ParamProblem(f.name, value, "param_int", 10**18 - 1))
                    continue
                kw[f.name] = int(value)
            elif f.name == "closes_within_days":
                if not _UINT.fullmatch(value) or int(value) > max_days:
                    problems.append(ParamProblem(f.name, value, "param_int", max_days))
                    continue
                kw[f.name] = int(value)
            elif f.name == "state" and value not in {CLAIMABLE, SUBMITTED, *(str(s) for s in ClaimState)}:
                problems.append(ParamProblem(f.name, value, "param_choice"))
            elif f.name == "courier" and couriers is not None and value not in {*couriers, NO_COURIER}:
                problems.append(ParamProblem(f.name, value, "param_choice"))
            elif f.name == "claim_type" and claim_types is not None and value not in claim_types:
                problems.append(ParamProblem(f.name, value, "param_choice"))
            elif len(value) > max_text or _CONTROL.search(value):
                problems.append(ParamProblem(f.name, value, "param_text", max_text))
            else:
                kw[f.name] = value
        _days_in_order(kw, problems)
        return cls(**kw), problems

    def params(self) -> dict[str, str]:
        return _url_params(self)


def parcel_name(engine: Engine, *, parcel_id: int) -> tuple[str, str] | None:
    """(waybill, courier) of a parcel, None when there is none: what the ledger names a parcel filter by."""
    with engine.connect() as conn:
        row = conn.execute(select(PARCEL.c.waybill, PARCEL.c.courier).where(PARCEL.c.id == parcel_id)).first()
    return None if row is None else (row[0], row[1])


def _is_day(text: str) -> bool:
    """YYYY-MM-DD, a real day of a year a shipping time can have (9999-12-31's next midnight overflowed)."""
    try:
        return bool(_DAY.fullmatch(text)) and 1900 <= date.fromisoformat(text).year <= 9998
    except ValueError:
        return False


_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _ledger_where(f: LedgerFilter, now: datetime | None) -> list[Any]:
    where: list[Any] = []
    if f.parcel is not None:
        where.append(CLAIM.c.parcel_id == f.parcel)
    if f.filed:
        where.append(CLAIM.c.filed_at.is_not(None))
    # the parcel's shipping time, in the scorecard's days (its midnights: scorecard_days.midnight)
    start, end = day_bounds(f.shipped_from, f.shipped_to, f.zone)
    where += [PARCEL.c.shipped_at >= start] if start else []
    where += [PARCEL.c.shipped_at < end] if end else []
    if f.state == CLAIMABLE:
        where.append(claimable_where(now or datetime.now(UTC)))
    elif f.state == SUBMITTED:  # states a person set; none of them changes with time
        where.append(FILED)
    elif f.state:  # as read at `now`, as the totals above the ledger count (claims.money.state_at)
        where.append(state_at(now) == f.state)
    if f.courier:
        where.append(CLAIM.c.courier == courier_of(f.courier))
    if f.claim_type:
        where.append(CLAIM.c.claim_type == f.claim_type)
    if f.closes_within_days is not None:
        at = now or datetime.now(UTC)
        where += [
            CLAIM.c.state.in_(UNFILED_STATES),
            CLAIM.c.filing_closes_at >= at,
            CLAIM.c.filing_closes_at <= at + timedelta(days=f.closes_within_days),
        ]
    text = search_text(f.text or "")
    if text:
        found = [
            starts_with(PARCEL.c.waybill, text.upper()),
            starts_with(PARCEL.c.order_id, text),
            CLAIM.c.reference_no.istartswith(text, autoescape=True),
        ]
        if len(text) >= SEARCH_MIN_CONTAINS:  # the end or middle of a number too (over the claims, not every parcel)
            found += [
                PARCEL.c.waybill.contains(text.upper(), autoescape=True),
                CLAIM.c.reference_no.icontains(text, autoescape=True),
            ]
        where.append(or_(*found))
    return where


def _ledger(
    f: LedgerFilter | None, state: str | None, courier: str | None
) -> LedgerFilter:  # the older keyword form (state=, courier=) still works
    f = f or LedgerFilter()
    return replace(f, courier=courier or f.courier, state=state or f.state)


def _joins_parcel(f: LedgerFilter) -> bool:
    """Whether the ledger's filters read the parcel (a number searched, a shipping period)."""
    return bool(f.text or f.shipped_from or f.shipped_to)


def claims_count(
    engine: Engine,
    *,
    f: LedgerFilter | None = None,
    now: datetime | None = None,
    state: str | None = None,
    courier: str | None = None,
) -> int:
    """How many claims the ledger lists for `f` (joins the parcel only when a number is searched)."""
    f = _ledger(f, state, courier)
    src = CLAIM.join(PARCEL, PARCEL.c.id == CLAIM.c.parcel_id) if _joins_parcel(f) else CLAIM
    return int(_scalar(engine, select(func.count()).select_from(src).where(*_ledger_where(f, now))) or 0)


def claims_page(
    engine: Engine,
    *,
    f: LedgerFilter | None = None,
    now: datetime | None = None,
    state: str | None = None,
    courier: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Claims with their waybill, soonest filing deadline first (claims without one last)."""
    f = _ledger(f, state, courier)
    query = (
        select(
            CLAIM.c.id,
            PARCEL.c.waybill,
            PARCEL.c.order_id,
            CLAIM.c.courier,
            CLAIM.c.claim_type,
            CLAIM.c.scenario,
            state_at(now).label("state"),
            CLAIM.c.amount,
            CLAIM.c.formula,
            CLAIM.c.missing,
            CLAIM.c.filing_opens_at,
            CLAIM.c.filing_closes_at,
            CLAIM.c.reference_no,
            CLAIM.c.filed_at,
            CLAIM.c.paid_amount,
            CLAIM.c.paid_at,
            CLAIM.c.reject_reason,
            CLAIM.c.parcel_id,
        )
        .join(PARCEL, PARCEL.c.id == CLAIM.c.parcel_id)
        .where(*_ledger_where(f, now))
    )
    query = query.order_by(CLAIM.c.filing_closes_at.is_(None), CLAIM.c.filing_closes_at, CLAIM.c.id)
    return _rows(engine, query.limit(limit).offset(offset))


def claims_total(engine: Engine, *, f: LedgerFilter | None = None, now: datetime | None = None) -> dict[str, Any]:
    """The money of every claim the ledger lists for `f` (all pages): amounts claimed and amounts paid, and
    how many of those claims have no amount yet (`unknown`: left out of the sum, not counted as 0)."""
    f = _ledger(f, None, None)
    src = CLAIM.join(PARCEL, PARCEL.c.id == CLAIM.c.parcel_id) if _joins_parcel(f) else CLAIM
    query = select(
        func.coalesce(func.sum(CLAIM.c.amount), 0), func.coalesce(func.sum(CLAIM.c.paid_amount), 0), unknown_amounts()
    )
    with engine.connect() as conn:
        amount, paid, unknown = conn.execute(query.select_from(src).where(*_ledger_where(f, now))).one()
    return {
        "amount": Decimal(str(amount)).quantize(CENT),
        "paid_amount": Decimal(str(paid)).quantize(CENT),
        "unknown": int(unknown or 0),
    }


# money per courier on the overview: state -> (the ledger's state filter, the money column it sums)
MONEY_STATES: dict[str, tuple[str, str]] = {
    "claimable": (CLAIMABLE, "amount"),
    "filed": (str(ClaimState.filed), "amount"),
    "paid": (str(ClaimState.paid), "paid_amount"),
    "rejected": (str(ClaimState.rejected), "amount"),
}


def money_by_courier(engine: Engine, *, now: datetime) -> list[dict[str, Any]]:
    """Per courier: claimable money (claims.money.claimable_where), filed and rejected claim amounts, and
    the amounts paid on paid claims, each with its claim count; one grouped pass over the claims. Each
    number is the sum of the ledger's rows filtered by the courier and MONEY_STATES[state]."""
    picks = {
        "claimable": claimable_where(now),
        "filed": CLAIM.c.state == str(ClaimState.filed),
        "paid": CLAIM.c.state == str(ClaimState.paid),
        "rejected": CLAIM.c.state == str(ClaimState.rejected),
    }
    columns: list[Any] = [CLAIM.c.courier]
    for name, where in picks.items():
        money = CLAIM.c[MONEY_STATES[name][1]]
        columns.append(func.coalesce(func.sum(case((where, money), else_=None)), 0).label(name))
        columns.append(func.sum(case((where, 1), else_=0)).label(f"{name}_n"))
    query = select(*columns).where(or_(*picks.values())).group_by(CLAIM.c.courier).order_by(CLAIM.c.courier)
    rows = _rows(engine, query)
    for r in rows:
        for name in picks:
            r[name] = Decimal(str(r[name])).quantize(CENT)
            r[f"{name}_n"] = int(r[f"{name}_n"] or 0)
    return rows


def claims_by_state(engine: Engine, *, now: datetime | None = None) -> list[dict[str, Any]]:
    """Claims and their amounts per state, read at `now` when given (claims.money.totals_by_state)."""
    from claims.money import totals_by_state

    return totals_by_state(engine, now=now)


def reconciliation(engine: Engine) -> list[dict[str, Any]]:
    """Per courier: claims filed, paid and rejected, the amounts claimed and paid out, what paid claims were paid
    short (still owed) and over (to check), each on its own: claims.reconcile's sums (those `tracker claims
    reconcile` prints per month) per courier."""
    return [
        {
            "courier": x.courier,
            "filed_in_all": x.filed,  # every claim filed: outstanding, paid or rejected
            "paid": x.paid_n,
            "rejected": x.rejected_n,
            "claimed_amount": x.expected,
            "paid_amount": x.paid,
            "short_paid": x.short,
            "over_paid": x.over,
        }
        for x in totals_by_courier(engine)
    ]


# --- courier scorecards ------------------------------------------------------------------------------------


def scorecards(
    engine: Engine, *, start: datetime, end: datetime, rules: RulesConfig, now: datetime, tz: str
) -> list[dict]:
    """Per courier, parcels shipped in [start, end): count, exception rate (parcels with at least one flag
    ÷ parcels), the same per kind (kind_rates: parcels with a flag of that kind ÷ parcels), stale share
    (open, last event past the parcel's stale threshold, overrides included, no confirmed loss), median transit
    hours (shipped -> delivered, in whole hours: the mean of the two middle ones may end in .5), claims filed and
    money recovered for those parcels.

    The sums over shipping come from the rollup per local day of zone `tz` (tracker/storage/scorecard_days.py:
    no pass over the period's parcels; the median from its transit histogram; the claims filed and paid); the
    stale share is read live (it changes as time passes) from the open parcels' index."""
    sums = scorecard_days.tallies(engine, start=start, end=end, tz=tz)
    in_period = and_(PARCEL.c.shipped_at >= start, PARCEL.c.shipped_at < end)
    cards: dict[str, dict[str, Any]] = {
        courier: {
            "courier": courier,
            "parcels": t.parcels,
            "stale": 0,
            "delivered": sum(t.transit.values()),
            "kinds": dict(t.kinds),
            "flagged": t.flagged,
            "claims_filed": t.claims_filed,
            "recovered": t.recovered,
        }
        for courier, t in sums.items()
        if t.parcels
    }
    # open parcels past their stale threshold, searched on the last event in ix_parcel_open_last_event, which
    # carries shipped_at for the period (ix_parcel_shipped is partial: a query that does not repeat its
    # predicate cannot take it, see tracker.storage.rows.SCORECARD_INDEXED). Unlike the stale rule, an open
    # parcel whose one event is the order's (已下单) counts too: no courier scan for that long is the courier's
    # lapse as much as a stale track, and the status term cost the read a tenth (bench/board.py).
    stale = [*_stale(now, rules, scanned=False)[0], in_period]
    for courier, n in _count_stale(engine, stale, PARCEL.c.courier).items():
        if courier in cards:
            cards[courier]["stale"] = n
    for courier, card in cards.items():
        card["exception_rate"] = card["flagged"] / card["parcels"]
        card["kind_rates"] = {k: n / card["parcels"] for k, n in card["kinds"].items()}
        card["stale_rate"] = card["stale"] / card["parcels"]
        card["median_transit_hours"] = median_of_histogram(list(sums[courier].transit.items()))
    return sorted(cards.values(), key=lambda c: c["courier"])


def median_of_histogram(counts: list[tuple[float, int]]) -> float | None:
    """The median of values given as (value, how many); the mean of the two middle values when even."""
    total = sum(n for _, n in counts)
    if not total:
        return None
    middle = [(total - 1) // 2, total // 2]  # 0-based ranks of the middle value(s)
    found: list[float] = []
    seen = 0
    for value, n in sorted(counts):
        while middle and middle[0] < seen + n:
            found.append(value)
            middle.pop(0)
        seen += n
    return round(sum(found) / len(found), 1)


# --- alerts log ----------------------------------------------------------------------------------------------


def alerts_count(
    engine: Engine,
    *,
    state: str | None = None,
    max_attempts: int | None = None,
    day_start: datetime | None = None,
) -> int:
    query = select(func.count()).select_from(ALERT)
    if state:
        query = query.where(state_is(state, max_attempts=max_attempts))
    if day_start is not None:
        query = query.where(alerts_of_day(day_start))
    return int(_scalar(engine, query) or 0)


def alerts_page(
    engine: Engine,
    *,
    state: str | None = None,
    limit: int = 50,
    offset: int = 0,
    max_attempts: int | None = None,
    day_start: datetime | None = None,
) -> list[dict]:
    """Alerts newest first: channel, recipient, level, subject, state, attempts, when sent, error; `held`
    takes the failed alerts still held for the next digest too (tracker.alerts.store.held_alerts);
    `day_start`: only that day's (alerts_of_day, the overview's figures)."""
    query = select(
        ALERT.c.id,
        ALERT.c.created_at,
        ALERT.c.sent_at,
        ALERT.c.channel,
        ALERT.c.recipient,
        ALERT.c.level,
        ALERT.c.subject,
        ALERT.c.state,
        ALERT.c.attempts,
        ALERT.c.error,
        ALERT.c.due_at,  # when a waiting one goes next
        ALERT.c.held,
        ALERT.c.parcel_id,  # the waybill cell opens it (a digest names no parcel)
        PARCEL.c.waybill,
    ).outerjoin(PARCEL, PARCEL.c.id == ALERT.c.parcel_id)
    if state:
        query = query.where(state_is(state, max_attempts=max_attempts))
    if day_start is not None:
        query = query.where(alerts_of_day(day_start))
    return _rows(engine, query.order_by(ALERT.c.id.desc()).limit(limit).offset(offset))


# --- charts (issue 15 item 8: charts part) -------------------------------------------------------------------


def local_midnights(now: datetime, tz: str, days: int) -> list[datetime]:
    """The UTC instants of the local midnights (zone `tz`) that start each of the last `days` days, today
    the last, followed by tomorrow's midnight: days + 1 edges."""
    zone = ZoneInfo(tz)
    today = now.astimezone(zone).date()
    return [
        datetime.combine(today - timedelta(days=d), time(), tzinfo=zone).astimezone(UTC)
        for d in range(days - 1, -2, -1)
    ]


def local_month_starts(now: datetime, tz: str, months: int) -> list[datetime]:
    """The UTC instants at which each of the last `months` local months begins (this month the last),
    followed by the start of next month: months + 1 edges."""
    zone = ZoneInfo(tz)
    local = now.astimezone(zone)
    index = local.year * 12 + local.month - 1  # months since year 0
    return [datetime(i // 12, i % 12 + 1, 1, tzinfo=zone).astimezone(UTC) for i in range(index - months + 1, index + 2)]


def _edge_bucket(column: Any, edges: list[datetime]) -> ColumnElement:
    """Which [edges[i], edges[i+1]) interval `column` falls in, as i (the rows are limited to the edges)."""
    return case(*((column >= edges[i], literal(i)) for i in reversed(range(len(edges) - 1))), else_=literal(-1))


def exceptions_per_day(engine: Engine, *, now: datetime, tz: str, days: int = 30) -> list[dict[str, Any]]:
    """Exceptions (flags) opened and resolved on each of the last `days` days, days counted in the zone `tz`
    (midnight to midnight, China time for the board), oldest first, today included; a day without any
    is there with zeros."""
    edges = local_midnights(now, tz, days)
    # one range count per day and column (ix_flag_opened_at, ix_flag_resolved_at): no CASE per flag, no sort
    columns = [
        select(func.count())
        .select_from(FLAG)
        .where(column >= edges[i], column < edges[i + 1])
        .scalar_subquery()
        .label(f"{name}{i}")
        for name, column in (("opened", FLAG.c.opened_at), ("resolved", FLAG.c.resolved_at))
        for i in range(days)
    ]
    with engine.connect() as conn:
        found = conn.execute(select(*columns)).one()._mapping
    counts = {name: {i: int(found[f"{name}{i}"] or 0) for i in range(days)} for name in ("opened", "resolved")}
    zone = ZoneInfo(tz)
    return [
        {
            "day": edges[i].astimezone(zone).date(),
            "opened": counts["opened"].get(i, 0),
            "resolved": counts["resolved"].get(i, 0),
        }
        for i in range(days)
    ]


def recovered_by_month(engine: Engine, *, now: datetime, tz: str, months: int = 12) -> list[dict[str, Any]]:
    """Money recovered: the paid amount of paid claims per courier and local month of payment (zone `tz`)
    over the last `months` months, oldest first; only months and couriers with a payout are listed."""
    edges = local_month_starts(now, tz, months)
    bucket = _edge_bucket(CLAIM.c.paid_at, edges)
    query = (
        select(
            bucket.label("i"),
            CLAIM.c.courier,
            func.coalesce(func.sum(CLAIM.c.paid_amount), 0).label("paid"),
            func.count().label("claims"),
        )
        .where(CLAIM.c.state == str(ClaimState.paid), CLAIM.c.paid_at >= edges[0], CLAIM.c.paid_at < edges[-1])
        .group_by(bucket, CLAIM.c.courier)
        .order_by(bucket, CLAIM.c.courier)
    )
    zone = ZoneInfo(tz)
    return [
        {
            "month": edges[r["i"]].astimezone(zone).strftime("%Y-%m"),
            "courier": r["courier"],
            "paid": Decimal(str(r["paid"])).quantize(CENT),
            "claims": r["claims"],
        }
        for r in _rows(engine, query)
    ]


def open_by_courier_kind(engine: Engine) -> list[dict[str, Any]]:
    """Unresolved flags counted by courier and kind (the overview's stacked bars; the partial flag index)."""
    n = func.count().label("n")
    query = (
        select(FLAG.c.courier, FLAG.c.kind, n)
        .where(UNRESOLVED)
        .group_by(FLAG.c.courier, FLAG.c.kind)
        .order_by(FLAG.c.courier, FLAG.c.kind)
    )
    return _rows(engine, query)


# --- the Streamlit cache (the only Streamlit in this module) ------------------------------------------------


def polling(engine: Engine, *, now: datetime) -> dict[str, Any]:
    """Due now, being polled (by which workers), paused providers: the polling line on the overview."""
    from tracker.leases import count_due, count_leased
    from tracker.shared_limits import paused_providers

    leased = count_leased(engine, now=now)
    return {
        "due": sum(count_due(engine, now=now).values()),
        "leased": sum(leased.values()),
        "workers": len(leased),
        "paused": sorted(paused_providers(engine, now=now).items()),
    }


def pushes(engine: Engine, *, day: str) -> dict[str, Any]:
    """The provider quota spent on `day` (YYYY-MM-DD, China time) and the subscriptions by provider and state:
    the push line on the overview."""
    from tracker.subscriptions import quota_day_counts, state_counts

    return {"quota": quota_day_counts(engine, day=day), "states": state_counts(engine)}


READS: dict[str, Callable[..., Any]] = {
    f.__name__: f
    for f in (
        open_by,
        ageing,
        open_parcels,
        open_parcels_page,
        stale_soon,
        turning_stale_count,
        turning_stale_page,
        shipped_count,
        shipped_page,
        claimable,
        deadlines,
        alerts_today,
        queue_count,
        queue_page,
        distinct_values,
        claims_without_courier,
        find_parcels,
        parcel_detail,
        claims_count,
        claims_page,
        claims_total,
        parcel_name,
        claims_by_state,
        money_by_courier,
        reconciliation,
        scorecards,
        alerts_count,
        alerts_page,
        polling,
        pushes,
        failed_logins,
        # charts part (issue 15 item 8)
        exceptions_per_day,
        recovered_by_month,
        open_by_courier_kind,
    )
}


def engine_for(url: str) -> Engine:
    """One engine per database URL for the whole server, shared by every session's thread
    (cache the engine, never a connection); checked and migrated on first use."""
    return _engine_cache()(url)


def read(url: str, name: str, *, ttl: int, **kw: Any) -> Any:
    """READS[name](engine, **kw), cached for `ttl` seconds per argument set (a rounded `now` makes hits)."""
    return _cached(ttl)(url, name, kw)


def clear_cache() -> None:
    """After an action: the next render reads fresh rows."""
    import streamlit as st

    st.cache_data.clear()


@functools.cache
def _engine_cache() -> Callable[[str], Engine]:
    """_board_engine wrapped by st.cache_resource, once per process: wrapping it reads this file's source to key
    the cache (made on every call, that was about 4.5 ms of each page view's 70 ms of server CPU, py-spy)."""
    import streamlit as st

    return st.cache_resource(show_spinner=False)(_board_engine)


def _board_engine(url: str) -> Engine:
    from tracker.storage.db import open_database

    # a bad URL, an unreachable server or a missing SQLite file is one line on the page, never a traceback, and
    # never a new empty database (`tracker init` creates it)
    return open_database(url)


_CACHED: dict[int, Callable[..., Any]] = {}


def _cached(ttl: int) -> Callable[..., Any]:
    if ttl not in _CACHED:
        import streamlit as st

        def board_read(url: str, name: str, kw: dict[str, Any]) -> Any:
            return READS[name](engine_for(url), **kw)

        _CACHED[ttl] = st.cache_data(ttl=ttl, show_spinner=False, max_entries=2000)(board_read)
    return _CACHED[ttl]
