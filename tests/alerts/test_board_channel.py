"""The shipped alerts.toml: the embedded default records alerts in the board's alert log, sends nothing out."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from tests.alerts.alertkit import add_flag, add_parcel
from tracker.alerts.service import run_alerts
from tracker.settings import Settings
from tracker.storage.rows import AlertRow

NOW = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)  # 11:00 Shanghai, inside working hours


def test_shipped_config_logs_alerts_for_the_board(settings: Settings, sqlite_engine) -> None:  # type: ignore[no-untyped-def]
    assert {c.type for c in settings.alerts.channels.values()} >= {"board"}
    parcel = add_parcel(sqlite_engine, "YT7500000000001", now=NOW)
    add_flag(sqlite_engine, parcel, "stale", opened_at=NOW)
    report = run_alerts(sqlite_engine, settings, now=NOW, env={})
    with sqlite_engine.connect() as conn:
        rows = conn.execute(select(AlertRow.channel, AlertRow.state, AlertRow.subject, AlertRow.level)).all()
    flag_alerts = [r for r in rows if r.level != "digest"]
    assert flag_alerts and all(r.channel == "board" and r.state == "sent" for r in flag_alerts)
    assert any("YT7500000000001" in r.subject for r in flag_alerts)
    assert report.failed == []
