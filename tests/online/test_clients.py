"""Provider clients against the running sandbox: replies, signatures, every fault kind, limits."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest

from tracker.providers.http import CircuitOpen, Pacer, ProviderError, RateLimiter, RetryPolicy, TooSoon
from tracker.providers.kdniao.client import KdniaoClient
from tracker.providers.kuaidi100.client import Kuaidi100Client
from tracker.providers.track17.client import Track17Client

WB = "78312345678901"


class Recorder:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def run(coro):  # noqa: ANN001, ANN201
    return asyncio.run(coro)


def _assign(url: str, waybill: str, scenario: str) -> None:
    r = httpx.post(
        f"{url}/_sandbox/assign", json={"waybill": waybill, "scenario": scenario, "anchor": "2026-11-18T00:00:00Z"}
    )
    r.raise_for_status()


def _faults(url: str, *forced: str) -> None:
    httpx.post(f"{url}/_sandbox/faults", json={"next": list(forced)}).raise_for_status()


async def _kd100(settings, sleep=None, *, com="zhongtong", num=WB, phone="1234"):  # noqa: ANN001, ANN202
    client = Kuaidi100Client(settings.providers.kuaidi100, sleep=sleep or Recorder())
    try:  # ZTO and SF are refused without the phone's last 4 digits (docs/providers.md)
        return json.loads(await client.fetch_track(com, num, phone=phone))
    finally:
        await client.aclose()


async def _raw_kd100(settings) -> str:  # noqa: ANN001
    client = Kuaidi100Client(settings.providers.kuaidi100, sleep=Recorder())
    try:
        return await client.fetch_track("zhongtong", WB, phone="1234")
    finally:
        await client.aclose()


def test_kuaidi100_query_returns_documented_fields(online_settings, sandbox) -> None:
    url, _ = sandbox
    _assign(url, WB, "out_of_area")
    body = run(_kd100(online_settings))
    assert body["nu"] == WB and body["com"] == "zhongtong" and body["state"] == "2"
    assert body["data"][0]["statusCode"] == "207" and body["data"][0]["status"] == "超区"
    assert body["data"][0]["ftime"] > body["data"][-1]["ftime"]  # newest first


def test_kuaidi100_wrong_key_is_refused_with_503(online_settings, sandbox) -> None:
    cfg = online_settings.providers.kuaidi100.model_copy(update={"key": "wrong"})
    settings = online_settings.model_copy(
        update={"providers": online_settings.providers.model_copy(update={"kuaidi100": cfg})}
    )
    body = run(_kd100(settings))
    assert body == {"result": False, "returnCode": "503", "message": "验证签名失败"}


def test_kuaidi100_unknown_company_and_no_result_codes(online_settings, sandbox) -> None:
    url, _ = sandbox
    assert run(_kd100(online_settings, com="nosuchco"))["returnCode"] == "400"
    _assign(url, "75000000000001", "no_first_scan")
    assert run(_kd100(online_settings, num="75000000000001"))["returnCode"] == "500"


@pytest.mark.parametrize("fault", ["5xx", "429", "timeout"])
def test_retryable_faults_are_retried_then_succeed(online_settings, sandbox, fault) -> None:
    url, state = sandbox
    _assign(url, WB, "delivered")
    _faults(url, fault, fault)
    waits = Recorder()
    # the client gives up on a reply before the sandbox's time-out fault (fault_delay, 1 s) sends its 504
    cfg = online_settings.providers.kuaidi100.model_copy(update={"timeout_seconds": 0.5})
    settings = online_settings.model_copy(
        update={"providers": online_settings.providers.model_copy(update={"kuaidi100": cfg})}
    )
    body = run(_kd100(settings, waits))
    assert body["state"] == "3"
    # the backoffs (0.5 s and up); the pacer's waits between requests (a gap of 1/20 s) are shorter
    backoffs = [w for w in waits.waits if w >= RetryPolicy().initial_seconds]
    assert len(backoffs) == 2 and state.stats["kuaidi100.query"] == 3


def test_retries_give_up_with_a_provider_error(online_settings, sandbox) -> None:
    url, _ = sandbox
    _faults(url, "5xx", "5xx", "5xx")
    with pytest.raises(ProviderError, match="HTTP 502"):
        run(_kd100(online_settings))


def test_malformed_body_is_returned_raw_not_retried(online_settings, sandbox) -> None:
    url, state = sandbox
    _faults(url, "malformed")
    body = run(_raw_kd100(online_settings))
    with pytest.raises(ValueError):
        json.loads(body)
    assert state.stats["kuaidi100.query"] == 1


def test_bad_sign_fault_gives_the_signature_error(online_settings, sandbox) -> None:
    url, _ = sandbox
    _faults(url, "bad_sign")
    assert run(_kd100(online_settings))["returnCode"] == "503"


def test_kuaidi100_refuses_same_waybill_within_30_minutes(online_settings, sandbox) -> None:
    now = [0.0]
    client = Kuaidi100Client(online_settings.providers.kuaidi100, clock=lambda: now[0], sleep=Recorder())

    async def go() -> None:
        await client.fetch_track("zhongtong", WB)
        now[0] = 29 * 60
        with pytest.raises(TooSoon):
            await client.fetch_track("zhongtong", WB)
        now[0] = 30 * 60
        await client.fetch_track("zhongtong", WB)
        await client.aclose()

    run(go())


def test_circuit_breaker_pauses_a_failing_provider(online_settings, sandbox) -> None:
    url, state = sandbox
    cfg = online_settings.providers.kdniao.model_copy(update={"breaker_failures": 2, "retry_attempts": 1})
    now = [0.0]
    client = KdniaoClient(cfg, clock=lambda: now[0], sleep=Recorder())
    _faults(url, "5xx", "5xx")

    async def go() -> None:
        for wb in ("A1000001", "A1000002"):
            with pytest.raises(ProviderError):
                await client.fetch_track("ZTO", wb)
        with pytest.raises(CircuitOpen):
            await client.fetch_track("ZTO", "A1000003")
        now[0] = cfg.breaker_pause_seconds + 1
        assert json.loads(await client.fetch_track("ZTO", "A1000004"))["Success"] is True
        await client.aclose()

    run(go())
    assert state.stats["kdniao"] == 3


def test_kdniao_8001_reply_and_bad_sign(online_settings, sandbox) -> None:
    url, _ = sandbox
    _assign(url, "78398765432101", "refused_returned")
    cfg = online_settings.providers.kdniao

    async def go() -> tuple[dict, dict, dict]:
        client = KdniaoClient(cfg, sleep=Recorder())
        bad = KdniaoClient(cfg.model_copy(update={"app_key": "x"}), sleep=Recorder())
        body = json.loads(await client.fetch_track("ZTO", "78398765432101"))
        reply = json.loads(await bad.fetch_track("ZTO", "78398765432101"))
        sub = json.loads(await client.subscribe("ZTO", "78398765432101"))
        await client.aclose()
        await bad.aclose()
        return body, reply, sub

    body, reply, sub = run(go())
    assert body["Success"] is True and body["State"] == "4" and body["StateEx"] == "406"
    assert [t["Action"] for t in body["Traces"]][:3] == ["1", "202", "404"]  # oldest first
    assert reply["Success"] is False and reply["ResultCode"] == "102"
    assert sub["Success"] is True and sub["UpdateTime"]


def test_track17_registers_unknown_numbers_and_batches_40(online_settings, sandbox) -> None:
    url, _ = sandbox
    numbers = [f"98{i:011d}" for i in range(41)]

    async def go() -> dict:
        client = Track17Client(online_settings.providers.track17, sleep=Recorder())
        body = json.loads(await client.get_track_info(numbers[:40]))
        with pytest.raises(ProviderError, match="limit is 40"):
            await client.get_track_info(numbers)
        await client.aclose()
        return body

    body = run(go())
    assert len(body["data"]["accepted"]) == 40 and body["data"]["rejected"] == []
    time.sleep(1.05)  # the sandbox's own 3 req/s window
    raw = httpx.post(
        f"{url}/track/v2.2/gettrackinfo",
        headers={"17token": "sandbox-17track-key"},
        json=[{"number": n} for n in numbers],
    )
    assert raw.json()["code"] == -18010014


def test_track17_sandbox_answers_429_above_3_per_second(sandbox) -> None:
    url, _ = sandbox
    codes = [
        httpx.post(
            f"{url}/track/v2.2/register", headers={"17token": "sandbox-17track-key"}, json=[{"number": f"99{i:011d}"}]
        ).status_code
        for i in range(5)
    ]
    assert codes.count(429) >= 1 and codes[:3] == [200, 200, 200]


def test_pacer_spaces_requests_at_the_limit_minus_its_margin() -> None:
    now = [0.0]
    starts: list[float] = []

    async def sleep(seconds: float) -> None:
        now[0] += seconds

    pacer = Pacer(3, margin=0.04, clock=lambda: now[0], sleep=sleep)

    async def go() -> None:
        for _ in range(10):
            await pacer.acquire()
            starts.append(now[0])
        await asyncio.sleep(0)

    run(go())
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    assert starts[0] == 0.0 and all(g == pytest.approx(1 / (3 * 0.96)) for g in gaps)
    # any 1-second window holds at most 3 requests even if each arrives up to 40 ms late
    assert all(starts[i + 3] - starts[i] > 1.0 + 0.04 for i in range(len(starts) - 3))
    # and the quota is used to 96%
    assert (len(starts) - 1) / (starts[-1] - starts[0]) == pytest.approx(3 * 0.96)


def test_rate_limiter_holds_3_per_second_with_injected_clock() -> None:
    now = [0.0]
    starts: list[float] = []

    async def sleep(seconds: float) -> None:
        now[0] += seconds

    limiter = RateLimiter(3, clock=lambda: now[0], sleep=sleep)

    async def go() -> None:
        for _ in range(10):
            await limiter.acquire()
            starts.append(now[0])

    run(go())
    for i in range(len(starts) - 3):
        assert starts[i + 3] - starts[i] >= 1.0
    assert starts[-1] == pytest.approx(3.0)
