"""Retries and alerts found due keep the group's working hours, and a held digest stays one digest through
failures: flags in a real database, messages to real local receivers, a frozen clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from alertkit import Receiver, add_flag, add_parcel
from sqlalchemy import Engine, select

from tracker.alerts import store
from tracker.alerts.service import RunReport, plan, run_alerts
from tracker.settings import Settings
from tracker.storage.db import make_engine, migrate
from tracker.storage.rows import AlertRow

SH = ZoneInfo("Asia/Shanghai")


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=SH).astimezone(UTC)


@pytest.fixture
def db(alert_settings: Settings) -> Iterator[Engine]:
    engine = make_engine(alert_settings.database_url)
    migrate(engine)
    yield engine
    engine.dispose()


def run(engine: Engine, settings: Settings, env: dict[str, str], now: datetime) -> RunReport:
    with httpx.Client() as client:
        return run_alerts(engine, settings, now=now, env=env, client=client, sleep=lambda _: None)


def flag_alerts(engine: Engine) -> list[tuple[str, str, datetime, bool]]:
    """(waybill key, state, due time in Shanghai, held) of the alerts to the agents' DingTalk robot."""
    query = select(AlertRow.dedupe_key, AlertRow.state, AlertRow.due_at, AlertRow.held).where(
        AlertRow.flag_id.is_not(None), AlertRow.channel == "ding"
    )
    with engine.connect() as conn:
        return [(k, s, d.astimezone(SH), h) for k, s, d, h in conn.execute(query.order_by(AlertRow.id))]


def stale(engine: Engine, waybill: str, opened_at: datetime) -> None:
    parcel = add_parcel(engine, waybill, now=opened_at - timedelta(days=3), buyer_id=f"tb_{waybill}")
    add_flag(engine, parcel, "stale", opened_at=opened_at)


def test_a_failed_alert_is_not_retried_after_working_hours_but_held_for_the_morning(
    db: Engine, alert_settings: Settings, alert_env: dict[str, str], receiver: Receiver
) -> None:
    stale(db, "YT100", local(23, 20, 50))
    receiver.script["/dingtalk"] = [503, 503, 503]  # the 20:58 try (send_attempts = 3) fails
    first = run(db, alert_settings, alert_env, local(23, 20, 58))
    assert [d.channel for d, _ in first.failed] == ["ding"]
    [(_, state, due, held)] = flag_alerts(db)
    # the backoff (5 min) would be 21:03, after the agents' 09:00-21:00: the morning window instead
    assert (state, due, held) == ("failed", local(24, 9).astimezone(SH), True)
    for night in (local(23, 21, 3), local(24, 1)):
        assert run(db, alert_settings, alert_env, night).sent == []
    morning = run(db, alert_settings, alert_env, local(24, 9))
    assert [d.keys for d in morning.sent if d.channel == "ding" and "YT100" in d.body] != []
    assert len([r for r in receiver.delivered("/dingtalk") if "YT100" in r.body["markdown"]["text"]]) == 1


def test_an_alert_found_due_after_hours_is_held_for_the_morning_digest(
    db: Engine, alert_settings: Settings, alert_env: dict[str, str], receiver: Receiver
) -> None:
    """A run took the alert at 20:55 and died; its lease ends at 21:05, after the agents' hours."""
    stale(db, "YT100", local(23, 20, 50))
    stale(db, "YT200", local(23, 20, 52))
    taken_at = local(23, 20, 55)
    store.insert_planned(db, plan(db, alert_settings, now=taken_at), now=taken_at)
    ids = [r["id"] for r in store.due_alerts(db, now=taken_at, max_attempts=10) if r["channel"] == "ding"]
    assert store.take(db, ids, now=taken_at, until=taken_at + timedelta(minutes=10))
    night = run(db, alert_settings, alert_env, local(23, 21, 6))
    assert [d for d in night.sent if d.channel == "ding"] == []
    assert [(s, d, h) for _, s, d, h in flag_alerts(db)] == [("held", local(24, 9).astimezone(SH), True)] * 2
    morning = run(db, alert_settings, alert_env, local(24, 9))
    [digest] = [d for d in morning.sent if d.channel == "ding" and not d.keys[0].startswith("digest:")]
    assert digest.subject == "非工作时间暂存的提醒 2 条" and len(digest.ids) == 2


def test_a_held_digest_that_failed_is_retried_as_one_digest(
    db: Engine, alert_settings: Settings, alert_env: dict[str, str], receiver: Receiver
) -> None:
    for waybill in ("YT1", "YT2", "YT3", "YT4"):
        stale(db, waybill, local(23, 22))
    run(db, alert_settings, alert_env, local(23, 23))  # after hours: held
    receiver.script["/dingtalk"] = [503, 503, 503]  # the 09:00 held digest (the first DingTalk post) fails
    morning = run(db, alert_settings, alert_env, local(24, 9))
    assert [len(d.ids) for d, _ in morning.failed] == [4]
    assert {(s, h) for _, s, _, h in flag_alerts(db)} == {("failed", True)}
    retry = run(db, alert_settings, alert_env, local(24, 9, 6))
    flags = [d for d in retry.sent if d.channel == "ding" and not d.keys[0].startswith("digest:")]
    assert [(d.subject, len(d.ids)) for d in flags] == [("非工作时间暂存的提醒 4 条", 4)]
