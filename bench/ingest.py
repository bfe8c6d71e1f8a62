"""Benchmark: tracker.ingest (events + snapshots, dedupe included) against raw sqlite3 executemany.

Usage: python bench/ingest.py [--scale ci|full]. Prints one JSON line per stage and a ratio against a
baseline measured in the same run (spec/performance.md §3, §7): the baseline inserts the same events as
pre-built tuples with `INSERT OR IGNORE` into the same migrated schema, one transaction per batch.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tracker.domain import ParcelFacts, TrackingEvent  # noqa: E402
from tracker.ingest import ingest  # noqa: E402
from tracker.providers.base import ParsedWaybill  # noqa: E402
from tracker.status import TrackingStatus  # noqa: E402
from tracker.storage.db import make_engine, migrate  # noqa: E402
from tracker.storage.repo import upsert_parcels  # noqa: E402

SCALES = {"ci": (2_000, 3), "full": (20_000, 5)}  # parcels (10 events each), runs
EVENTS = 10
BATCH = 500
FLOOR = {"first": 0.08, "reingest": 0.08}  # about half the ratios measured on the 2-core box
T0 = datetime(2026, 11, 1, tzinfo=UTC)
NOW = datetime(2026, 11, 23, 4, tzinfo=UTC)
STATUSES = [TrackingStatus.picked_up, TrackingStatus.in_transit, TrackingStatus.out_for_delivery]


def _parsed(n: int, seed: int = 7) -> list[ParsedWaybill]:
    rng = random.Random(seed)
    waybills = []
    for i in range(n):
        start = T0 + timedelta(minutes=rng.randrange(0, 20_000))
        events = tuple(
            TrackingEvent(
                start + timedelta(hours=6 * k),
                STATUSES[min(k, 2)],
                "0",
                f"【杭州转运中心】快件已发往【成都转运中心】第{k}站",
                "浙江,杭州市",
            )
            for k in range(EVENTS)
        )
        waybills.append(ParsedWaybill("kuaidi100", f"YT{i:013d}", "yuantong", "yto", events))
    return waybills


def _fresh_db(parsed: list[ParsedWaybill]) -> tuple[str, str]:
    folder = tempfile.mkdtemp(prefix="bench_ingest_")
    path = f"{folder}/t.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    upsert_parcels(engine, [ParcelFacts(courier="yto", waybill=w.waybill) for w in parsed], now=T0)
    engine.dispose()
    return path, f"sqlite:///{path}"


def _baseline(path: str, parsed: list[ParsedWaybill]) -> float:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    ids = dict(conn.execute("SELECT waybill, id FROM parcel"))
    now = NOW.strftime("%Y-%m-%d %H:%M:%S.%f")
    rows = [
        (ids[w.waybill], e.time.strftime("%Y-%m-%d %H:%M:%S.%f"), str(e.status), e.raw_code, e.text,
         hashlib.sha1(e.text.encode()).hexdigest()[:16], e.location, "kuaidi100", now)
        for w in parsed for e in w.events
    ]  # fmt: skip
    sql = (
        "INSERT OR IGNORE INTO tracking_event (parcel_id, event_time, status, raw_code, text, text_hash,"
        " location, source, ingested_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
    )
    started = time.perf_counter()
    step = BATCH * EVENTS
    for i in range(0, len(rows), step):
        with conn:
            conn.executemany(sql, rows[i : i + step])
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed


def _project(url: str, parsed: list[ParsedWaybill]) -> tuple[float, float]:
    engine = make_engine(url)
    started = time.perf_counter()
    first = ingest(engine, parsed, now=NOW, source="bench", batch_size=BATCH)
    middle = time.perf_counter()
    again = ingest(engine, parsed, now=NOW, source="bench", batch_size=BATCH)
    done = time.perf_counter()
    engine.dispose()
    assert first.new_events == len(parsed) * EVENTS and again.new_events == 0
    return middle - started, done - middle


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", choices=sorted(SCALES), default="ci")
    args = parser.parse_args()
    n, runs = SCALES[args.scale]
    parsed = _parsed(n)
    base, first, again = [], [], []
    for _ in range(runs + 1):  # the first run is a warm-up
        path, _ = _fresh_db(parsed)
        base.append(_baseline(path, parsed))
        _, url = _fresh_db(parsed)
        a, b = _project(url, parsed)
        first.append(a)
        again.append(b)
    base_median = statistics.median(base[1:])
    ok = True
    for stage, times in (("first", first[1:]), ("reingest", again[1:])):
        median = statistics.median(times)
        ratio = base_median / median
        passed = ratio >= FLOOR[stage]
        ok &= passed
        line = {
            "stage": f"ingest.{stage}", "n": n * EVENTS, "runs": runs, "median_s": round(median, 4),
            "baseline_median_s": round(base_median, 4), "ratio": round(ratio, 3), "floor": FLOOR[stage],
            "pass": passed, "events_per_s": round(n * EVENTS / median),
        }  # fmt: skip
        print(json.dumps(line))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
