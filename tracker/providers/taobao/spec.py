"""Taobao Open Platform (淘宝开放平台) logistics trace as a registered provider: query by order, no push."""

from __future__ import annotations

from typing import Any

from tracker.providers.registry import ProviderSpec
from tracker.providers.taobao.parse import parse_query


def _make_client(config: Any, **kw: Any) -> Any:
    from tracker.providers.taobao.client import TaobaoClient

    return TaobaoClient(config, **kw)


def _make_fetcher(client: Any, couriers: Any) -> Any:
    from tracker.providers.taobao.client import TaobaoFetcher

    return TaobaoFetcher(client, couriers)


def _sandbox_routes() -> list[Any]:
    from tracker.sandbox.taobao import routes

    return routes()


SPEC = ProviderSpec(
    name="taobao",
    label="淘宝开放平台",
    config={
        "base_url": "http://127.0.0.1:8765",
        "app_key": "12345678",
        "app_secret": "sandbox-taobao-secret",
        "session": "sandbox-taobao-session",
        "sign_method": "md5",
        "rate_per_second": 10,
        "concurrency": 4,
    },  # fmt: skip
    secrets={
        "app_key": "TRACKER_TAOBAO_APP_KEY",
        "app_secret": "TRACKER_TAOBAO_APP_SECRET",
        "session": "TRACKER_TAOBAO_SESSION",
        "seller_nick": "TRACKER_TAOBAO_SELLER_NICK",
    },  # fmt: skip
    parsers={"query": parse_query},
    make_client=_make_client,
    make_fetcher=_make_fetcher,
    sandbox_routes=_sandbox_routes,
    push=None,
    label_en="Taobao Open Platform",
    courier_field=None,  # the reply names the company in words: matched against config/couriers.toml names
)
