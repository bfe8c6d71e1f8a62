"""Push subscriptions end to end over real HTTP: the poller subscribes new waybills with the sandbox
(Kuaidi100 POST /poll, Kdniao 8008, 17TRACK register), the sandbox pushes to the push receiver (a real
server), the receiver stores, and push-served parcels are not polled; stops, the safety net and quota."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, func, select

pytest.importorskip("tracker.ingest", reason="tracker.ingest (parsers branch) not merged yet")

from tracker.domain import ParcelFacts  # noqa: E402
from tracker.poller import run_once  # noqa: E402
from tracker.providers.clients import make_fetchers  # noqa: E402
from tracker.push import create_push_app  # noqa: E402
from tracker.sandbox.server import BackgroundServer, free_port, start_background  # noqa: E402
from tracker.sandbox.subscriptions import SubscriptionBook  # noqa: E402
from tracker.settings import Settings  # noqa: E402
from tracker.storage.db import make_engine, migrate  # noqa: E402
from tracker.storage.repo import upsert_parcels  # noqa: E402
from tracker.storage.rows import ParcelRow, SubscriptionRow, TrackingEventRow  # noqa: E402
from tracker.subscriptions import descriptions, quota_on  # noqa: E402

from .conftest import SANDBOX_NOW  # noqa: E402

PARCELS = [  # courier, waybill, scenario (anchored 4 days before SANDBOX_NOW)
    ("zto", "78316600000001", "stale_in_transit"),  # Kuaidi100
    ("yunda", "4316600000001", "refused_returned"),  # Kdniao
    ("chinapost", "9816600000001", "stale_in_transit"),  # 17TRACK
]


@dataclass
class World:
    sandbox: str
    state: Any
    engine: Engine
    settings: Settings
    receiver: BackgroundServer
    clock: list[datetime]  # the push receiver's clock: [now]

    def at(self, now: datetime) -> None:
        """Move the sandbox's and the receiver's clocks together."""
        self.clock[0] = now
        self.state.clock.set(now, 0.0)

    def cycle(self, now: datetime, *, subscribe: bool = True) -> Any:
        async def go() -> Any:
            fetchers = make_fetchers(self.settings, sleep=_nosleep)
            try:
                return await run_once(
                    self.engine, self.settings, fetchers, now=now, subscribe=subscribe, evaluate=False
                )
            finally:
                for f in fetchers.values():
                    await f.aclose()

        return asyncio.run(go())

    def flush(self, **body: Any) -> dict[str, Any]:
        reply = httpx.post(f"{self.sandbox}/_sandbox/subscriptions/flush", json=body, timeout=60)
        reply.raise_for_status()
        return reply.json()

    def subs(self) -> dict[str, Any]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(ParcelRow.waybill, SubscriptionRow.__table__).join(
                    SubscriptionRow.__table__, SubscriptionRow.parcel_id == ParcelRow.id
                )
            ).mappings()
            return {r["waybill"]: dict(r) for r in rows}

    def parcel(self, waybill: str) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(select(ParcelRow.__table__).where(ParcelRow.waybill == waybill)).one()

    def asked(self, waybill: str) -> int:
        """Tracking queries the sandbox answered for this waybill (polls, not pushes)."""
        return sum(1 for _, _, w in self.state.queries if w == waybill)


async def _nosleep(_seconds: float) -> None:
    return None


def _assign(url: str, waybill: str, scenario: str, anchor: datetime) -> None:
    httpx.post(
        f"{url}/_sandbox/assign", json={"waybill": waybill, "scenario": scenario, "anchor": anchor.isoformat()}
    ).raise_for_status()


@pytest.fixture
def world(online_settings: Settings, sandbox: tuple[str, Any], sandbox_server: Any) -> Iterator[World]:
    url, state = sandbox
    state.kd100_subscriptions.clear()
    state.t17_registered.clear()
    state.queries.clear()
    app = sandbox_server[0].server.config.app
    app.state.subscriptions = SubscriptionBook()
    engine = make_engine(online_settings.database_url)
    migrate(engine)
    shipped = SANDBOX_NOW - timedelta(days=5)
    upsert_parcels(
        engine,
        [ParcelFacts(courier=c, waybill=w, shipped_at=shipped, phone_last4="1234") for c, w, _ in PARCELS],
        now=shipped,
    )
    for _, waybill, scenario in PARCELS:
        _assign(url, waybill, scenario, SANDBOX_NOW - timedelta(days=4))
    port = free_port()
    providers = online_settings.providers
    subs = providers.subscriptions.model_copy(update={"callback_base_url": f"http://127.0.0.1:{port}"})
    settings = online_settings.model_copy(update={"providers": providers.model_copy(update={"subscriptions": subs})})
    clock = [SANDBOX_NOW]
    receiver = start_background(create_push_app(engine, settings, clock=lambda: clock[0]), port=port)
    httpx.post(
        f"{url}/_sandbox/subscriptions/console",
        json={"kdniao": f"{receiver.url}/push/kdniao", "track17": f"{receiver.url}/push/track17"},
    ).raise_for_status()
    yield World(url, state, engine, settings, receiver, clock)
    receiver.stop()
    engine.dispose()


def test_subscribe_then_pushes_are_stored_and_the_parcels_are_not_polled(world: World) -> None:
    summary = world.cycle(SANDBOX_NOW)
    assert summary.subscribed.active == 3
    assert summary.due == 0  # every parcel is served by pushes now
    subs = world.subs()
    assert {w: (s["state"], s["provider"]) for w, s in subs.items()} == {
        "78316600000001": ("active", "kuaidi100"),
        "4316600000001": ("active", "kdniao"),
        "9816600000001": ("active", "track17"),
    }
    # what the providers were told: Kuaidi100 the receiver's path and the salt, 17TRACK the number
    kd100 = world.state.kd100_subscriptions["78316600000001"]
    assert kd100["callback"] == f"{world.receiver.url}/push/kuaidi100" and kd100["company"] == "zhongtong"
    assert kd100["salt"] == world.settings.providers.kuaidi100.salt
    assert "9816600000001" in world.state.t17_registered

    pushed = world.flush()
    assert pushed["sent"] == 3 and all(r["status"] == 200 for r in pushed["results"]), pushed
    with world.engine.connect() as conn:
        sources = dict(
            conn.execute(
                select(ParcelRow.waybill, func.count())
                .join(TrackingEventRow, TrackingEventRow.parcel_id == ParcelRow.id)
                .where(TrackingEventRow.source == "push")
                .group_by(ParcelRow.waybill)
            ).all()
        )
    assert set(sources) == {w for _, w, _ in PARCELS} and all(n > 0 for n in sources.values())
    assert all(s["last_push_at"] is not None for s in world.subs().values())
    assert world.flush()["sent"] == 0  # nothing new since: no push

    later = SANDBOX_NOW + timedelta(hours=6)
    again = world.cycle(later)
    assert again.due == 0 and sum(world.asked(w) for _, w, _ in PARCELS) == 0  # never polled
    shown = descriptions(world.engine, [world.parcel(w).id for _, w, _ in PARCELS], tz=world.settings.tz)
    assert all(text.startswith("推送订阅中（") and "最近推送" in text for text in shown.values()), shown

    quota = quota_on(world.engine, now=SANDBOX_NOW, tz=world.settings.tz)
    assert quota == {"kuaidi100": {"subscribe": 1}, "kdniao": {"subscribe": 1}, "track17": {"register": 1}}


def test_silent_subscription_gets_a_safety_net_poll(world: World) -> None:
    world.cycle(SANDBOX_NOW)
    silent = world.settings.providers.subscriptions.silent_hours
    assert world.cycle(SANDBOX_NOW + timedelta(hours=silent - 1)).due == 0
    net = SANDBOX_NOW + timedelta(hours=silent, minutes=1)
    summary = world.cycle(net)
    assert summary.due == 3
    assert {w: world.asked(w) for _, w, _ in PARCELS} == {w: 1 for _, w, _ in PARCELS}
    # still subscribed: the next safety-net poll waits silent_hours again (not the polling cadence)
    for _, waybill, _ in PARCELS:
        parcel = world.parcel(waybill)
        assert parcel.next_poll_at is None or parcel.next_poll_at >= net + timedelta(hours=silent)
    assert all(s["state"] == "active" for s in world.subs().values())
    # counted on each day: subscriptions on the first, the safety-net queries a day later
    assert quota_on(world.engine, now=SANDBOX_NOW, tz=world.settings.tz)["track17"] == {"register": 1}
    assert quota_on(world.engine, now=net, tz=world.settings.tz) == {
        p: {"query": 1} for p in ("kuaidi100", "kdniao", "track17")
    }


def test_abort_resubscribes_once_with_the_detected_courier_then_falls_back_to_polling(world: World) -> None:
    # a YTO number imported as ZTO (the patterns say YTO): nothing is ever scanned under ZTO
    waybill = "YT6600000000001"
    shipped = SANDBOX_NOW - timedelta(days=1)
    upsert_parcels(
        world.engine, [ParcelFacts(courier="zto", waybill=waybill, shipped_at=shipped, phone_last4="1234")], now=shipped
    )
    _assign(world.sandbox, waybill, "no_first_scan", SANDBOX_NOW + timedelta(days=30))  # nothing visible
    world.cycle(SANDBOX_NOW)
    assert world.flush(providers=["kuaidi100"])["sent"] == 1  # the ZTO parcel with events; ours waits
    assert world.subs()[waybill]["state"] == "active"

    # three days on, Kuaidi100 gives up: status=abort 3天查询无记录, acknowledged with its success answer
    day3 = SANDBOX_NOW + timedelta(days=3, minutes=1)
    world.at(day3)
    results = [r for r in world.flush(providers=["kuaidi100"])["results"] if r["waybill"] == waybill]
    assert results[0]["status"] == 200 and '"returnCode":"200"' in results[0]["body"].replace(" ", "")
    sub = world.subs()[waybill]
    assert (sub["state"], sub["courier"], sub["resubscribes"]) == ("pending", "yto", 1)
    assert "3天查询无记录" in sub["message"]
    assert world.parcel(waybill).next_poll_at == day3  # polled as today until pushes serve it again

    # the re-subscription goes out after retry_minutes, with YTO's company code
    retry = day3 + timedelta(minutes=world.settings.providers.subscriptions.retry_minutes + 1)
    world.at(retry)
    world.cycle(retry)
    assert world.state.kd100_subscriptions[waybill]["company"] == "yuantong"
    assert world.subs()[waybill]["state"] == "active"
    world.flush(providers=["kuaidi100"])

    # aborted again: no second re-subscription, the parcel is polled from now on
    day6 = retry + timedelta(days=3, minutes=1)
    world.at(day6)
    world.flush(providers=["kuaidi100"])
    sub = world.subs()[waybill]
    assert (sub["state"], sub["resubscribes"]) == ("aborted", 1)
    before = world.asked(waybill)
    summary = world.cycle(day6)
    assert world.asked(waybill) == before + 1 and summary.due >= 1
    shown = descriptions(world.engine, [world.parcel(waybill).id], tz=world.settings.tz)
    assert list(shown.values()) == ["已停止推送（3天查询无记录），改为定时查询"]


def test_track17_stop_and_a_bare_update_are_acknowledged_and_the_parcel_is_polled_again(world: World) -> None:
    waybill = "9816600000001"
    world.cycle(SANDBOX_NOW)
    result = world.flush(providers=["track17"], stop={waybill: ""})["results"]
    assert [(r["waybill"], r["status"]) for r in result] == [(waybill, 200)]
    sub = world.subs()[waybill]
    assert sub["state"] == "stopped"  # chinapost's own pattern: no other courier to try
    assert world.parcel(waybill).next_poll_at == SANDBOX_NOW
    world.cycle(SANDBOX_NOW + timedelta(minutes=1))
    assert world.asked(waybill) == 1

    # a TRACKING_UPDATED with no track_info (the docs' own signing example) is not an error
    from tracker.providers.track17.sign import push_sign

    raw = b'{"event":"TRACKING_UPDATED","data":{"number":"RR123456789CN","carrier":3011,"tag":null}}'
    key = world.settings.providers.track17.key
    reply = httpx.post(f"{world.receiver.url}/push/track17", content=raw, headers={"sign": push_sign(raw, key)})
    assert reply.status_code == 200


def test_cli_subscribe_then_parcels_and_workers_say_it_in_words(settings: Settings, sandbox: tuple[str, Any]) -> None:
    from typer.testing import CliRunner

    from tracker.cli import app

    url, state = sandbox
    state.kd100_subscriptions.clear()
    state.t17_registered.clear()
    engine = make_engine(settings.database_url)
    migrate(engine)
    upsert_parcels(
        engine, [ParcelFacts(courier=c, waybill=w, phone_last4="1234") for c, w, _ in PARCELS], now=SANDBOX_NOW
    )
    engine.dispose()
    runner = CliRunner()
    refused = runner.invoke(app, ["subscribe", "--now", "2026-11-23T12:00", "--base-url", url])
    said = refused.output + str(refused.exception or "")  # the CLI's main() prints a TrackerError as one line
    assert refused.exit_code == 1 and "tracker subscribe will not run with the sandbox's public demo" in said
    result = runner.invoke(app, ["subscribe", "--now", "2026-11-23T12:00", "--base-url", url, "--sandbox"])
    assert result.exit_code == 0, result.output
    assert "subscribe: 3 waybills asked (3 new parcels to subscribe)" in result.output
    for line in ("快递100: 订阅成功 1", "快递鸟: 订阅成功 1", "17TRACK: 订阅成功 1", "快递100: 推送中 1"):
        assert line in result.output
    again = runner.invoke(app, ["subscribe", "--now", "2026-11-23T12:05", "--base-url", url, "--sandbox"])
    assert "subscribe: 0 waybills asked" in again.output  # each waybill is subscribed once

    parcels = runner.invoke(app, ["parcels", "--format", "csv"])
    assert parcels.exit_code == 0, parcels.output
    assert parcels.output.count("推送订阅中（") == 3 and "active" not in parcels.output

    workers = runner.invoke(app, ["workers", "--format", "csv", "--now", "2026-11-23T12:10"])
    assert workers.exit_code == 0, workers.output
    lines = set(workers.output.splitlines())
    assert {
        "quota,kuaidi100,1,今日额度：快递100 订阅 1",
        "quota,track17,1,今日额度：17TRACK 注册 1",
        "pushes,kdniao,1,快递鸟 推送中",
    } <= lines
    assert not any(line.startswith("due,") for line in lines)  # push-served: nothing due
    table = runner.invoke(app, ["workers", "--now", "2026-11-23T12:10"]).output  # in words, the codes in CSV
    [quota] = [line for line in table.splitlines() if "17TRACK 注册 1" in line]
    assert "Quota today" in quota and "track17" not in quota and "quota" not in quota
    [pushes] = [line for line in table.splitlines() if "快递鸟 推送中" in line]
    assert "Push subscriptions" in pushes and "Kdniao" in pushes and "kdniao" not in pushes


def test_cli_subscribe_refuses_when_subscriptions_are_off(tmp_path, monkeypatch, sqlite_url: str) -> None:  # noqa: ANN001
    from typer.testing import CliRunner

    from bench.config_copy import copy_config
    from tracker.cli import app
    from tracker.settings import PROJECT_ROOT

    config = copy_config(
        PROJECT_ROOT / "config", tmp_path / "c", {"providers.toml": {"subscriptions": {"enabled": False}}}
    )
    monkeypatch.setenv("TRACKER_DATABASE_URL", sqlite_url)
    result = CliRunner().invoke(app, ["--config", str(config), "subscribe"])
    assert result.exit_code == 1 and "subscriptions.enabled = false" in result.output


def test_a_refused_subscription_is_kept_with_the_providers_words_and_the_parcel_is_polled(world: World) -> None:
    providers = world.settings.providers
    bad_key = providers.kuaidi100.model_copy(update={"key": "not-our-key"})
    world.settings = world.settings.model_copy(
        update={"providers": providers.model_copy(update={"kuaidi100": bad_key})}
    )
    summary = world.cycle(SANDBOX_NOW)
    sub = world.subs()["78316600000001"]
    assert (sub["state"], sub["code"], sub["attempts"]) == ("failed", "600", 1)
    assert "不是合法的订阅者" in sub["message"]
    assert summary.due == 1 and world.parcel("78316600000001").last_polled_at == SANDBOX_NOW  # polled as today
    shown = descriptions(world.engine, [world.parcel("78316600000001").id], tz=world.settings.tz)
    # in words, the provider's own quoted; never its slug or code (it read "kuaidi100 subscribe returnCode 600")
    assert next(iter(shown.values())) == (
        "推送订阅失败，改为定时查询（快递100：不是合法的订阅者，请核对 key（原话：您不是合法的订阅者（即授权Key出错）））"
    )
    # a refused subscription is not asked again: the next cycle only polls
    world.cycle(SANDBOX_NOW + timedelta(hours=2))
    assert world.subs()["78316600000001"]["attempts"] == 1


def test_a_subscription_refused_for_now_is_asked_again_after_retry_minutes(world: World) -> None:
    httpx.post(f"{world.sandbox}/_sandbox/faults", json={"rates": {"5xx": 1.0}}).raise_for_status()
    from tracker.subscriptions import subscribe_due

    async def subscribe(now: datetime) -> Any:
        fetchers = make_fetchers(world.settings, sleep=_nosleep)
        try:
            return await subscribe_due(
                world.engine, world.settings, {"kuaidi100": fetchers["kuaidi100"].client}, now=now
            )
        finally:
            for f in fetchers.values():
                await f.aclose()

    first = asyncio.run(subscribe(SANDBOX_NOW))
    assert first.outcomes["kuaidi100"]["retry"] == 1 and "HTTP 502" in first.errors[0]
    sub = world.subs()["78316600000001"]
    retry_minutes = world.settings.providers.subscriptions.retry_minutes
    assert (sub["state"], sub["attempts"]) == ("pending", 1)
    assert sub["retry_at"] == SANDBOX_NOW + timedelta(minutes=retry_minutes)
    assert asyncio.run(subscribe(SANDBOX_NOW + timedelta(minutes=1))).outcomes == {}  # not yet
    httpx.post(f"{world.sandbox}/_sandbox/faults", json={"rates": {}}).raise_for_status()
    later = asyncio.run(subscribe(SANDBOX_NOW + timedelta(minutes=retry_minutes)))
    assert later.outcomes["kuaidi100"]["ok"] == 1
    assert (world.subs()["78316600000001"]["state"], world.subs()["78316600000001"]["attempts"]) == ("active", 2)


def test_a_stop_the_parser_reports_is_recorded_even_when_the_body_says_nothing(world: World, monkeypatch) -> None:  # noqa: ANN001
    """The parsers' ParsedWaybill.stop (Kuaidi100 abort "60天无变化") is what push.py acts on."""
    import json as _json

    from tracker.providers import base
    from tracker.providers.base import ParsedWaybill, ParseResult, TrackingStop
    from tracker.providers.kuaidi100.sign import push_sign
    from tracker.push_writer import ThreadWriter

    waybill = "78316600000001"
    world.cycle(SANDBOX_NOW)
    stopped = ParsedWaybill("kuaidi100", waybill, "zhongtong", "zto", (), stop=TrackingStop("abort", "60天无变化"))
    monkeypatch.setattr(base, "parse_reply", lambda *a, **k: ParseResult((stopped,), ()))
    # the patched parser lives in this process: the push is written here, not in the writer process
    committer = world.receiver.server.config.app.state.group_commit
    committer.writer.close()
    committer.writer = ThreadWriter(world.engine, world.settings)
    param = _json.dumps({"status": "polling", "message": "", "lastResult": {"nu": waybill, "data": []}})
    salt = world.settings.providers.kuaidi100.salt
    reply = httpx.post(f"{world.receiver.url}/push/kuaidi100", data={"param": param, "sign": push_sign(param, salt)})
    assert reply.status_code == 200 and reply.json() == {"result": True, "returnCode": "200", "message": "成功"}
    sub = world.subs()[waybill]
    assert (sub["state"], sub["message"], sub["resubscribes"]) == ("aborted", "60天无变化", 0)  # zto's own number
    assert world.parcel(waybill).next_poll_at == SANDBOX_NOW


def test_kdniao_past_its_daily_allowance_is_polled_until_it_is_asked_again(world: World, sandbox_server: Any) -> None:
    """The sandbox account takes so many 8008 subscriptions a day (as a real account does); past it the
    answer is ResultCode 405: the waybill stays pending, to be asked again later, and is polled meanwhile."""
    from tracker.subscriptions import subscribe_due

    book = sandbox_server[0].server.config.app.state.subscriptions
    book.kdniao_daily_limit = 0

    async def subscribe(now: datetime) -> Any:
        fetchers = make_fetchers(world.settings, sleep=_nosleep)
        try:
            return await subscribe_due(world.engine, world.settings, {"kdniao": fetchers["kdniao"].client}, now=now)
        finally:
            for f in fetchers.values():
                await f.aclose()

    first = asyncio.run(subscribe(SANDBOX_NOW))
    assert first.outcomes["kdniao"]["retry"] == 1 and "daily query limit" in first.errors[0]
    assert world.subs()["4316600000001"]["state"] == "pending"
    polled = world.cycle(SANDBOX_NOW, subscribe=False)  # not push-served: the poller asks for it
    assert polled.providers["kdniao"].polled == 1, polled
    retry_minutes = world.settings.providers.subscriptions.retry_minutes
    assert world.subs()["4316600000001"]["retry_at"] == SANDBOX_NOW + timedelta(minutes=retry_minutes)


def test_a_parcel_without_the_phone_its_courier_needs_is_not_subscribed_and_says_why(world: World) -> None:
    """Kuaidi100 refuses an SF/ZTO subscription without the phone (the sandbox too): the parcel is not asked,
    no attempt is counted, the subscription stays pending with the reason in words; the poll does not ask either.
    Once an import brings the phone, the next cycle subscribes it."""
    from tracker.labels import PHONE_MISSING

    waybill = "78316600000099"
    shipped = SANDBOX_NOW - timedelta(days=1)
    upsert_parcels(world.engine, [ParcelFacts(courier="zto", waybill=waybill, shipped_at=shipped)], now=shipped)
    _assign(world.sandbox, waybill, "stale_in_transit", SANDBOX_NOW - timedelta(days=1))
    summary = world.cycle(SANDBOX_NOW)
    assert summary.subscribed.no_phone == 1 and summary.subscribed.active == 3
    sub = world.subs()[waybill]
    assert (sub["state"], sub["attempts"], sub["message"]) == ("pending", 0, PHONE_MISSING)
    assert waybill not in world.state.kd100_subscriptions and world.asked(waybill) == 0
    assert world.parcel(waybill).provider_error == PHONE_MISSING

    upsert_parcels(world.engine, [ParcelFacts(courier="zto", waybill=waybill, phone_last4="1234")], now=SANDBOX_NOW)
    later = SANDBOX_NOW + timedelta(minutes=world.settings.providers.subscriptions.retry_minutes)
    world.at(later)
    assert world.cycle(later).subscribed.no_phone == 0
    assert world.subs()[waybill]["state"] == "active" and waybill in world.state.kd100_subscriptions


def test_a_number_kuaidi100_already_polls_is_taken_as_subscribed(world: World) -> None:
    """Subscribed before (another install, a restored database): Kuaidi100 answers 501 重复订阅, as the sandbox
    now does; its pushes keep coming, so the subscription is active and the parcel is not polled for it."""
    waybill = "78316600000001"  # the fixture's ZTO parcel
    param = {"company": "zhongtong", "number": waybill, "key": world.settings.providers.kuaidi100.key}
    param["parameters"] = {"callbackurl": "http://127.0.0.1:9/elsewhere", "phone": "1234"}
    first = httpx.post(f"{world.sandbox}/poll", data={"schema": "json", "param": json.dumps(param)}).json()
    assert first["returnCode"] == "200"
    world.cycle(SANDBOX_NOW)
    sub = world.subs()[waybill]
    assert (sub["state"], sub["code"]) == ("active", "501")
    pid = world.parcel(waybill).id
    assert descriptions(world.engine, [pid], tz=world.settings.tz)[pid].startswith("推送订阅中")
