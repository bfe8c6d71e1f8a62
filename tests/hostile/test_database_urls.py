"""Every mistake in the database URL is one `error: ...` line naming the setting and where, exit 2, never
the password; a mistyped SQLite path creates nothing. The cases are data: data/database_urls.tsv."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tracker.settings import PROJECT_ROOT

CASES = [
    line.split("\t")
    for line in (Path(__file__).resolve().parent / "data" / "database_urls.tsv").read_text("utf-8").splitlines()
    if line and not line.startswith("#")
]


def tracker_with(url: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """`python -m tracker.cli *args` in `cwd` on the database at `url`, with the project's config."""
    env = {**os.environ, "TRACKER_DATABASE_URL": url, "TRACKER_CONFIG_DIR": str(PROJECT_ROOT / "config")}
    return subprocess.run(
        [sys.executable, "-m", "tracker.cli", *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=60
    )


# the commands that open the database, in turn: each case runs one of them (a process each), and each
# command meets every third case
COMMANDS = (["parcels"], ["flags", "--format", "csv"], ["claims", "list"])


@pytest.mark.parametrize(
    ("url", "expected", "args"),
    [(url, expected, COMMANDS[i % len(COMMANDS)]) for i, (url, expected) in enumerate(CASES)],
    ids=[c[0].split(":")[0] + "-" + str(i) for i, c in enumerate(CASES)],
)
def test_a_bad_database_url_is_one_line(url: str, expected: str, args: list[str], tmp_path: Path) -> None:
    url, expected = url.replace("{tmp}", str(tmp_path)), expected.replace("{tmp}", str(tmp_path))
    before = sorted(tmp_path.rglob("*"))
    proc = tracker_with(url, *args, cwd=tmp_path)
    assert proc.returncode == 2, (args, proc.stderr)
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("error: "), proc.stderr
    assert expected in proc.stderr, proc.stderr
    assert "s3cret" not in proc.stderr + proc.stdout and "Traceback" not in proc.stderr
    assert sorted(tmp_path.rglob("*")) == before  # nothing created


def test_init_creates_the_sqlite_file_the_others_then_use(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/new/dir/tracker.db"
    assert tracker_with(url, "parcels", cwd=tmp_path).returncode == 2
    assert not (tmp_path / "new").exists()
    assert tracker_with(url, "init", cwd=tmp_path).returncode == 0
    listed = tracker_with(url, "parcels", "--format", "csv", cwd=tmp_path)
    assert listed.returncode == 0 and listed.stdout.startswith("courier,waybill"), listed.stderr
