"""Taobao Open Platform (淘宝开放平台) logistics trace as a registered provider: query by order, no push."""

from __future__ import annotations

from tracker.providers.registry import ProviderSpec, lazy
from tracker.providers.taobao import codes
from tracker.providers.taobao.parse import parse_query

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
    },
    secrets={
        "app_key": "TRACKER_TAOBAO_APP_KEY",
        "app_secret": "TRACKER_TAOBAO_APP_SECRET",
        "session": "TRACKER_TAOBAO_SESSION",
        "seller_nick": "TRACKER_TAOBAO_SELLER_NICK",
    },
    parsers={"query": parse_query},
    make_client=lazy("tracker.providers.taobao.client:TaobaoClient"),
    make_fetcher=lazy("tracker.providers.taobao.client:TaobaoFetcher"),
    sandbox_routes=lazy("tracker.sandbox.taobao:routes"),
    push=None,
    label_en="Taobao Open Platform",
    answers=(codes.ANSWERS, codes.NO_WAYBILL, *codes.OLDER),
    shape_keys=("logistics_trace_search_response", "error_response"),
    courier_field=None,  # the reply names the company in words: matched against config/couriers.toml names
)
