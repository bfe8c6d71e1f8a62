"""Benchmark: tracker.ingest (events + snapshots, dedupe included) against raw sqlite3 executemany, and the
courier-phrase classifier's share of it.

Usage: python bench/ingest.py [--scale ci|full]. Prints one JSON line per stage and a ratio against a
baseline measured in the same run: the baseline inserts the same events as pre-built tuples with
`INSERT OR IGNORE` into the same migrated schema, one transaction per batch. The events' statuses come from
the courier's words (tracker/providers/evidence.py, as the parsers read them); the `classify` stage times the
classifier over every event text of the run and prints its share of the first ingest, which must stay
at or under 10%.
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
from tracker.phrases import default_phrasebook  # noqa: E402
from tracker.providers import evidence  # noqa: E402
from tracker.providers.base import ParsedWaybill  # noqa: E402
from tracker.status import TrackingStatus  # noqa: E402
from tracker.storage.db import make_engine, migrate  # noqa: E402
from tracker.storage.repo import upsert_parcels  # noqa: E402

SCALES = {"ci": (2_000, 3), "full": (20_000, 5)}  # parcels (10 events each), runs
EVENTS = 10
BATCH = 500
FLOOR = {"first": 0.08, "reingest": 0.08}  # about half the ratios measured on the 2-core box
MAX_CLASSIFY_SHARE = 0.10  # classification may cost at most 10% of the first ingest
T0 = datetime(2026, 11, 1, tzinfo=UTC)
NOW = datetime(2026, 11, 23, 4, tzinfo=UTC)
# A parcel's ten events in the couriers' words ({n} varies per parcel, so no two parcels share a text).
TEXTS = [
    "【金华市】【义乌稠城】（0579-8555{n}）的李师傅（158****{n}）已揽收",
    "【金华市】快件离开【义乌中心】已发往【成都中心】",
    "[义乌转运中心]快件在【义乌转运中心】完成分拣,准备发往 【成都双流中转场】 {n}",
    "【义乌转运中心公司】 已收入 {n}",
    "【成都市】快件已经到达【成都中心】{n}",
    "【成都市】快件离开【成都中心】已发往【成都武侯二部】",
    "【成都市】【成都武侯二部】的王师傅（137****{n}）正在第1次派件, 请保持电话畅通,并耐心等待",
    "快件已到达武侯花园菜鸟驿站，请凭取件码及时取件，如有疑问请联系137****{n}",
    "【成都市】快件派送不成功，收件人电话无人接听，待再次派送 {n}",
    "【成都市】快件已在【成都武侯二部】签收, 签收人: 本人, 如有疑问请电联:（137****{n}）, 您的快递已经妥投",
]


def _texts(n: int) -> list[list[str]]:
    return [[t.format(n=f"{i % 10_000:04d}") for t in TEXTS[:EVENTS]] for i in range(n)]


def _parsed(n: int, seed: int = 7) -> list[ParsedWaybill]:
    rng = random.Random(seed)
    book = default_phrasebook()
    generic = evidence.Code("0", TrackingStatus.in_transit, True)  # Kuaidi100 在途: the words decide
    waybills = []
    for i, texts in enumerate(_texts(n)):
        start = T0 + timedelta(minutes=rng.randrange(0, 20_000))
        readings = [
            evidence.read_event(start + timedelta(hours=6 * k), (generic,), text, "浙江,杭州市", book)
            for k, text in enumerate(texts)
        ]
        events: tuple[TrackingEvent, ...] = evidence.finish(readings, None)
        waybills.append(ParsedWaybill("kuaidi100", f"YT{i:013d}", "yuantong", "yto", events))
    return waybills


def _classify(texts: list[list[str]]) -> float:
    """Seconds the classifier takes over every event text of the run."""
    book = default_phrasebook()
    flat = [t for parcel in texts for t in parcel]
    started = time.perf_counter()
    for text in flat:
        book.classify(text)
    return time.perf_counter() - started


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
    texts = _texts(n)
    base, first, again, classify = [], [], [], []
    for _ in range(runs + 1):  # the first run is a warm-up
        path, _ = _fresh_db(parsed)
        base.append(_baseline(path, parsed))
        _, url = _fresh_db(parsed)
        a, b = _project(url, parsed)
        first.append(a)
        again.append(b)
        classify.append(_classify(texts))
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
    share = statistics.median(classify[1:]) / statistics.median(first[1:])
    passed = share <= MAX_CLASSIFY_SHARE
    ok &= passed
    line = {
        "stage": "classify", "n": n * EVENTS, "runs": runs, "median_s": round(statistics.median(classify[1:]), 4),
        "share_of_first_ingest": round(share, 3), "max_share": MAX_CLASSIFY_SHARE, "pass": passed,
    }  # fmt: skip
    print(json.dumps(line))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
