"""A database that refuses a command midway (its schema changed by hand, a table dropped or renamed) gives one
`error: ...` line naming the database and the database's own words, exit 1, never a traceback; a failure
nobody foresaw gives one line naming a report file that holds the traceback, its secrets masked. The damage
cases are data: data/database_damage.json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import make_url

import tracker.cli
from tests.hostile.test_database_urls import tracker_with
from tracker.storage.db import describe_database, make_engine

CASES = json.loads((Path(__file__).resolve().parent / "data" / "database_damage.json").read_text("utf-8"))


@pytest.mark.parametrize("case", CASES, ids=[c["case"] for c in CASES])
def test_a_damaged_database_is_one_line_naming_it(case: dict, db_url: str, tmp_path: Path) -> None:
    """On the pass's database: a SQLite file, or a PostgreSQL database of its own (TRACKER_TEST_DB)."""
    backend = make_url(db_url).get_backend_name()
    assert tracker_with(db_url, "init", cwd=tmp_path).returncode == 0
    engine = make_engine(db_url)
    with engine.begin() as conn:
        conn.exec_driver_sql(case["damage"][backend])
    engine.dispose()
    proc = tracker_with(db_url, *case["command"], cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    where = describe_database(db_url)
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith(f"error: the database ({where}) "), proc.stderr
    assert case["expected"][backend] in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr and "sqlalche.me" not in proc.stderr
    assert (make_url(db_url).password or "no password") not in proc.stderr


def test_an_unforeseen_failure_is_one_line_and_a_masked_report(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    secret = "sk-live-0123456789abcdef"
    monkeypatch.setenv("TRACKER_KUAIDI100_KEY", secret)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr("tempfile.tempdir", None)  # TMPDIR read again

    def broken(**_: object) -> None:
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
