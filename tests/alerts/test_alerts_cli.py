"""`tracker alert` and `tracker alerts` through the real CLI, plus alerts.toml validation."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alertkit import ALERTS_TOML, Receiver, add_flag, add_parcel, make_config_dir
from sqlalchemy import Engine
from typer.testing import CliRunner

from dashboard import data
from tracker.cli import app
from tracker.errors import TrackerError
from tracker.settings import ConfigError, Settings, load_settings
from tracker.storage.db import make_engine, migrate

NOON = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai


@pytest.fixture
def cli_db(alert_settings: Settings, alert_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Engine:
    for name, value in alert_env.items():
        monkeypatch.setenv(name, value)
    engine = make_engine(alert_settings.database_url)
    migrate(engine)
    parcel = add_parcel(engine, "YT100", now=NOON - timedelta(days=4))
    add_flag(engine, parcel, "stale", opened_at=NOON - timedelta(hours=1))
    yield engine
    engine.dispose()


def invoke(config_dir: Path, *args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, ["--config", str(config_dir), *args])


def test_dry_run_prints_what_would_be_sent_and_stores_nothing(
    cli_db: Engine, alert_config_dir: Path, receiver: Receiver
) -> None:
    result = invoke(alert_config_dir, "alert", "--now", "2026-11-23T12:00", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "would send to agents/ding: 【提醒】物流不更新 YT100" in result.output
    assert '"msgtype": "markdown"' in result.output
    assert receiver.requests == []
    listed = invoke(alert_config_dir, "alerts", "--format", "json")
    assert listed.exit_code == 0 and listed.output.strip() == ""


def test_alert_sends_then_the_log_lists_it(cli_db: Engine, alert_config_dir: Path, receiver: Receiver) -> None:
    result = invoke(alert_config_dir, "alert", "--now", "2026-11-23T12:00")
    assert result.exit_code == 0, result.output
    assert "sent    agents/ding: 【提醒】物流不更新 YT100 (1 alert(s))" in result.output
    rows = [json.loads(line) for line in invoke(alert_config_dir, "alerts", "--format", "json").output.splitlines()]
    flag_rows = [r for r in rows if r["waybill"] == "YT100"]
    assert [(r["state"], r["recipient"], r["channel"], r["level"]) for r in flag_rows] == [
        ("sent", "agents", "ding", "warn")
    ]
    assert flag_rows[0]["sent_at"] == "2026-11-23T04:00:00Z"
    # the log says when it was due, not when the sending lease would have ended (12:10, after it went)
    assert flag_rows[0]["due_at"] == "2026-11-23T04:00:00Z"
    # the table names the level and the group as the board's alert log does (tracker.labels.value_label)
    table = invoke(alert_config_dir, "alerts", "--state", "sent").output
    [row] = [line for line in table.splitlines() if "YT100" in line]
    assert "Warning" in row and "Agents" in row and "warn " not in row and "agents" not in row
    csv_out = invoke(alert_config_dir, "alerts", "--state", "sent", "--format", "csv").output
    assert csv_out.splitlines()[0].startswith("id,created_at,state,level,recipient,channel,waybill")


def test_a_failed_delivery_is_reported_and_exits_non_zero(
    cli_db: Engine, alert_config_dir: Path, receiver: Receiver
) -> None:
    receiver.errcode["/dingtalk"] = 300001
    result = invoke(alert_config_dir, "alert", "--now", "2026-11-23T12:00")
    assert result.exit_code == 1
    assert "FAILED  agents/ding" in result.output and "errcode 300001" in result.output
    failed = invoke(alert_config_dir, "alerts", "--state", "failed", "--format", "json").output.splitlines()
    assert json.loads(failed[0])["attempts"] == 1


def test_an_unknown_state_filter_is_a_user_error(cli_db: Engine, alert_config_dir: Path) -> None:
    result = invoke(alert_config_dir, "alerts", "--state", "lost")
    assert isinstance(result.exception, TrackerError) and "--state" in str(result.exception)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('kinds = ["damaged"]', 'kinds = ["broken"]', "alerts.toml: routes.2.kinds: flag kinds"),
        ('type = "slack"', 'type = "telegram"', "alerts.toml: channels.slack.type"),
        (
            'secret_env = "T_DING_SECRET"\n',
            "",
            "alerts.toml: channels.ding: a dingtalk channel needs secret_env",
        ),
        ('couriers = ["sf"]', 'couriers = ["ups"]', "alerts.toml: routes.1.couriers: courier slugs"),
        (
            'channels = ["hook"]',
            'channels = ["fax"]',
            "alerts.toml: groups.ops.channels: unknown channel(s) ['fax']",
        ),
        (
            'url_env = "T_HOOK_URL"',
            'url_env = "https://hooks.example/secret"',
            "alerts.toml: channels.hook.url_env",
        ),
        ('start = "09:00"', 'start = "22:00"', "alerts.toml: schedule: end must be after start"),
        ("parcel?waybill={{waybill}}", "parcel", "alerts.toml: board_url: a URL containing {waybill}"),
    ],
)
def test_a_bad_alerts_file_names_the_file_and_key(tmp_path: Path, old: str, new: str, message: str) -> None:
    assert old in ALERTS_TOML
    folder = make_config_dir(tmp_path / "config", alerts_toml=ALERTS_TOML.replace(old, new))
    with pytest.raises(ConfigError) as err:
        load_settings(folder)
    assert message in str(err.value)


def test_the_shipped_alerts_file_loads(settings: Settings) -> None:
    alerts = settings.alerts
    assert alerts.groups["leads"].role == "lead" and alerts.routes
    assert alerts.calls.ladder_actions and set(alerts.lead_ladder_actions) <= {
        step.action for step in settings.rules.refund_ladder.express
    }


def test_alerts_held_at_night_are_listed_with_their_due_time(
    cli_db: Engine, alert_config_dir: Path, receiver: Receiver
) -> None:
    result = invoke(alert_config_dir, "alert", "--now", "2026-11-23T23:00")
    assert result.exit_code == 0, result.output
    assert "held    agents/ding: 【提醒】物流不更新 YT100 (due 2026-11-24 09:00)" in result.output
    assert receiver.requests == []


def test_alerts_that_failed_and_wait_for_the_morning_digest_are_counted_and_listed_as_held(
    cli_db: Engine, alert_config_dir: Path, receiver: Receiver
) -> None:
    receiver.script["/dingtalk"] = [500] * 20  # the agents' robot fails at 20:58: the retry waits for 09:00
    result = invoke(alert_config_dir, "alert", "--now", "2026-11-23T20:58")
    assert result.exit_code == 1, result.output
    rows = [json.loads(line) for line in invoke(alert_config_dir, "alerts", "--format", "json").output.splitlines()]
    retried = [r for r in rows if r["waybill"] == "YT100"]
    assert [(r["state"], r["due_at"]) for r in retried] == [("failed", "2026-11-24T01:00:00Z")]
    held = [
        json.loads(line)
        for line in invoke(alert_config_dir, "alerts", "--state", "held", "--format", "json").output.splitlines()
    ]
    assert [(r["state"], r["waybill"]) for r in held] == [("failed", "YT100")]
    assert ", 1 held," in result.output.splitlines()[-1]
    # the board's alert log filtered by held shows it too
    attempts = load_settings(alert_config_dir).alerts.max_attempts
    assert data.alerts_count(cli_db, state="held", max_attempts=attempts) == 1
    assert [r["waybill"] for r in data.alerts_page(cli_db, state="held", max_attempts=attempts)] == ["YT100"]


def test_an_alert_that_gives_up_is_named_in_that_run_only(
    cli_db: Engine, alert_config_dir: Path, receiver: Receiver
) -> None:
    """The robot refuses every try: the run in which the alert uses up its attempts names it (GAVE UP) and exits
    1; later runs do not say it again (every run exited 1 for good), and the log still shows it failed."""
    receiver.errcode["/dingtalk"] = 310000
    outputs = []
    for minutes in range(0, 9 * 60, 60):  # hourly runs 12:00-20:00 (the retries back off 5, then 15 minutes)
        moment = (datetime(2026, 11, 23, 12, 0) + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M")
        result = invoke(alert_config_dir, "alert", "--now", moment)
        outputs.append((moment, result.exit_code, "GAVE UP agents/ding" in result.output))
    gave_up = [o for o in outputs if o[2]]
    assert len(gave_up) == 1 and gave_up[0][1] == 1, outputs
    after = outputs[outputs.index(gave_up[0]) + 1 :]
    assert after and all(code == 0 and not named for _, code, named in after), after
    rows = [json.loads(line) for line in invoke(alert_config_dir, "alerts", "--format", "json").output.splitlines()]
    assert [(r["state"], r["attempts"]) for r in rows if r["waybill"] == "YT100"] == [("failed", 4)]
    assert gave_up[0][0] == "2026-11-23T15:00"  # its fourth try (max_attempts = 4)
