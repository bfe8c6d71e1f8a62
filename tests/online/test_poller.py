"""The poller end to end: real sandbox over HTTP, real SQLite, the parsers' parse_reply and ingest."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select

pytest.importorskip("tracker.ingest", reason="tracker.ingest (parsers branch) not merged yet")

from tracker.domain import ParcelFacts  # noqa: E402
from tracker.poller import run_once  # noqa: E402
from tracker.providers.clients import make_fetchers  # noqa: E402
from tracker.storage.db import make_engine, migrate  # noqa: E402
from tracker.storage.repo import upsert_parcels  # noqa: E402
from tracker.storage.rows import ParcelRow, PollRunRow, TrackingEventRow  # noqa: E402

from .conftest import SANDBOX_NOW  # noqa: E402

PARCELS = [  # courier, waybill, scenario
    ("zto", "78312345678901", "delivered"),
    ("zto", "78312345678902", "out_of_area"),
    ("yunda", "4312345678901", "refused_returned"),
    ("chinapost", "9812345678901", "stale_in_transit"),
    ("yto", "YT1234567890123", "no_first_scan"),
]


@pytest.fixture
def engine(online_settings, sandbox):  # noqa: ANN001, ANN201
    url, _ = sandbox
    engine = make_engine(online_settings.database_url)
    migrate(engine)
    facts = [
        ParcelFacts(courier=c, waybill=w, shipped_at=SANDBOX_NOW - timedelta(days=5), phone_last4="1234")
        for c, w, _ in PARCELS
    ]
    upsert_parcels(engine, facts, now=SANDBOX_NOW - timedelta(days=5))
    for _, waybill, scenario in PARCELS:
        httpx.post(
            f"{url}/_sandbox/assign",
            json={"waybill": waybill, "scenario": scenario, "anchor": (SANDBOX_NOW - timedelta(days=4)).isoformat()},
        ).raise_for_status()
    yield engine
    engine.dispose()


def _poll(engine, settings, now):  # noqa: ANN001, ANN202
    async def go():  # noqa: ANN202
        fetchers = make_fetchers(settings, sleep=_nosleep)
        try:
            return await run_once(engine, settings, fetchers, now=now)
        finally:
            for f in fetchers.values():
                await f.aclose()

    return asyncio.run(go())


async def _nosleep(_seconds: float) -> None:
    return None


def _count(engine, table) -> int:  # noqa: ANN001
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def test_poll_stores_events_and_schedules_next_poll(engine, online_settings) -> None:
    summary = _poll(engine, online_settings, SANDBOX_NOW)
    assert summary.due == len(PARCELS)
    assert set(summary.providers) == {"kuaidi100", "kdniao", "track17"}
    assert sum(s.polled + s.failed for s in summary.providers.values()) == len(PARCELS)
    assert _count(engine, TrackingEventRow) > 0
    with engine.connect() as conn:
        rows = {r.waybill: r for r in conn.execute(select(ParcelRow))}
        runs = conn.execute(select(PollRunRow)).all()
    assert rows["78312345678901"].status == "delivered" and rows["78312345678901"].next_poll_at is None
    assert rows["9812345678901"].next_poll_at > SANDBOX_NOW
    assert {r.provider for r in runs} == {"kuaidi100", "kdniao", "track17"}
    gap = timedelta(minutes=online_settings.providers.kuaidi100.min_waybill_interval_minutes)
    for waybill in ("78312345678902", "YT1234567890123"):  # Kuaidi100 parcels still open
        assert rows[waybill].next_poll_at >= SANDBOX_NOW + gap
    assert _poll(engine, online_settings, SANDBOX_NOW + timedelta(minutes=10)).due == 0


def test_polling_twice_adds_no_event(engine, online_settings) -> None:
    _poll(engine, online_settings, SANDBOX_NOW)
    events = _count(engine, TrackingEventRow)
    later = SANDBOX_NOW + timedelta(hours=12)  # everything still open is due again; sandbox clock unchanged
    summary = _poll(engine, online_settings, later)
    assert summary.due > 0
    assert _count(engine, TrackingEventRow) == events
    assert sum(s.new_events for s in summary.providers.values()) == 0


def test_failing_provider_is_counted_and_retried_later(engine, online_settings, sandbox) -> None:
    url, _ = sandbox
    httpx.post(f"{url}/_sandbox/faults", json={"rates": {"5xx": 1.0}}).raise_for_status()
    summary = _poll(engine, online_settings, SANDBOX_NOW)
    assert sum(s.failed for s in summary.providers.values()) == len(PARCELS)
    with engine.connect() as conn:
        nxt = conn.execute(select(ParcelRow.next_poll_at)).scalars().all()
    retry = SANDBOX_NOW + timedelta(minutes=online_settings.providers.polling.failure_retry_minutes)
    assert all(n == retry for n in nxt)


def test_provider_error_is_stored_on_the_parcel(engine, online_settings) -> None:
    bad = online_settings.providers.kuaidi100.model_copy(update={"key": "not-the-key"})
    settings = online_settings.model_copy(
        update={"providers": online_settings.providers.model_copy(update={"kuaidi100": bad})}
    )
    summary = _poll(engine, settings, SANDBOX_NOW)
    assert summary.providers["kuaidi100"].provider_errors == 3
    with engine.connect() as conn:
        errors = dict(conn.execute(select(ParcelRow.waybill, ParcelRow.provider_error)).all())
    assert "503" in errors["78312345678901"] and "签名" in errors["78312345678901"]
    assert errors["4312345678901"] is None  # Kdniao answered normally
    with engine.connect() as conn:
        nxt = dict(conn.execute(select(ParcelRow.waybill, ParcelRow.next_poll_at)).all())
    retry = SANDBOX_NOW + timedelta(minutes=settings.providers.polling.failure_retry_minutes)
    assert nxt["78312345678901"] == retry  # an error reply: asked again after failure_retry_minutes
    assert nxt["4312345678901"] != retry  # answered: at its normal cadence


def test_a_parcel_without_the_phone_its_courier_needs_is_not_asked_and_says_why(
    engine, online_settings, sandbox
) -> None:
    """SF and ZTO are refused without the phone's last 4 digits (the sandbox refuses as the real service): such a
    parcel is not asked, gets the reason in words (both languages, no code) and is looked at again after
    failure_retry_minutes; an import bringing the phone makes the next poll ask, and the reason goes."""
    from tracker.labels import PHONE_MISSING, value_label

    url, state = sandbox
    shipped = SANDBOX_NOW - timedelta(days=5)
    phoneless = [("sf", "SF1234567890199"), ("zto", "78312345678999")]
    upsert_parcels(engine, [ParcelFacts(courier=c, waybill=w, shipped_at=shipped) for c, w in phoneless], now=shipped)
    for _, waybill in phoneless:
        httpx.post(
            f"{url}/_sandbox/assign", json={"waybill": waybill, "scenario": "delivered", "anchor": shipped.isoformat()}
        ).raise_for_status()
    summary = _poll(engine, online_settings, SANDBOX_NOW)
    stats = summary.providers["kuaidi100"]
    assert stats.no_phone == 2 and stats.failed == 0
    asked = {waybill for _, provider, waybill in state.queries if provider == "kuaidi100"}
    assert asked.isdisjoint(w for _, w in phoneless)  # not asked: the refusal is certain
    with engine.connect() as conn:
        rows = {r.waybill: r for r in conn.execute(select(ParcelRow)) if r.waybill in dict(map(reversed, phoneless))}
    retry = SANDBOX_NOW + timedelta(minutes=online_settings.providers.polling.failure_retry_minutes)
    for row in rows.values():
        assert row.provider_error == PHONE_MISSING and row.next_poll_at == retry and row.status == "pending"
    assert "手机后4位" in value_label("provider_error", PHONE_MISSING, "zh")
    english = value_label("provider_error", PHONE_MISSING, "en")
    assert "phone's last 4 digits" in english and not any("\u4e00" <= ch <= "\u9fff" for ch in english)

    # the order is imported again with the consignee's phone (masked as in the export: 138****1234)
    upsert_parcels(
        engine, [ParcelFacts(courier=c, waybill=w, phone_last4="1234") for c, w in phoneless], now=SANDBOX_NOW
    )
    later = _poll(engine, online_settings, retry)
    assert later.providers["kuaidi100"].no_phone == 0
    with engine.connect() as conn:
        rows = {r.waybill: r for r in conn.execute(select(ParcelRow)) if r.waybill in dict(map(reversed, phoneless))}
    for row in rows.values():
        assert row.provider_error is None and row.status == "delivered", row


def test_a_buyers_return_is_asked_with_the_phone_of_its_orders_parcel(engine, online_settings, sandbox) -> None:
    """The returns export has no phone column: a buyer's SF return is asked with the phone of its order's
    outbound parcel (the buyer sent the return; the provider takes the sender's phone too), so it is tracked;
    a return whose order has no parcel with a phone still waits for one, and says why."""
    from tracker.labels import PHONE_MISSING
    from tracker.status import Direction

    url, state = sandbox
    shipped = SANDBOX_NOW - timedelta(days=5)
    facts = [
        ParcelFacts(courier="yto", waybill="YT9900000000001", order_id="T-R1", phone_last4="5678", shipped_at=shipped),
        ParcelFacts(courier="sf", waybill="SF1234567890177", order_id="T-R1", direction=Direction.ret),
        ParcelFacts(courier="sf", waybill="SF1234567890178", order_id="T-R2", direction=Direction.ret),
    ]
    upsert_parcels(engine, facts, now=shipped)
    for waybill in ("SF1234567890177", "SF1234567890178"):
        httpx.post(
            f"{url}/_sandbox/assign", json={"waybill": waybill, "scenario": "delivered", "anchor": shipped.isoformat()}
        ).raise_for_status()
    _poll(engine, online_settings, SANDBOX_NOW)
    asked = {waybill for _, provider, waybill in state.queries if provider == "kuaidi100"}
    assert "SF1234567890177" in asked and "SF1234567890178" not in asked
    with engine.connect() as conn:
        rows = {r.waybill: r for r in conn.execute(select(ParcelRow).where(ParcelRow.direction == "return"))}
    assert rows["SF1234567890177"].provider_error is None and rows["SF1234567890177"].status == "delivered"
    assert rows["SF1234567890177"].phone_last4 is None  # borrowed when asked, not copied
    assert rows["SF1234567890178"].provider_error == PHONE_MISSING
