"""The 0005_alerts migration (alert.call_key) goes up and down on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import Engine, inspect

from tracker.storage.db import downgrade, migrate


def test_call_key_column_comes_and_goes_with_the_migration(engine: Engine) -> None:
    assert "call_key" in {c["name"] for c in inspect(engine).get_columns("alert")}
    downgrade(engine, "0001_initial")
    assert "call_key" not in {c["name"] for c in inspect(engine).get_columns("alert")}
    migrate(engine)
    assert "ix_alert_call_key" in {i["name"] for i in inspect(engine).get_indexes("alert")}
