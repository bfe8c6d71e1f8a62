"""The daily digest lists the Tmall timers ending within its horizon (issue 16; docs/domain.md "Tmall's
timers"): a complaint's negotiation even without a flag, the 7-day window of a flagged delivered parcel."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from alertkit import Receiver, add_flag, add_parcel
from sqlalchemy import Engine, update

from tracker.alerts.service import run_alerts
from tracker.flags.facts import complaint_amount_changed, complaint_opened
from tracker.settings import Settings
from tracker.storage.db import make_engine, migrate
from tracker.storage.repo import PARCEL

SH = ZoneInfo("Asia/Shanghai")


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=SH).astimezone(UTC)


@pytest.fixture
def db(alert_settings: Settings) -> Engine:
    engine = make_engine(alert_settings.database_url)
    migrate(engine)
    yield engine
    engine.dispose()


def test_digest_lists_platform_deadlines(db: Engine, alert_settings: Settings, alert_env, receiver: Receiver) -> None:  # type: ignore[no-untyped-def]
    morning = local(24, 9, 30)
    add_parcel(db, "YT500", now=morning - timedelta(days=5))  # no flag: a complaint's negotiation still counts
    complaint_opened(db, waybill="YT500", actor="agent.li", now=morning, at=local(22, 10))
    complaint_amount_changed(db, waybill="YT500", actor="agent.li", now=morning, at=local(24, 9))  # in the first 48 h
    delivered = add_parcel(db, "YT600", now=morning - timedelta(days=5))
    with db.begin() as conn:
        conn.execute(update(PARCEL).where(PARCEL.c.id == delivered).values(delivered_at=local(20, 15)))
    add_flag(db, delivered, "stale", opened_at=morning - timedelta(hours=2))
    add_parcel(db, "YT700", now=morning - timedelta(days=5))  # neither: not listed
    with httpx.Client() as client:
        report = run_alerts(db, alert_settings, now=morning, env=alert_env, client=client, sleep=lambda _: None)
    text = next(d.body for d in report.sent if d.subject.startswith("每日异常汇总") and d.recipient == "agents")
    assert "到期的平台时限 2 个" in text
    assert "YT500 未收到货维权协商 截止 2026-11-25 10:00" in text  # 72 h: a change in the first 48 h moves nothing
    assert "YT600 七天无理由退换货 截止 2026-11-28 00:00" in text  # 11-21 00:00 + 168 h
    assert "YT700" not in text
    assert text.index("YT500") < text.index("YT600")  # soonest first
