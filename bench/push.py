"""Push intake under sustained load: signed Kuaidi100 pushes against `tracker serve-push`.

The receiver runs as its own process (`tracker serve-push` on a fresh SQLite file); a local load
generator (httpx, C concurrent senders, loopback only, bounded count) posts N signed pushes, each one
parcel's full history. Prints acknowledged pushes/s, latency percentiles, the slowest answer against
Kuaidi100's 20 s deadline (spec/providers.md §2.3), and lost pushes: pushes acknowledged whose events are
not all in the database afterwards (must be 0). Baseline, same run: the same server stack (uvicorn +
starlette, one process) answering a trivial endpoint with the same load generator; ratio = pushes/s
over trivial requests/s.

    python bench/push.py [--scale ci|full] [--concurrency C]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import statistics
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
from tracker.providers.kuaidi100.sign import push_sign  # noqa: E402
from tracker.sandbox.server import free_port  # noqa: E402
from tracker.settings import load_settings  # noqa: E402
from tracker.storage import repo  # noqa: E402
from tracker.storage.db import make_engine, migrate  # noqa: E402

SCALES = {"ci": 400, "full": 5000}
EVENTS_PER_PUSH = 3
DEADLINE_S = 20.0  # Kuaidi100 expects the acknowledgement within 20 s
TRIVIAL_APP = """
import sys, uvicorn
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route
async def ok(request):
    await request.form()
    return JSONResponse({"result": True, "returnCode": "200", "message": "成功"})
app = Starlette(routes=[Route("/push/kuaidi100", ok, methods=["POST"])])
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""


def waybill(i: int) -> str:
    return f"YT9{i:012d}"


def push_form(i: int, salt: str, start: datetime) -> dict[str, str]:
    """One Kuaidi100 push (form fields param + sign) with the parcel's history, newest first."""
    events = []
    for k in reversed(range(EVENTS_PER_PUSH)):
        at = (start + timedelta(hours=6 * k)).strftime("%Y-%m-%d %H:%M:%S")
        code, text = ("1", "【杭州市萧山区公司】已揽收") if k == 0 else ("0", f"【转运中心{k}】已发出")
        events.append({"time": at, "ftime": at, "context": text, "location": "浙江,杭州市", "status": "在途",
                       "statusCode": code})  # fmt: skip
    param = {
        "status": "polling", "billstatus": "got", "message": "", "autoCheck": "0", "comOld": "", "comNew": "",
        "lastResult": {"message": "ok", "nu": waybill(i), "ischeck": "0", "condition": "F00", "com": "yuantong",
                       "status": "200", "state": "0", "data": events},
    }  # fmt: skip
    text = json.dumps(param, ensure_ascii=False)
    return {"param": text, "sign": push_sign(text, salt)}


def wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited early with {proc.returncode}")
        try:
            httpx.post(url, data={}, timeout=1.0)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise SystemExit(f"server at {url} did not answer within {timeout} s")


def peak_rss_mib(pid: int) -> float:
    """A process's peak resident memory so far (Linux /proc VmHWM), MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


async def send_all(url: str, forms: list[dict[str, str]], concurrency: int) -> tuple[float, list[float], int]:
    """Post every form with `concurrency` senders; (elapsed, latencies of acknowledged, acknowledged)."""
    latencies: list[float] = []
    acked = 0
    queue: asyncio.Queue[dict[str, str]] = asyncio.Queue()
    for form in forms:
        queue.put_nowait(form)

    async def sender(client: httpx.AsyncClient) -> None:
        nonlocal acked
        while not queue.empty():
            form = queue.get_nowait()
            t0 = time.perf_counter()
            response = await client.post(url, data=form)
            elapsed = time.perf_counter() - t0
            if response.status_code == 200 and response.json().get("returnCode") == "200":
                acked += 1
                latencies.append(elapsed)

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=60.0, limits=limits) as client:
        start = time.perf_counter()
        await asyncio.gather(*(sender(client) for _ in range(concurrency)))
        return time.perf_counter() - start, latencies, acked


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", choices=SCALES, default="ci")
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    n = SCALES[args.scale]
    settings = load_settings(ROOT / "config")
    salt = settings.providers.kuaidi100.salt
    start = datetime(2026, 11, 20, 9, 0)
    forms = [push_form(i, salt, start) for i in range(n)]

    with tempfile.TemporaryDirectory(prefix="bench-push-") as tmp:
        db = Path(tmp) / "push.db"
        engine = make_engine(f"sqlite:///{db}")
        migrate(engine)
        now = datetime(2026, 11, 20, tzinfo=UTC)
        parcels = [ParcelFacts(courier="yto", waybill=waybill(i)) for i in range(n)]
        for chunk in range(0, n, 2000):
            repo.upsert_parcels(engine, parcels[chunk : chunk + 2000], now=now)
        engine.dispose()

        # baseline: the same server stack, trivial handler
        port = free_port()
        trivial = subprocess.Popen([sys.executable, "-c", TRIVIAL_APP, str(port)])
        try:
            url = f"http://127.0.0.1:{port}/push/kuaidi100"
            wait_ready(url, trivial)
            base_elapsed, _, base_acked = asyncio.run(send_all(url, forms, args.concurrency))
        finally:
            trivial.terminate()
            trivial.wait(10)

        port = free_port()
        env = {**os.environ, "TRACKER_DATABASE_URL": f"sqlite:///{db}"}
        server = subprocess.Popen(
            [sys.executable, "-m", "tracker.cli", "serve-push", "--port", str(port), "--sandbox"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            url = f"http://127.0.0.1:{port}/push/kuaidi100"
            wait_ready(url, server)
            elapsed, latencies, acked = asyncio.run(send_all(url, forms, args.concurrency))
            # the receiver's peak memory, with one unsigned 40 MiB body refused (413) on top of the load
            oversized = httpx.post(url, content=b"7" * (40 * 1024 * 1024), timeout=60).status_code
            peak_mib = peak_rss_mib(server.pid)
        finally:
            server.terminate()
            server.wait(10)

        with sqlite3.connect(db) as conn:
            complete = conn.execute(
                "SELECT COUNT(*) FROM (SELECT parcel_id FROM tracking_event GROUP BY parcel_id HAVING COUNT(*) = ?)",
                (EVENTS_PER_PUSH,),
            ).fetchone()[0]

    lost = acked - complete
    rate = acked / elapsed
    base_rate = base_acked / base_elapsed
    result = {
        "stage": "push",
        "n": n,
        "concurrency": args.concurrency,
        "acked": acked,
        "acked_per_s": round(rate, 1),
        "p50_ms": round(percentile(latencies, 0.50) * 1000, 1),
        "p95_ms": round(percentile(latencies, 0.95) * 1000, 1),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 1),
        "max_ms": round(max(latencies) * 1000, 1),
        "mean_ms": round(statistics.mean(latencies) * 1000, 1),
        "lost": lost,
        "peak_rss_mib": peak_mib,
        "oversized_40mib_status": oversized,
        "baseline": "same uvicorn+starlette stack, trivial handler",
        "baseline_per_s": round(base_rate, 1),
        "ratio": round(rate / base_rate, 3),
        "pass": lost == 0 and acked == n and max(latencies) < DEADLINE_S and oversized == 413,
    }
    print(json.dumps(result))
    print(f"push intake: {acked}/{n} acknowledged, {rate:,.0f} pushes/s (baseline {base_rate:,.0f} req/s, "
          f"ratio {result['ratio']})")  # fmt: skip
    print(f"latency ms: p50 {result['p50_ms']}  p95 {result['p95_ms']}  p99 {result['p99_ms']}  "
          f"max {result['max_ms']} (deadline {DEADLINE_S:.0f} s)")  # fmt: skip
    print(f"receiver peak memory: {peak_mib} MiB (a 40 MiB unsigned body answered {oversized})")
    print(f"lost pushes: {lost} (must be 0): {'PASS' if result['pass'] else 'FAIL'}")
    if not result["pass"]:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
