"""Run mypy and compare its errors with mypy-baseline.txt, the list of errors still allowed.

    python scripts/mypy_baseline.py           check (what `make lint` runs)
    python scripts/mypy_baseline.py --shrink  drop the baseline lines that no longer occur

An error is identified by file, code and message, without its line number, so moving code does not
disturb the baseline. The check fails when mypy reports an error the baseline does not list (fix it),
when the baseline lists an error that is gone (shrink it), or when the baseline lists an error in a
strict module (those must be clean). Nothing here ever adds a line: the baseline only shrinks.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "mypy-baseline.txt"
ERROR = re.compile(r"^(?P<path>[^:\s]+\.py):(?P<line>\d+): error: (?P<message>.*?)  \[(?P<code>[a-z0-9-]+)\]$")
# The modules pyproject.toml checks strictly; the baseline may not excuse anything in them.
STRICT = re.compile(
    r"^(tracker/rules/|tracker/providers/[^/]+/parse\.py$|claims/engine\.py$|claims/tables\.py$"
    r"|tracker/status\.py$|tracker/domain\.py$)"
)
HEADER = """\
# mypy errors still allowed outside the strict modules (see CONTRIBUTING.md, "Types").
# One error a line: file: [code] message. Line numbers are left out on purpose.
# This file only shrinks: fix an error, then run `python scripts/mypy_baseline.py --shrink`.
# Never add a line to excuse a new error.
"""


def run_mypy() -> tuple[Counter[str], dict[str, list[str]]]:
    """(errors as baseline keys, where each key occurs as path:line)."""
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-color-output", "--no-error-summary", "--show-error-codes"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    found: Counter[str] = Counter()
    where: dict[str, list[str]] = {}
    for line in done.stdout.splitlines():
        match = ERROR.match(line)
        if match:
            key = f"{match['path']}: [{match['code']}] {match['message']}"
            found[key] += 1
            where.setdefault(key, []).append(f"{match['path']}:{match['line']}")
    if done.returncode not in (0, 1) or (done.returncode == 1 and not found):
        sys.exit(f"mypy did not run cleanly (exit {done.returncode}):\n{done.stdout}{done.stderr}")
    return found, where


def read_baseline() -> Counter[str]:
    if not BASELINE.exists():
        return Counter()
    lines = BASELINE.read_text(encoding="utf-8").splitlines()
    return Counter(line for line in lines if line.strip() and not line.startswith("#"))


def write_baseline(entries: Counter[str]) -> None:
    body = "".join(f"{key}\n" * count for key, count in sorted(entries.items()))
    BASELINE.write_text(HEADER + body, encoding="utf-8")


def compare(found: Counter[str], allowed: Counter[str]) -> tuple[Counter[str], Counter[str], list[str]]:
    """(errors the baseline does not allow, baseline lines that no longer occur, lines in strict modules)."""
    strict = sorted(key for key in allowed if STRICT.match(key.split(":", 1)[0]))
    return found - allowed, allowed - found, strict


def main(argv: list[str]) -> int:
    found, where = run_mypy()
    allowed = read_baseline()
    if "--shrink" in argv:
        kept = allowed & found
        write_baseline(kept)
        print(f"mypy-baseline.txt: {sum(allowed.values())} -> {sum(kept.values())} allowed errors")
        return 0
    new, gone, strict = compare(found, allowed)
    failed = False
    if new:
        failed = True
        print(f"mypy: {sum(new.values())} new error(s) that mypy-baseline.txt does not allow:\n")
        for key in sorted(new):
            places = ", ".join(where[key])
            print(f"  {places}: {key.split(': ', 1)[1]}")
        print(
            "\nFix them in the code (`.venv/bin/mypy` prints them with mypy's notes)."
            "\nDo NOT add them to mypy-baseline.txt: the baseline only shrinks."
            "\nWhere a library's types are wrong, a `# type: ignore[<code>]` naming the code mypy prints is the"
            "\nlast resort, with a comment saying why.\n"
        )
    if gone:
        failed = True
        print(f"mypy: {sum(gone.values())} error(s) in mypy-baseline.txt no longer occur (good): shrink it with")
        print("  python scripts/mypy_baseline.py --shrink   (then commit mypy-baseline.txt)\n")
    if strict:
        failed = True
        print("mypy-baseline.txt excuses errors in strict modules; those must be fixed, not listed:")
        for key in strict:
            print(f"  {key}")
    if failed:
        return 1
    print(f"mypy: clean apart from {sum(allowed.values())} baselined error(s) in mypy-baseline.txt")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
