"""The push receiver's writer process (tracker/push_writer.py), on both databases: pushes are written in a
process of its own; one that dies is started again, and a group it did not write in time is refused (HTTP 503,
the provider's refusal) and stored exactly once when the provider resends it."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import Engine, func, select, text

from tracker.domain import ParcelFacts
from tracker.providers.kuaidi100.sign import push_sign
from tracker.push import create_push_app
from tracker.push_writer import GroupCommit, ProcessWriter
from tracker.sandbox.server import BackgroundServer, start_background
from tracker.settings import Settings
from tracker.storage.repo import upsert_parcels
from tracker.storage.rows import TrackingEventRow

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
WAYBILLS = ["78319900000001", "78319900000002", "78319900000003"]


@pytest.fixture
def receiver(engine: Engine, settings: Settings) -> Iterator[tuple[BackgroundServer, GroupCommit]]:
    upsert_parcels(engine, [ParcelFacts(courier="zto", waybill=w) for w in WAYBILLS], now=NOW)
    app = create_push_app(engine, settings, clock=lambda: NOW)
    server = start_background(app)
    yield server, app.state.group_commit
    server.stop()


def _push(url: str, settings: Settings, waybill: str) -> httpx.Response:
    """A Kuaidi100 push with two events for `waybill` (lastResult.data newest first, as Kuaidi100 sends it)."""
    param = json.dumps(
        {
            "status": "polling",
            "message": "",
            "lastResult": {
                "message": "ok",
                "nu": waybill,
                "ischeck": "0",
                "com": "zhongtong",
                "state": "0",
                "data": [
                    {"time": "2026-11-19 18:20:00", "context": "【杭州转运中心】已发出 下一站【上海转运中心】"},
                    {"time": "2026-11-19 09:00:00", "context": "【杭州市】杭州萧山网点 已揽收"},
                ],
            },
        },
        ensure_ascii=False,
    )
    salt = settings.providers.kuaidi100.salt
    return httpx.post(f"{url}/push/kuaidi100", data={"param": param, "sign": push_sign(param, salt)}, timeout=60)


def _events(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(TrackingEventRow)).scalar_one()


def _wait_dead(writer: ProcessWriter) -> None:
    deadline = time.monotonic() + 10
    while writer.alive and time.monotonic() < deadline:
        time.sleep(0.05)


@contextmanager
def _writes_blocked(engine: Engine) -> Iterator[None]:
    """Another writer holds the tables the push is stored in, until the block ends."""
    if engine.dialect.name == "sqlite":
        conn = sqlite3.connect(engine.url.database or "", isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            conn.execute("ROLLBACK")
            conn.close()
        return
    with engine.connect() as conn:
        conn.execute(text("LOCK TABLE parcel IN EXCLUSIVE MODE"))
        yield
        conn.rollback()


def test_pushes_are_written_in_a_process_of_its_own_started_again_when_it_dies(
    engine: Engine, settings: Settings, receiver: tuple[BackgroundServer, GroupCommit]
) -> None:
    server, committer = receiver
    writer = committer.writer
    assert isinstance(writer, ProcessWriter)
    first = _push(server.url, settings, WAYBILLS[0])
    assert first.status_code == 200 and first.json()["returnCode"] == "200"
    pid = writer.pid
    assert pid is not None and pid != os.getpid()
    os.kill(pid, signal.SIGKILL)
    _wait_dead(writer)
    second = _push(server.url, settings, WAYBILLS[1])
    assert second.status_code == 200 and second.json()["returnCode"] == "200"
    assert writer.pid not in (None, pid)
    assert _events(engine) == 4  # two events of each push


def test_a_group_not_written_in_time_is_refused_and_stored_once_when_resent(
    engine: Engine, settings: Settings, receiver: tuple[BackgroundServer, GroupCommit]
) -> None:
    server, committer = receiver
    committer.writer.close()
    writer = committer.writer = ProcessWriter(engine, settings, deadline=2.0)
    assert _push(server.url, settings, WAYBILLS[0]).status_code == 200  # the writer process is up
    with _writes_blocked(engine):
        refused = _push(server.url, settings, WAYBILLS[2])
    assert refused.status_code == 503
    assert writer.pid is None  # the deadline stopped the writer process (not the database's time-out)
    assert refused.json() == {"result": False, "returnCode": "400", "message": "暂时无法保存，请重发"}
    assert _events(engine) == 2
    resent = _push(server.url, settings, WAYBILLS[2])  # the provider sends it again
    assert resent.status_code == 200 and resent.json()["returnCode"] == "200"
    assert _events(engine) == 4
    again = _push(server.url, settings, WAYBILLS[2])
    assert again.status_code == 200 and _events(engine) == 4  # stored once
