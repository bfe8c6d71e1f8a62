"""The Taobao Open Platform provider over real HTTP against the sandbox's TOP router: signing (md5 and
hmac), the documented errors, the reply read by the parser, and the poller asking by order number."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select

from tracker.domain import ParcelFacts
from tracker.poller import run_once
from tracker.providers.base import parse_reply
from tracker.providers.clients import DueParcel, make_fetchers
from tracker.providers.taobao.client import NoOrderId, TaobaoClient, TaobaoFetcher, order_number
from tracker.status import TrackingStatus as S
from tracker.storage.db import make_engine, migrate
from tracker.storage.repo import upsert_parcels
from tracker.storage.rows import ParcelRow, TrackingEventRow

from .conftest import SANDBOX_NOW

TID, WAYBILL = "3921457708123400001", "78398765400001"


@pytest.fixture
def orders(sandbox) -> str:
    url, _ = sandbox
    httpx.post(
        f"{url}/_sandbox/taobao/orders",
        json={
            "orders": [
                {"tid": TID, "waybill": WAYBILL, "courier": "zto"},
                {"tid": "3921457708123400002", "waybill": "4312000000002", "courier": "yunda"},
            ]
        },
    ).raise_for_status()
    for waybill, scenario in ((WAYBILL, "delivered"), ("4312000000002", "no_first_scan")):
        httpx.post(
            f"{url}/_sandbox/assign",
            json={"waybill": waybill, "scenario": scenario, "anchor": (SANDBOX_NOW - timedelta(days=4)).isoformat()},
        ).raise_for_status()
    return url


def _ask(settings, tid: str, **update) -> str:  # noqa: ANN001
    config = settings.providers.taobao.model_copy(update=update)

    async def go() -> str:
        client = TaobaoClient(config)
        try:
            return await client.trace_search(tid, seller_nick="示例旗舰店")
        finally:
            await client.aclose()

    return asyncio.run(go())


def _read(settings, body: str):  # noqa: ANN001, ANN202
    return parse_reply("taobao", body, tz=settings.tz, couriers=settings.couriers, phrases=settings.phrasebook)


@pytest.mark.parametrize("method", ["md5", "hmac"])
def test_signed_query_returns_the_trace_of_the_order(online_settings, orders, method: str) -> None:
    result = _read(online_settings, _ask(online_settings, TID, sign_method=method))
    assert result.problems == ()
    (waybill,) = result.waybills
    assert (waybill.waybill, waybill.courier, waybill.error) == (WAYBILL, "zto", None)
    assert [e.status for e in waybill.events] == [
        S.picked_up,
        S.in_transit,
        S.in_transit,
        S.out_for_delivery,
        S.delivered,
    ]
    codes = [e.raw_code for e in waybill.events]  # a transit step that leaves a site is a DEPARTURE
    assert codes[0] == "GOT" and codes[-2:] == ["SENT_SCAN", "SIGNED"]
    assert set(codes[1:3]) <= {"ARRIVAL", "DEPARTURE"}


def test_order_shipped_but_not_scanned_has_no_steps(online_settings, orders) -> None:
    (waybill,) = _read(online_settings, _ask(online_settings, "3921457708123400002")).waybills
    assert (waybill.waybill, waybill.courier, waybill.events, waybill.error) == ("4312000000002", "yunda", (), None)


@pytest.mark.parametrize(
    ("tid", "update", "words"),
    [
        (TID, {"app_secret": "not-the-secret"}, "error 25"),
        (TID, {"session": "expired-session"}, "error invalid-sessionkey"),  # its sub_code, which says more
        (TID, {"app_key": "99999999"}, "error 29"),
        ("3921457708199999999", {}, "no such Taobao order"),
    ],
)
def test_refusals_come_back_as_clear_errors(online_settings, orders, tid: str, update: dict, words: str) -> None:
    (waybill,) = _read(online_settings, _ask(online_settings, tid, **update)).waybills
    assert waybill.waybill == "" and words in waybill.error


def test_a_forced_bad_signature_fault_is_refused(online_settings, orders) -> None:
    httpx.post(f"{orders}/_sandbox/faults", json={"next": ["bad_sign"]}).raise_for_status()
    (waybill,) = _read(online_settings, _ask(online_settings, TID)).waybills
    assert "error 25" in waybill.error


def test_parcels_without_a_taobao_order_number_are_skipped_with_a_reason() -> None:
    base = DueParcel(1, "zto", "78300000000001", None)
    with pytest.raises(NoOrderId, match=r"waybill 78300000000001 skipped: no order number"):
        order_number(base)
    with pytest.raises(NoOrderId, match=r"order 'PDD-2024-0001' is not a Taobao order number"):
        order_number(dataclasses.replace(base, order_id="PDD-2024-0001"))
    assert order_number(dataclasses.replace(base, order_id=f"{TID},3921457708123400009")) == TID


def test_the_poller_asks_by_order_and_skips_parcels_without_one(online_settings, orders) -> None:
    couriers = {
        **online_settings.couriers,
        "zto": online_settings.couriers["zto"].model_copy(update={"provider": "taobao"}),
    }
    settings = online_settings.model_copy(update={"couriers": couriers})
    engine = make_engine(settings.database_url)
    migrate(engine)
    shipped = SANDBOX_NOW - timedelta(days=5)
    upsert_parcels(
        engine,
        [
            ParcelFacts(courier="zto", waybill=WAYBILL, order_id=TID, shop="示例旗舰店", shipped_at=shipped),
            ParcelFacts(courier="zto", waybill="78300000000077", shipped_at=shipped),
        ],
        now=shipped,
    )

    async def go():  # noqa: ANN202
        fetchers = make_fetchers(settings)
        assert isinstance(fetchers["taobao"], TaobaoFetcher)
        try:
            return await run_once(engine, settings, fetchers, now=SANDBOX_NOW, evaluate=False)
        finally:
            for fetcher in fetchers.values():
                await fetcher.aclose()

    summary = asyncio.run(go())
    stats = summary.providers["taobao"]
    assert (stats.polled, stats.failed) == (1, 1)
    assert any("78300000000077 skipped: no order number" in e for e in stats.errors)
    with engine.connect() as conn:
        events = conn.execute(select(TrackingEventRow)).all()
        parcels = {r.waybill: r for r in conn.execute(select(ParcelRow))}
    assert len(events) == 5
    assert parcels[WAYBILL].status == S.delivered
    assert parcels["78300000000077"].next_poll_at is not None  # asked again later, e.g. after a re-import
    engine.dispose()
