"""Kuaidi100 (快递100) as a registered provider: real-time query, signed push, sandbox routes."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from tracker.providers.kuaidi100 import codes
from tracker.providers.kuaidi100.parse import parse_push, parse_query
from tracker.providers.kuaidi100.sign import verify_push_sign
from tracker.providers.registry import ProviderSpec, PushSpec, lazy

ACK = {"result": True, "returnCode": "200", "message": "成功"}


def _sandbox_routes() -> list[Any]:
    from starlette.routing import Route

    from tracker.sandbox import app, autonumber

    return [
        Route("/poll/query.do", app.kuaidi100_query, methods=["POST"]),
        Route("/poll", app.kuaidi100_subscribe, methods=["POST"]),
        Route("/autonumber/auto", autonumber.kuaidi100_autonumber, methods=["GET", "POST"]),
    ]


def _ok(config: Any, now: datetime, tz: tzinfo) -> dict[str, Any]:
    return dict(ACK)


def _nack(config: Any, now: datetime, tz: tzinfo, reason: str) -> dict[str, Any]:
    return {"result": False, "returnCode": "400", "message": reason}


SPEC = ProviderSpec(
    name="kuaidi100",
    label="快递100",
    config={
        "base_url": "http://127.0.0.1:8765",
        "customer": "SANDBOXCUSTOMER0001",
        "key": "sandbox-kuaidi100-key",
        "salt": "sandbox-kuaidi100-salt",
        "rate_per_second": 20,
        "concurrency": 8,
    },
    secrets={
        "key": "TRACKER_KUAIDI100_KEY",
        "customer": "TRACKER_KUAIDI100_CUSTOMER",
        "salt": "TRACKER_KUAIDI100_SALT",
    },
    parsers={"query": parse_query, "push": parse_push},
    make_client=lazy("tracker.providers.kuaidi100.client:Kuaidi100Client"),
    make_fetcher=lazy("tracker.providers.clients:_Kuaidi100"),
    sandbox_routes=_sandbox_routes,
    push=PushSpec(
        field="param",
        sign_field="sign",
        verify=lambda config, param, sign: verify_push_sign(param, config.salt, sign),
        ok=_ok,
        nack=_nack,
        describe="md5(param + salt)",
        signed_with=("salt",),
    ),
    subscribe=lazy("tracker.providers.kuaidi100.subscribe:subscribe_waybills"),
    label_en="Kuaidi100",
    answers=(codes.QUERY, codes.SUBSCRIBE),
    shape_keys=("lastResult", "nu", "ischeck", "returnCode"),
    courier_field="kuaidi100",
)
