"""The CLI: tracker evaluate, flags, flag ack|assign|resolve, fact ... on a real SQLite file."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from tracker.cli import app
from tracker.commands.context import error_line
from tracker.errors import TrackerError
from tracker.storage.repo import AUDIT
from tracker.storage.rows import ParcelFactRow

NOW = datetime.fromisoformat("2026-11-23T04:00:00+00:00")
AT = "--now=2026-11-23T12:00"  # = NOW in Asia/Shanghai


@pytest.fixture
def run(settings, monkeypatch):  # type: ignore[no-untyped-def]
    runner = CliRunner()

    def invoke(*args: str) -> tuple[int, str]:
        result = runner.invoke(app, ["--config", str(settings.config_dir), *args])
        if isinstance(result.exception, TrackerError):  # what tracker.cli.main prints, exit 2
            return 2, error_line(result.exception)
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result.exit_code, result.output

    return invoke


@pytest.fixture
def parcels(sqlite_db):  # type: ignore[no-untyped-def]
    old = NOW - timedelta(hours=100)
    sqlite_db.parcel(created=old, waybill="YT0000000000001", shipped_at=old)
    sqlite_db.parcel(created=old, waybill="SF0000000000002", courier="sf", shipped_at=NOW - timedelta(hours=80))
    sqlite_db.parcel(
        created=old,
        waybill="YT0000000000003",
        order_id="O3",
        status="delivered",
        is_open=False,
        first_scan_at=old,
        last_event_at=old,
    )
    return sqlite_db


def test_evaluate_prints_counts_by_kind(run, parcels) -> None:  # type: ignore[no-untyped-def]
    code, out = run("evaluate", AT)
    assert code == 0
    assert "2 opened, 0 reopened, 0 escalated, 0 resolved" in out
    assert "No first scan" in out and "no_first_scan" not in out  # the kind in words, not its code
    code, out = run("evaluate", AT)
    assert "0 opened" in out


def test_flags_lists_as_json_with_filters(run, parcels) -> None:  # type: ignore[no-untyped-def]
    run("evaluate", AT)
    code, out = run("flags", "--format", "json", "--courier", "sf")
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and [r["waybill"] for r in rows] == ["SF0000000000002"]
    assert rows[0]["kind"] == "no_first_scan" and "顺丰速运" in rows[0]["next_action_zh"]
    code, out = run("flags", "--format", "csv", "--state", "open", "--limit", "1")
    assert out.splitlines()[0].startswith("id,waybill,courier,kind,severity,state")
    assert len(out.splitlines()) == 2
    code, out = run("flags", "--kind", "nonsense")
    assert code == 2


def test_flag_ack_assign_resolve_are_audited_under_the_person(run, parcels) -> None:  # type: ignore[no-untyped-def]
    run("evaluate", AT)
    _, out = run("flags", "--format", "json", "--courier", "sf")
    flag_id = str(json.loads(out)["id"])
    assert run("flag", "ack", flag_id, "--by", "lead.wang", AT)[0] == 0
    assert run("flag", "assign", flag_id, "--to", "agent.li", "--by", "lead.wang", AT)[0] == 0
    code, out = run("flag", "resolve", flag_id, "--note", "网点已找到包裹", "--by", "agent.li", AT)
    assert code == 0 and "): Resolved, assignee" in out and "_" not in out.split(":")[0]  # words, not codes
    with parcels.engine.connect() as conn:
        rows = conn.execute(select(AUDIT.c.actor, AUDIT.c.action).where(AUDIT.c.actor != "rules")).all()
    assert [tuple(r) for r in rows] == [
        ("lead.wang", "flag.ack"),
        ("lead.wang", "flag.assign"),
        ("agent.li", "flag.resolve"),
    ]
    assert run("flag", "ack", "9999", "--by", "x", AT)[0] == 2


def test_facts_recorded_from_the_cli_raise_their_flags(run, parcels) -> None:  # type: ignore[no-untyped-def]
    w = "YT0000000000003"
    assert (
        run(
            "fact",
            "not-received",
            w,
            "--signer",
            "门卫",
            "--warehouse-weight",
            "1.20",
            "--courier-weight",
            "0.80kg",
            "--by",
            "agent.li",
            AT,
        )[0]
        == 0
    )
    assert (
        run(
            "fact",
            "return-agreed",
            w,
            "--deadline",
            "2026-11-29 12:00",
            "--express",
            "--by",
            "agent.li",
            "--agreed-at",
            "2026-11-20 12:00",
            AT,
        )[0]
        == 0
    )
    assert run("fact", "unreachable", w, "--by", "agent.li", AT)[0] == 0
    assert run("fact", "lost", "YT0000000000001", "--note", "网点确认丢失", "--by", "agent.li", AT)[0] == 0
    run("evaluate", AT)
    _, out = run("flags", "--format", "json", "--waybill", w)
    flags = {json.loads(line)["kind"]: json.loads(line) for line in out.splitlines()}
    assert set(flags) == {"delivered_disputed", "return_no_waybill", "refund_deadline"}
    assert flags["delivered_disputed"]["details"]["signer"] == "门卫"  # the fact's data travels with the flag
    _, out = run("flags", "--format", "json", "--waybill", "YT0000000000001")
    assert {json.loads(line)["kind"] for line in out.splitlines()} == {"lost"}  # no_first_scan resolved
    with parcels.engine.connect() as conn:
        data = conn.execute(select(ParcelFactRow.data).where(ParcelFactRow.kind == "not_received")).scalar_one()
    assert data == {
        "short": False,
        "signer": "门卫",
        "warehouse_weight_kg": "1.20",
        "courier_weight_kg": "0.80",
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("fact", "lost", "NOPE000000"), "no such parcel"),
        (("fact", "not-received", "YT0000000000003", "--courier-weight", "heavy"), "--courier-weight"),
        (("fact", "return-agreed", "YT0000000000003", "--deadline", "next week"), "--deadline"),
        (("fact", "return-short", "YT0000000000003", "--claimed", "2", "--received", "2"), "not fewer"),
        (("flag", "assign", "1", "--to", " "), "--to"),
    ],
)
def test_bad_input_is_one_clear_error(run, parcels, args, message) -> None:  # type: ignore[no-untyped-def]
    run("evaluate", AT)
    code, out = run(*args, "--by", "agent.li", AT)
    assert code == 2 and out.startswith("error: ") and message in out


def test_an_evaluation_back_in_time_says_so_first(run, parcels) -> None:  # type: ignore[no-untyped-def]
    """A --now before the last evaluation's (a year typed wrong) resolves the flags whose condition did not hold
    then, and they come back without their acknowledgement: the command says so in one line, and still runs
    (a replay does this on purpose)."""
    code, out = run("evaluate", "--now", "2026-11-23T12:00:00+08:00")
    assert code == 0 and "note:" not in out
    code, out = run("evaluate", "--now", "2025-11-23T12:00:00+08:00")
    assert code == 0, out
    assert "note: --now 2025-11-23 12:00 is before the last evaluation (2026-11-23 12:00)" in out
    assert "evaluated" in out  # it ran
