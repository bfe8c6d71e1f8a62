"""`tracker parse`, `tracker ingest`, `tracker couriers [detect]` through the real typer app."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from tests.providers.conftest import FIXTURES
from tracker.cli import app
from tracker.domain import ParcelFacts
from tracker.errors import TrackerError
from tracker.settings import Settings
from tracker.storage.db import make_engine, migrate
from tracker.storage.repo import upsert_parcels
from tracker.storage.rows import ParcelRow

NOW = "2026-11-23T12:00:00+08:00"


@pytest.fixture
def runner(settings: Settings) -> CliRunner:  # settings points TRACKER_DATABASE_URL at a tmp SQLite file
    return CliRunner()


def _fixture(provider: str, name: str) -> str:
    return str(FIXTURES / provider / name)


def test_parse_prints_events_as_json_lines_in_utc(runner: CliRunner) -> None:
    result = runner.invoke(app, ["parse", "--provider", "kuaidi100", _fixture("kuaidi100", "query_out_of_area.json")])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert lines[0] == {
        "waybill": "YT7512345678901",
        "courier": "yto",
        "time": "2024-05-17T13:15:03Z",
        "status": "picked_up",
        "raw_code": "1",
        "text": "【杭州市萧山区公司】已揽收",
        "location": "浙江,杭州市",
    }
    assert [line["status"] for line in lines] == ["picked_up", "in_transit", "out_of_area"]


def test_parse_reports_problems_on_stderr_and_exits_1(runner: CliRunner) -> None:
    result = runner.invoke(app, ["parse", "--provider", "kdniao", _fixture("kdniao", "query_bad_trace.json")])
    assert result.exit_code == 1
    assert len(result.stdout.splitlines()) == 2
    assert "waybill YT7522223333444: Traces[1].AcceptTime: expected a time, got ''" in result.stderr


def test_parse_error_reply_exits_1_with_the_message(runner: CliRunner) -> None:
    result = runner.invoke(app, ["parse", "--provider", "kuaidi100", _fixture("kuaidi100", "error_503.json")])
    assert result.exit_code == 1 and result.stdout == ""
    assert "returnCode 503: signature check failed" in result.stderr


def test_parse_push_accepts_the_raw_form_body(runner: CliRunner, tmp_path: Path) -> None:
    param = (FIXTURES / "kuaidi100" / "push_stale.json").read_text(encoding="utf-8")
    saved = tmp_path / "push.form"
    saved.write_text(urlencode({"param": param, "sign": "ABCDEF"}), encoding="utf-8")
    result = runner.invoke(app, ["parse", "--provider", "kuaidi100", "--push", str(saved)])
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["status"] for line in result.stdout.splitlines()] == ["in_transit", "stale"]


def test_ingest_stores_a_saved_push_and_reports_unknown(runner: CliRunner, settings: Settings) -> None:
    engine = make_engine(settings.database_url)
    migrate(engine)
    upsert_parcels(
        engine,
        [ParcelFacts(courier="yto", waybill="YT7533334444555")],
        now=datetime(2026, 11, 23, 4, 0, tzinfo=UTC),
    )
    args = ["ingest", "--provider", "kdniao", "--push", _fixture("kdniao", "push.json"), "--now", NOW]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "push.json: 1 matched, 3 new events, 2 unknown" in result.stdout
    assert "unknown waybill 773012345679" in result.stdout
    with engine.connect() as conn:
        status = conn.execute(select(ParcelRow.status).where(ParcelRow.waybill == "YT7533334444555")).scalar_one()
    assert status == "out_of_area"
    again = runner.invoke(app, args)
    assert "1 matched, 0 new events" in again.stdout
    engine.dispose()


def test_ingest_reply_error_without_waybill_exits_1(runner: CliRunner) -> None:
    args = ["ingest", "--provider", "track17", _fixture("track17", "error_token.json"), "--now", NOW]
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    assert "security key is invalid" in result.stderr and "nothing stored" in result.stderr


def test_couriers_lists_slugs_and_provider_codes(runner: CliRunner) -> None:
    result = runner.invoke(app, ["couriers", "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = {row["slug"]: row for row in map(json.loads, result.stdout.splitlines())}
    assert rows["zto"]["kuaidi100"] == "zhongtong" and rows["zto"]["kdniao"] == "ZTO"
    assert rows["chinapost"]["track17"] == 3011


def test_couriers_detect_shows_slug_and_pattern(runner: CliRunner) -> None:
    result = runner.invoke(app, ["couriers", "detect", "yt7512345678901", "--offline"])
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        "YT7512345678901: candidates from patterns, best first",
        "  圆通速递\tyto\t95%\t^YT\\d{13}$",
        "courier: 圆通速递 (yto), 95%",
    ]


def test_couriers_detect_unknown_number_is_a_user_error(runner: CliRunner) -> None:
    result = runner.invoke(app, ["couriers", "detect", "123", "--offline"])
    assert isinstance(result.exception, TrackerError)
    assert "'123' matches no courier's number pattern" in str(result.exception)


def test_parse_tells_the_provider_by_shape_and_reports_a_stop_notice(runner: CliRunner) -> None:
    result = runner.invoke(app, ["parse", _fixture("kuaidi100", "push_abort_60_days.json")])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert lines[0] == {
        "waybill": "4312345678902",
        "courier": "yunda",
        "notice": "tracking_stopped",
        "kind": "abort",
        "reason": "60天无变化",
    }
    assert [line["status"] for line in lines[1:]] == ["picked_up", "in_transit"]
    assert "Kuaidi100 stopped tracking it (60天无变化)" in result.stderr
    stopped = runner.invoke(app, ["parse", _fixture("track17", "webhook_stopped.json")])
    assert stopped.exit_code == 0 and json.loads(stopped.stdout)["notice"] == "tracking_stopped"


def test_parse_of_an_unrecognisable_body_names_the_file(runner: CliRunner, tmp_path: Path) -> None:
    saved = tmp_path / "mystery.json"
    saved.write_text('{"hello": 1}', encoding="utf-8")
    result = runner.invoke(app, ["parse", str(saved)])
    assert isinstance(result.exception, TrackerError)  # main() prints it as one line and exits 2
    assert "mystery.json: cannot tell which provider this comes from" in str(result.exception)
