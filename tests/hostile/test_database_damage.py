"""A database that refuses a command midway (its schema changed by hand, a table dropped or renamed) gives one
`error: ...` line naming the database and the database's own words, exit 1, never a traceback; a failure
nobody foresaw gives one line naming a report file that holds the traceback, its secrets masked. The damage
cases are data: data/database_damage.json."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

import tracker.cli
from tracker.settings import PROJECT_ROOT

CASES = json.loads((Path(__file__).resolve().parent / "data" / "database_damage.json").read_text("utf-8"))


def _tracker(url: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TRACKER_DATABASE_URL": url, "TRACKER_CONFIG_DIR": str(PROJECT_ROOT / "config")}
    return subprocess.run(
        [sys.executable, "-m", "tracker.cli", *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=60
    )


@pytest.mark.parametrize("case", CASES, ids=[c["case"] for c in CASES])
def test_a_damaged_database_is_one_line_naming_it(case: dict, tmp_path: Path) -> None:
    path = tmp_path / "tracker.db"
    url = f"sqlite:///{path}"
    assert _tracker(url, "init", cwd=tmp_path).returncode == 0
    with sqlite3.connect(path) as conn:
        conn.execute(case["damage"])
    proc = _tracker(url, *case["command"], cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("error: the database (SQLite file "), proc.stderr
    assert str(path) in proc.stderr and case["expected"] in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr and "sqlalche.me" not in proc.stderr


def test_an_unforeseen_failure_is_one_line_and_a_masked_report(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    secret = "sk-live-0123456789abcdef"
    monkeypatch.setenv("TRACKER_KUAIDI100_KEY", secret)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr("tempfile.tempdir", None)  # TMPDIR read again

    def broken() -> None:
        raise KeyError(f"courier {secret}")

    monkeypatch.setattr(tracker.cli, "app", broken)
    monkeypatch.setattr("tracker.runtime.tune_gc", lambda: None)  # the test's process keeps its collector
    with pytest.raises(SystemExit) as exited:
        tracker.cli.main()
    assert exited.value.code == 1
    err = capsys.readouterr().err
    reports = list(tmp_path.glob("tracker-crash-*.txt"))
    assert len(reports) == 1
    assert (
        err
        == f"error: unexpected failure (KeyError: 'courier ***'); the details are in {reports[0]}; please pass it on\n"
    )
    report = reports[0].read_text("utf-8")
    assert "Traceback (most recent call last)" in report and "in broken" in report
    assert secret not in report and secret not in err
