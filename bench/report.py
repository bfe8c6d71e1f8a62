"""Run the benches and write one table of their results, with the machine they ran on (`make bench`).

Every bench prints, among its own output, lines `BENCH <name> <ratio> <target> <ok|MISS>`: a ratio measured
against a baseline in the same run, the target it is held to, and the verdict. This script runs each bench
command in turn (its output goes through to the terminal), collects those lines and writes them as a
Markdown table to --out, under a header naming the machine, the load and the versions. It knows nothing about
any one bench: a new bench only has to print its BENCH lines and be listed in the Makefile's BENCHES.

    python bench/report.py --out docs/performance.md "bench/import.py" "bench/ingest.py --scale full" ...

Exit status: 1 when a bench failed or printed a MISS, else 0 (the table is written either way).
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Line:
    command: str
    name: str
    ratio: str
    target: str
    verdict: str


def parse_lines(command: str, output: str) -> list[Line]:
    """The BENCH lines of one bench's output (a malformed one is kept, marked as such)."""
    found = []
    for text in output.splitlines():
        if not text.startswith("BENCH "):
            continue
        parts = text.split()
        if len(parts) == 5:
            found.append(Line(command, parts[1], parts[2], parts[3], parts[4]))
        else:
            found.append(Line(command, " ".join(parts[1:]) or "?", "?", "?", "malformed BENCH line"))
    return found


def machine() -> list[str]:
    """What the numbers were measured on."""
    cpu = "?"
    try:
        for text in Path("/proc/cpuinfo").read_text().splitlines():
            if text.startswith("model name"):
                cpu = text.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = "?"
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f"{kb / 1024 / 1024:.0f} GB"
    except (OSError, ValueError, IndexError):
        pass
    return [
        f"- machine: {platform.machine()}, {os.cpu_count()} CPUs ({cpu}), {memory} RAM, "
        f"{platform.system()} {platform.release()}",
        f"- Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}",
    ]


def load() -> str:
    try:
        return " ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "?"


def write_table(out: Path, lines: list[Line], failed: list[tuple[str, int]], started: datetime, loads: str) -> None:
    text = [
        "# Performance",
        "",
        "Written by `make bench` (bench/report.py); do not edit by hand. Each ratio is the project's path against a",
        "baseline measured in the same run on the same machine (each bench's docstring names its baseline), so a",
        "loaded machine slows both; absolute times are in each bench's own output.",
        "",
        f"- run: {started:%Y-%m-%d %H:%M} UTC; load average (1, 5, 15 min) before / after: {loads}",
        *machine(),
        "",
        "| bench | figure | ratio | target | verdict |",
        "|---|---|---|---|---|",
    ]
    for line in lines:
        text.append(f"| `{line.command}` | {line.name} | {line.ratio} | {line.target} | {line.verdict} |")
    for command, code in failed:
        if not any(line.command == command for line in lines):
            text.append(f"| `{command}` | (no result) | | | exited {code} |")
    if failed:
        text += ["", "Benches that exited non-zero: " + ", ".join(f"`{c}` ({code})" for c, code in failed) + "."]
    out.write_text("\n".join(text) + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "performance.md")
    parser.add_argument("commands", nargs="+", help="bench commands, each one quoted argument")
    args = parser.parse_args()
    started = datetime.now(UTC)
    before = load()
    lines: list[Line] = []
    failed: list[tuple[str, int]] = []
    for command in args.commands:
        print(f"\n=== {command}", flush=True)
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, *shlex.split(command)], cwd=ROOT, stdout=subprocess.PIPE, text=True, bufsize=1
        )
        assert proc.stdout is not None
        output = []
        for text in proc.stdout:
            sys.stdout.write(text)
            output.append(text)
        code = proc.wait()
        print(f"=== {command}: exit {code} after {time.perf_counter() - t0:.0f} s", flush=True)
        lines += parse_lines(command, "".join(output))
        if code:
            failed.append((command, code))
    write_table(args.out, lines, failed, started, f"{before} / {load()}")
    print(f"\nwrote {args.out}")
    misses = [line for line in lines if line.verdict != "ok"]
    for line in misses:
        print(f"MISS {line.name}: {line.ratio} (target {line.target}) in `{line.command}`")
    sys.exit(1 if failed or misses else 0)


if __name__ == "__main__":
    main()
