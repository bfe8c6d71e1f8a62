"""What the courier scorecards sum, per courier, over the parcels shipped in a period: parcels, delivered
parcels by transit time (whole hours, shipped -> delivered), parcels with at least one flag of a kind about
the parcel in the courier's hands (registry.AGAINST_COURIER: not the shop's nor the buyer's, docs/domain.md
"Courier scorecards"), in all and per kind, claims filed and money recovered on those parcels (a Tally). Read
from a rollup per local shipping day (scorecard_day) for the period's whole days, and from the parcels for
the hours before the first and after the last midnight, so that any period is exact (docs/architecture.md,
"Storage").

The rollup is kept by recomputing days, never by adding to them:
- the UTC hour of a parcel's shipping time goes to scorecard_dirty whenever what a day sums may change: a
  parcel added or removed, its courier, shipping or delivery time changed, a flag opened or removed, a claim
  added, removed, filed or paid. Triggers (migration 0016) mark claims, removed flags and, on PostgreSQL,
  parcels, whoever writes. Where a trigger cost too much the writer marks in one statement per batch: the
  evaluation its opened flags (`mark_shipping`, from the shipping times the rules read with each flag; a
  trigger per flag cost the 1M first evaluation 0.2-0.5 s), and on SQLite the import and the ingest their
  parcels (`mark_hours`, `mark_parcels`; parcel triggers cost the import half its speed again);
- `refresh` recomputes the local days those hours fall in, from the rows, and clears the hours it took
  (DELETE ... RETURNING: an hour marked meanwhile stays for the next refresh);
- the days are local dates of one zone (rollup_state 'scorecard_zone') and count the kinds they were computed
  with ('scorecard_kinds'); another zone, or other kinds counted, rebuilds them all.

What changes as time passes is not here: the stale share (read live over ix_parcel_open_last_event)."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, and_, case, delete, func, literal_column, select, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection
from sqlalchemy.sql import ColumnElement, Select

from tracker.rules.registry import AGAINST_COURIER
from tracker.status import CENT
from tracker.storage import rollups
from tracker.storage.tables import CLAIM, FLAG, PARCEL, SCORECARD_DAY, SCORECARD_DIRTY

ZONE_KEY = "scorecard_zone"
KINDS_KEY = "scorecard_kinds"
# the flag kinds the scorecards count, and their digest kept with the rollup (rollup_state holds 64
# characters): a change of them recomputes every day
COUNTED_KINDS = sorted(str(k) for k in AGAINST_COURIER)
COUNTED = hashlib.sha1(",".join(COUNTED_KINDS).encode()).hexdigest()
REFRESH_LOCK = 7_410_003  # pg_advisory_xact_lock key (see tracker.storage.db.MIGRATION_LOCK)


@dataclass
class Tally:
    """One courier's sums over some shipped parcels (they add up: a parcel is shipped on one day)."""

    parcels: int = 0
    transit: Counter[int] = field(default_factory=Counter)  # whole hours (rounded) -> delivered parcels
    flagged: int = 0
    kinds: Counter[str] = field(default_factory=Counter)  # flag kind -> parcels with such a flag
    claims_filed: int = 0  # by the claim's courier
    recovered: Decimal = Decimal("0.00")  # paid on those claims

    def add(self, other: Tally) -> None:
        self.parcels += other.parcels
        self.transit.update(other.transit)
        self.flagged += other.flagged
        self.kinds.update(other.kinds)
        self.claims_filed += other.claims_filed
        self.recovered += other.recovered


def hours_between(dialect: str, start: Any, end: Any) -> ColumnElement:
    """end - start in hours, as a float, in SQL."""
    if dialect == "sqlite":
        return (func.julianday(end) - func.julianday(start)) * 24.0
    return func.extract("epoch", end - start) / 3600.0


# ix_parcel_shipped's predicate (rows.SCORECARD_INDEXED, with a literal: SQLite matches the terms), which every read
# of a period's parcels repeats so that the index serves it: an order awaiting its parcel has no courier yet
COURIER_NAMED = PARCEL.c.courier != literal_column("''")


def tally(conn: Connection, start: datetime, end: datetime) -> dict[str, Tally]:
    """Per courier, the parcels shipped in [start, end), from the rows (ix_parcel_shipped: COURIER_NAMED)."""
    in_period = (PARCEL.c.shipped_at >= start) & (PARCEL.c.shipped_at < end) & COURIER_NAMED
    hours = hours_between(conn.dialect.name, PARCEL.c.shipped_at, PARCEL.c.delivered_at)
    # whole hours: a day's histogram has a few hundred entries, not thousands (the rollup is read in ~10 ms)
    transit = case((PARCEL.c.delivered_at.is_not(None), func.round(hours)))
    found: dict[str, Tally] = {}
    by_transit = select(PARCEL.c.courier, transit.label("transit"), func.count().label("n")).where(in_period)
    for courier, hours_, n in conn.execute(by_transit.group_by(PARCEL.c.courier, transit)):
        t = found.setdefault(courier, Tally())
        t.parcels += n
        if hours_ is not None:
            t.transit[int(hours_)] += n
    # parcels (not flags) with at least one flag the scorecards count, in all and per kind: a parcel flagged
    # twice is one
    flagged = func.count(FLAG.c.parcel_id.distinct())
    by_parcel = FLAG.join(PARCEL, PARCEL.c.id == FLAG.c.parcel_id)
    counted = and_(in_period, counted_kind())
    kinds = select(PARCEL.c.courier, FLAG.c.kind, flagged).select_from(by_parcel).where(counted)
    for courier, kind, n in conn.execute(kinds.group_by(PARCEL.c.courier, FLAG.c.kind)):
        found.setdefault(courier, Tally()).kinds[kind] = n
    anything = select(PARCEL.c.courier, flagged).select_from(by_parcel).where(counted)
    for courier, n in conn.execute(anything.group_by(PARCEL.c.courier)):
        found.setdefault(courier, Tally()).flagged = n
    claims = (
        select(
            CLAIM.c.courier,
            func.sum(case((CLAIM.c.filed_at.is_not(None), 1), else_=0)),
            func.coalesce(func.sum(CLAIM.c.paid_amount), 0),
        )
        .join(PARCEL, PARCEL.c.id == CLAIM.c.parcel_id)
        .where(in_period)
        .group_by(CLAIM.c.courier)
    )
    for courier, filed, paid in conn.execute(claims):
        t = found.setdefault(courier, Tally())
        t.claims_filed, t.recovered = int(filed or 0), Decimal(str(paid)).quantize(CENT)
    return found


def counted_kind() -> ColumnElement[bool]:
    """A flag of a kind the scorecards count (COUNTED_KINDS)."""
    return FLAG.c.kind.in_(COUNTED_KINDS)


def mark_parcels(conn: Connection, parcel_ids: Iterable[int] | Select) -> None:
    """SQLite: mark the shipping hours of these parcels (as stored now), for a writer about to change or that
    changed what a day sums (no parcel triggers on SQLite, see migration 0016). PostgreSQL: its triggers do."""
    if conn.dialect.name != "sqlite":
        return
    if isinstance(parcel_ids, Select):
        mark_shipping(conn, select(PARCEL.c.shipped_at).where(PARCEL.c.id.in_(parcel_ids)))
    elif ids := list(parcel_ids):  # the ids as one JSON array: every ingest batch runs it
        conn.execute(_MARK_IDS_SQLITE, {"ids_json": json.dumps(ids)})


def mark_hours(conn: Connection, shipped: Iterable[str]) -> None:
    """SQLite: mark the hours of these shipping times, given as SQLite stores them (repo.sqlite_time); the
    iterable is not read on PostgreSQL (its triggers mark them)."""
    if conn.dialect.name != "sqlite":
        return
    hours = sorted({text[:13] for text in shipped})
    if hours:
        conn.execute(SCORECARD_DIRTY.insert().prefix_with("OR IGNORE"), [{"hour": h} for h in hours])


def mark_shipping(conn: Connection, shipped_at: Select) -> None:
    """Mark the UTC hours of the shipping times `shipped_at` selects (one column of PARCEL.c.shipped_at's type;
    NULLs skipped), as the triggers of migration 0016 write them: for a writer that read them with the rows it
    changes, on either database (SQLite stores the time as text, its first 13 characters are the hour)."""
    column = shipped_at.subquery().c[0]
    if conn.dialect.name == "postgresql":
        # the distinct hours first, then each one spelled: to_char on every row cost 0.06 s per 100,000 flags
        utc_hours = select(func.date_trunc("hour", func.timezone("UTC", column)).label("hour"))
        distinct = utc_hours.where(column.is_not(None)).distinct().subquery()
        hours = select(func.to_char(distinct.c.hour, "YYYY-MM-DD HH24"))
        conn.execute(postgresql.insert(SCORECARD_DIRTY).from_select(["hour"], hours).on_conflict_do_nothing())
    else:
        conn.execute(_sqlite_marks(column))


def _sqlite_marks(column: Any) -> Any:
    """SQLite: the INSERT marking the hours (the first 13 characters of the stored text) of `column`'s times."""
    hours = select(func.substr(column, 1, 13)).where(column.is_not(None)).distinct()
    return SCORECARD_DIRTY.insert().prefix_with("OR IGNORE").from_select(["hour"], hours)


# mark_parcels' statement for a list of ids, built once (its compiled form is cached): compiling an IN of 500 ids
# for every ingest batch cost more than the marking
_MARK_IDS_SQLITE = _sqlite_marks(
    select(PARCEL.c.shipped_at).where(PARCEL.c.id.in_(rollups.json_ids("ids_json"))).subquery().c[0]
)


def midnight(day: date, zone: ZoneInfo) -> datetime:
    """The UTC instant the local `day` starts in `zone`."""
    return datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)


def _rebuilt(conn: Connection, tz: str) -> bool:
    """Whether every day is recomputed: the rollup is in another zone than `tz` (or none), or counts other
    kinds than COUNTED."""
    state = rollups.read_state(conn, ZONE_KEY, KINDS_KEY)
    return state.get(ZONE_KEY) != tz or state.get(KINDS_KEY) != COUNTED


def stale(conn: Connection, tz: str) -> bool:
    """Whether `refresh` has work: days marked, or every day (_rebuilt)."""
    if _rebuilt(conn, tz):
        return True
    return conn.execute(select(SCORECARD_DIRTY.c.hour).limit(1)).first() is not None


def _days_of_hours(hours: list[str], zone: ZoneInfo) -> set[date]:
    days: set[date] = set()
    for hour in hours:
        start = datetime.strptime(hour, "%Y-%m-%d %H").replace(tzinfo=UTC)
        # an hour may straddle two local days in a zone with a half-hour offset
        days.update((start.astimezone(zone).date(), (start + timedelta(minutes=59)).astimezone(zone).date()))
    return days


def refresh(conn: Connection, tz: str) -> int:
    """Recompute the days whose hours are marked (all of them when the rollup is in another zone or none, or
    counts other kinds: _rebuilt), in the caller's transaction; the number of days recomputed."""
    zone = ZoneInfo(tz)
    if conn.dialect.name == "postgresql":  # refreshers take turns: two would insert the same day's rows
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": REFRESH_LOCK})
    # the first statement writes: SQLite takes its write lock here, not halfway through
    hours = [h for (h,) in conn.execute(delete(SCORECARD_DIRTY).returning(SCORECARD_DIRTY.c.hour))]
    if _rebuilt(conn, tz):
        conn.execute(delete(SCORECARD_DAY))
        rollups.keep_state(conn, {ZONE_KEY: tz, KINDS_KEY: COUNTED})
        first, last = conn.execute(select(func.min(PARCEL.c.shipped_at), func.max(PARCEL.c.shipped_at))).one()
        days: set[date] = set()
        if first is not None:
            day, last_day = _local(first, zone).date(), _local(last, zone).date()
            while day <= last_day:
                days.add(day)
                day += timedelta(days=1)
    else:
        days = _days_of_hours(hours, zone)
    for day in sorted(days):
        tallies = tally(conn, midnight(day, zone), midnight(day + timedelta(days=1), zone))
        key = day.isoformat()
        conn.execute(delete(SCORECARD_DAY).where(SCORECARD_DAY.c.day == key))
        if tallies:
            conn.execute(
                SCORECARD_DAY.insert(),
                [
                    {
                        "day": key,
                        "courier": courier,
                        "parcels": t.parcels,
                        "flagged": t.flagged,
                        "transit": sorted(t.transit.items()),  # pairs: JSON keys would be text
                        "claims_filed": t.claims_filed,
                        "recovered": t.recovered,
                        "kinds": dict(sorted(t.kinds.items())),
                    }
                    for courier, t in sorted(tallies.items())
                ],
            )
    return len(days)


def keep_up(engine: Engine, tz: str) -> int:
    """`refresh` in a transaction of its own when it has work (a read first: no write lock otherwise); the
    number of days recomputed. The evaluation after each poll cycle calls it, so that a read seldom waits."""
    with engine.connect() as conn:
        if not stale(conn, tz):
            return 0
    with engine.begin() as conn:
        return refresh(conn, tz)


def _local(value: datetime, zone: ZoneInfo) -> datetime:
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(zone)


def _from_rollup(conn: Connection, first: date, last: date) -> dict[str, Tally]:
    """The rollup's days in [first, last): a few hundred rows at most, summed in plain dicts."""
    query = select(
        SCORECARD_DAY.c.courier,
        SCORECARD_DAY.c.parcels,
        SCORECARD_DAY.c.flagged,
        SCORECARD_DAY.c.transit,
        SCORECARD_DAY.c.kinds,
        SCORECARD_DAY.c.claims_filed,
        SCORECARD_DAY.c.recovered,
    ).where(SCORECARD_DAY.c.day >= first.isoformat(), SCORECARD_DAY.c.day < last.isoformat())
    found: dict[str, Tally] = {}
    transits: dict[str, dict[int, int]] = {}
    for courier, parcels, flagged, transit, kinds, claims_filed, recovered in conn.execute(query):
        t = found.get(courier) or found.setdefault(courier, Tally())
        t.parcels += parcels
        t.flagged += flagged
        t.kinds.update(kinds)
        t.claims_filed += claims_filed
        t.recovered += Decimal(str(recovered)).quantize(CENT)
        into = transits.setdefault(courier, {})
        for hours, n in transit:  # [[hours, parcels], ...]
            into[hours] = into.get(hours, 0) + n
    for courier, into in transits.items():
        found[courier].transit = Counter(into)
    return found


def tallies(engine: Engine, *, start: datetime, end: datetime, tz: str) -> dict[str, Tally]:
    """Per courier, the parcels shipped in [start, end): the whole local days of zone `tz` from the rollup
    (refreshed first when it has work), the hours around them from the rows."""
    keep_up(engine, tz)
    zone = ZoneInfo(tz)
    first = _local(start, zone).date()
    if midnight(first, zone) < start:
        first += timedelta(days=1)
    last = _local(end, zone).date()
    found: dict[str, Tally] = {}
    with engine.connect() as conn:
        if first >= last:  # no whole day inside
            return tally(conn, start, end)
        parts = [_from_rollup(conn, first, last)]
        if start < midnight(first, zone):
            parts.append(tally(conn, start, midnight(first, zone)))
        if midnight(last, zone) < end:
            parts.append(tally(conn, midnight(last, zone), end))
    for part in parts:
        for courier, t in part.items():
            found.setdefault(courier, Tally()).add(t)
    return found
