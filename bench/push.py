"""Push intake under sustained load: signed Kuaidi100 pushes against `tracker serve-push`, driven by wrk.

The receiver runs as its own process (`tracker serve-push` on a fresh SQLite file), with its writer process.
The load generator is wrk (C, from Debian: installed by this script with apt-get when missing), `-t1 -cC -dD`,
with a Lua script posting pre-signed pushes in order, each a different parcel's full history (a Python client
measured its own ceiling, not the server: spec/performance.md §2). Baseline, same run: the same server stack (uvicorn +
starlette, one process) answering a trivial endpoint that reads the same form; ratio = pushes/s over trivial
requests/s, target >= 0.5 (issue 18). Lost pushes: acknowledged pushes whose events are not all in the
database afterwards (must be 0): every push is a distinct parcel and none is sent twice, so the number of
complete parcels must be at least the number of acknowledgements. The last line is
`BENCH push <ratio> <target> <ok>` (collected by `make bench`); at full scale a missed target exits 1.

    python bench/push.py [--scale ci|full] [--concurrency C] [--seconds D]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tracker.domain import ParcelFacts  # noqa: E402
from tracker.providers.kuaidi100.sign import push_sign  # noqa: E402
from tracker.sandbox.server import free_port  # noqa: E402
from tracker.settings import load_settings  # noqa: E402
from tracker.storage import repo  # noqa: E402
from tracker.storage.db import make_engine, migrate  # noqa: E402

SCALES = {"ci": (6_000, 2), "full": (40_000, 6)}  # distinct pushes prepared, seconds of load
TARGET_RATIO = 0.5
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
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
"""
# wrk: one body per line of the file, posted in order (one thread, so the order is the file's)
WRK_LUA = """
local bodies = {}
for line in io.lines(os.getenv("PUSH_BODIES")) do bodies[#bodies + 1] = line end
local i = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
request = function()
  i = i + 1
  if i > #bodies then i = 1 end
  return wrk.format(nil, nil, nil, bodies[i])
end
"""


def waybill(i: int) -> str:
    return f"YT9{i:012d}"


def push_form(i: int, salt: str, start: datetime) -> dict[str, str]:
    """One Kuaidi100 push (form fields param + sign) with the parcel's history, newest first."""
    events = []
    for k in reversed(range(EVENTS_PER_PUSH)):
        at = (start + timedelta(hours=6 * k)).strftime("%Y-%m-%d %H:%M:%S")
        code, text = ("1", "【杭州市萧山区公司】已揽收") if k == 0 else ("0", f"【转运中心{k}】已发出")
        events.append(
            {"time": at, "ftime": at, "context": text, "location": "浙江,杭州市", "status": "在途", "statusCode": code}
        )
    param = {
        "status": "polling",
        "billstatus": "got",
        "message": "",
        "autoCheck": "0",
        "comOld": "",
        "comNew": "",
        "lastResult": {
            "message": "ok",
            "nu": waybill(i),
            "ischeck": "0",
            "condition": "F00",
            "com": "yuantong",
            "status": "200",
            "state": "0",
            "data": events,
        },
    }
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
    """A process's peak resident memory so far (Linux /proc VmHWM), MiB, plus its children's (the receiver's
    writer process): the sum of their peaks, an upper bound of their peak together."""
    total = 0.0
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    for one in [pid, *map(int, children)]:
        for line in Path(f"/proc/{one}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                total += int(line.split()[1]) / 1024
    return round(total, 1)


def ensure_wrk() -> str:
    """wrk's path; installed from Debian (apt-get) when missing."""
    found = shutil.which("wrk")
    if found:
        return found
    print("# wrk not found: apt-get install -y wrk", flush=True)
    subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=False, stdout=subprocess.DEVNULL)
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk is not installed and apt-get could not install it (apt-get install -y wrk)")
    return found


def run_wrk(wrk: str, url: str, bodies: Path, lua: Path, concurrency: int, seconds: float) -> dict[str, float]:
    """wrk's summary: requests, seconds, non-2xx answers, socket errors, max latency (s)."""
    env = {**os.environ, "PUSH_BODIES": str(bodies)}
    cmd = [wrk, "-t1", f"-c{concurrency}", f"-d{seconds}s", "--timeout", "30s", "-s", str(lua), url]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
    done = re.search(r"(\d+) requests in ([\d.]+)(m?s)", out)
    if not done:
        raise SystemExit(f"wrk printed no summary:\n{out}")
    elapsed = float(done.group(2)) / (1000 if done.group(3) == "ms" else 1)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    latency = re.search(r"Latency\s+\S+\s+\S+\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 1e-6, "ms": 1e-3, "s": 1.0}
    return {
        "requests": int(done.group(1)),
        "seconds": elapsed,
        "non2xx": int(non2xx.group(1)) if non2xx else 0,
        "socket_errors": sum(int(g) for g in errors.groups()) if errors else 0,
        "max_latency_s": float(latency.group(1)) * scale[latency.group(2)] if latency else float("nan"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", choices=SCALES, default="ci")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--seconds", type=int)
    args = parser.parse_args()
    n, seconds = SCALES[args.scale]
    seconds = args.seconds or seconds
    wrk = ensure_wrk()
    settings = load_settings(ROOT / "config")
    salt = settings.providers.kuaidi100.salt
    start = datetime(2026, 11, 20, 9, 0)

    with tempfile.TemporaryDirectory(prefix="bench-push-") as tmp:
        work = Path(tmp)
        bodies, lua = work / "bodies.txt", work / "push.lua"
        with bodies.open("w", encoding="ascii") as fh:
            for i in range(n):
                fh.write(urlencode(push_form(i, salt, start)) + "\n")
        lua.write_text(WRK_LUA)
        db = work / "push.db"
        engine = make_engine(f"sqlite:///{db}")
        migrate(engine)
        now = datetime(2026, 11, 20, tzinfo=UTC)
        parcels = [ParcelFacts(courier="yto", waybill=waybill(i)) for i in range(n)]
        for chunk in range(0, n, 10_000):
            repo.upsert_parcels(engine, parcels[chunk : chunk + 10_000], now=now)
        engine.dispose()

        # baseline: the same server stack, trivial handler
        port = free_port()
        trivial = subprocess.Popen([sys.executable, "-c", TRIVIAL_APP, str(port)])
        try:
            url = f"http://127.0.0.1:{port}/push/kuaidi100"
            wait_ready(url, trivial)
            base = run_wrk(wrk, url, bodies, lua, args.concurrency, seconds)
        finally:
            trivial.terminate()
            trivial.wait(10)

        port = free_port()
        env = {**os.environ, "TRACKER_DATABASE_URL": f"sqlite:///{db}"}
        server = subprocess.Popen(
            [sys.executable, "-m", "tracker.cli", "serve-push", "--port", str(port), "--sandbox"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            url = f"http://127.0.0.1:{port}/push/kuaidi100"
            wait_ready(url, server)
            time.sleep(0.5)
            got = run_wrk(wrk, url, bodies, lua, args.concurrency, seconds)
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

    acked = got["requests"] - got["non2xx"]
    wrapped = got["requests"] > n  # a push sent twice: the lost check would be too lenient
    lost = max(acked - complete, 0)
    rate = acked / got["seconds"]
    base_rate = (base["requests"] - base["non2xx"]) / base["seconds"]
    ratio = rate / base_rate
    passed = lost == 0 and not wrapped and got["non2xx"] == 0 and got["max_latency_s"] < DEADLINE_S
    passed = passed and oversized == 413 and ratio >= TARGET_RATIO
    result = {
        "stage": "push", "load": f"wrk -t1 -c{args.concurrency} -d{seconds}s", "acked": acked,
        "refused": got["non2xx"], "socket_errors": got["socket_errors"], "acked_per_s": round(rate, 1),
        "max_latency_ms": round(got["max_latency_s"] * 1000, 1), "lost": lost, "complete_parcels": complete,
        "wrapped": wrapped, "peak_rss_mib": peak_mib, "oversized_40mib_status": oversized,
        "baseline": "same uvicorn+starlette stack, trivial handler", "baseline_per_s": round(base_rate, 1),
        "ratio": round(ratio, 3), "target": TARGET_RATIO, "pass": passed,
    }  # fmt: skip
    print(json.dumps(result))
    print(
        f"push intake: {acked} acknowledged, {rate:,.0f} pushes/s (baseline {base_rate:,.0f} req/s, ratio {ratio:.3f})"
    )
    print(
        f"max latency {result['max_latency_ms']} ms (deadline {DEADLINE_S:.0f} s); receiver + writer peak "
        f"{peak_mib} MiB (a 40 MiB unsigned body answered {oversized})"
    )
    print(f"lost pushes: {lost} (must be 0); {complete} parcels complete in the database")
    print(f"BENCH push {ratio:.3f} {TARGET_RATIO} {'ok' if passed else 'MISS'}")
    if args.scale == "full" and not passed:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
