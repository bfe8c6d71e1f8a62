"""Reminders count from when the previous alert was sent: a flag raised after hours on a Friday is one alert in
Monday's held digest, and its reminder comes a day after that (real database, local receivers)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from alertkit import ALERTS_TOML, Receiver, SmtpSink, add_flag, add_parcel, make_config_dir

from tracker.alerts.service import Delivery, run_alerts
from tracker.settings import load_settings
from tracker.storage.db import make_engine, migrate

SH = ZoneInfo("Asia/Shanghai")


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=SH).astimezone(UTC)


def test_a_flag_raised_on_friday_night_is_one_alert_on_monday_and_reminded_a_day_after(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    sqlite_url: str,
    smtp_sink: tuple[SmtpSink, int],
    alert_env: dict[str, str],
    receiver: Receiver,
) -> None:
    weekdays = ALERTS_TOML.replace('end = "21:00"', 'end = "21:00"\nweekdays = [1, 2, 3, 4, 5]')
    monkeypatch.setenv("TRACKER_DATABASE_URL", sqlite_url)
    settings = load_settings(make_config_dir(tmp_path / "config", smtp_port=smtp_sink[1], alerts_toml=weekdays))
    db = make_engine(settings.database_url)
    migrate(db)
    parcel = add_parcel(db, "YT100", now=local(15, 12), buyer_id="tb_1")
    add_flag(db, parcel, "stale", opened_at=local(20, 21, 30))  # Friday 21:30, after the agents' hours
    sent: dict[datetime, list[Delivery]] = {}
    at = local(20, 22)
    with httpx.Client() as client:
        while at <= local(24, 12):  # cron every hour, from Friday night to Tuesday noon
            report = run_alerts(db, settings, now=at, env=alert_env, client=client, sleep=lambda _: None)
            sent[at] = [d for d in report.sent if d.channel == "ding" and not d.keys[0].startswith("digest:")]
            at += timedelta(hours=1)
    db.dispose()
    went = {moment: [key for d in deliveries for key in d.keys] for moment, deliveries in sent.items() if deliveries}
    # Monday 09:00: the alert alone (not with reminders 1 and 2 planned over the weekend); reminder 1 a day later
    assert list(went) == [local(23, 9), local(24, 9)]
    [monday] = went[local(23, 9)]
    [tuesday] = went[local(24, 9)]
    assert monday.endswith(":ding") and tuesday.endswith(":ding:r1")
