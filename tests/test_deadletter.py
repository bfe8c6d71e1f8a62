"""Dead letters (tracker/deadletter.py) and migration 0013, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, inspect

from tracker import deadletter
from tracker.storage.db import downgrade, make_engine, migrate

NOW = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)


def _down_and_up(engine: Engine) -> None:
    migrate(engine)
    assert "push_dead_letter" in inspect(engine).get_table_names()
    downgrade(engine, "0012_subscriptions")
    assert "push_dead_letter" not in inspect(engine).get_table_names()
    assert "subscription" in inspect(engine).get_table_names()
    migrate(engine)
    assert "ix_push_dead_letter_state" in {ix["name"] for ix in inspect(engine).get_indexes("push_dead_letter")}


def test_migration_0013_down_and_up(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        _down_and_up(engine)
    finally:
        engine.dispose()


def test_migration_0013_down_and_up_on_postgresql(pg_url: str) -> None:
    engine = make_engine(pg_url)
    try:
        _down_and_up(engine)
    finally:
        engine.dispose()


def test_a_resent_payload_is_one_letter_and_bytes_are_kept_exactly(db_engine: Engine) -> None:
    raw = b'{"event":"TRACKING_UPDATED","data":\x00\xff'  # not UTF-8, a NUL: kept as received
    first = deadletter.keep(db_engine, "track17", raw, "body not JSON", now=NOW)
    again = deadletter.keep(db_engine, "track17", raw, "body not JSON", now=NOW + timedelta(minutes=30))
    other = deadletter.keep(db_engine, "kuaidi100", "{参数", "param not JSON", now=NOW)
    assert first == again != other
    [letter, _] = sorted(deadletter.listing(db_engine, failed_only=True), key=lambda d: d.id)
    assert letter.attempts == 2 and letter.size == len(raw) and letter.last_received_at == NOW + timedelta(minutes=30)
    assert deadletter.payload_of(db_engine, first) == ("track17", raw)
    assert deadletter.payload_of(db_engine, other) == ("kuaidi100", "{参数".encode())


def test_replay_marks_a_letter_read_whole_and_keeps_the_error_otherwise(db_engine: Engine) -> None:
    letter = deadletter.keep(db_engine, "kdniao", '{"Data": []}', "no waybill in the push", now=NOW)

    def read(provider: str, payload: bytes) -> dict:
        import json

        return json.loads(payload)

    still = deadletter.replay(db_engine, letter, read, lambda p, body: (0, 0, ["Data[0]: missing"]), now=NOW)
    assert still is not None and not still.whole
    assert deadletter.listing(db_engine, failed_only=True)[0].error == "Data[0]: missing"
    done = deadletter.replay(db_engine, letter, read, lambda p, body: (1, 3, []), now=NOW)
    assert done is not None and done.whole and done.new_events == 3
    assert deadletter.listing(db_engine, failed_only=True) == []
    [kept] = deadletter.listing(db_engine, failed_only=False)
    assert kept.state == "replayed" and kept.replayed_at == NOW
    assert deadletter.replay(db_engine, 424242, read, lambda p, body: (1, 0, []), now=NOW) is None
