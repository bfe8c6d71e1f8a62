"""Rule evaluation at scale: evaluate_all over 1,000,000 parcels (100,000 with --scale ci) on SQLite.

Builds the parcel table with sqlite3 executemany (the mix of spec/performance.md §4: 30% open, open
parcels' last event ~ Exp(mean 30 h), closed ones uniform over 60 days, 12 couriers with skewed shares;
plus unscanned, exception statuses and texts, unshipped orders and return cases), then times, in one
run and on the same file:

  baseline   the indexed `SELECT COUNT(*)` of stale parcels (partial index ix_parcel_open_last_event)
  first      evaluate_all on an empty flag table (opens every flag)
  steady     evaluate_all again an hour later (what the poller pays per cycle)

and prints seconds and the ratio to the baseline, the EXPLAIN QUERY PLAN of the time rules, and
checks that the stale flags equal the stale count (correctness before speed). Exit 1 when the full
evaluation misses its budget (2 s at 1M; scaled for ci) or a plan loses its index.

    python bench/rules.py --scale ci|full [--runs N] [--keep PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

from tracker.flags import evaluate_all, queries  # noqa: E402
from tracker.settings import load_settings  # noqa: E402
from tracker.storage.db import make_engine, migrate  # noqa: E402

NOW = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)
FMT = "%Y-%m-%d %H:%M:%S.%f"
COURIERS = [("zto", 24), ("yto", 18), ("yunda", 14), ("sto", 10), ("sf", 9), ("jt", 8), ("jd", 5),
            ("ems", 4), ("debang", 3), ("best", 2), ("youzheng", 2), ("zjs", 1)]  # fmt: skip
TEXTS = ["【杭州转运中心】已发出,下一站【上海转运中心】", "【上海市】快件已到达【浦东新区网点】",
         "【上海市】快递员正在派送中", "【广州转运中心】已收入"]  # fmt: skip
ODD_TEXTS = ["【拉萨市】快件超区,无法派送", "收件人拒收,快件退回中", "网点暂停营业,快件滞留", "收件地址不详"]
PROVINCES = [("浙江省", "杭州市"), ("上海市", "上海市"), ("广东省", "广州市"), ("西藏自治区", "拉萨市"),
             ("四川省", "成都市")]  # fmt: skip
BUDGET_S = {"full": 2.0, "ci": 0.5}


def _t(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).strftime(FMT)


def build(path: Path, n: int, seed: int = 7, open_share: float = 0.30) -> None:
    """The parcel table, written straight with sqlite3 (not the timed part)."""
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    engine.dispose()
    rng = random.Random(seed)
    names = [c for c, _ in COURIERS]
    weights = [w for _, w in COURIERS]
    columns = ("courier", "waybill", "direction", "order_id", "buyer_id", "province", "city", "paid_at",
               "shipped_at", "return_agreed_at", "refund_deadline", "refund_express", "status", "status_text",
               "first_scan_at", "last_event_at", "is_open", "currency", "freight_insured", "created_at",
               "updated_at")  # fmt: skip
    sql = f"INSERT INTO parcel ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=OFF")
    created = _t(NOW - timedelta(days=61))
    batch = []
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
                status, status_text = "in_transit", rng.choice(TEXTS)
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
        batch.append((
            courier, waybill, "return" if is_return else "outbound", f"O{i}", f"tb_{rng.randrange(n)}",
            province, city, _t(paid), _t(shipped), _t(agreed), _t(deadline), express, status, status_text,
            _t(first), _t(last), is_open, "CNY", False, created, created,
        ))  # fmt: skip
        if len(batch) == 20_000:
            con.executemany(sql, batch)
            batch.clear()
    con.executemany(sql, batch)
    con.commit()
    con.close()


def explainable(stmt, engine) -> str:  # type: ignore[no-untyped-def]
    """The statement's SQL with its parameters written in (for EXPLAIN QUERY PLAN)."""
    return str(stmt.compile(engine, compile_kwargs={"literal_binds": True}))


def plans(engine, settings) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """EXPLAIN QUERY PLAN of the stale and no_first_scan rule SELECTs (what evaluate_all runs)."""
    ctx = queries.Context(now=NOW, config=settings.rules)
    out = {}
    with engine.connect() as conn:
        for name, stmt in (
            ("stale", next(queries.stale(ctx))),
            ("no_first_scan", next(queries.no_first_scan(ctx))),
        ):
            rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {explainable(stmt, engine)}").all()
            out[name] = " | ".join(str(r[-1]) for r in rows)
    return out


def timed(fn, runs: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    fn()  # warm-up
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples), min(samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", choices=["ci", "full"], default="ci")
    parser.add_argument("--runs", type=int, default=0, help="timed repetitions (default 5 full, 3 ci)")
    parser.add_argument("--keep", type=Path, help="build the database here and keep it")
    parser.add_argument("--open-share", type=float, default=0.30,
                        help="share of open parcels (0.30: performance.md §4; 1.0: all open)")  # fmt: skip
    args = parser.parse_args()
    n = 1_000_000 if args.scale == "full" else 100_000
    runs = args.runs or (5 if args.scale == "full" else 3)
    tmp = None if args.keep else Path(tempfile.mkdtemp(prefix="bench-rules-"))
    path = args.keep or tmp / "rules.db"  # type: ignore[operator]
    os.environ.setdefault("TRACKER_DATABASE_URL", f"sqlite:///{path}")
    settings = load_settings(ROOT / "config")
    started = time.perf_counter()
    build(path, n, open_share=args.open_share)
    build_s = time.perf_counter() - started
    engine = make_engine(f"sqlite:///{path}")
    cut = _t(NOW - timedelta(hours=settings.rules.stale.warn_hours))
    count_sql = text("SELECT COUNT(*) FROM parcel WHERE is_open = 1 AND last_event_at <= :cut")

    def baseline() -> int:
        with engine.connect() as conn:
            return conn.execute(count_sql, {"cut": cut}).scalar_one()

    base_med, _ = timed(baseline, runs)
    stale_count = baseline()
    start = time.perf_counter()
    first = evaluate_all(engine, now=NOW, settings=settings)
    first_s = time.perf_counter() - start
    tick = iter(range(1, 10_000))
    steady_med, steady_min = timed(
        lambda: evaluate_all(engine, now=NOW + timedelta(minutes=next(tick)), settings=settings), runs
    )
    with engine.connect() as conn:
        stale_expected = conn.execute(
            text(
                "SELECT COUNT(*) FROM parcel WHERE is_open = 1 AND last_event_at <= :cut "
                "AND status NOT IN ('delivered', 'returned', 'cancelled', 'lost')"
            ),  # fmt: skip
            {"cut": cut},
        ).scalar_one()
    plan = plans(engine, settings)
    budget = BUDGET_S[args.scale]
    engine.dispose()
    checks = {
        "stale plan uses ix_parcel_open_last_event": "ix_parcel_open_last_event" in plan["stale"],
        "no_first_scan plan uses ix_parcel_open_no_scan": "ix_parcel_open_no_scan" in plan["no_first_scan"],
        "stale flags == stale parcels": first.opened["stale"] == stale_expected,
        f"first evaluation <= {budget} s": first_s <= budget,
        f"steady evaluation <= {budget} s": steady_med <= budget,
    }
    result = {
        "stage": "rules", "scale": args.scale, "n": n, "runs": runs, "build_s": round(build_s, 2),
        "median_s": round(steady_med, 3), "min_s": round(steady_min, 3),
        "baseline_median_s": round(base_med, 5), "ratio": round(steady_med / base_med, 1), "budget_s": budget,
        "stale_parcels": stale_count, "flags_opened": sum(first.opened.values()),
        "baseline_count_median_s": round(base_med, 5), "first_evaluation_s": round(first_s, 3),
        "steady_median_s": round(steady_med, 3), "steady_min_s": round(steady_min, 3),
        "ratio_first": round(first_s / base_med, 1), "ratio_steady": round(steady_med / base_med, 1),
        "pass": all(checks.values()),
    }  # fmt: skip
    print(json.dumps(result))
    print(f"\n{n:,} parcels ({args.scale}), built in {build_s:.1f} s; {stale_count:,} stale (indexed count)")
    print(f"  baseline  indexed SELECT COUNT(*) of stale parcels   {base_med * 1000:8.1f} ms")
    opened = f"{sum(first.opened.values()):,} flags opened"
    print(f"  first     evaluate_all, {opened:<28} {first_s * 1000:8.1f} ms   ratio {first_s / base_med:,.0f}x")
    print(f"  steady    evaluate_all, nothing new (median of {runs})   {steady_med * 1000:8.1f} ms"
          f"   ratio {steady_med / base_med:,.0f}x")  # fmt: skip
    for name, detail in plan.items():
        print(f"  plan {name}: {detail}")
    for name, ok in checks.items():
        print(f"  [{'ok' if ok else 'FAIL'}] {name}")
    print("  first run steps: " + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in first.steps.items()))
    print("  opened by kind: " + ", ".join(f"{k} {v:,}" for k, v in sorted(first.opened.items())))
    if tmp is not None:
        for p in tmp.iterdir():
            p.unlink()
        tmp.rmdir()
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
