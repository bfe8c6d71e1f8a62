"""Reminders count from when the previous alert was sent: a flag raised after hours on a Friday is one alert in
Monday's held digest, and its reminder comes a day after that; an alert that will never go (cancelled while the
flag was acknowledged, out of attempts, left on a removed channel) does not stop the reminders (real database,
local receivers)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from alertkit import ALERTS_TOML, Receiver, SmtpSink, add_flag, add_parcel, make_config_dir, set_flag
from sqlalchemy import Engine, select

from tracker.alerts.service import Delivery, RunReport, run_alerts
from tracker.settings import Settings, load_settings
from tracker.storage.db import make_engine, migrate
from tracker.storage.tables import ALERT

SH = ZoneInfo("Asia/Shanghai")


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=SH).astimezone(UTC)


def test_a_flag_raised_on_friday_night_is_one_alert_on_monday_and_reminded_a_day_after(
    settings_for: Callable[..., Settings], alert_env: dict[str, str], receiver: Receiver
) -> None:
    weekdays = ALERTS_TOML.replace('end = "21:00"', 'end = "21:00"\nweekdays = [1, 2, 3, 4, 5]')
    settings = settings_for("config", weekdays)
    db = _migrated(settings)
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


@pytest.fixture
def settings_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sqlite_url: str, smtp_sink: tuple[SmtpSink, int]
) -> Callable[..., Settings]:
    """settings_for(folder, toml=ALERTS_TOML): the settings of a config folder with this alerts.toml, on the test's
    database (a test that changes the config in the middle loads two folders)."""

    def load(folder: str, toml: str = ALERTS_TOML) -> Settings:
        monkeypatch.setenv("TRACKER_DATABASE_URL", sqlite_url)
        return load_settings(make_config_dir(tmp_path / folder, smtp_port=smtp_sink[1], alerts_toml=toml))

    return load


@pytest.fixture
def world(settings_for: Callable[..., Settings]) -> Iterator[tuple[Settings, Engine]]:
    """The tests' alerts config and a migrated database."""
    settings = settings_for("config")
    db = _migrated(settings)
    yield settings, db
    db.dispose()


def _migrated(settings: Settings) -> Engine:
    db = make_engine(settings.database_url)
    migrate(db)
    return db


def _agents_on(*channels: str) -> str:
    """The tests' alerts.toml with the agents' group on these channels."""
    listed = ", ".join(f'"{c}"' for c in channels)
    return ALERTS_TOML.replace('[groups.agents]\nchannels = ["ding"]', f"[groups.agents]\nchannels = [{listed}]")


def _suffixes(went: dict[datetime, list[str]]) -> dict[datetime, list[str]]:
    """When each flag alert went to the robot, by its key's last part (the channel for a first alert, r1, r2...)."""
    return {at: [k.rsplit(":", 1)[-1] for k in keys] for at, keys in went.items()}


def _flag_alerts_to_ding(report: RunReport) -> list[str]:
    return [key for d in report.sent if d.channel == "ding" for key in d.keys if key.startswith("flag:")]


def _hourly(
    db: Engine,
    settings: Settings,
    env: dict[str, str],
    start: datetime,
    end: datetime,
    *,
    step: timedelta = timedelta(hours=1),
    before_run: Callable[[datetime], None] = lambda _: None,
) -> dict[datetime, list[str]]:
    """Cron every `step` from `start` to `end`: {run time: flag alerts that run sent to the ding robot}."""
    went: dict[datetime, list[str]] = {}
    at = start
    with httpx.Client() as client:
        while at <= end:
            before_run(at)
            report = run_alerts(db, settings, now=at, env=env, client=client, sleep=lambda _: None)
            if keys := _flag_alerts_to_ding(report):
                went[at] = keys
            at += step
    return went


def test_a_held_alert_cancelled_while_the_flag_was_acknowledged_does_not_silence_the_reopened_flag(
    world: tuple[Settings, Engine], alert_env: dict[str, str], receiver: Receiver
) -> None:
    settings, db = world
    flag = add_flag(db, add_parcel(db, "YT200", now=local(15, 12)), "stale", opened_at=local(20, 22))
    with httpx.Client() as client:
        run_alerts(db, settings, now=local(20, 22, 5), env=alert_env, client=client, sleep=lambda _: None)  # r0 held
        set_flag(db, flag, state="acknowledged")  # an agent acknowledges it on the board at night
        report = run_alerts(db, settings, now=local(20, 22, 30), env=alert_env, client=client, sleep=lambda _: None)
        assert report.cancelled == 1
    set_flag(db, flag, state="open")  # the rules put it back to open: same episode, same level
    went = _hourly(db, settings, alert_env, local(20, 23), local(25, 12))
    db.dispose()
    # the cancelled alert is not sent again (its key is stored); the group never saw the level, so the next one is
    # due as soon as the flag is open again (held for 09:00; it was a day later, at 09:00 on the 22nd: 35 hours
    # of silence), worded as the group's first alert; then the two reminders, a day apart
    assert _suffixes(went) == {
        local(21, 9): ["r1"],
        local(22, 9): ["r2"],
        local(23, 9): ["r3"],
    }
    with db.connect() as conn:
        levels = conn.execute(
            select(ALERT.c.dedupe_key, ALERT.c.level, ALERT.c.body)
            .where(ALERT.c.state == "sent", ALERT.c.flag_id == flag, ALERT.c.channel == "ding")
            .order_by(ALERT.c.id)
        ).all()
    assert [(k.rsplit(":", 1)[-1], level, body.split("\n")[0]) for k, level, body in levels] == [
        ("r1", "warn", "### 【提醒】物流不更新 YT200"),
        ("r2", "warn/r1", "### 【提醒 · 第1次提醒】物流不更新 YT200"),
        ("r3", "warn/r2", "### 【提醒 · 第2次提醒】物流不更新 YT200"),
    ]


def test_a_cancelled_reminder_does_not_stop_the_next_one(
    world: tuple[Settings, Engine], alert_env: dict[str, str], receiver: Receiver
) -> None:
    settings, db = world
    flag = add_flag(db, add_parcel(db, "YT202", now=local(15, 12)), "stale", opened_at=local(21, 20))
    with httpx.Client() as client:
        run = lambda at: run_alerts(db, settings, now=at, env=alert_env, client=client, sleep=lambda _: None)  # noqa: E731
        assert _flag_alerts_to_ding(run(local(21, 20))) == [
            f"flag:{flag}.{int(local(21, 20).timestamp())}:warn:agents:ding"
        ]
        assert [p.dedupe_key.rsplit(":", 1)[-1] for p in run(local(22, 22)).planned if p.flag_id] == ["r1"]  # held
        set_flag(db, flag, state="acknowledged")
        assert run(local(22, 22, 30)).cancelled == 1
    set_flag(db, flag, state="open")
    went = _hourly(db, settings, alert_env, local(22, 23), local(25, 12))
    db.dispose()
    # reminder 2 counts from the alert that went (21st 20:00): due at once, held for the morning; the group counts
    # it as its first reminder, and gets its second a day later
    assert _suffixes(went) == {
        local(23, 9): ["r2"],
        local(24, 9): ["r3"],
    }


def test_an_alert_that_used_up_its_attempts_does_not_stop_the_reminders_once_the_robot_works(
    world: tuple[Settings, Engine], alert_env: dict[str, str], receiver: Receiver
) -> None:
    settings, db = world
    add_flag(db, add_parcel(db, "YT201", now=local(15, 12)), "stale", opened_at=local(20, 10))
    receiver.errcode["/dingtalk"] = 310000  # the robot is misconfigured: every try fails

    def fix_robot_that_night(at: datetime) -> None:
        if at >= local(21, 0):
            receiver.errcode.pop("/dingtalk", None)

    went = _hourly(
        db,
        settings,
        alert_env,
        local(20, 10),
        local(25, 12),
        step=timedelta(minutes=30),
        before_run=fix_robot_that_night,
    )
    with db.connect() as conn:
        first = conn.execute(
            select(ALERT.c.state, ALERT.c.attempts).where(
                ALERT.c.flag_id.is_not(None), ~ALERT.c.dedupe_key.like("%:r_")
            )
        ).all()
    db.dispose()
    assert [tuple(r) for r in first] == [("failed", settings.alerts.max_attempts)]  # gave up
    # the next alert counts from when the one that gave up was stored (a robot refusing every try is not asked
    # again at once); it is the group's first, so two reminders follow, a day apart
    assert _suffixes(went) == {
        local(21, 10): ["r1"],
        local(22, 10): ["r2"],
        local(23, 10): ["r3"],
    }


def test_alerts_left_on_a_removed_channel_do_not_stop_the_reminders(
    settings_for: Callable[..., Settings], alert_env: dict[str, str], receiver: Receiver
) -> None:
    two = _agents_on("ding", "slack")
    retired = ALERTS_TOML.replace('[channels.slack]\ntype = "slack"\nurl_env = "T_SLACK_URL"\n', "").replace(
        '[groups.agents_en]\nchannels = ["slack"]', '[groups.agents_en]\nchannels = ["hook"]'
    )
    before = settings_for("c1", two)
    after = settings_for("c2", retired)
    assert "slack" not in after.alerts.channels
    db = _migrated(before)
    add_flag(db, add_parcel(db, "YT300", now=local(15, 12)), "stale", opened_at=local(20, 22))
    with httpx.Client() as client:  # held for 09:00 on both robots; the slack robot is retired that night
        run_alerts(db, before, now=local(20, 22, 5), env=alert_env, client=client, sleep=lambda _: None)
    went = _hourly(db, after, alert_env, local(20, 23), local(25, 12))
    with db.connect() as conn:
        left = conn.execute(select(ALERT.c.channel, ALERT.c.state).where(ALERT.c.channel == "slack")).all()
    db.dispose()
    assert [tuple(r) for r in left] == [("slack", "cancelled")]  # never sent: the channel is gone (not counted held)
    assert _suffixes(went) == {
        local(21, 9): ["ding"],
        local(22, 9): ["r1"],
        local(23, 9): ["r2"],
    }


def test_a_channel_that_keeps_failing_does_not_hold_back_the_reminders_on_the_others(
    settings_for: Callable[..., Settings], alert_env: dict[str, str], receiver: Receiver
) -> None:
    """The agents' alert went on the DingTalk robot at 10:00; their webhook fails every try, retried for days.
    The reminder still goes on the robot a day after the alert it got (it waited until the webhook gave up)."""
    toml = _agents_on("ding", "hook")
    settings = settings_for("c", toml.replace("max_attempts = 4", "max_attempts = 60"))
    db = _migrated(settings)
    receiver.script["/hook"] = [500] * 1000
    add_flag(db, add_parcel(db, "YT310", now=local(15, 12)), "stale", opened_at=local(20, 10))
    went = _hourly(db, settings, alert_env, local(20, 10), local(22, 12))
    with db.connect() as conn:
        hook = conn.execute(select(ALERT.c.state).where(ALERT.c.channel == "hook", ALERT.c.flag_id.is_not(None))).all()
    db.dispose()
    assert {state for (state,) in hook} == {"failed"}  # still being retried
    assert _suffixes(went) == {
        local(20, 10): ["ding"],
        local(21, 10): ["r1"],
        local(22, 10): ["r2"],
    }


def test_a_channel_taken_off_a_group_sends_none_of_its_waiting_alerts(
    settings_for: Callable[..., Settings], alert_env: dict[str, str], receiver: Receiver
) -> None:
    """The agents' webhook is taken off their group (it stays defined, for ops): the alert held for it overnight
    is cancelled, not sent in the morning; the robot's goes."""
    two = _agents_on("ding", "hook")
    before = settings_for("c1", two)
    after = settings_for("c2")
    assert "hook" in after.alerts.channels and after.alerts.groups["agents"].channels == ["ding"]
    db = _migrated(before)
    add_flag(db, add_parcel(db, "YT320", now=local(15, 12)), "stale", opened_at=local(20, 22))
    with httpx.Client() as client:
        run_alerts(db, before, now=local(20, 22, 5), env=alert_env, client=client, sleep=lambda _: None)
    went = _hourly(db, after, alert_env, local(20, 23), local(21, 12))
    with db.connect() as conn:
        rows = conn.execute(
            select(ALERT.c.channel, ALERT.c.state, ALERT.c.error).where(ALERT.c.flag_id.is_not(None))
        ).all()
    db.dispose()
    assert sorted(tuple(r) for r in rows) == [
        ("ding", "sent", None),
        ("hook", "cancelled", "channel or group removed from alerts.toml"),
    ]
    assert receiver.delivered("/hook") == [] and list(went) == [local(21, 9)]
