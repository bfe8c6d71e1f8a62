"""A provider that pushes but has no handler of its own in tracker/push.py is served from its PushSpec
alone (tracker/providers/push_handler.py): registered under a new name, a copy of Kuaidi100's spec (form
field + signature field) and of 17TRACK's (raw JSON body + signature header) receive the sandbox's real
signed pushes over HTTP, store them once, acknowledge as the provider expects and refuse forgeries."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select

from tracker.domain import ParcelFacts
from tracker.providers import registry
from tracker.push import KD100_ACK, create_push_app
from tracker.sandbox.server import start_background
from tracker.storage.db import make_engine, migrate
from tracker.storage.repo import upsert_parcels
from tracker.storage.rows import TrackingEventRow

from .conftest import SANDBOX_NOW

COPIES = {"kd100copy": "kuaidi100", "t17copy": "track17"}
PARCELS = [("zto", "78312345670001"), ("chinapost", "9812345670001")]


@pytest.fixture
def intake(online_settings, sandbox, monkeypatch) -> Iterator[tuple[str, object]]:
    url, _ = sandbox
    real = registry.specs()
    copies = {new: dataclasses.replace(real[old], name=new) for new, old in COPIES.items()}
    monkeypatch.setattr(registry, "specs", lambda: {**real, **copies})
    update: dict[str, object] = {new: online_settings.providers.of(old) for new, old in COPIES.items()}
    # the copies are registered in this process only: the pushes are written here, not in a writer process
    update["push"] = online_settings.providers.push.model_copy(update={"writer": "thread"})
    settings = online_settings.model_copy(update={"providers": online_settings.providers.model_copy(update=update)})
    engine = make_engine(settings.database_url)
    migrate(engine)
    upsert_parcels(engine, [ParcelFacts(courier=c, waybill=w) for c, w in PARCELS], now=SANDBOX_NOW)
    for _, waybill in PARCELS:
        httpx.post(
            f"{url}/_sandbox/assign",
            json={"waybill": waybill, "scenario": "delivered", "anchor": (SANDBOX_NOW - timedelta(days=4)).isoformat()},
        ).raise_for_status()
    server = start_background(create_push_app(engine, settings, clock=lambda: SANDBOX_NOW))
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
    ("name", "courier", "waybill"), [("kd100copy", "zto", "78312345670001"), ("t17copy", "chinapost", "9812345670001")]
)
def test_a_spec_only_provider_gets_a_working_push_route(sandbox, intake, name, courier, waybill) -> None:
    url, _ = sandbox
    push_url, engine = intake
    target = f"{push_url}/push/{name}"
    forged = _push(url, COPIES[name], target, waybill, courier, bad=True)
    assert forged["status"] == 401 and _events(engine) == 0
    good = _push(url, COPIES[name], target, waybill, courier)
    assert good["status"] == 200
    if name == "kd100copy":
        assert json.loads(good["body"]) == KD100_ACK
    else:
        assert good["body"] == ""  # 17TRACK wants an empty 200
    stored = _events(engine)
    assert stored == 5
    _push(url, COPIES[name], target, waybill, courier)
    assert _events(engine) == stored


def test_malformed_bodies_get_the_spec_refusal(intake, online_settings) -> None:
    from tracker.providers.kuaidi100.sign import push_sign

    push_url, engine = intake
    salt = online_settings.providers.kuaidi100.salt
    r = httpx.post(f"{push_url}/push/kd100copy", data={"param": "{nope", "sign": push_sign("{nope", salt)})
    assert r.status_code == 400 and r.json()["result"] is False
    assert httpx.post(f"{push_url}/push/kd100copy", data={}).status_code == 400
    assert httpx.post(f"{push_url}/push/t17copy", content=b"").status_code == 400
    assert _events(engine) == 0
