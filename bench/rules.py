"""Rule evaluation at scale: evaluate_all over 1,000,000 parcels (100,000 with --scale ci), on SQLite
or PostgreSQL.

Builds the parcel table with sqlite3 executemany or PostgreSQL COPY (the mix of spec/performance.md §4:
30% open, open parcels' last event ~ Exp(mean 30 h), closed ones uniform over 60 days, 12 couriers with
skewed shares; plus unscanned, exception statuses and texts, unshipped orders and return cases; open
parcels have a next poll time within 6 h, as the poller leaves them; courier texts name hubs, outlets
and couriers, about one in ten unique), then times, in one run and on the same database:

  baseline   every parcel read once: the stale parcels counted without an index (SCAN_SQL; serial on
             PostgreSQL), which must equal their count in ix_parcel_open_last_event (printed too)
  first      evaluate_all(full=True) on an empty flag table (opens every flag); median of --first-runs
             after one untimed warm-up, each on the database as built (SQLite: a fresh copy of the file;
             PostgreSQL: flag table and audit log emptied and rewritten, then a CHECKPOINT)
  steady     evaluate_all again, a minute later each time, after --moved open parcels got a new event
             (default 3,000 at 1M: a million open parcels polled every 6 hours is 2,800 a minute); what
             the poller pays per cycle: a delta, the marked parcels and the crossed thresholds
             (tracker/flags/marks.py)

and prints seconds and the ratio to the baseline, the query plans of the time rules (and of the text
scan), and checks that the stale flags equal the stale count and that a full evaluation after the last
steady one changes nothing (correctness before speed). Exit 1 when
the full evaluation misses its budget (2 s at 1M; scaled for ci) or, on SQLite, a plan loses its index.
A line `BENCH rules.<db>.open<N>.first|steady <ratio> <target> <ok|MISS>` per evaluation (collected by
`make bench`) holds them to issue 18's targets (TARGET_RATIO), which do not change the exit status.

    python bench/rules.py --scale ci|full [--runs N] [--keep PATH] [--open-share 0.3]
    python bench/rules.py --db postgresql [--url postgresql+psycopg://user@host/db] ...

PostgreSQL: without --url a throwaway cluster is started (initdb/pg_ctl, as the tests do; default
settings but shared_buffers=1GB, fsync on) and removed afterwards. With --url the bench creates its own
database on that server and drops it afterwards. After loading: VACUUM ANALYZE, as autovacuum would.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import Engine, bindparam, func, select, text, true  # noqa: E402

from tracker.flags import candidates, evaluate_all, queries, rulesql  # noqa: E402
from tracker.flags.text_hits import PATTERNS_KEY  # noqa: E402
from tracker.runtime import tune_gc  # noqa: E402
from tracker.settings import load_settings  # noqa: E402
from tracker.status import FINAL_STATUSES  # noqa: E402
from tracker.storage import rollups  # noqa: E402
from tracker.storage.db import make_engine, migrate  # noqa: E402
from tracker.storage.pgcluster import ClusterUnavailable, PgCluster, scratch_database  # noqa: E402
from tracker.storage.repo import PARCEL  # noqa: E402
from tracker.storage.rows import OPEN_TEXT_INDEX_BYTES  # noqa: E402
from tracker.storage.tables import TEXT_HIT  # noqa: E402

NOW = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)
FMT = "%Y-%m-%d %H:%M:%S.%f"
COURIERS = [
    ("zto", 24),
    ("yto", 18),
    ("yunda", 14),
    ("sto", 10),
    ("sf", 9),
    ("jt", 8),
    ("jd", 5),
    ("ems", 4),
    ("debang", 3),
    ("best", 2),
    ("youzheng", 2),
    ("zjs", 1),
]
TEXTS = [
    "【{city}转运中心】已发出,下一站【{city2}转运中心】",
    "【{city}】快件已到达【{city}{site}号营业部】",
    "【{city}】快递员{staff}号正在派送中,联系电话1{phone:010d}",
    "【{city}转运中心】已收入",
]
CITIES = [
    "杭州",
    "上海",
    "广州",
    "深圳",
    "北京",
    "成都",
    "武汉",
    "南京",
    "苏州",
    "西安",
    "重庆",
    "天津",
    "长沙",
    "郑州",
    "东莞",
    "青岛",
    "沈阳",
    "宁波",
    "昆明",
    "合肥",
    "福州",
    "厦门",
    "济南",
    "温州",
]
ODD_TEXTS = ["【拉萨市】快件超区,无法派送", "收件人拒收,快件退回中", "网点暂停营业,快件滞留", "收件地址不详"]
PROVINCES = [
    ("浙江省", "杭州市"),
    ("上海市", "上海市"),
    ("广东省", "广州市"),
    ("西藏自治区", "拉萨市"),
    ("四川省", "成都市"),
]
BUDGET_S = {"full": 2.0, "ci": 0.5}
# issue 18's next targets, all parcels open at 1M: first evaluation <= 1.5 s, steady <= 0.75 s, as ratios to the
# baseline, which reads every parcel (SCAN_SQL): it took 164-169 ms on SQLite and 183 ms on PostgreSQL here
# (2026-12-07, load average under 1), so the seconds are 9.0x and 4.5x of SQLite's and 8.2x and 4.1x of
# PostgreSQL's. The `BENCH rules.<db>.open<N>.first|steady` lines make bench collects hold the ratios for
# --open-share 1.0. (Until 2026-12-07 the baseline was the indexed count, 5-10 ms, whose swing from run to run,
# the evaluations' seconds unchanged, flipped the verdicts: the bench prints it still, for the record.)
TARGET_RATIO = {"sqlite": {"first": 9.0, "steady": 4.5}, "postgresql": {"first": 8.2, "steady": 4.1}}
# the baseline: every parcel read once, the stale ones counted without an index (the same count as the indexed one,
# checked), serial on PostgreSQL as the evaluation's statements run
SCAN_SQL = {
    "sqlite": "SELECT count(*) FROM parcel NOT INDEXED WHERE is_open = 1 AND last_event_at <= :cut",
    "postgresql": "SELECT count(*) FROM parcel WHERE is_open AND last_event_at <= :cut",
}
SCAN_SETTINGS = {
    "postgresql": (
        "SET LOCAL enable_indexscan = off",
        "SET LOCAL enable_indexonlyscan = off",
        "SET LOCAL enable_bitmapscan = off",
        "SET LOCAL max_parallel_workers_per_gather = 0",
    )
}


def _t(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).strftime(FMT)


COLUMNS = ("courier", "waybill", "direction", "order_id", "buyer_id", "province", "city", "paid_at",
           "shipped_at", "return_agreed_at", "refund_deadline", "refund_express", "status", "status_text",
           "first_scan_at", "last_event_at", "is_open", "next_poll_at", "currency", "freight_insured",
           "created_at", "updated_at")  # fmt: skip


def _courier_text(template: str, rng: random.Random) -> str:
    """A courier text from a template: hubs, outlets and couriers repeat; one in ten is unique."""
    staff = rng.randrange(5000)
    text_ = template.format(
        city=CITIES[staff % len(CITIES)],
        city2=rng.choice(CITIES),
        site=rng.randrange(200),
        staff=staff,
        phone=staff * 7919,
    )
    return text_ + (f",查询请致电1{rng.randrange(10**10):010d}" if rng.random() < 0.1 else "")


def rows(n: int, seed: int = 7, open_share: float = 0.30) -> Iterator[tuple[Any, ...]]:
    """The parcel rows (COLUMNS), times as UTC text."""
    rng = random.Random(seed)
    extra = random.Random(seed + 1)  # next poll times and text details: the other columns stay as they were
    names = [c for c, _ in COURIERS]
    weights = [w for _, w in COURIERS]
    created = _t(NOW - timedelta(days=61))
    for i in range(n):
        courier = rng.choices(names, weights)[0]
        province, city = rng.choice(PROVINCES)
        is_open = rng.random() < open_share
        is_return = rng.random() < 0.05
        paid = shipped = agreed = deadline = first = last = None
        express = None
        status, status_text = "delivered", "已签收,签收人:本人"
        if is_open:
            age = timedelta(hours=rng.expovariate(1 / 30))
            roll = rng.random()
            if roll < 0.05:  # shipped, never scanned
                shipped, status, status_text = NOW - age, "pending", None
            elif roll < 0.06:  # paid, not shipped yet
                paid, status, status_text = NOW - age, "pending", None
            else:
                last = NOW - age
                first = last - timedelta(hours=rng.uniform(1, 48))
                status, status_text = "in_transit", _courier_text(rng.choice(TEXTS), extra)
                if roll > 0.99:
                    status_text = rng.choice(ODD_TEXTS)
                elif roll > 0.985:
                    status = rng.choice(["out_of_area", "refused", "returning", "stranded"])
        else:
            last = NOW - timedelta(days=rng.uniform(0, 60))
            first = last - timedelta(hours=rng.uniform(24, 72))
            if rng.random() < 0.02:
                status, status_text = "returned", "已退回寄件人"
        if not is_return:
            shipped = shipped or (first - timedelta(hours=rng.uniform(2, 20)) if first else None)
            paid = paid or (shipped - timedelta(hours=rng.uniform(1, 40)) if shipped else None)
            if not is_open and rng.random() < 0.01:
                agreed = last + timedelta(days=rng.uniform(0, 3))
                deadline, express = agreed + timedelta(days=10), rng.random() < 0.3
        else:
            agreed = (last or NOW) - timedelta(days=rng.uniform(0, 5))
            deadline, express = agreed + timedelta(days=10), rng.random() < 0.3
        waybill = ("KA" if is_return and rng.random() < 0.01 else "W") + f"{i:012d}"
        next_poll = NOW + timedelta(minutes=extra.uniform(-10, 360)) if is_open else None
        yield (
            courier, waybill, "return" if is_return else "outbound", f"O{i}", f"tb_{rng.randrange(n)}",
            province, city, _t(paid), _t(shipped), _t(agreed), _t(deadline), express, status, status_text,
            _t(first), _t(last), is_open, _t(next_poll), "CNY", False, created, created,
        )  # fmt: skip


# each return parcel's buyer, as the importer records it (what return_waybill_shared counts)
RETURN_BUYERS = (
    "INSERT INTO return_buyer (parcel_id, buyer_id, waybill, order_id, first_seen_at) "
    "SELECT id, buyer_id, waybill, order_id, created_at FROM parcel WHERE direction = 'return'"
)


def build(url: str, n: int, seed: int = 7, open_share: float = 0.30) -> None:
    """The parcel table, written straight with sqlite3 or COPY (not the timed part)."""
    engine = make_engine(url)
    migrate(engine)
    engine.dispose()
    data = rows(n, seed, open_share)
    if url.startswith("sqlite"):
        sql = f"INSERT INTO parcel ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
        con = sqlite3.connect(url.removeprefix("sqlite:///"))
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=OFF")
        batch = []
        for row in data:
            batch.append(row)
            if len(batch) == 20_000:
                con.executemany(sql, batch)
                batch.clear()
        con.executemany(sql, batch)
        con.execute(RETURN_BUYERS)
        con.commit()
        con.close()
        return
    import psycopg

    times = {COLUMNS.index(c) for c in COLUMNS if c.endswith("_at") or c in ("refund_deadline",)}
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as pg:
        # FREEZE (the table emptied in the same transaction): every page all-visible when the load commits,
        # whatever autovacuum was doing meanwhile (a VACUUM racing it left a third of the pages to the heap)
        pg.execute("TRUNCATE parcel CASCADE")
        with pg.cursor().copy(f"COPY parcel ({', '.join(COLUMNS)}) FROM STDIN WITH (FREEZE)") as copy:
            for row in data:
                copy.write_row([f"{v}+00" if i in times and v is not None else v for i, v in enumerate(row)])
        pg.execute(RETURN_BUYERS)
        pg.commit()
        pg.autocommit = True
        pg.execute("VACUUM ANALYZE parcel")
        pg.execute("VACUUM ANALYZE return_buyer")
        pg.execute("CHECKPOINT")  # at rest, as os.sync() leaves the SQLite file


def explainable(stmt, engine) -> str:  # type: ignore[no-untyped-def]
    """The statement's SQL with its parameters written in (for EXPLAIN)."""
    return str(stmt.compile(engine, compile_kwargs={"literal_binds": True}))


def plans(engine: Engine, settings: Any) -> dict[str, str]:
    """The query plans of the stale and no_first_scan rule SELECTs and of the text scan of the status
    rules (what evaluate_all runs); SQLite EXPLAIN QUERY PLAN, PostgreSQL EXPLAIN."""
    ctx = rulesql.Context(now=NOW, config=settings.rules)
    sqlite_ = engine.dialect.name == "sqlite"
    explain = "EXPLAIN QUERY PLAN" if sqlite_ else "EXPLAIN (COSTS OFF)"
    # the text scan as evaluate_all runs it: every open text once per distinct text (a first evaluation, or
    # new patterns), and the steady one's reading of the hits it kept
    # (SQLite: the distinct texts, matched in Python)
    if sqlite_:
        full_scan = candidates.open_text_pairs()
    else:
        full_scan = candidates.text_hits_all(ctx, indexed_text_bytes=OPEN_TEXT_INDEX_BYTES)[0]
    kept = candidates.status_candidates(ctx, hits=TEXT_HIT)[1]
    out = {}
    with engine.connect() as conn:
        if not sqlite_:  # the evaluation runs these as INSERT ... SELECT, which PostgreSQL never plans in parallel
            conn.execute(text("SET max_parallel_workers_per_gather = 0"))
        for name, stmt in (
            ("stale", next(queries.stale(ctx))),
            ("no_first_scan", next(queries.no_first_scan(ctx))),
            ("status text", full_scan),
            ("kept text hits", kept),
        ):
            rows_ = conn.exec_driver_sql(f"{explain} {explainable(stmt, engine)}").all()
            out[name] = " | ".join(str(r[-1]).strip() for r in rows_)
    return out


def timed(fn, runs: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    fn()  # warm-up
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples), min(samples)


@contextmanager
def postgres(url: str | None) -> Iterator[str]:
    """A fresh database for the bench: on the server of `url`, or on a throwaway cluster."""
    if url:
        with scratch_database(url, "bench_rules") as db_url:
            yield db_url
        return
    try:
        cluster = PgCluster(dbname="bench_rules", settings=("shared_buffers=1GB",)).start()
    except ClusterUnavailable as exc:
        raise SystemExit(f"{exc}, or pass --url") from None
    try:
        yield cluster.url
    finally:
        cluster.stop()


def reset_flags(engine: Engine, pristine: Path | None = None) -> Engine:
    """Back to the database as built, for another first evaluation: SQLite, the file copied aside
    after the build; PostgreSQL, the flag table and audit log emptied and rewritten (VACUUM FULL)."""
    if pristine is not None:
        engine.dispose()
        path = Path(str(engine.url.database))
        for suffix in ("-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        shutil.copyfile(pristine, path)
        os.sync()  # a database at rest: the copy's writeback does not compete with the timed run
        return make_engine(str(engine.url))
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log"))
        conn.execute(text("DELETE FROM flag"))
        # the text scan's kept state as built (no fingerprint: the evaluation reads every text again)
        conn.execute(text(f"DELETE FROM rollup_state WHERE name = '{PATTERNS_KEY}'"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM FULL ANALYZE flag, audit_log"))
        # a database at rest, as for SQLite: the last run's writes are flushed before the next one
        conn.execute(text("CHECKPOINT"))
    return engine


def move(engine: Engine, rng: random.Random, n: int, k: int, at: datetime) -> None:
    """k open parcels (of ids 1..n) get a new event at `at` minus up to an hour, as a poll cycle's ingest
    writes it: the snapshot, and the rules' marks (SQLite; PostgreSQL: triggers)."""
    rows = [
        {"pid": pid, "at": at - timedelta(minutes=rng.randrange(60)), "text": f"【{rng.choice(CITIES)}】已发出"}
        for pid in rng.sample(range(1, n + 1), k)
    ]
    if rows:
        stmt = (
            PARCEL.update()
            .where(PARCEL.c.id == bindparam("pid"), PARCEL.c.is_open == true())
            .values(last_event_at=bindparam("at"), status="in_transit", status_text=bindparam("text"))
        )
        with engine.begin() as conn:
            conn.execute(stmt, rows)
            rollups.mark_parcels(conn, [row["pid"] for row in rows])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", choices=["ci", "full"], default="ci")
    parser.add_argument("--runs", type=int, default=0, help="timed steady repetitions (default 5 full, 3 ci)")
    parser.add_argument(
        "--first-runs",
        type=int,
        default=0,
        help="first evaluations, each on an emptied flag table (default 5 full, 1 ci)",
    )
    parser.add_argument("--keep", type=Path, help="SQLite: build the database here and keep it")
    parser.add_argument(
        "--open-share", type=float, default=0.30, help="share of open parcels (0.30: performance.md §4; 1.0: all open)"
    )
    parser.add_argument("--moved", type=int, help="open parcels with a new event before each steady run")
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--url", help="PostgreSQL server URL (the bench creates and drops its own database)")
    args = parser.parse_args()
    tune_gc()  # the collector as `tracker evaluate` runs it (tracker/runtime.py)
    if args.db == "postgresql":
        with postgres(args.url) as url:
            return bench(args, url)
    tmp = None if args.keep else Path(tempfile.mkdtemp(prefix="bench-rules-"))
    path = args.keep or tmp / "rules.db"  # type: ignore[operator]
    try:
        return bench(args, f"sqlite:///{path}")
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


def bench(args: argparse.Namespace, url: str) -> int:
    n = 1_000_000 if args.scale == "full" else 100_000
    runs = args.runs or (5 if args.scale == "full" else 3)
    first_runs = args.first_runs or (5 if args.scale == "full" else 1)
    moved = args.moved if args.moved is not None else n * 3 // 1000
    os.environ["TRACKER_DATABASE_URL"] = url
    settings = load_settings(ROOT / "config")
    started = time.perf_counter()
    build(url, n, open_share=args.open_share)
    build_s = time.perf_counter() - started
    pristine = None
    if url.startswith("sqlite"):
        pristine = Path(url.removeprefix("sqlite:///") + ".pristine")
        shutil.copyfile(url.removeprefix("sqlite:///"), pristine)
    os.sync()  # the build's writeback neither
    engine = make_engine(url)
    cut = NOW - timedelta(hours=settings.rules.stale.warn_hours)
    stale_sql = select(func.count()).where(PARCEL.c.is_open == true(), PARCEL.c.last_event_at <= cut)

    scan_cut = _t(cut) if engine.dialect.name == "sqlite" else cut  # SQLite compares the stored text

    def indexed_count() -> int:
        with engine.connect() as conn:
            return conn.execute(stale_sql).scalar_one()

    def scanned() -> int:
        with engine.connect() as conn, conn.begin():
            for setting in SCAN_SETTINGS.get(engine.dialect.name, ()):
                conn.exec_driver_sql(setting)
            return conn.execute(text(SCAN_SQL[engine.dialect.name]), {"cut": scan_cut}).scalar_one()

    count_med, _ = timed(indexed_count, runs)
    base_med, _ = timed(scanned, runs)
    stale_count = indexed_count()
    assert scanned() == stale_count, "the full scan and the indexed count disagree"
    scanned_stale = stale_sql.where(PARCEL.c.status.not_in(sorted(str(s) for s in FINAL_STATUSES)))
    tick = iter(range(1, 10_000))
    firsts, steadies = [], []
    # one untimed warm-up, as for every timing here: the caches, the statements compiled once per process,
    # and on a fresh PostgreSQL cluster the WAL segments it creates the first time (later runs recycle them)
    evaluate_all(engine, now=NOW, settings=settings, full=True)
    rng = random.Random(7)
    for _ in range(first_runs):
        engine = reset_flags(engine, pristine)
        with engine.connect() as conn:  # what this first evaluation flags (PostgreSQL keeps the moved parcels)
            stale_expected = conn.execute(scanned_stale).scalar_one()
        start = time.perf_counter()
        first = evaluate_all(engine, now=NOW, settings=settings, full=True)
        firsts.append(time.perf_counter() - start)
        for _ in range(runs if len(firsts) == first_runs else 1):
            at = NOW + timedelta(minutes=next(tick))
            move(engine, rng, n, moved, at)
            start = time.perf_counter()
            steady = evaluate_all(engine, now=at, settings=settings)
            steadies.append(time.perf_counter() - start)
    after = evaluate_all(engine, now=at, settings=settings, full=True)
    first_s, steady_med, steady_min = statistics.median(firsts), statistics.median(steadies), min(steadies)
    plan = plans(engine, settings)
    budget = BUDGET_S[args.scale]
    engine.dispose()
    if pristine is not None:
        pristine.unlink()
    checks = {
        "stale flags == stale parcels": first.opened["stale"] == stale_expected,
        "steady runs were deltas": steady.mode == "delta",
        "a full evaluation after the steady ones changes nothing": after.changes == 0,
    }
    if args.db == "sqlite":
        checks |= {
            "stale plan uses ix_parcel_open_last_event": "ix_parcel_open_last_event" in plan["stale"],
            "no_first_scan plan uses ix_parcel_open_no_scan": "ix_parcel_open_no_scan" in plan["no_first_scan"],
            "text scan uses ix_parcel_open_text": "ix_parcel_open_text" in plan["status text"],
            "kept text hits read by key": "SCAN parcel " not in plan["kept text hits"] + " ",
        }
    else:
        checks |= {
            "stale plan uses ix_parcel_open_last_event": "ix_parcel_open_last_event" in plan["stale"],
            "text scan uses ix_parcel_open_short_text": "ix_parcel_open_short_text" in plan["status text"],
            "kept text hits read by key": "Seq Scan on parcel" not in plan["kept text hits"],
        }
    checks |= {
        f"first evaluation <= {budget} s (median)": first_s <= budget,
        f"steady evaluation <= {budget} s (median)": steady_med <= budget,
    }
    result = {
        "stage": "rules", "db": args.db, "scale": args.scale, "n": n, "open_share": args.open_share,
        "runs": runs, "first_runs": first_runs, "build_s": round(build_s, 2),
        "median_s": round(steady_med, 3), "min_s": round(steady_min, 3),
        "baseline_median_s": round(base_med, 5), "ratio": round(steady_med / base_med, 1), "budget_s": budget,
        "stale_parcels": stale_count, "flags_opened": sum(first.opened.values()),
        "baseline_count_median_s": round(count_med, 5), "first_evaluation_s": round(first_s, 3),
        "first_samples_s": [round(x, 3) for x in firsts],
        "steady_median_s": round(steady_med, 3), "steady_min_s": round(steady_min, 3),
        "steady_samples_s": [round(x, 3) for x in steadies],
        "ratio_first": round(first_s / base_med, 1), "ratio_steady": round(steady_med / base_med, 1),
        "moved_per_steady": moved, "steady_parcels_read": steady.parcels,
        "pass": all(checks.values()),
    }  # fmt: skip
    print(json.dumps(result))
    print(
        f"\n{n:,} parcels ({args.scale}, {args.db}, {args.open_share:.0%} open), built in {build_s:.1f} s; "
        f"{stale_count:,} stale (indexed count)"
    )
    print(f"  baseline  every parcel read: COUNT(*) of stale ones, no index {base_med * 1000:8.1f} ms")
    print(f"  (record)  the same COUNT(*) in ix_parcel_open_last_event      {count_med * 1000:8.1f} ms")
    opened = f"{sum(first.opened.values()):,} flags opened"
    print(
        f"  first     evaluate_all, {opened:<28} {first_s * 1000:8.1f} ms   ratio {first_s / base_med:,.0f}x"
        f"   (median of {first_runs})"
    )
    read = f"{moved:,} moved, {steady.parcels or 0:,} read"
    print(
        f"  steady    evaluate_all, {read:<28} {steady_med * 1000:8.1f} ms"
        f"   ratio {steady_med / base_med:,.0f}x   (median of {len(steadies)})"
    )
    for name, detail in plan.items():
        print(f"  plan {name}: {detail}")
    for name, ok in checks.items():
        print(f"  [{'ok' if ok else 'FAIL'}] {name}")
    print("  last first run's steps: " + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in first.steps.items()))
    print("  last steady run's steps: " + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in steady.steps.items()))
    print("  opened by kind: " + ", ".join(f"{k} {v:,}" for k, v in sorted(first.opened.items())))
    share = f"open{round(args.open_share * 100)}"
    for name, seconds in (("first", first_s), ("steady", steady_med)):
        ratio, target = seconds / base_med, TARGET_RATIO[args.db][name]
        print(f"BENCH rules.{args.db}.{share}.{name} {ratio:.1f} {target:g} {'ok' if ratio <= target else 'MISS'}")
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
