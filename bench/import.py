"""Import benchmark: a generated Taobao order export, imported into a fresh SQLite file.

Prints rows/s of `tracker import parcels` (parse, validate, upsert) and the ratio against a plain `csv`
read of the same file measured in the same run (decode + csv.reader over every row). Target (issue 2):
100,000 rows in under 10 s on one core.

    python bench/import.py [--scale ci|full] [--runs N] [--json PATH]
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import platform
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "examples"))

from make_parcels import write_csv  # noqa: E402

from tracker.couriers.detect import CourierIndex  # noqa: E402
from tracker.importer import import_parcels  # noqa: E402
from tracker.settings import load_settings  # noqa: E402
from tracker.storage.db import make_engine, migrate  # noqa: E402

SCALES = {"ci": 20_000, "full": 100_000}
TARGET_SECONDS_PER_100K = 10.0


def baseline_read(path: Path) -> int:
    text = path.read_bytes().decode("utf-8-sig")
    return sum(1 for _ in csv.reader(io.StringIO(text, newline=""))) - 1


def project_import(path: Path, work: Path, run: int) -> tuple[int, float]:
    settings = load_settings(ROOT / "config")
    engine = make_engine(f"sqlite:///{work / f'bench-{run}.db'}")
    migrate(engine)
    start = time.perf_counter()
    report = import_parcels(
        path,
        engine=engine,
        couriers=CourierIndex(settings.couriers),
        aliases=settings.headers,
        tz=settings.tz,
        now=datetime(2026, 11, 23, tzinfo=UTC),
        batch_size=settings.import_.batch_size,
    )
    elapsed = time.perf_counter() - start
    engine.dispose()
    if report.errors:
        raise SystemExit(f"benchmark file had rejected rows: {report.errors[:3]}")
    return report.stored, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", choices=SCALES, default="full")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    n = SCALES[args.scale]
    print(f"# python {platform.python_version()}, sqlite {sqlite3.sqlite_version}, rows {n}, runs {args.runs}")
    with tempfile.TemporaryDirectory(prefix="bench-import-") as tmp:
        work = Path(tmp)
        path = write_csv(work / "orders.csv", n)
        baseline_read(path)  # warm-up: page cache and imports
        base_times, project_times = [], []
        for run in range(args.runs):
            start = time.perf_counter()
            rows = baseline_read(path)
            base_times.append(time.perf_counter() - start)
            stored, elapsed = project_import(path, work, run)
            project_times.append(elapsed)
            assert rows == n and stored == n, (rows, stored)
    base = statistics.median(base_times)
    project = statistics.median(project_times)
    per_100k = project * 100_000 / n
    result = {
        "stage": "import",
        "n": n,
        "runs": args.runs,
        "median_s": round(project, 3),
        "rows_per_s": round(n / project),
        "baseline": "csv.reader over the same file",
        "baseline_median_s": round(base, 4),
        "baseline_rows_per_s": round(n / base),
        "ratio": round(base / project, 4),
        "seconds_per_100k": round(per_100k, 2),
        "target_seconds_per_100k": TARGET_SECONDS_PER_100K,
        "pass": per_100k < TARGET_SECONDS_PER_100K,
    }
    print(json.dumps(result))
    print(f"import: {result['rows_per_s']:,} rows/s ({project:.2f} s for {n:,} rows; {per_100k:.2f} s per 100k)")
    print(f"baseline csv read: {result['baseline_rows_per_s']:,} rows/s; ratio import/baseline = {result['ratio']}")
    print(f"target < {TARGET_SECONDS_PER_100K:.0f} s per 100k rows: {'PASS' if result['pass'] else 'FAIL'}")
    if args.json:
        args.json.write_text(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
