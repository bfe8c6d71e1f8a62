"""The poller: fetch tracking for parcels that are due, store it, schedule the next poll.

    run_once(engine, settings, fetchers, now, subscribe=...)
     ├─ retire_aged()                    open parcels older than retire_days: next_poll_at = NULL
     ├─ subscribe_due()                  (subscribe=True) new waybills get push subscriptions; a parcel whose
     │                                   subscription is active is not due until silent_hours without a push
     │                                   (tracker/subscriptions.py), so pushes replace its polls
     ├─ select_due()                     is_open AND next_poll_at <= now (partial index ix_parcel_due)
     ├─ group by provider                courier -> provider (config/couriers.toml; "spider" is crawled)
     └─ poll_provider()  x providers, concurrently
          ├─ batches of fetcher.batch_size (17TRACK 40, Kuaidi100/Kdniao 1)
          ├─ fetcher.fetch(batch)        client: rate limit, waybill gate, retries, circuit breaker
          │     └─ failure -> counted, batch asked again after failure_retry_minutes; others go on
          ├─ parse_reply(provider, body)  pure (tracker.providers.base); the replies of FLUSH_PARCELS parcels
          │                               together, in a thread, then
          ├─ ingest(engine, parsed)       idempotent event insert + snapshot (tracker.ingest), in that flush
          ├─ schedule()                   next_poll_at, last_polled_at from the new snapshot (an active
          │                               subscription's parcel, polled as a safety net: silent_hours on);
          │                               a failed batch or error reply: after failure_retry_minutes. In the
          │                               same flush, every FLUSH_PARCELS parcels and at the end
          └─ record_spent()               the provider quota spent today (provider_quota)
     ├─ record poll_run rows             polled, changed, failed per provider
     └─ evaluate rules                   tracker.flags.evaluate_all over every open parcel

Each batch handles its own failure, so one bad provider or waybill never stops the cycle.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, bindparam, or_, select, update
from sqlalchemy.engine import Connection

from tracker.labels import PHONE_MISSING
from tracker.leases import due as due_clause
from tracker.leases import release
from tracker.providers.clients import BatchFetcher, DueParcel
from tracker.providers.http import CircuitOpen, ProviderError
from tracker.runtime import collector_paused
from tracker.schedule import next_poll_time
from tracker.settings import Settings
from tracker.storage.repo import asked_phone, from_sqlite_time, sqlite_time
from tracker.storage.tables import PARCEL, POLL_RUN

log = logging.getLogger("tracker.poller")
FLUSH_PARCELS = 2000  # ingest in flushes of this many parcels (bounds memory; bench/poll.py)
Progress = Callable[[str, int], None]


@dataclass
class ProviderStats:
    provider: str
    polled: int = 0
    changed: int = 0
    failed: int = 0
    new_events: int = 0
    provider_errors: int = 0  # answers carrying a provider error (stored on the parcel)
    no_phone: int = 0  # not asked: the provider refuses this courier without the phone's last 4 digits
    paused: int = 0  # not asked: the provider's circuit breaker is open (they stay due)
    batches: int = 0  # fetch calls (a 17TRACK batch may also register numbers first)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    quota: dict[str, int] = field(default_factory=dict)  # provider quota spent: {"query": n, "register": m}

    def as_row(self, started_at: datetime) -> dict[str, Any]:
        return {
            "started_at": started_at,
            "finished_at": started_at + timedelta(seconds=self.seconds),
            "provider": self.provider,
            "polled": self.polled,
            "changed": self.changed,
            "failed": self.failed,
            "detail": {
                "new_events": self.new_events,
                "provider_errors": self.provider_errors,
                "no_phone": self.no_phone,
                "paused": self.paused,
                "batches": self.batches,
                "errors": self.errors[:20],
                "seconds": round(self.seconds, 3),
                "quota": self.quota,
            },
        }


@dataclass
class PollSummary:
    now: datetime
    due: int
    retired: int
    skipped: dict[str, int]
    providers: dict[str, ProviderStats]
    subscribed: Any = None  # tracker.subscriptions.SubscribeSummary when the cycle subscribed new waybills

    @property
    def changed_ids(self) -> list[int]:
        return self._changed

    _changed: list[int] = field(default_factory=list)


def retire_aged(engine: Engine, *, now: datetime, retire_days: int) -> int:
    """Stop polling open parcels shipped (or imported) more than retire_days ago; returns how many."""
    cutoff = now - timedelta(days=retire_days)
    started = PARCEL.c.shipped_at.is_not(None)
    aged = or_(and_(started, PARCEL.c.shipped_at < cutoff), and_(~started, PARCEL.c.created_at < cutoff))
    stmt = update(PARCEL).where(PARCEL.c.is_open.is_(True), PARCEL.c.next_poll_at.is_not(None), aged)
    with engine.begin() as conn:
        return conn.execute(stmt.values(next_poll_at=None)).rowcount or 0


def select_due(engine: Engine, *, now: datetime, limit: int) -> list[DueParcel]:
    """Open parcels whose next poll time has come and no worker holds, oldest due first."""
    stmt = (
        select(PARCEL.c.id, PARCEL.c.courier, PARCEL.c.waybill, asked_phone(), PARCEL.c.order_id, PARCEL.c.shop)
        .where(due_clause(now))
        .order_by(PARCEL.c.next_poll_at)
        .limit(limit)
    )
    with engine.connect() as conn:
        return [DueParcel(*row) for row in conn.execute(stmt)]


def schedule(
    engine: Engine,
    ids: Sequence[int],
    *,
    now: datetime,
    settings: Settings,
    provider: str,
    failed: bool = False,
) -> None:
    """Set next_poll_at and last_polled_at for polled parcels, from their stored snapshot; frees their lease."""
    if not ids:
        return
    from tracker.subscriptions import active_ids, next_poll_with

    cfg = settings.providers.polling
    min_minutes = getattr(settings.providers, provider).min_waybill_interval_minutes
    silent = settings.providers.subscriptions.silent_hours
    pushed = set() if failed else active_ids(engine, ids)
    lite = engine.dialect.name == "sqlite"
    with engine.begin() as conn:
        values: list[tuple[datetime | None, int]]
        if failed:  # the same time for each: nothing about the parcels is read
            retry_at = now + timedelta(minutes=max(cfg.failure_retry_minutes, min_minutes))
            values = [(retry_at, pid) for pid in ids]
        else:
            values = [
                (
                    next_poll_with(
                        next_poll_time(
                            status=status,
                            is_open=bool(is_open),
                            shipped_at=shipped,
                            created_at=created,
                            first_scan_at=first_scan,
                            last_event_at=last_event,
                            now=now,
                            cfg=cfg,
                            min_interval_minutes=min_minutes,
                        ),
                        active=pid in pushed,
                        now=now,
                        silent_hours=silent,
                    ),
                    pid,
                )
                for pid, status, is_open, shipped, created, first_scan, last_event in _cadence_facts(conn, ids, lite)
            ]
        if lite:  # compiled SQL over tuples, times as stored (repo.sqlite_time): see ingest._ingest_batch
            polled = sqlite_time(now)
            rows = [(None if nxt is None else sqlite_time(nxt), polled, pid) for nxt, pid in values]
            conn.exec_driver_sql(_SCHEDULE_SQLITE, rows)
            return
        stmt = (
            update(PARCEL)
            .where(PARCEL.c.id == bindparam("pid"))
            .values(
                next_poll_at=bindparam("nxt"), last_polled_at=bindparam("polled"), lease_until=None, lease_owner=None
            )
        )
        conn.execute(stmt, [{"pid": pid, "nxt": nxt, "polled": now} for nxt, pid in values])


_CADENCE = ("id", "status", "is_open", "shipped_at", "created_at", "first_scan_at", "last_event_at")
_CADENCE_SQLITE = f"SELECT {', '.join(_CADENCE)} FROM parcel WHERE id IN (SELECT value FROM json_each(?))"  # noqa: S608
_SCHEDULE_SQLITE = (
    "UPDATE parcel SET next_poll_at = ?, last_polled_at = ?, lease_until = NULL, lease_owner = NULL WHERE id = ?"
)


def _cadence_facts(conn: Connection, ids: Sequence[int], lite: bool) -> list[tuple[Any, ...]]:
    """(id, status, is_open, shipped_at, created_at, first_scan_at, last_event_at) of these parcels, the times
    aware UTC. On SQLite read as stored text and parsed here (repo.from_sqlite_time): SQLAlchemy's per-value
    processing was most of schedule()'s time (bench/poll.py)."""
    if lite:
        found = conn.exec_driver_sql(_CADENCE_SQLITE, (json.dumps(list(ids)),))
        return [(pid, status, is_open, *map(from_sqlite_time, times)) for pid, status, is_open, *times in found]
    cols = PARCEL.c
    query = select(*(cols[name] for name in _CADENCE)).where(cols.id.in_(list(ids)))
    return [tuple(row) for row in conn.execute(query)]


async def poll_provider(
    engine: Engine,
    settings: Settings,
    fetcher: BatchFetcher,
    parcels: Sequence[DueParcel],
    *,
    now: datetime,
    progress: Progress | None = None,
) -> tuple[ProviderStats, list[int]]:
    """Fetch, parse and store one provider's due parcels; returns its stats and the changed parcel ids.

    The batches are fetched concurrently (the client paces them) and handled as they come back, in the
    order they complete: `_ProviderPoll` holds what one provider's poll has counted and not yet stored."""
    poll = _ProviderPoll(engine, settings, fetcher, now)
    started = time.perf_counter()
    parcels = await poll.hold_phoneless(parcels)
    tasks = [asyncio.ensure_future(poll.fetch(batch)) for batch in _batches(parcels, fetcher.batch_size)]
    try:
        for next_done in asyncio.as_completed(tasks):
            fetched = await next_done
            await poll.take(fetched)
            if progress:
                progress(fetcher.provider, len(fetched.batch))
        await poll.flush()
    finally:
        for task in tasks:
            task.cancel()
    await poll.record_quota()
    stats = poll.stats
    stats.changed = len(set(poll.changed))
    stats.seconds = time.perf_counter() - started
    log.info("polled %s: %d ok, %d changed, %d failed", stats.provider, stats.polled, stats.changed, stats.failed)
    return stats, poll.changed


def _batches(parcels: Sequence[DueParcel], batch_size: int) -> list[list[DueParcel]]:
    size = max(1, batch_size)
    return [list(parcels[i : i + size]) for i in range(0, len(parcels), size)]


@dataclass
class _Fetched:
    """One batch's fetch: the reply bodies; or an error; or neither when the provider is paused."""

    batch: list[DueParcel]
    bodies: list[str] | None = None
    error: str | None = None


@dataclass
class _Reading:
    """What one batch's replies said: the parsed waybills, and the waybills to ask again after
    failure_retry_minutes: `unanswered` (no usable reply: counted failed) and `errored` (an error reply,
    stored on the parcel)."""

    parsed: list[Any] = field(default_factory=list)
    unanswered: set[str] = field(default_factory=set)
    errored: set[str] = field(default_factory=set)


@dataclass
class _ProviderPoll:
    """One provider's poll in progress: its counts, the changed parcels, and what waits for the next flush
    (FLUSH_PARCELS parcels at a time): the answered batches with their reply bodies and the failed batches with
    their errors, counted and scheduled in the flush (one transaction per flush, not per failed batch). The
    bodies are parsed in the flush, all together and off the event loop: parsed one by one between
    the requests, the parser ran at half its speed (its code and data out of the processor's caches each time),
    which cost the poll cycle a tenth of its pace (bench/poll.py)."""

    engine: Engine
    settings: Settings
    fetcher: BatchFetcher
    now: datetime
    stats: ProviderStats = field(init=False)
    changed: list[int] = field(default_factory=list)
    # in the order the batches came back: an answered batch's reply bodies, or a failed batch's error (the
    # errors are then counted in that order: the last one names what opened the circuit breaker, tracker.jobs)
    pending: list[tuple[list[DueParcel], list[str] | str]] = field(default_factory=list)
    pending_parcels: int = 0  # parcels in pending

    def __post_init__(self) -> None:
        self.stats = ProviderStats(self.fetcher.provider)

    @property
    def provider(self) -> str:
        return self.fetcher.provider

    async def fetch(self, batch: list[DueParcel]) -> _Fetched:
        try:
            return _Fetched(batch, bodies=await self.fetcher.fetch(batch))
        except CircuitOpen:
            return _Fetched(batch)
        except ProviderError as exc:
            return _Fetched(batch, error=str(exc))

    async def hold_phoneless(self, parcels: Sequence[DueParcel]) -> list[DueParcel]:
        """The parcels to ask the provider about. Those of a courier it refuses without the phone's last 4
        digits (config/couriers.toml needs_phone, kdniao_needs_phone) that have none are not asked: a refusal
        would be certain and spend the quota. They get PHONE_MISSING as their provider error, in words, and
        are looked at again after failure_retry_minutes (asked once an import brings the phone)."""
        couriers, provider = self.settings.couriers, self.provider
        ask, held = [], []
        for p in parcels:
            courier = couriers.get(p.courier)
            if courier is not None and courier.refused_without(provider, p.phone_last4):
                held.append(p)
            else:
                ask.append(p)
        if held:
            self.stats.no_phone += len(held)
            await asyncio.to_thread(self._store_phoneless, held)
        return ask

    def _store_phoneless(self, held: list[DueParcel]) -> None:
        from tracker.ingest import ingest
        from tracker.providers.base import ParsedWaybill

        parsed = [ParsedWaybill(self.provider, p.waybill, None, p.courier, (), PHONE_MISSING) for p in held]
        result = ingest(self.engine, parsed, now=self.now, source=self.provider, phrases=self.settings.phrasebook)
        self.changed.extend(result.changed_parcel_ids)
        schedule(
            self.engine, [p.id for p in held], now=self.now, settings=self.settings, provider=self.provider, failed=True
        )

    async def take(self, fetched: _Fetched) -> None:
        """One fetched batch: released when the provider is paused, else pending for the next flush (its reply
        bodies, or its fetch's error)."""
        self.stats.batches += 1
        if fetched.bodies is None and fetched.error is None:
            await self.paused(fetched.batch)
            return
        outcome = fetched.bodies if fetched.bodies is not None else (fetched.error or "unknown error")
        self.pending.append((fetched.batch, outcome))
        self.pending_parcels += len(fetched.batch)
        if self.pending_parcels >= FLUSH_PARCELS:
            await self.flush()

    async def paused(self, batch: list[DueParcel]) -> None:
        """Not asked (the circuit breaker is open): the parcels stay due for the provider's recovery."""
        self.stats.paused += len(batch)
        await asyncio.to_thread(release, self.engine, [p.id for p in batch])

    def read(self, batch: list[DueParcel], bodies: list[str]) -> _Reading:
        """Parse one batch's replies (pure, tracker.providers.base), counting the provider's errors."""
        from tracker.providers.base import parse_reply

        reading = _Reading()
        stats, settings = self.stats, self.settings
        tz, couriers, phrases = settings.tz, settings.couriers, settings.phrasebook  # properties: read once
        for body in bodies:
            result = parse_reply(self.provider, body, kind="query", tz=tz, couriers=couriers, phrases=phrases)
            named = _name_error_replies(result.waybills, batch)
            reading.parsed.extend(named)
            for w in named:
                if w.error:
                    stats.provider_errors += 1
                    reading.errored.add(w.waybill)
                    if len(stats.errors) < 20:
                        stats.errors.append(f"{w.waybill}: {w.error}")
            for problem in result.problems:
                stats.errors.append(problem.message)
                reading.unanswered.update([problem.waybill] if problem.waybill else [p.waybill for p in batch])
            if not result.waybills and not result.problems:
                reading.unanswered.update(p.waybill for p in batch)
        return reading

    async def flush(self) -> None:
        """Parse and store the pending replies and schedule the pending parcels. The work runs in a thread: the
        event loop keeps sending the requests whose rate slot has come."""
        pending = self.pending
        self.pending, self.pending_parcels = [], 0
        await asyncio.to_thread(self.store, pending)

    @collector_paused()  # what a flush parses lives until it is stored: no collection walks it
    def store(self, pending: list[tuple[list[DueParcel], list[str] | str]]) -> None:
        """Read each answered batch and count each failed one, in the order they came back; then store what the
        replies said and schedule every parcel (a failed batch and an error reply: after
        failure_retry_minutes)."""
        from tracker.ingest import ingest

        parsed: list[Any] = []
        ok: list[int] = []
        retry: list[int] = []
        for batch, outcome in pending:
            if isinstance(outcome, str):  # the fetch failed: asked again after failure_retry_minutes
                self.stats.failed += len(batch)
                self.stats.errors.append(outcome)
                retry.extend(p.id for p in batch)
                continue
            reading = self.read(batch, outcome)
            parsed.extend(reading.parsed)
            unanswered, again = reading.unanswered, reading.unanswered | reading.errored
            failed = sum(1 for p in batch if p.waybill in unanswered)
            self.stats.failed += failed
            self.stats.polled += len(batch) - failed
            # an error reply (bad key or signature, no balance, 查询无结果) is stored on the parcel and asked
            # again after failure_retry_minutes, not at the parcel's normal cadence
            retry.extend(p.id for p in batch if p.waybill in again)
            ok.extend(p.id for p in batch if p.waybill not in again)
        if parsed:
            result = ingest(self.engine, parsed, now=self.now, source=self.provider, phrases=self.settings.phrasebook)
            self.stats.new_events += result.new_events
            self.changed.extend(result.changed_parcel_ids)
        schedule(self.engine, ok, now=self.now, settings=self.settings, provider=self.provider)
        schedule(self.engine, retry, now=self.now, settings=self.settings, provider=self.provider, failed=True)

    async def record_quota(self) -> None:
        """The provider quota the client spent today (provider_quota), when its client counts it."""
        from tracker.subscriptions import record_spent

        spent = getattr(self.fetcher.client, "spent", None)
        if spent is not None:
            self.stats.quota = await asyncio.to_thread(
                record_spent, self.engine, self.provider, spent, now=self.now, tz=self.settings.tz
            )


def _name_error_replies(waybills: Sequence[Any], batch: Sequence[DueParcel]) -> list[Any]:
    """Error replies (bad key, sign, no result) do not echo the number: for a one-parcel batch the
    parcel asked about is the one the error belongs to, so its message reaches the parcel."""
    if len(batch) != 1:
        return [w for w in waybills if w.waybill]
    asked = batch[0]
    return [
        w if w.waybill else dataclasses.replace(w, waybill=asked.waybill, courier=w.courier or asked.courier)
        for w in waybills
    ]


async def run_once(
    engine: Engine,
    settings: Settings,
    fetchers: Mapping[str, BatchFetcher],
    *,
    now: datetime,
    progress: Progress | None = None,
    evaluate: bool = True,
    subscribe: bool = False,
) -> PollSummary:
    """One poll cycle over every provider (concurrently); records poll_run rows; see the module docstring.
    `subscribe` (the CLI passes [subscriptions] enabled) first subscribes new waybills for pushes."""
    polling = settings.providers.polling
    retired = retire_aged(engine, now=now, retire_days=polling.retire_days)
    subscribed = None
    if subscribe:
        from tracker.subscriptions import subscribe_due

        clients = {name: fetcher.client for name, fetcher in fetchers.items()}
        try:
            subscribed = await subscribe_due(engine, settings, clients, now=now)
        except Exception:  # subscribing must not stop the polling: unsubscribed parcels are polled as before
            log.exception("subscribing new waybills failed; polling goes on")
    due = select_due(engine, now=now, limit=polling.due_limit)
    groups: dict[str, list[DueParcel]] = defaultdict(list)
    skipped: dict[str, int] = defaultdict(int)
    for parcel in due:
        courier = settings.couriers.get(parcel.courier)
        provider = courier.provider if courier else None
        if provider is not None and provider in fetchers:
            groups[provider].append(parcel)
        else:
            skipped[provider or f"unknown courier {parcel.courier}"] += 1
    results = await asyncio.gather(
        *(
            poll_provider(engine, settings, fetchers[p], parcels, now=now, progress=progress)
            for p, parcels in groups.items()
        )
    )
    summary = PollSummary(now, len(due), retired, dict(skipped), {s.provider: s for s, _ in results}, subscribed)
    summary._changed = sorted({pid for _, ids in results for pid in ids})
    record_runs(engine, [s for s, _ in results], now=now)
    if evaluate:
        evaluate_rules(engine, settings, now=now, parcel_ids=summary.changed_ids)
    return summary


def record_runs(engine: Engine, stats: Sequence[ProviderStats], *, now: datetime, worker: str | None = None) -> None:
    """One poll_run row per provider polled (with the worker's name when a `tracker worker` polled)."""
    rows = [s.as_row(now) for s in stats]
    if worker:
        for row in rows:
            row["detail"]["worker"] = worker
    if rows:
        with engine.begin() as conn:
            conn.execute(POLL_RUN.insert(), rows)


def evaluate_rules(engine: Engine, settings: Settings, *, now: datetime, parcel_ids: Sequence[int]) -> bool:
    """Run the exception rules after a cycle over ALL open parcels, not only `parcel_ids` (time-based flags
    move with the clock, not only with new events); `parcel_ids`, the parcels the cycle changed, is only
    logged. Set-based SQL (bench/rules.py prints its time). Then the scorecards' days that changed are
    recomputed (tracker/storage/scorecard_days.py). A failure is logged, not fatal: the cycle's events are
    already stored."""
    from tracker.flags.evaluate import evaluate_all
    from tracker.storage import scorecard_days

    try:
        evaluate_all(engine, now=now, settings=settings)
    except Exception:
        log.exception("rules evaluation failed after the poll cycle", extra={"changed": len(parcel_ids)})
        return False
    try:  # the scorecards' days the cycle and the rules changed, so that the board's read finds them ready
        scorecard_days.keep_up(engine, settings.timezone)
    except Exception:  # the board's next read recomputes them
        log.exception("the scorecards' days were not recomputed after the rules")
    return True
