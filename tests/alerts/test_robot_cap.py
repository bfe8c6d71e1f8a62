"""A channel's `max_per_run` caps the messages one robot gets in a run, whichever groups it serves and however
a bundle is split; what is over waits for the next run (DingTalk takes 20 messages a minute per robot)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from alertkit import ALERTS_TOML, Receiver, SmtpSink, add_flag, add_parcel, make_config_dir
from sqlalchemy import func, select

from tracker.alerts.service import group_deliveries, run_alerts
from tracker.settings import Settings, load_settings
from tracker.storage.db import make_engine, migrate
from tracker.storage.rows import AlertRow

SH = ZoneInfo("Asia/Shanghai")
NOON = datetime(2026, 11, 23, 12, tzinfo=SH).astimezone(UTC)


def _row(i: int, recipient: str, channel: str, state: str = "pending", body: str | None = None) -> dict[str, Any]:
    return {
        "id": i,
        "recipient": recipient,
        "channel": channel,
        "state": state,
        "subject": f"S{i}",
        "body": body or f"### YT{i}",
        "dedupe_key": f"k{i}",
        "call_key": None,
        "attempts": 0,
    }


def test_one_robot_serving_two_groups_gets_at_most_max_per_run_messages(plain_settings: Settings) -> None:
    alerts = plain_settings.alerts
    leads = alerts.groups["leads"].model_copy(update={"channels": ["ding"]})
    config = alerts.model_copy(update={"groups": {**alerts.groups, "leads": leads}})
    cap = config.channels["ding"].max_per_run
    due = [_row(i, "agents", "ding") for i in range(cap)] + [_row(100 + i, "leads", "ding") for i in range(cap)]
    deliveries = group_deliveries(due, config)
    assert len(deliveries) == cap
    assert [i for d in deliveries for i in d.ids] == list(range(cap))  # the oldest first; the leads' wait


def test_the_cap_serves_a_robots_groups_one_by_one_the_group_with_the_oldest_alert_first(
    plain_settings: Settings,
) -> None:
    alerts = plain_settings.alerts
    ops = alerts.groups["ops"].model_copy(update={"channels": ["ding"]})
    ding = alerts.channels["ding"].model_copy(update={"max_per_run": 2})
    config = alerts.model_copy(
        update={"groups": {**alerts.groups, "ops": ops}, "channels": {**alerts.channels, "ding": ding}}
    )
    # in due order, as due_alerts returns them: the ops alert is the second oldest
    due = [_row(1, "agents", "ding"), _row(2, "ops", "ding"), *(_row(i, "agents", "ding") for i in (3, 4, 5))]
    deliveries = group_deliveries(due, config)
    # the agents (oldest alert) take the room: alert 1, then 3-5 bundled; the ops alert waits for the next run
    assert [(d.recipient, d.ids) for d in deliveries] == [("agents", [3, 4, 5]), ("agents", [1])]


def test_every_part_of_a_split_bundle_counts_against_the_cap(plain_settings: Settings) -> None:
    config = plain_settings.alerts
    cap = config.channels["wecom"].max_per_run
    body = "### 退款截止临近\n" + "- 运单: YT100 (圆通速递) 物流停滞\n" * 20  # ~800 bytes: 4 to a 4096-byte message
    held = [_row(i, "leads", "wecom", "held", body) for i in range(1, 4 * cap + 9)]  # cap + 2 parts
    pending = [_row(1000 + i, "leads", "wecom", "pending", body) for i in range(10)]
    deliveries = group_deliveries(held + pending, config)
    assert len(deliveries) == cap
    assert all(len(d.body.encode()) <= 4096 for d in deliveries)
    assert all(d.subject.startswith("非工作时间暂存的提醒") for d in deliveries)  # the pending ones wait


def test_alerts_over_a_robots_cap_wait_for_the_next_run(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    sqlite_url: str,
    smtp_sink: tuple[SmtpSink, int],
    alert_env: dict[str, str],
    receiver: Receiver,
) -> None:
    toml = ALERTS_TOML.replace('secret_env = "T_DING_SECRET"', 'secret_env = "T_DING_SECRET"\nmax_per_run = 2')
    toml = toml.replace('channels = ["wecom", "mail"]', 'channels = ["ding"]')  # the leads share the robot
    monkeypatch.setenv("TRACKER_DATABASE_URL", sqlite_url)
    settings = load_settings(make_config_dir(tmp_path / "config", smtp_port=smtp_sink[1], alerts_toml=toml))
    db = make_engine(settings.database_url)
    migrate(db)
    for i in range(3):  # three warnings for the agents (with their daily digest: four alerts)
        parcel = add_parcel(db, f"YT10{i}", now=NOON - timedelta(days=5), buyer_id=f"tb_{i}")
        add_flag(db, parcel, "stale", opened_at=NOON - timedelta(hours=2))
    for i in range(2):  # two escalations for the leads
        parcel = add_parcel(db, f"YT20{i}", now=NOON - timedelta(days=5), buyer_id=f"tb_l{i}")
        add_flag(
            db,
            parcel,
            "stale",
            opened_at=NOON - timedelta(hours=30),
            severity="escalate",
            escalated_at=NOON - timedelta(hours=1),
        )
    posts = []
    with httpx.Client() as client:
        for minutes in (0, 5):
            before = len(receiver.delivered("/dingtalk"))
            run_alerts(
                db, settings, now=NOON + timedelta(minutes=minutes), env=alert_env, client=client, sleep=lambda _: None
            )
            posts.append(len(receiver.delivered("/dingtalk")) - before)
        with db.connect() as conn:
            waiting = conn.execute(select(func.count()).where(AlertRow.state != "sent")).scalar_one()
    db.dispose()
    assert posts == [2, 2]  # the agents' first alert and a bundle of the rest; then the leads' two
    assert waiting == 0


def test_the_boards_own_log_has_no_cap(plain_settings: Settings) -> None:
    """The `board` channel reaches no robot: every due alert of every group it serves is recorded in one
    run, one by one (the demo left the agents' alerts pending behind the leads' 15)."""
    alerts = plain_settings.alerts
    log = alerts.channels["ding"].model_copy(update={"type": "board", "url_env": None, "secret_env": None})
    groups = {name: alerts.groups[name].model_copy(update={"channels": ["log"]}) for name in ("agents", "leads")}
    config = alerts.model_copy(
        update={"groups": {**alerts.groups, **groups}, "channels": {**alerts.channels, "log": log}}
    )
    cap = log.max_per_run
    due = [_row(i, "leads", "log") for i in range(2 * cap)] + [_row(100 + i, "agents", "log") for i in range(2 * cap)]
    deliveries = group_deliveries(due, config)
    assert sorted(i for d in deliveries for i in d.ids) == sorted(r["id"] for r in due)
    assert all(len(d.ids) == 1 for d in deliveries)  # none bundled
    # a robot channel keeps its cap beside it
    ding = [_row(500 + i, "agents", "ding") for i in range(2 * cap)]
    agents = config.groups["agents"].model_copy(update={"channels": ["log", "ding"]})
    config = config.model_copy(update={"groups": {**config.groups, "agents": agents}})
    assert len([d for d in group_deliveries(due + ding, config) if d.channel == "ding"]) == cap
