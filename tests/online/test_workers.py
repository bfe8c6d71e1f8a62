"""`tracker worker` processes on a real PostgreSQL against the real sandbox: shared polling, a worker killed
with SIGKILL mid-batch, the rate limit across workers, a provider outage, a database restart.

Every test starts real `tracker worker` subprocesses (python -m tracker.cli) with a config copy whose
[workers] cadence is seconds instead of minutes, and checks the outcome in the database and in what the
sandbox saw (its request log), never in the workers' own reports.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, text

from bench.config_copy import copy_config
from tracker.domain import ParcelFacts
from tracker.poller import run_once
from tracker.providers.clients import make_fetchers
from tracker.sandbox.app import SandboxState, create_app, make_state
from tracker.sandbox.control import peak_in_window
from tracker.sandbox.server import BackgroundServer, start_background
from tracker.settings import PROJECT_ROOT, load_settings
from tracker.storage.db import make_engine, migrate
from tracker.storage.repo import upsert_parcels
from tracker.storage.rows import ParcelRow, PollRunRow, TrackingEventRow

pytestmark = [
    pytest.mark.postgres,
    # these always run on PostgreSQL (workers need it): once, in the default pass, is enough
    pytest.mark.skipif(os.environ.get("TRACKER_TEST_DB") == "postgresql", reason="run in the SQLite pass"),
]

PARCEL = ParcelRow.__table__
UNPOLLED = "SELECT count(*) FROM parcel WHERE last_polled_at IS NULL"
DUE = "SELECT count(*) FROM parcel WHERE next_poll_at <= now()"
EVENT = TrackingEventRow.__table__
DIAGNOSIS = (
    ("now", "SELECT now()"),
    (
        "parcels not done",
        "SELECT id, courier, next_poll_at, last_polled_at, lease_owner, lease_until FROM parcel "
        "WHERE last_polled_at IS NULL OR lease_until IS NOT NULL ORDER BY id LIMIT 30",
    ),
    (
        "jobs",
        "SELECT id, task_name, status, worker_id, lock, queueing_lock, scheduled_at FROM procrastinate_jobs "
        "WHERE status IN ('todo', 'doing') ORDER BY id",
    ),
    ("workers", "SELECT id, last_heartbeat FROM procrastinate_workers"),
    (
        "sessions",
        "SELECT pid, application_name, state, wait_event_type, wait_event, now() - xact_start, "
        "left(query, 160) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()",
    ),
    ("connections by database", "SELECT datname, state, count(*) FROM pg_stat_activity GROUP BY 1, 2 ORDER BY 1, 2"),
    ("rate slots", "SELECT provider, slot, used_at FROM provider_slot ORDER BY provider, slot"),
    ("pauses", "SELECT * FROM provider_pause"),
)
FAST = {  # seconds instead of minutes, so a test sees several dispatch ticks and a lease lapse; a poll job
    # stuck past 30 s is cancelled and its parcels polled again, as in production after 15 minutes
    "workers": {"dispatch_seconds": 1, "parcels_per_job": 10, "lease_seconds": 4, "heartbeat_seconds": 0.5,
                "stalled_seconds": 2, "job_timeout_seconds": 30,
                "concurrency": 4, "evaluate_seconds": 5, "fetch_interval_seconds": 0.2},
}  # fmt: skip


@pytest.fixture
def sandbox() -> Iterator[tuple[BackgroundServer, SandboxState]]:
    """The sandbox on the real clock, frozen at the test's start (workers poll with the real clock)."""
    couriers = load_settings(PROJECT_ROOT / "config").couriers
    state = make_state(couriers, now=datetime.now(UTC), speed=0.0, fault_delay=1.0)
    server = start_background(create_app(state))
    yield server, state
    server.stop()


def seed(engine: Engine, counts: dict[str, int], *, prefix: str = "") -> dict[int, str]:
    """Due parcels per courier (shipped 3 days ago); returns id -> waybill."""
    shipped = datetime.now(UTC) - timedelta(days=3)
    facts = [
        ParcelFacts(
            courier=courier, waybill=f"{prefix}{courier.upper()}{n:010d}", shipped_at=shipped, phone_last4="1234"
        )
        for courier, count in counts.items()
        for n in range(count)
    ]
    upsert_parcels(engine, facts, now=shipped)
    with engine.connect() as conn:
        return dict(conn.execute(select(PARCEL.c.id, PARCEL.c.waybill)).all())


class Workers:
    """`tracker worker` subprocesses with their logs in tmp_path."""

    def __init__(self, tmp_path: Path, config: Path, db_url: str, base_url: str) -> None:
        self.tmp_path, self.config, self.db_url, self.base_url = tmp_path, config, db_url, base_url
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.killed: set[str] = set()

    def kill(self, name: str) -> None:
        self.killed.add(name)
        self.procs[name].send_signal(signal.SIGKILL)
        self.procs[name].wait(timeout=10)

    def exited(self) -> list[str]:
        return [n for n, p in self.procs.items() if n not in self.killed and p.poll() is not None]

    def start(self, name: str) -> subprocess.Popen[bytes]:
        env = {**os.environ, "TRACKER_DATABASE_URL": self.db_url, "PYTHONUNBUFFERED": "1"}
        log = (self.tmp_path / f"{name}.log").open("wb")
        cmd = [
            sys.executable,
            "-m",
            "tracker.cli",
            "--config",
            str(self.config),
            "worker",
            "--name",
            name,
            "--base-url",
            self.base_url,
            "--sandbox",
        ]
        self.procs[name] = proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
        return proc

    def log(self, name: str) -> str:
        return (self.tmp_path / f"{name}.log").read_text(errors="replace")

    def diagnose(self) -> str:
        """What a stuck run was doing: the database's side (unfinished parcels, jobs, sessions, rate slots),
        then each live worker's threads and tasks (SIGUSR1) and the end of its log."""
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGUSR1)
        time.sleep(1.0)
        engine = make_engine(self.db_url)
        out = []
        try:
            with engine.connect() as conn:
                for title, sql in DIAGNOSIS:
                    rows = conn.execute(text(sql)).all()
                    out.append(f"\n--- {title} ---\n" + "\n".join(" | ".join(map(str, r)) for r in rows))
        except Exception as exc:  # the diagnosis must not hide the failure it explains
            out.append(f"\n--- database unreadable: {exc}")
        finally:
            engine.dispose()
        for name in self.procs:
            out.append(f"\n--- {name} ---\n{self.log(name)[-12000:]}")
        return "".join(out)

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()


@pytest.fixture
def workers_for(tmp_path: Path) -> Iterator[Callable[..., Workers]]:
    made: list[Workers] = []

    def make(db_url: str, base_url: str, changes: dict[str, dict[str, object]], names: tuple[str, ...]) -> Workers:
        changes = {"subscriptions": {"enabled": False}, **changes}  # these tests are about polling
        config = copy_config(PROJECT_ROOT / "config", tmp_path / f"config{len(made)}", {"providers.toml": changes})
        made.append(workers := Workers(tmp_path, config, db_url, base_url))
        for name in names:
            workers.start(name)
        return workers

    yield make
    for w in made:
        w.stop()


def wait_for(what: str, check: Callable[[], bool], *, timeout: float, workers: Workers | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        gone = workers.exited() if workers else []
        if gone or time.monotonic() > deadline:
            reason = f"workers {gone} exited" if gone else f"timed out after {timeout} s"
            pytest.fail(f"{reason} waiting for {what}{workers.diagnose() if workers else ''}")
        time.sleep(0.1)


def wait_for_none(engine: Engine, what: str, sql: str, workers: Workers, timeout: float = 60) -> None:
    """Wait until the count `sql` returns is 0."""
    wait_for(what, lambda: scalar(engine, sql) == 0, timeout=timeout, workers=workers)


def scalar(engine: Engine, sql: str, **params: object) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(sql), params).scalar() or 0)


def events_by_waybill(engine: Engine) -> dict[str, Counter[tuple[datetime, str]]]:
    stmt = select(PARCEL.c.waybill, EVENT.c.event_time, EVENT.c.text).join(EVENT, EVENT.c.parcel_id == PARCEL.c.id)
    out: dict[str, Counter[tuple[datetime, str]]] = {}
    with engine.connect() as conn:
        for waybill, at, body in conn.execute(stmt):
            out.setdefault(waybill, Counter())[(at, body)] += 1
    return out


def single_process_reference(tmp_path: Path, counts: dict[str, int], base_url: str) -> dict[str, Counter]:
    """What one `tracker poll` process stores for the same parcels from the same sandbox (the oracle)."""
    settings = load_settings(PROJECT_ROOT / "config")
    engine = make_engine(f"sqlite:///{tmp_path / 'reference.db'}")
    migrate(engine)
    seed(engine, counts)

    async def go() -> None:
        lifted = {p: {"rate_per_second": 1000} for p in ("kuaidi100", "kdniao")}
        fetchers = make_fetchers(settings, base_url=base_url, overrides=lifted)
        try:
            await run_once(engine, settings, fetchers, now=datetime.now(UTC), evaluate=False)
        finally:
            for f in fetchers.values():
                await f.aclose()

    asyncio.run(go())
    try:
        return events_by_waybill(engine)
    finally:
        engine.dispose()


def test_workers_share_the_polling_and_a_sigkilled_worker_loses_and_duplicates_nothing(
    pg_engine: Engine, pg_url: str, sandbox, workers_for, tmp_path: Path
) -> None:
    server, state = sandbox
    counts = {"yto": 60, "sto": 40, "yunda": 50, "jt": 30, "ems": 40}
    waybills = seed(pg_engine, counts)
    changes = {**FAST, "kuaidi100": {"rate_per_second": 15}, "kdniao": {"rate_per_second": 15}}
    workers = workers_for(pg_url, server.url, changes, names=("w0", "w1", "w2"))

    def w0_mid_batch() -> bool:
        held = scalar(pg_engine, "SELECT count(*) FROM parcel WHERE lease_owner = 'w0' AND lease_until IS NOT NULL")
        polled = scalar(pg_engine, "SELECT count(*) FROM parcel WHERE last_polled_at IS NOT NULL")
        return held > 0 and polled >= 20

    wait_for("w0 to hold a lease after 20 parcels were polled", w0_mid_batch, timeout=60, workers=workers)
    workers.kill("w0")
    with pg_engine.connect() as conn:
        orphaned = set(conn.execute(text("SELECT waybill FROM parcel WHERE lease_owner = 'w0'")).scalars())
    assert orphaned, "w0 was killed holding leased parcels"

    def all_polled() -> bool:
        return (
            scalar(pg_engine, "SELECT count(*) FROM parcel WHERE last_polled_at IS NULL OR lease_until IS NOT NULL")
            == 0
        )

    wait_for("every parcel polled and unleased", all_polled, timeout=120, workers=workers)

    # no parcel asked twice, except the killed worker's leased ones (asked again after the lease lapsed) and
    # those of a poll job cancelled for running past job_timeout_seconds (its warning names them)
    asked = Counter(waybill for _, _, waybill in state.queries if waybill in set(waybills.values()))
    twice = {w for w, n in asked.items() if n > 1}
    logs = "".join(workers.log(name) for name in workers.procs)
    cancelled = set(
        re.findall(r"[A-Z]+\d{10}", " ".join(re.findall(r"cancelled after \d+ s .*? \(waybills ([^)]*)", logs)))
    )
    assert twice <= orphaned | cancelled
    assert set(asked) == set(waybills.values())

    # complete and unique: the same events, each once, as one single process polling the same sandbox
    reference = single_process_reference(tmp_path, counts, server.url)
    stored = events_by_waybill(pg_engine)
    assert set(stored) == set(reference) and len(stored) > 0.8 * len(waybills)
    for waybill, events in reference.items():
        assert stored[waybill] == events, waybill
    assert scalar(pg_engine, "SELECT count(*) FROM parcel WHERE status = 'pending'") == len(waybills) - len(stored)

    # the work was shared: the surviving workers both recorded poll runs
    with pg_engine.connect() as conn:
        details = conn.execute(select(PollRunRow.__table__.c.detail)).scalars().all()
    assert {"w1", "w2"} <= {d["worker"] for d in details}


def test_the_sandbox_fault_mix_ends_with_every_waybill_ingested_exactly_once(
    pg_engine: Engine, pg_url: str, sandbox, workers_for, tmp_path: Path
) -> None:
    """5xx, time-outs, 429, malformed bodies and bad signatures at the same time, across three workers:
    retries and failure re-polls end with exactly the events one clean poll stores, none twice."""
    server, state = sandbox
    counts = {"yto": 40, "yunda": 30, "ems": 30}
    waybills = seed(pg_engine, counts)
    reference = single_process_reference(tmp_path, counts, server.url)  # before any fault is switched on
    state.queries.clear()
    state.faults.rates = {"5xx": 0.08, "timeout": 0.03, "429": 0.05, "malformed": 0.05, "bad_sign": 0.05}
    state.faults.delay_seconds = 1.0
    retry = {"min_waybill_interval_minutes": 0.02, "timeout_seconds": 0.5, "breaker_pause_seconds": 1}
    changes = {
        **FAST,
        "polling": {"failure_retry_minutes": 0.02},  # a failed parcel is asked again after ~1 s, not 30 min
        "kuaidi100": retry, "kdniao": retry, "track17": {**retry, "batch_size": 10},
    }  # fmt: skip
    workers = workers_for(pg_url, server.url, changes, names=("f0", "f1", "f2"))

    def complete() -> bool:
        return events_by_waybill(pg_engine) == reference

    wait_for("every waybill's events complete despite the faults", complete, timeout=150, workers=workers)
    faults = {k: v for k, v in state.stats.items() if k.startswith("fault:")}
    assert {"fault:5xx", "fault:malformed", "fault:bad_sign", "fault:429"} <= set(faults), faults
    stored = events_by_waybill(pg_engine)
    assert all(n == 1 for events in stored.values() for n in events.values())  # each event once
    assert len(stored) == len(reference) > 0.8 * len(waybills)


def test_rate_limits_hold_across_workers(pg_engine: Engine, pg_url: str, sandbox, workers_for) -> None:
    """Three workers, each able to send far more: the sandbox sees at most the configured rate in any
    second, for Kuaidi100 (20/s configured) and 17TRACK (3/s, which the sandbox enforces with HTTP 429)."""
    server, state = sandbox
    seed(pg_engine, {"yto": 120, "ems": 60})
    rate = 20
    changes = {
        "workers": {**FAST["workers"], "parcels_per_job": 10},
        "kuaidi100": {"rate_per_second": rate, "concurrency": 16},
        "track17": {"batch_size": 10},
    }
    workers = workers_for(pg_url, server.url, changes, names=("r0", "r1", "r2"))
    wait_for_none(
        pg_engine,
        "every parcel polled",
        "SELECT count(*) FROM parcel WHERE last_polled_at IS NULL",
        workers,
        timeout=90,
    )
    kuaidi100 = list(state.arrivals["kuaidi100.query"])
    assert len(kuaidi100) == 120
    assert peak_in_window(kuaidi100, 1.0) <= rate
    span = max(kuaidi100) - min(kuaidi100)
    assert span >= (120 - rate) / rate * 0.95  # the limit was what bound them: 120 requests at <= 20/s
    track17 = list(state.arrivals["track17.register"]) + list(state.arrivals["track17.gettrackinfo"])
    assert len(track17) >= 12  # 60 numbers in batches of 10: register + query each
    assert peak_in_window(track17, 1.0) <= 3
    assert state.stats["track17.429"] == 0
    polled_by = {
        row[0]
        for row in pg_engine.connect().execute(
            text("SELECT DISTINCT detail->>'worker' FROM poll_run WHERE provider = 'kuaidi100'")
        )
    }
    assert len(polled_by) >= 2


def test_a_poll_job_that_hangs_is_cancelled_and_dispatch_keeps_its_tick_meanwhile(
    pg_engine: Engine, pg_url: str, sandbox, workers_for, tmp_path: Path
) -> None:
    """The provider stops answering (30 s per request, under the client's time-out): the one poll slot is
    stuck, yet the control slot keeps dispatching every second; after job_timeout_seconds the job is
    cancelled, its leases lapse and, once the provider answers again, every parcel is polled."""
    server, state = sandbox
    counts = {"yunda": 10}
    seed(pg_engine, counts)
    reference = single_process_reference(tmp_path, counts, server.url)  # what a clean poll stores
    state.latency = 30.0
    changes = {
        "workers": {**FAST["workers"], "parcels_per_job": 5, "concurrency": 1, "job_timeout_seconds": 5},
        "kdniao": {"timeout_seconds": 60, "min_waybill_interval_minutes": 0.01, "rate_per_second": 20},
    }
    workers = workers_for(pg_url, server.url, changes, names=("h0",))
    cancelled = "poll job for kdniao cancelled after 5 s"
    wait_for("the stuck poll job cancelled", lambda: cancelled in workers.log("h0"), timeout=60, workers=workers)
    state.latency = 0.0
    log = workers.log("h0")
    before = log[: log.index(cancelled)]
    # the control slot: dispatches went on while the only poll slot was stuck (5 s, one tick a second)
    assert before.count("tracker.jobs: dispatch: due {'kdniao': 5}") >= 3, before
    warning = log[log.index(cancelled) :]
    assert "with 5 parcels (waybills YUNDA" in warning  # which parcels it held
    assert "poll_provider.<locals>.run" in warning  # and where the job was waiting
    wait_for_none(
        pg_engine,
        "every parcel polled and unleased after the provider recovered",
        "SELECT count(*) FROM parcel WHERE last_polled_at IS NULL OR lease_until IS NOT NULL",
        workers,
        timeout=60,
    )
    assert events_by_waybill(pg_engine) == reference  # every event, each once

    # SIGUSR1: every thread's stack and every task's await chain in the log; the worker carries on
    workers.procs["h0"].send_signal(signal.SIGUSR1)
    wait_for("the stacks in the log", lambda: "task worker loop:" in workers.log("h0"), timeout=10, workers=workers)
    assert "thread MainThread:" in workers.log("h0") and workers.procs["h0"].poll() is None


def test_provider_outage_pauses_it_for_every_worker_and_resumes(
    pg_engine: Engine, pg_url: str, sandbox, workers_for
) -> None:
    server, state = sandbox
    ids = seed(pg_engine, {"yunda": 60})
    state.faults.rates = {"5xx": 1.0}
    changes = {
        **FAST,
        "kdniao": {
            "breaker_failures": 3,
            "breaker_pause_seconds": 4,
            "retry_attempts": 1,
            "concurrency": 1,
            "rate_per_second": 20,
        },
    }
    workers = workers_for(pg_url, server.url, changes, names=("o0", "o1"))
    wait_for(
        "kdniao paused",
        lambda: scalar(pg_engine, "SELECT count(*) FROM provider_pause WHERE provider = 'kdniao'") == 1,
        timeout=60,
        workers=workers,
    )
    time.sleep(0.5)  # requests already on the wire finish; the other worker's breaker opens too
    asked_during_outage = state.stats["kdniao"]
    time.sleep(1.5)
    assert state.stats["kdniao"] == asked_during_outage  # paused: no worker asks
    state.faults.rates = {}
    wait_for_none(
        pg_engine,
        "the parcels not failed during the outage polled after it",
        "SELECT count(*) FROM parcel WHERE next_poll_at <= now()",
        workers,
        timeout=60,
    )
    answered = {waybill for _, provider, waybill in state.queries if provider == "kdniao"}
    assert answered <= set(ids.values())
    # every parcel was answered after the recovery, except those whose request failed during the outage
    # (they wait for their failure retry); nothing stays leased
    assert 0 < len(ids) - len(answered) <= asked_during_outage
    assert scalar(pg_engine, "SELECT count(*) FROM parcel WHERE lease_until IS NOT NULL") == 0


def test_workers_reconnect_after_a_database_restart(pg_cluster, sandbox, workers_for) -> None:
    server, state = sandbox
    engine = make_engine(pg_cluster.url)
    migrate(engine)
    seed(engine, {"yto": 40}, prefix="A")
    workers = workers_for(
        pg_cluster.url, server.url, {**FAST, "kuaidi100": {"rate_per_second": 20}}, names=("d0", "d1")
    )
    wait_for_none(
        engine,
        "the first parcels polled",
        "SELECT count(*) FROM parcel WHERE last_polled_at IS NULL",
        workers,
        timeout=60,
    )
    pg_cluster.restart()
    seed(engine, {"sto": 40}, prefix="B")  # the engine's pool reconnects too (pre-ping)
    wait_for_none(
        engine,
        "parcels added after the restart polled by the same workers",
        "SELECT count(*) FROM parcel WHERE last_polled_at IS NULL",
        workers,
        timeout=90,
    )
    assert all(p.poll() is None for p in workers.procs.values()), "a worker exited on the restart"
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(EVENT)).scalar_one() > 0
    engine.dispose()


def test_a_worker_subscribes_new_waybills_and_polls_none_of_the_push_served_ones(
    pg_engine: Engine, pg_url: str, sandbox, workers_for
) -> None:
    import httpx

    from tracker.push import create_push_app
    from tracker.sandbox.server import free_port

    server, state = sandbox
    seed(pg_engine, {"yto": 10, "yunda": 10, "ems": 10})  # Kuaidi100, Kdniao, 17TRACK
    port = free_port()
    receiver = start_background(create_push_app(pg_engine, load_settings(PROJECT_ROOT / "config")), port=port)
    try:
        changes = {**FAST, "subscriptions": {"enabled": True, "callback_base_url": f"http://127.0.0.1:{port}"}}
        workers = workers_for(pg_url, server.url, changes, names=("w0",))
        active = "SELECT count(*) FROM subscription WHERE state = 'active'"
        wait_for("all 30 parcels subscribed", lambda: scalar(pg_engine, active) == 30, timeout=60, workers=workers)
        time.sleep(3)  # several dispatch ticks: nothing is due, no poll job runs
        assert not state.queries, "push-served parcels were polled"
        assert kd100_callback(state) == {f"http://127.0.0.1:{port}/push/kuaidi100"}
        console = {"kdniao": f"{receiver.url}/push/kdniao", "track17": f"{receiver.url}/push/track17"}
        httpx.post(f"{server.url}/_sandbox/subscriptions/console", json=console).raise_for_status()
        pushed = httpx.post(f"{server.url}/_sandbox/subscriptions/flush", json={}, timeout=60).json()
        assert pushed["sent"] and all(r["status"] == 200 for r in pushed["results"]), pushed
        assert scalar(pg_engine, "SELECT count(*) FROM tracking_event WHERE source = 'push'") > 0
        spent = "SELECT coalesce(sum(count), 0) FROM provider_quota WHERE provider = :p AND kind = :k"
        assert scalar(pg_engine, spent, p="kuaidi100", k="subscribe") == 10
        assert scalar(pg_engine, spent, p="kdniao", k="subscribe") == 10
        assert scalar(pg_engine, spent, p="track17", k="register") == 10
        assert scalar(pg_engine, "SELECT coalesce(sum(count), 0) FROM provider_quota WHERE kind = 'query'") == 0
    finally:
        receiver.stop()


def kd100_callback(state: SandboxState) -> set[str]:
    return {sub["callback"] for sub in state.kd100_subscriptions.values()}
