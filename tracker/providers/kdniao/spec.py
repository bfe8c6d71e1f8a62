"""Kdniao (快递鸟) as a registered provider: 1002/8001 query, signed push (RequestType 101), sandbox route."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from tracker.providers.kdniao import codes
from tracker.providers.kdniao.parse import parse_push, parse_query
from tracker.providers.kdniao.sign import verify_data_sign
from tracker.providers.registry import ProviderSpec, PushSpec, lazy


def _sandbox_routes() -> list[Any]:
    from starlette.routing import Route

    from tracker.sandbox import app

    return [Route("/Ebusiness/EbusinessOrderHandle.aspx", app.kdniao, methods=["POST"])]


def _answer(config: Any, now: datetime, tz: tzinfo, success: bool, reason: str) -> dict[str, Any]:
    update_time = now.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")
    return {"EBusinessID": config.ebusiness_id, "UpdateTime": update_time, "Success": success, "Reason": reason}


SPEC = ProviderSpec(
    name="kdniao",
    label="快递鸟",
    config={
        "base_url": "http://127.0.0.1:8765",
        "ebusiness_id": "1000001",
        "app_key": "sandbox-kdniao-appkey",
        "rate_per_second": 10,
        "concurrency": 8,
    },
    secrets={"app_key": "TRACKER_KDNIAO_APP_KEY", "ebusiness_id": "TRACKER_KDNIAO_EBUSINESS_ID"},
    parsers={"query": parse_query, "push": parse_push},
    make_client=lazy("tracker.providers.kdniao.client:KdniaoClient"),
    make_fetcher=lazy("tracker.providers.clients:_Kdniao"),
    sandbox_routes=_sandbox_routes,
    push=PushSpec(
        field="RequestData",
        sign_field="DataSign",
        verify=lambda config, data, sign: verify_data_sign(data, config.app_key, sign),
        ok=lambda config, now, tz: _answer(config, now, tz, True, ""),
        nack=lambda config, now, tz, reason: _answer(config, now, tz, False, reason),
        describe="base64(md5_hex(RequestData + AppKey))",
        signed_with=("app_key",),
    ),
    subscribe=lazy("tracker.providers.kdniao.subscribe:subscribe_waybills"),
    label_en="Kdniao",
    answers=(codes.ANSWERS,),
    shape_keys=("LogisticCode", "EBusinessID", "PushTime", "Traces"),
    courier_field="kdniao",
)
