"""The alert migrations (0005: alert.call_key, 0021: alert.held) go up and down on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, inspect, text

from tracker.storage.db import downgrade, migrate


def test_call_key_column_comes_and_goes_with_the_migration(engine: Engine) -> None:
    assert "call_key" in {c["name"] for c in inspect(engine).get_columns("alert")}
    downgrade(engine, "0001_initial")
    assert "call_key" not in {c["name"] for c in inspect(engine).get_columns("alert")}
    migrate(engine)
    assert "ix_alert_call_key" in {i["name"] for i in inspect(engine).get_indexes("alert")}


def test_alerts_held_before_0021_are_marked_held(engine: Engine) -> None:
    downgrade(engine, "0020_lost_not_final")
    assert "held" not in {c["name"] for c in inspect(engine).get_columns("alert")}
    insert = text(
        "INSERT INTO alert (dedupe_key, channel, recipient, level, subject, body, state, attempts, created_at) "
        "VALUES (:key, 'ding', 'agents', 'warn', '', '', :state, 0, :at)"
    )
    at = datetime(2026, 11, 23, 13, tzinfo=UTC)
    with engine.begin() as conn:
        for key, state in (("k_held", "held"), ("k_pending", "pending"), ("k_sent", "sent")):
            conn.execute(insert, {"key": key, "state": state, "at": at})
    migrate(engine)
    with engine.connect() as conn:
        held = dict(conn.execute(text("SELECT dedupe_key, held FROM alert")).all())
    assert {k: bool(v) for k, v in held.items()} == {"k_held": True, "k_pending": False, "k_sent": False}
    downgrade(engine, "0020_lost_not_final")
    assert "held" not in {c["name"] for c in inspect(engine).get_columns("alert")}
    migrate(engine)
