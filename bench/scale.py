"""Scale-out benchmark: `tracker worker` processes on PostgreSQL, and the rules over 1M parcels on both databases.

    python bench/scale.py --scale ci|full [--workers 1,2,4] [--latency-ms 150] [--skip-rules]

Poll throughput: a throwaway PostgreSQL cluster, N due parcels (Kuaidi100 and Kdniao couriers), and one
sandbox process per worker answering after --latency-ms (a real API's round trip; with instant answers the
benchmark would measure this 2-core machine, not the design). For each worker count, a fresh copy of the
same database; real `tracker worker` subprocesses; parcels/s from the first poll job's start to the last
one's end. The table holds 1,000,000 parcels (100,000 with --scale ci) of which N are due now; the rest
are in transit and due later. Two series:

  lifted     provider rate limits lifted: throughput should grow with workers
  configured the configured limits (config/providers.toml): the shared window binds, whatever the count

Baseline (same run): one worker, lifted limits; each line prints its ratio to it. Peak memory per worker
is the worker process's VmHWM (/proc) just before it is stopped.

Rules: bench/rules.py's generator (all parcels open) timed on SQLite and on PostgreSQL, first and steady
evaluation, against the 2 s target, with the indexed stale count as the baseline.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

from bench.config_copy import copy_config  # noqa: E402
from tracker.domain import ParcelFacts  # noqa: E402
from tracker.jobs import ensure_job_schema  # noqa: E402
from tracker.sandbox.server import free_port  # noqa: E402
from tracker.settings import load_settings  # noqa: E402
from tracker.storage.db import make_engine, migrate  # noqa: E402
from tracker.storage.pgcluster import PgCluster  # noqa: E402
from tracker.storage.repo import upsert_parcels  # noqa: E402

SCALES = {
    "ci": {"parcels": 100_000, "poll": 3_000, "limited": 300},
    "full": {"parcels": 1_000_000, "poll": 6_000, "limited": 900},
}
COURIERS = ("yto", "sto", "best", "yunda", "jt")  # Kuaidi100 and Kdniao (17TRACK's 3 req/s would bind at once)
WORKERS = {  # the cadence of a busy fleet: dispatch each second, short jobs
    "dispatch_seconds": 1,
    "parcels_per_job": 50,
    "max_jobs_per_provider": 64,
    "lease_seconds": 120,
    "concurrency": 4,
    "evaluate_seconds": 3600,
    "fetch_interval_seconds": 0.2,
}
LIFTED = {"rate_per_second": 1000, "concurrency": 16}  # far above what the sandbox latency lets through


FILLER = text("""
INSERT INTO parcel (courier, waybill, direction, status, is_open, currency, freight_insured, shipped_at,
                    last_event_at, first_scan_at, next_poll_at, created_at, updated_at)
SELECT (ARRAY['zto','yto','yunda','sto','sf','jt','jd','ems'])[1 + i % 8], 'FILL' || lpad(i::text, 10, '0'),
       'outbound', 'in_transit', true, 'CNY', false, now() - interval '2 days', now() - interval '1 hour',
       now() - interval '2 days', now() + interval '1 hour' + (i % 3600) * interval '1 second', now(), now()
FROM generate_series(1, :n) AS i
""")


def reseed(cluster: PgCluster, total: int, due: int) -> None:
    """The template database: migrated, with the job schema; `total` open parcels of which `due` are due
    now (the rest are in transit and due within the hour, as in a busy warehouse's table)."""
    engine = make_engine(cluster.url)
    migrate(engine)
    ensure_job_schema(engine)
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE flag, tracking_event, poll_run, parcel RESTART IDENTITY CASCADE"))
        conn.execute(FILLER, {"n": total - due})
    shipped = datetime.now(UTC) - timedelta(days=3)
    facts = [
        ParcelFacts(courier=COURIERS[i % len(COURIERS)], waybill=f"SCALE{i:09d}", shipped_at=shipped)
        for i in range(due)
    ]
    upsert_parcels(engine, facts, now=shipped)
    engine.dispose()


def fresh_copy(cluster: PgCluster, name: str) -> str:
    admin = make_engine(cluster.url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{cluster.dbname}"'))
    admin.dispose()
    return cluster.url.rsplit("/", 1)[0] + f"/{name}"


def start_sandboxes(count: int, latency_ms: float, log_dir: Path) -> list[tuple[subprocess.Popen[bytes], str]]:
    out = []
    now = datetime.now(UTC).isoformat()
    for i in range(count):
        port = free_port()
        log = (log_dir / f"sandbox{i}.log").open("wb")
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tracker.cli",
                "sandbox",
                "--port",
                str(port),
                "--now",
                now,
                "--speed",
                "0",
                "--latency-ms",
                str(latency_ms),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        out.append((proc, f"http://127.0.0.1:{port}"))
    import httpx

    for _, url in out:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{url}/_sandbox/stats", timeout=1)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"sandbox {url} did not start") from None
                time.sleep(0.1)
    return out


def peak_memory_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def run_workers(db_url: str, config: Path, urls: list[str], n: int, log_dir: Path, label: str) -> dict:
    engine = make_engine(db_url)
    env = {**os.environ, "TRACKER_DATABASE_URL": db_url, "PYTHONUNBUFFERED": "1"}
    procs = []
    for i, url in enumerate(urls):
        log = (log_dir / f"{label}-w{i}.log").open("wb")
        procs.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tracker.cli",
                    "--config",
                    str(config),
                    "worker",
                    "--name",
                    f"{label}-w{i}",
                    "--base-url",
                    url,
                    "--sandbox",
                ],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )

    def polled() -> int:
        with engine.connect() as conn:
            return int(
                conn.execute(
                    text("SELECT count(*) FROM parcel WHERE last_polled_at IS NOT NULL AND waybill LIKE 'SCALE%'")
                ).scalar()
            )

    try:
        deadline = time.monotonic() + 600
        while (done := polled()) < n:
            if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                tail = (log_dir / f"{label}-w0.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"{label}: {done}/{n} polled; worker 0 says:\n{tail}")
            time.sleep(0.05)
        memory = [peak_memory_mb(p.pid) for p in procs]
        with engine.connect() as conn:
            # from the first poll job's start to the last one's end, on the jobs' own clock
            seconds = float(
                conn.execute(
                    text("SELECT EXTRACT(EPOCH FROM max(finished_at) - min(started_at)) FROM poll_run")
                ).scalar()
            )
            events = int(conn.execute(text("SELECT count(*) FROM tracking_event")).scalar())
            dupes = int(
                conn.execute(
                    text(
                        "SELECT count(*) FROM (SELECT 1 FROM tracking_event GROUP BY parcel_id, event_time, text_hash "
                        "HAVING count(*) > 1) d"
                    )
                ).scalar()
            )
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
        engine.dispose()
    return {"workers": len(urls), "parcels": n, "seconds": round(seconds, 2),
            "parcels_s": round(n / seconds, 1), "peak_mb_per_worker": [round(m) for m in memory],
            "events": events, "duplicate_events": dupes}  # fmt: skip


def poll_series(args: argparse.Namespace, tmp: Path) -> list[dict]:
    scale = SCALES[args.scale]
    counts = [int(c) for c in args.workers.split(",")]
    cluster = PgCluster(dbname="scale_template").start()
    sandboxes = start_sandboxes(max(counts), args.latency_ms, tmp)
    urls = [url for _, url in sandboxes]
    results = []
    try:
        lifted = copy_config(
            ROOT / "config",
            tmp / "lifted",
            {"providers.toml": {"workers": WORKERS, "kuaidi100": LIFTED, "kdniao": LIFTED}},
        )
        configured = copy_config(ROOT / "config", tmp / "configured", {"providers.toml": {"workers": WORKERS}})
        for series, config, n in (("lifted", lifted, scale["poll"]), ("configured", configured, scale["limited"])):
            reseed(cluster, scale["parcels"], n)
            for k in counts:
                if series == "configured" and k == 1:
                    continue  # one worker under the configured limits says nothing the others do not
                db = f"{series}_{k}"
                url = fresh_copy(cluster, db)
                row = {"series": series, **run_workers(url, config, urls[:k], n, tmp, db)}
                results.append(row)
                print(json.dumps(row), flush=True)
    finally:
        for proc, _ in sandboxes:
            proc.terminate()
        cluster.stop()
    return results


def rules_at_scale(args: argparse.Namespace) -> list[dict]:
    """bench/rules.py on SQLite and PostgreSQL, every parcel open (the issue's 1M open parcels)."""
    out = []
    for db in ("sqlite", "postgresql"):
        cmd = [
            sys.executable,
            str(ROOT / "bench" / "rules.py"),
            "--scale",
            args.scale,
            "--open-share",
            "1.0",
            "--db",
            db,
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        lines = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
        row = {"db": db, "rc": proc.returncode, **(lines[-1] if lines else {"error": proc.stderr[-500:]})}
        out.append(row)
        print(json.dumps(row), flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=SCALES, default="ci")
    parser.add_argument("--workers", default="1,2,4", help="worker counts, comma-separated (first is the baseline)")
    parser.add_argument("--latency-ms", type=float, default=150.0, help="sandbox answer delay (API round trip)")
    parser.add_argument("--skip-rules", action="store_true")
    parser.add_argument("--skip-poll", action="store_true")
    args = parser.parse_args()
    load_settings(ROOT / "config")  # a config error stops here, before anything starts
    ok = True
    with tempfile.TemporaryDirectory(prefix="scale-") as tmp:
        polls = [] if args.skip_poll else poll_series(args, Path(tmp))
    rules = [] if args.skip_rules else rules_at_scale(args)
    print()
    if polls:
        base = polls[0]["parcels_s"]
        print(f"poll throughput (sandbox latency {args.latency_ms:g} ms; baseline = 1 worker, limits lifted):")
        for row in polls:
            print(
                f"  {row['series']:<10} {row['workers']} worker(s): {row['parcels_s']:>8,.1f} parcels/s  "
                f"ratio {row['parcels_s'] / base:5.2f}  peak memory/worker {row['peak_mb_per_worker']} MB  "
                f"duplicate events {row['duplicate_events']}"
            )
            ok &= row["duplicate_events"] == 0
        settings = load_settings(ROOT / "config")
        cap = sum(getattr(settings.providers, p).rate_per_second for p in ("kuaidi100", "kdniao"))
        print(
            f"  configured limits: Kuaidi100 + Kdniao = {cap:g} requests/s in all; the 'configured' rows stay "
            "under it whatever the worker count"
        )
        ok &= all(r["parcels_s"] <= cap * 1.05 for r in polls if r["series"] == "configured")
    for row in rules:
        if "first_evaluation_s" in row:
            first, steady, budget = row["first_evaluation_s"], row["steady_median_s"], row["budget_s"]
            verdict = "ok" if row["pass"] and max(first, steady) <= budget else "OVER BUDGET"
            print(
                f"rules {row['db']:<10} {row['n']:>9,} open parcels: first {first:.2f} s, steady {steady:.2f} s "
                f"(budget {budget} s; baseline indexed stale count {row['baseline_count_median_s'] * 1000:.0f} ms, "
                f"ratio {row['ratio_steady']:,.0f}x; {verdict})"
            )
            ok &= verdict == "ok"
        else:
            print(f"rules {row['db']}: failed: {row}")
            ok = False
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
