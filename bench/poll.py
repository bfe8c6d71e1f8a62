"""Poller benchmark: N parcels against the sandbox (own process), end to end vs the raw clients.

    python bench/poll.py --scale ci|full

Baseline (same run, same requests): the provider clients fetching every due parcel's body and discarding it.
Project: tracker.poller.run_once (fetch + parse + ingest + schedule + poll_run) on a fresh SQLite file.
Prints parcels/s of each, ratio = e2e / fetch-only, peak RSS. Only Kuaidi100/Kdniao couriers are used:
17TRACK's 3 req/s cap (which the sandbox enforces) would measure the limit, not the code.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tracker.domain import ParcelFacts  # noqa: E402
from tracker.poller import run_once, select_due  # noqa: E402
from tracker.providers.clients import make_fetchers  # noqa: E402
from tracker.sandbox.server import free_port  # noqa: E402
from tracker.settings import load_settings  # noqa: E402
from tracker.storage.db import make_engine, migrate  # noqa: E402
from tracker.storage.repo import upsert_parcels  # noqa: E402

NOW = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)
SCALES = {"ci": 2_000, "full": 20_000}
OVERRIDES = {
    "kuaidi100": {"rate_per_second": 1e6, "concurrency": 50, "retry_attempts": 1},
    "kdniao": {"rate_per_second": 1e6, "concurrency": 50, "retry_attempts": 1},
}


def parcels(n: int) -> list[ParcelFacts]:
    out = []
    for i in range(n):
        courier, waybill = [("zto", f"78{i:012d}"), ("yto", f"YT{i:013d}"), ("yunda", f"43{i:011d}")][i % 3]
        out.append(ParcelFacts(courier=courier, waybill=waybill, shipped_at=NOW - timedelta(days=3)))
    return out


def start_sandbox(port: int) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "tracker.cli", "sandbox", "--port", str(port), "--speed", "0",
           "--now", NOW.isoformat()]  # fmt: skip
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) >= 2:
        os.sched_setaffinity(proc.pid, {0})
        os.sched_setaffinity(0, {1})
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            httpx.get(f"{url}/_sandbox/clock", timeout=0.5)
            return proc
        except httpx.HTTPError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("sandbox did not start")


async def fetch_only(settings, url: str, due) -> float:  # noqa: ANN001
    fetchers = make_fetchers(settings, base_url=url, overrides=OVERRIDES)
    groups: dict[str, list] = {}
    for p in due:
        groups.setdefault(settings.couriers[p.courier].provider, []).append(p)
    started = time.perf_counter()
    try:
        await asyncio.gather(*(fetchers[prov].fetch([p]) for prov, ps in groups.items() for p in ps))
    finally:
        for f in fetchers.values():
            await f.aclose()
    return time.perf_counter() - started


async def end_to_end(settings, engine, url: str) -> tuple[float, dict]:  # noqa: ANN001
    fetchers = make_fetchers(settings, base_url=url, overrides=OVERRIDES)
    started = time.perf_counter()
    try:
        summary = await run_once(engine, settings, fetchers, now=NOW, evaluate=False)
    finally:
        for f in fetchers.values():
            await f.aclose()
    stats = {
        k: {"polled": s.polled, "failed": s.failed, "new_events": s.new_events} for k, s in summary.providers.items()
    }
    return time.perf_counter() - started, stats


async def rate_check(settings, url: str, requests: int) -> tuple[float, int]:  # noqa: ANN001
    """17TRACK through its real client at the configured limit: sustained req/s after the first second's
    burst of `limit` requests, and how many requests the server had to answer 429 (then retried)."""
    from tracker.providers.track17.client import Track17Client

    client = Track17Client(settings.providers.track17.model_copy(update={"base_url": url}))
    numbers = [f"98{i:011d}" for i in range(40)]
    await client.register(numbers)
    await asyncio.sleep(1.0)  # let the registration leave the 1-second window
    before = httpx.get(f"{url}/_sandbox/stats").json().get("track17.gettrackinfo", 0)
    started = time.perf_counter()
    for _ in range(requests):
        await client.get_track_info(numbers)
    elapsed = time.perf_counter() - started
    await client.aclose()
    sent = httpx.get(f"{url}/_sandbox/stats").json().get("track17.gettrackinfo", 0) - before
    burst = int(settings.providers.track17.rate_per_second)
    return (requests - burst) / elapsed, sent - requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=SCALES, default="ci")
    args = parser.parse_args()
    n = SCALES[args.scale]
    port = free_port()
    proc = start_sandbox(port)
    url = f"http://127.0.0.1:{port}"
    try:
        with tempfile.TemporaryDirectory() as tmp:
            os.environ["TRACKER_DATABASE_URL"] = f"sqlite:///{tmp}/bench.db"
            settings = load_settings(ROOT / "config")
            engine = make_engine(settings.database_url)
            migrate(engine)
            upsert_parcels(engine, parcels(n), now=NOW - timedelta(days=3))
            due = select_due(engine, now=NOW, limit=n)
            fetch_s = asyncio.run(fetch_only(settings, url, due))
            e2e_s, stats = asyncio.run(end_to_end(settings, engine, url))
            limit = settings.providers.track17.rate_per_second
            rate, rejected = asyncio.run(rate_check(settings, url, 9 if args.scale == "ci" else 30))
            engine.dispose()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    fetch_rate, e2e_rate = n / fetch_s, n / e2e_s
    result = {"stage": "poll", "n": n, "fetch_only_parcels_s": round(fetch_rate, 1),
              "e2e_parcels_s": round(e2e_rate, 1), "ratio": round(e2e_rate / fetch_rate, 3),
              "peak_rss_mb": round(rss_mb, 1), "providers": stats,
              "track17_rate": round(rate, 2), "track17_limit": limit, "track17_retried_429": rejected,
              "rate_ok": rate <= limit * 1.05}  # fmt: skip
    print(json.dumps(result, ensure_ascii=False))
    print(f"poll  n={n}: fetch-only {fetch_rate:,.0f} parcels/s, end-to-end {e2e_rate:,.0f} parcels/s, "
          f"ratio {e2e_rate / fetch_rate:.2f}, peak RSS {rss_mb:,.0f} MB")  # fmt: skip
    verdict = "ok" if rate <= limit * 1.05 else "TOO FAST"
    print(f"rate  17TRACK: {rate:.2f} req/s against a limit of {limit:g} ({verdict}; "
          f"{rejected} requests answered 429 and retried)")  # fmt: skip


if __name__ == "__main__":
    main()
