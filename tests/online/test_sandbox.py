"""Sandbox behaviour the clients and the demo rely on: clock, assignment, control errors, subscription."""

from __future__ import annotations

import asyncio
import json

import httpx

from tracker.providers.kuaidi100.client import Kuaidi100Client
from tracker.sandbox.scenarios import load_scenarios

REQUIRED = {
    "delivered", "stale_in_transit", "no_first_scan", "out_of_area", "stranded", "refused_returned",
    "locker_overdue", "damaged", "intercepted", "cancelled", "address_problem", "return_delivered",
    "station_pickup", "locker_exception",
}  # fmt: skip


def test_scenario_files_cover_every_required_story() -> None:
    scenarios = load_scenarios()
    assert REQUIRED <= set(scenarios)
    for s in scenarios.values():
        assert [e.hours for e in s.events] == sorted(e.hours for e in s.events), s.name


def test_events_appear_as_the_clock_moves(sandbox) -> None:
    url, _ = sandbox
    httpx.post(
        f"{url}/_sandbox/assign",
        json={"waybill": "YT0000000000001", "scenario": "delivered", "anchor": "2026-11-23T04:00:00Z"},
    ).raise_for_status()

    def rows() -> int:
        return httpx.get(f"{url}/web/yto/YT0000000000001").text.count('class="trace"')

    assert rows() == 1  # the pickup at the anchor
    httpx.post(f"{url}/_sandbox/clock", json={"now": "2026-11-24T14:00:00Z"}).raise_for_status()
    assert rows() == 5


def test_unassigned_waybills_get_a_stable_scenario(sandbox) -> None:
    _, state = sandbox
    first = state.book.lookup("ZT123456789")
    assert state.book.lookup("ZT123456789") == first
    names = {state.book.lookup(f"7{i:013d}")[0].name for i in range(400)}
    assert len(names) >= 10


def test_control_endpoints_reject_bad_input(sandbox) -> None:
    url, _ = sandbox
    assert httpx.post(f"{url}/_sandbox/faults", json={"rates": {"gremlins": 0.5}}).status_code == 400
    assert httpx.post(f"{url}/_sandbox/faults", json={"rates": {"5xx": 2}}).status_code == 400
    assert httpx.post(f"{url}/_sandbox/assign", json={"waybill": "X", "scenario": "nope"}).status_code == 400
    assert httpx.post(f"{url}/_sandbox/clock", json={"now": "yesterday"}).status_code == 400
    assert httpx.get(f"{url}/web/nosuchcourier/123").status_code == 404


def test_kuaidi100_subscription_codes(online_settings, sandbox) -> None:
    async def go() -> list[dict]:
        client = Kuaidi100Client(online_settings.providers.kuaidi100)
        out = [
            json.loads(await client.subscribe("zhongtong", "78312345670000", "http://127.0.0.1:9/cb", phone="1234"))
            for _ in range(5)
        ]
        out.append(json.loads(await client.subscribe("nosuch", "78312345670001", "http://127.0.0.1:9/cb")))
        await client.aclose()
        return out

    replies = asyncio.run(go())
    # the number is already polling: 501 重复订阅 (docs/providers.md), until abort/shutdown and 30 minutes
    assert [r["returnCode"] for r in replies] == ["200", "501", "501", "501", "501", "702"]
