"""Distributed polling on Procrastinate (PostgreSQL): what `tracker worker` processes run.

Any number of workers, on any machines, connect to the same PostgreSQL database; the job queue lives there
too (procrastinate_* tables), so there is no other service to run.

    tracker.dispatch   periodic, every workers.dispatch_seconds (one run per tick across all workers)
      ├─ fail the jobs of workers that stopped heartbeating (killed) so their locks free up
      ├─ retire_aged()            parcels past retire_days stop being polled
      ├─ count_due()              due parcels no worker holds, by courier -> provider (paused ones skipped)
      └─ defer tracker.poll_due   ceil(due / parcels_per_job) jobs per provider (at most
                                  max_jobs_per_provider), queueing_lock "poll:<provider>:<n>" so a busy
                                  queue does not pile up
    tracker.poll_due(provider)
      ├─ lease_due()              FOR UPDATE SKIP LOCKED: no parcel polled by two workers at once
      ├─ poll_provider()          fetch (shared rate window per provider), parse, ingest, schedule + unlease
      └─ breaker open?            pause the provider for every worker (provider_pause)
    tracker.evaluate   periodic, every workers.evaluate_seconds, lock "tracker:rules" (one at a time)

Each process runs two Procrastinate workers: `concurrency` poll jobs at once, and two slots of its own for
the control jobs (dispatch, evaluate), so the next dispatch never waits behind poll jobs that the rate
limits slow down, nor behind a long rules evaluation. A poll job (or a dispatch) still running after
workers.job_timeout_seconds is cancelled; a poll job's parcels come back when their leases lapse: a request
or a database call that never ends cannot hold them for good.

A worker killed mid-batch loses nothing: events already stored stay (ingest is idempotent), its leases
lapse after lease_seconds and the dispatcher hands those parcels out again.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import signal
import socket
from collections import defaultdict
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import procrastinate
import psycopg
from procrastinate import exceptions as pexc
from procrastinate.jobs import Status
from psycopg_pool import PoolTimeout
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from tracker.diagnostics import LoopWatchdog, dump_stacks, where_waiting
from tracker.errors import TrackerError
from tracker.leases import count_due, lease_due, renew
from tracker.poller import evaluate_rules, poll_provider, record_runs, retire_aged
from tracker.providers.clients import PROVIDERS, BatchFetcher, breaker_of, make_fetchers
from tracker.settings import Settings
from tracker.shared_limits import SharedPacer, pause_provider, paused_providers
from tracker.storage.db import advisory_lock

log = logging.getLogger("tracker.jobs")
POLL_TASK = "tracker.poll_due"
POLL_QUEUE = "poll"
CONTROL_QUEUE = "control"
RULES_LOCK = "tracker:rules"
SCHEMA_LOCK = 7_410_001  # pg_advisory_lock key while one worker applies the job schema
OLD_JOBS_HOURS = 24 * 7  # finished jobs kept this long for inspection
RECONNECT_FIRST_SECONDS = 1.0  # after losing the database, first retry; doubles up to the max
RECONNECT_MAX_SECONDS = 30.0
DB_THREADS = 32  # threads for database calls in one worker process
LISTED_WAYBILLS = 20  # a cancelled poll job's warning names this many of its waybills
WATCHDOG_MIN_SECONDS = 5.0  # an event loop that has not run for max(this, stalled_seconds / 2) is reported


def conninfo(database_url: str) -> str:
    """libpq connection string for Procrastinate from the SQLAlchemy URL (postgresql+psycopg://...)."""
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        raise TrackerError(
            f"tracker worker needs PostgreSQL (database_url is {url.get_backend_name()}): set "
            "TRACKER_DATABASE_URL=postgresql+psycopg://user:pass@host/db, or use `tracker poll` on SQLite"
        )
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def ensure_job_schema(engine: Engine) -> bool:
    """Apply Procrastinate's schema once (workers starting together take turns); True when applied now."""
    from procrastinate.schema import SchemaManager

    with advisory_lock(engine, SCHEMA_LOCK) as conn:
        assert conn is not None  # PostgreSQL only (conninfo() said so before)
        if conn.execute(text("SELECT to_regclass('procrastinate_jobs')")).scalar() is not None:
            return False
        conn.exec_driver_sql(SchemaManager.get_schema().replace("%", "%%"))
        conn.commit()
        return True


@dataclass
class Runtime:
    """What the jobs of one worker process use: set by `start` before the worker runs."""

    engine: Engine
    settings: Settings
    fetchers: Mapping[str, BatchFetcher]
    name: str
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    app: procrastinate.App | None = None
    couriers_of: dict[str, list[str]] = field(default_factory=dict)
    subscribe: bool = False  # the dispatch tick also subscribes new waybills for pushes (tracker/subscriptions.py)

    def __post_init__(self) -> None:
        for slug, courier in self.settings.couriers.items():
            if courier.provider in self.fetchers:
                self.couriers_of.setdefault(courier.provider, []).append(slug)


_runtime: Runtime | None = None


def runtime() -> Runtime:
    if _runtime is None:
        raise RuntimeError("tracker.jobs: no runtime; start the worker with tracker.jobs.start()")
    return _runtime


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def make_runtime(
    engine: Engine, settings: Settings, *, name: str | None = None, base_url: str | None = None
) -> Runtime:
    """Fetchers whose rate windows are shared through the database, one per provider."""
    limiters = {}
    for provider in PROVIDERS:
        config = getattr(settings.providers, provider)
        limiter = SharedPacer(engine, provider, config.rate_per_second, margin=config.rate_margin)
        limiter.ensure_slots()
        limiters[provider] = limiter
    fetchers = make_fetchers(settings, base_url=base_url, limiters=limiters)
    rt = Runtime(engine, settings, fetchers, name or worker_name())
    rt.subscribe = settings.providers.subscriptions.enabled
    return rt


# --- the jobs ----------------------------------------------------------------------------------------------


async def dispatch(timestamp: int) -> dict[str, int]:
    """Hand the due parcels out as poll jobs (periodic)."""
    rt = runtime()
    seconds = rt.settings.providers.workers.job_timeout_seconds
    try:
        async with asyncio.timeout(seconds):
            return await _dispatch(rt, timestamp)
    except TimeoutError:
        log.warning(
            "dispatch cancelled after %d s (job_timeout_seconds); the next tick dispatches. It was waiting at:\n%s",
            seconds,
            where_waiting(inside="_dispatch"),
        )
        return {}


async def _dispatch(rt: Runtime, timestamp: int) -> dict[str, int]:
    cfg = rt.settings.providers.workers
    now = rt.clock()
    await _fail_stalled(rt)
    if timestamp % 60 < cfg.dispatch_seconds:  # once a minute: a scan of the open parcels
        retire_days = rt.settings.providers.polling.retire_days
        retired = await asyncio.to_thread(retire_aged, rt.engine, now=now, retire_days=retire_days)
        if retired:
            log.info("retired %d parcels past %d days", retired, retire_days)
    paused = await asyncio.to_thread(paused_providers, rt.engine, now=now)
    if rt.subscribe:  # new waybills get push subscriptions; push-served parcels are not due (no poll job)
        from tracker.subscriptions import subscribe_due

        clients = {p: f.client for p, f in rt.fetchers.items() if p not in paused}
        try:
            await subscribe_due(rt.engine, rt.settings, clients, now=now)
        except Exception:  # subscribing must not stop the dispatch: unsubscribed parcels are polled as before
            log.exception("subscribing new waybills failed; dispatch goes on")
    due = await asyncio.to_thread(count_due, rt.engine, now=now)
    per_provider: dict[str, int] = defaultdict(int)
    for courier, n in due.items():
        config = rt.settings.couriers.get(courier)
        if config and config.provider in rt.fetchers and config.provider not in paused:
            per_provider[config.provider] += n
    deferred: dict[str, int] = {}
    for provider, n in sorted(per_provider.items()):
        jobs = min(math.ceil(n / cfg.parcels_per_job), cfg.max_jobs_per_provider)
        deferred[provider] = 0
        for slot in range(jobs):
            try:
                await (
                    _app(rt)
                    .tasks[POLL_TASK]
                    .configure(queueing_lock=f"poll:{provider}:{slot}")
                    .defer_async(provider=provider)
                )
                deferred[provider] += 1
            except pexc.AlreadyEnqueued:
                pass
    if timestamp % 3600 < cfg.dispatch_seconds:  # once an hour
        await _app(rt).job_manager.delete_old_jobs(nb_hours=OLD_JOBS_HOURS, include_failed=True)
    if deferred:
        log.info("dispatch: due %s, poll jobs deferred %s, paused %s", dict(per_provider), deferred, sorted(paused))
    return deferred


async def poll_due(provider: str) -> dict[str, int]:
    """Lease one batch of the provider's due parcels, poll them, store the events, schedule and unlease."""
    rt = runtime()
    cfg = rt.settings.providers.workers
    now = rt.clock()
    fetcher = rt.fetchers[provider]
    if provider in await asyncio.to_thread(paused_providers, rt.engine, now=now):
        return {"leased": 0, "paused": 1}
    parcels = await asyncio.to_thread(
        lease_due,
        rt.engine,
        couriers=rt.couriers_of.get(provider, []),
        now=now,
        limit=cfg.parcels_per_job,
        owner=rt.name,
        lease_seconds=cfg.lease_seconds,
    )
    if not parcels:
        return {"leased": 0}
    keeper = asyncio.create_task(_keep_leases(rt, [p.id for p in parcels]))
    try:
        async with asyncio.timeout(cfg.job_timeout_seconds):
            stats, _ = await poll_provider(rt.engine, rt.settings, fetcher, parcels, now=now)
    except TimeoutError:
        # a request or a database call that never ends must not keep these parcels leased for good (the
        # keeper renews the leases while the job runs): stop renewing; they are due again one lease later
        shown = ", ".join(p.waybill for p in parcels[:LISTED_WAYBILLS])
        more = f" and {len(parcels) - LISTED_WAYBILLS} more" if len(parcels) > LISTED_WAYBILLS else ""
        log.warning(
            "poll job for %s cancelled after %d s (job_timeout_seconds) with %d parcels (waybills %s%s); they are "
            "polled again once their leases lapse. It was waiting at:\n%s",
            provider,
            cfg.job_timeout_seconds,
            len(parcels),
            shown,
            more,
            where_waiting(inside="poll_provider"),
        )
        return {"leased": len(parcels), "timed_out": 1}
    finally:
        keeper.cancel()
    # in a thread like every database call here: on the event loop it would stall the heartbeats, the lease
    # keepers and the other jobs for as long as it waits (for a pooled connection, say)
    await asyncio.to_thread(record_runs, rt.engine, [stats], now=now, worker=rt.name)
    breaker = breaker_of(fetcher)
    if breaker.is_open:
        until = rt.clock() + timedelta(seconds=getattr(rt.settings.providers, provider).breaker_pause_seconds)
        reason = stats.errors[-1] if stats.errors else "repeated failures"
        await asyncio.to_thread(pause_provider, rt.engine, provider, until=until, reason=reason, by=rt.name)
        log.warning("%s paused for every worker until %s: %s", provider, until.isoformat(), reason)
    return {"leased": len(parcels), "polled": stats.polled, "failed": stats.failed, "paused": stats.paused}


async def _keep_leases(rt: Runtime, ids: list[int]) -> None:
    """While a job polls (rate limits can make that longer than a lease), renew its leases every third of
    lease_seconds. A killed worker stops renewing, so its parcels come back one lease later."""
    seconds = rt.settings.providers.workers.lease_seconds
    while True:
        await asyncio.sleep(seconds / 3)
        until = rt.clock() + timedelta(seconds=seconds)
        await asyncio.to_thread(renew, rt.engine, ids, owner=rt.name, until=until)


async def evaluate(timestamp: int) -> bool:
    """Run the exception rules over all open parcels (periodic; one worker at a time)."""
    rt = runtime()
    now = rt.clock()
    return await asyncio.to_thread(evaluate_rules, rt.engine, rt.settings, now=now, parcel_ids=[])


async def _fail_stalled(rt: Runtime) -> None:
    """Jobs of a worker that stopped heartbeating (killed) stay `doing`: mark them failed so a lock they
    hold frees up; their parcels come back by themselves when the leases lapse."""
    manager = _app(rt).job_manager
    stalled = await manager.get_stalled_jobs(seconds_since_heartbeat=rt.settings.providers.workers.stalled_seconds)
    for job in stalled:
        if job.id is None:
            continue
        try:
            await manager.finish_job_by_id_async(job.id, Status.FAILED, delete_job=False)
            log.warning("job %s (%s) of a stopped worker marked failed", job.id, job.task_name)
        except pexc.ConnectorException:  # finished meanwhile (another dispatch, or the worker was alive)
            pass


# --- the app -----------------------------------------------------------------------------------------------


def _app(rt: Runtime) -> procrastinate.App:
    if rt.app is None:
        raise RuntimeError("tracker.jobs: the runtime has no app")
    return rt.app


def make_app(settings: Settings) -> procrastinate.App:
    """The Procrastinate app on the configured PostgreSQL, with the three tracker jobs registered."""
    cfg = settings.providers.workers
    connector = procrastinate.PsycopgConnector(
        conninfo=conninfo(settings.database_url),
        min_size=1,
        # per worker: LISTEN, heartbeat, fetch and finish; the poll worker's jobs and the control worker
        max_size=cfg.concurrency + 6,
    )
    app = procrastinate.App(connector=connector)
    app.task(name=POLL_TASK, queue=POLL_QUEUE)(poll_due)
    dispatch_task = app.task(name="tracker.dispatch", queue=CONTROL_QUEUE)(dispatch)
    app.periodic(cron=cfg.cron(cfg.dispatch_seconds), periodic_id="dispatch")(dispatch_task)
    evaluate_task = app.task(name="tracker.evaluate", queue=CONTROL_QUEUE, lock=RULES_LOCK)(evaluate)
    app.periodic(cron=cfg.cron(cfg.evaluate_seconds), periodic_id="evaluate", queueing_lock=RULES_LOCK)(evaluate_task)
    return app


async def run_worker(rt: Runtime, *, concurrency: int | None = None, queues: list[str] | None = None) -> None:
    """Run one worker until SIGINT/SIGTERM (a graceful stop finishes the jobs in hand)."""
    global _runtime
    app = make_app(rt.settings)
    rt.app = app
    _runtime = rt
    loop = asyncio.get_running_loop()
    # database calls (leases, the shared rate window: two per request, ingest) run in threads; the default
    # pool (cores + 4) would queue them behind each other
    loop.set_default_executor(ThreadPoolExecutor(max_workers=DB_THREADS, thread_name_prefix="tracker-db"))
    stopping = asyncio.Event()
    running: asyncio.Task[None] | None = None

    def on_signal() -> None:  # graceful: the jobs in hand finish, then the worker exits
        stopping.set()
        if running is not None:
            running.cancel()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal)
    loop.add_signal_handler(signal.SIGUSR1, dump_stacks)
    watchdog = LoopWatchdog(loop, max(rt.settings.providers.workers.stalled_seconds / 2, WATCHDOG_MIN_SECONDS))
    watchdog.start()
    backoff = RECONNECT_FIRST_SECONDS
    try:
        while not stopping.is_set():
            started = loop.time()
            try:
                async with app.open_async():
                    running = asyncio.create_task(_run_procrastinate(rt, app, concurrency, queues))
                    try:
                        await running
                    except asyncio.CancelledError:
                        if not stopping.is_set():
                            raise
                    finally:
                        running = None
                if stopping.is_set():
                    return
                # Procrastinate stops a worker whose LISTEN connection broke: the database went away
                reason = "the job queue connection broke"
            except (pexc.ConnectorException, psycopg.Error, PoolTimeout, OSError) as exc:
                reason = _first_line(exc)
            if loop.time() - started > RECONNECT_MAX_SECONDS:
                backoff = RECONNECT_FIRST_SECONDS  # it had been running fine: start the backoff afresh
            # jobs in hand keep their leases until they lapse; carry on once the database is back
            log.warning("database connection lost (%s); reconnecting in %.0f s", reason, backoff)
            try:
                await asyncio.wait_for(stopping.wait(), timeout=backoff)
            except TimeoutError:
                pass
            backoff = min(backoff * 2, RECONNECT_MAX_SECONDS)
    finally:
        watchdog.stop()
        _runtime = None
        for fetcher in rt.fetchers.values():
            await fetcher.aclose()


async def _run_procrastinate(
    rt: Runtime, app: procrastinate.App, concurrency: int | None, queues: list[str] | None
) -> None:
    """The Procrastinate workers of this process: by default one for the poll jobs (`concurrency` at
    once) and one for the control jobs (dispatch, rules; two at a time), so that poll jobs waiting on
    the rate limits never hold up the next dispatch or the rules. With `queues` given, one worker on
    those. Returns (or raises) when either stops; the other is stopped with it."""
    cfg = rt.settings.providers.workers
    common: dict[str, Any] = {
        "fetch_job_polling_interval": cfg.fetch_interval_seconds,
        "delete_jobs": "successful",
        "update_heartbeat_interval": cfg.heartbeat_seconds,
        "stalled_worker_timeout": cfg.stalled_seconds,
        "install_signal_handlers": False,
    }
    runs: list[dict[str, Any]]
    if queues:
        runs = [{"name": rt.name, "queues": queues, "concurrency": concurrency or cfg.concurrency}]
    else:
        runs = [
            {"name": rt.name, "queues": [POLL_QUEUE], "concurrency": concurrency or cfg.concurrency},
            # two: a long rules evaluation (one at a time, its lock) never holds up the next dispatch
            {"name": f"{rt.name}/control", "queues": [CONTROL_QUEUE], "concurrency": 2},
        ]
    tasks = [asyncio.create_task(app.run_worker_async(**run, **common), name=run["name"]) for run in runs]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            task.result()
    finally:
        for task in tasks:
            task.cancel()  # Procrastinate stops gracefully: the jobs in hand finish
        await asyncio.gather(*tasks, return_exceptions=True)


def _first_line(exc: BaseException) -> str:
    cause = exc.__cause__ or exc
    return (str(cause).strip().splitlines() or [type(cause).__name__])[0]
