"""17TRACK as a registered provider: register/gettrackinfo (40 a request), signed webhook, sandbox routes."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from tracker.providers.registry import ProviderSpec, PushSpec, lazy
from tracker.providers.track17 import codes
from tracker.providers.track17.parse import parse_push, parse_query
from tracker.providers.track17.sign import verify_push_sign


def _sandbox_routes() -> list[Any]:
    from starlette.routing import Route

    from tracker.sandbox import app

    calls = (
        ("register", app.track17_register),
        ("gettrackinfo", app.track17_gettrackinfo),
        ("stoptrack", app.track17_stoptrack),
        ("retrack", app.track17_retrack),
        ("getquota", app.track17_getquota),
    )
    return [
        Route(f"/track/{version}/{call}", handler, methods=["POST"])
        for version in app.T17_VERSIONS
        for call, handler in calls
    ]


def _nack(config: Any, now: datetime, tz: tzinfo, reason: str) -> dict[str, Any]:
    return {"code": 400, "message": reason}


SPEC = ProviderSpec(
    name="track17",
    label="17TRACK",
    config={
        "base_url": "http://127.0.0.1:8765",
        "key": "sandbox-17track-key",
        "rate_per_second": 3,
        "concurrency": 3,
        "batch_size": 40,
    },
    secrets={"key": "TRACKER_TRACK17_KEY"},
    parsers={"query": parse_query, "push": parse_push},
    make_client=lazy("tracker.providers.track17.client:Track17Client"),
    make_fetcher=lazy("tracker.providers.clients:_Track17"),
    sandbox_routes=_sandbox_routes,
    push=PushSpec(
        field=None,
        sign_field="sign",
        verify=lambda config, raw, sign: verify_push_sign(raw, config.key, sign),
        ok=lambda config, now, tz: None,
        nack=_nack,
        describe="sha256(body + '/' + key)",
        signed_with=("key",),
    ),
    subscribe=lazy("tracker.providers.track17.subscribe:subscribe_waybills"),
    label_en="17TRACK",
    answers=(codes.ANSWERS,),
    shape_keys=("event", "code"),
    courier_field="track17",
)
