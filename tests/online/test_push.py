"""Push intake over real HTTP: the sandbox sends good and forged pushes; malformed ones are posted here."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select

from tracker.domain import ParcelFacts
from tracker.providers.kdniao.sign import data_sign
from tracker.providers.kuaidi100.sign import push_sign
from tracker.push import create_push_app
from tracker.sandbox.server import BackgroundServer, start_background
from tracker.storage.db import make_engine, migrate
from tracker.storage.repo import upsert_parcels
from tracker.storage.rows import TrackingEventRow

from .conftest import SANDBOX_NOW

HAVE_INGEST = importlib.util.find_spec("tracker.ingest") is not None
needs_ingest = pytest.mark.skipif(not HAVE_INGEST, reason="tracker.ingest (parsers branch) not merged yet")
PARCELS = [("zto", "78312345678901"), ("yunda", "4312345678901"), ("chinapost", "9812345678901")]


@pytest.fixture
def intake(online_settings, sandbox) -> Iterator[tuple[str, object]]:
    url, _ = sandbox
    engine = make_engine(online_settings.database_url)
    migrate(engine)
    upsert_parcels(engine, [ParcelFacts(courier=c, waybill=w) for c, w in PARCELS], now=SANDBOX_NOW)
    for _, waybill in PARCELS:
        httpx.post(
            f"{url}/_sandbox/assign",
            json={
                "waybill": waybill,
                "scenario": "refused_returned",
                "anchor": (SANDBOX_NOW - timedelta(days=4)).isoformat(),
            },
        ).raise_for_status()
    server: BackgroundServer = start_background(create_push_app(engine, online_settings, clock=lambda: SANDBOX_NOW))
    yield server.url, engine
    server.stop()
    engine.dispose()


def _push(sandbox_url: str, provider: str, callback: str, waybill: str, courier: str, bad: bool = False) -> dict:
    r = httpx.post(
        f"{sandbox_url}/_sandbox/push",
        json={"provider": provider, "callback": callback, "waybills": [waybill], "courier": courier, "bad_sign": bad},
        timeout=30,
    )
    r.raise_for_status()
    return r.json()["results"][0]


def _events(engine) -> int:  # noqa: ANN001
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(TrackingEventRow)).scalar_one()


@pytest.mark.parametrize(
    ("provider", "courier", "waybill"),
    [
        ("kuaidi100", "zto", "78312345678901"),
        ("kdniao", "yunda", "4312345678901"),
        ("track17", "chinapost", "9812345678901"),
    ],
)
def test_forged_push_is_rejected_and_stores_nothing(sandbox, intake, provider, courier, waybill) -> None:
    url, _ = sandbox
    push_url, engine = intake
    result = _push(url, provider, f"{push_url}/push/{provider}", waybill, courier, bad=True)
    assert result["status"] == 401
    assert _events(engine) == 0


@needs_ingest
@pytest.mark.parametrize(
    ("provider", "courier", "waybill", "ack"),
    [
        ("kuaidi100", "zto", "78312345678901", {"result": True, "returnCode": "200", "message": "成功"}),
        ("kdniao", "yunda", "4312345678901", None),
        ("track17", "chinapost", "9812345678901", None),
    ],
)
def test_good_push_is_stored_once_and_acknowledged(sandbox, intake, provider, courier, waybill, ack) -> None:
    url, _ = sandbox
    push_url, engine = intake
    result = _push(url, provider, f"{push_url}/push/{provider}", waybill, courier)
    assert result["status"] == 200
    if ack:
        assert json.loads(result["body"]) == ack
    if provider == "kdniao":
        assert json.loads(result["body"])["Success"] is True
    stored = _events(engine)
    assert stored == 5
    _push(url, provider, f"{push_url}/push/{provider}", waybill, courier)
    assert _events(engine) == stored  # a repeated push adds nothing


def test_malformed_pushes_get_400(online_settings, intake) -> None:
    push_url, engine = intake
    salt = online_settings.providers.kuaidi100.salt
    r = httpx.post(
        f"{push_url}/push/kuaidi100", data={"param": "{not json", "sign": push_sign("{not json", salt)}, timeout=30
    )
    assert r.status_code == 400 and r.json()["result"] is False
    key = online_settings.providers.kdniao.app_key
    r = httpx.post(
        f"{push_url}/push/kdniao",
        data={"RequestData": "[1", "DataSign": data_sign("[1", key), "RequestType": "101"},
        timeout=30,
    )
    assert r.status_code == 400 and r.json()["Success"] is False
    r = httpx.post(
        f"{push_url}/push/kdniao",
        data={"RequestData": "{}", "DataSign": data_sign("{}", key), "RequestType": "1002"},
        timeout=30,
    )
    assert r.status_code == 400
    r = httpx.post(f"{push_url}/push/kuaidi100", data={}, timeout=30)
    assert r.status_code == 400
    assert _events(engine) == 0


def _kd100_push(waybill: str, salt: str) -> dict[str, str]:
    """A Kuaidi100 push (param + sign) carrying one event for `waybill`."""
    param = json.dumps(
        {
            "status": "polling",
            "billstatus": "got",
            "message": "",
            "lastResult": {
                "message": "ok",
                "nu": waybill,
                "ischeck": "0",
                "com": "zhongtong",
                "state": "0",
                "status": "200",
                "data": [
                    {"time": "2026-11-20 09:00:00", "ftime": "2026-11-20 09:00:00", "context": "【杭州转运中心】已揽收"}
                ],
            },
        },
        ensure_ascii=False,
    )
    return {"param": param, "sign": push_sign(param, salt)}


def test_pushes_arriving_together_share_a_transaction_and_each_is_answered(online_settings, intake) -> None:
    """Group commit: concurrent pushes are all acknowledged, and every acknowledged push is stored."""
    import asyncio

    url, engine = intake
    numbers = [f"7831234567{i:04d}" for i in range(40)]
    upsert_parcels(engine, [ParcelFacts(courier="zto", waybill=n) for n in numbers], now=SANDBOX_NOW)
    salt = online_settings.providers.kuaidi100.salt
    before = _events(engine)

    async def send() -> list[int]:
        async with httpx.AsyncClient(timeout=30) as client:
            answers = await asyncio.gather(
                *(client.post(f"{url}/push/kuaidi100", data=_kd100_push(n, salt)) for n in numbers)
            )
        return [a.status_code if a.json().get("returnCode") == "200" else -a.status_code for a in answers]

    assert asyncio.run(send()) == [200] * len(numbers)
    assert _events(engine) - before == len(numbers)


def test_serve_push_workers_need_postgresql(tmp_path) -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, "TRACKER_DATABASE_URL": f"sqlite:///{tmp_path}/one.db"}
    subprocess.run([sys.executable, "-m", "tracker.cli", "init"], env=env, capture_output=True, check=True)
    done = subprocess.run(
        [sys.executable, "-m", "tracker.cli", "serve-push", "--sandbox", "--workers", "2"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "--workers 2 needs PostgreSQL" in done.stderr and "run one process" in done.stderr


@pytest.mark.postgres
def test_serve_push_with_two_workers_on_postgresql_stores_every_acknowledged_push(pg_engine, pg_url) -> None:
    import os
    import subprocess
    import sys
    import time

    from tracker.sandbox.server import free_port
    from tracker.settings import load_settings

    numbers = [f"7831234568{i:04d}" for i in range(20)]
    upsert_parcels(pg_engine, [ParcelFacts(courier="zto", waybill=n) for n in numbers], now=SANDBOX_NOW)
    salt = load_settings().providers.kuaidi100.salt
    port = free_port()
    env = {**os.environ, "TRACKER_DATABASE_URL": pg_url}
    server = subprocess.Popen(
        [sys.executable, "-m", "tracker.cli", "serve-push", "--sandbox", "--workers", "2", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}/push/kuaidi100"
    deadline = time.monotonic() + 120  # two processes start and import everything on a loaded machine
    try:
        while True:
            try:
                httpx.post(url, data={}, timeout=1)
                break
            except httpx.TransportError:
                if server.poll() is not None or time.monotonic() > deadline:
                    server.terminate()
                    pytest.fail(server.communicate(timeout=20)[1].decode()[-3000:])
                time.sleep(0.2)
        answers = [httpx.post(url, data=_kd100_push(n, salt), timeout=30).json() for n in numbers]
    finally:
        server.terminate()
        server.wait(20)
    assert [a["returnCode"] for a in answers] == ["200"] * len(numbers)
    assert _events(pg_engine) == len(numbers)
