"""More requests at once than a real `tracker serve-push` handles (data/push_overload.json): a push beyond
`max_concurrency` is answered 503 at once and stores nothing, the requests holding the cap still end with their
408, and the same push sent again afterwards is answered 200 and stored once: refused under load, never lost.
Bounded: a fixed number of connections, a fixed time, 127.0.0.1 only."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import func, select

from tests.hostile.push_server import REAL, PushServer, load, serve_push, signed
from tracker.domain import ParcelFacts
from tracker.storage.db import make_engine
from tracker.storage.repo import upsert_parcels
from tracker.storage.tables import EVENT

DATA = load("push_overload.json")
HOST = "127.0.0.1"
IMPORTED_AT = datetime(2026, 11, 19, tzinfo=UTC)
PUSH = {
    "status": "polling",
    "billstatus": "got",
    "message": "",
    "lastResult": {
        "message": "ok",
        "nu": DATA["waybill"],
        "ischeck": "0",
        "com": "zhongtong",
        "state": "0",
        "status": "200",
        "data": [{"time": "2026-11-20 09:00:00", "ftime": "2026-11-20 09:00:00", "context": "【杭州转运中心】已揽收"}],
    },
}


@pytest.fixture
def server(tmp_path, db_url: str) -> Iterator[PushServer]:  # noqa: ANN001
    with serve_push(tmp_path, db_url, DATA["push"]) as srv:
        engine = make_engine(db_url)
        upsert_parcels(engine, [ParcelFacts(courier=DATA["courier"], waybill=DATA["waybill"])], now=IMPORTED_AT)
        engine.dispose()
        yield srv


def _events(server: PushServer) -> int:
    engine = make_engine(server.db_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(EVENT)).scalar_one())
    finally:
        engine.dispose()


async def _hold_body(port: int, until: float) -> bytes:
    """Complete headers and the start of a body that never comes whole; what the server answered."""
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        writer.write(b"POST /push/kuaidi100 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5000\r\n\r\nparam=")
        await writer.drain()
        answer = b""
        while time.monotonic() < until:
            try:
                chunk = await asyncio.wait_for(reader.read(4096), timeout=until - time.monotonic())
            except TimeoutError:
                break
            if not chunk:
                break
            answer += chunk
        return answer
    except (ConnectionError, OSError):
        return b""
    finally:
        writer.close()


def test_a_push_beyond_the_cap_is_refused_at_once_and_stored_when_sent_again(server: PushServer) -> None:
    port = int(server.url.rsplit(":", 1)[1])
    form = signed("kuaidi100", json.dumps(PUSH, ensure_ascii=False), REAL["kuaidi100"])
    before, base_fds = _events(server), server.open_fds()

    async def overload() -> tuple[list[bytes], httpx.Response, float]:
        until = time.monotonic() + DATA["give_up_after_seconds"]
        held = [asyncio.create_task(_hold_body(port, until)) for _ in range(DATA["held_bodies"])]
        while server.open_fds() < base_fds + len(held) and time.monotonic() < until:
            await asyncio.sleep(0.02)  # until the server holds their connections (the cap counts connections)
        async with httpx.AsyncClient(timeout=DATA["give_up_after_seconds"]) as client:
            started = time.monotonic()
            refused = await client.post(f"{server.url}/push/kuaidi100", **form)
            took = time.monotonic() - started
        return list(await asyncio.gather(*held)), refused, took

    held, refused, took = asyncio.run(overload())
    assert refused.status_code == 503, (refused.status_code, refused.text[:200])
    assert took < DATA["refused_within_seconds"], f"the 503 took {took:.2f} s: held behind the slow requests"
    assert _events(server) == before  # refused, so nothing stored: the provider sends it again
    late = [(i, a[:40]) for i, a in enumerate(held) if not a.startswith(b"HTTP/1.1 408")]
    assert not late, late  # the requests holding the cap still end with their answer
    again = httpx.post(f"{server.url}/push/kuaidi100", **form, timeout=30)
    assert again.status_code == 200 and again.json().get("returnCode") == "200", again.text[:200]
    assert _events(server) == before + 1
    assert server.alive()
    log = server.text()
    assert "Exceeded concurrency limit" in log and "Traceback" not in log
