"""A push callback handler built from a provider's PushSpec alone (tracker/providers/registry.py).

tracker/push.py routes POST /push/<name> for every provider whose spec has `push`; a provider without a
handler of its own there gets this one: read the payload (form field or raw body) and the signature (form
field or header), verify, then `take` it (tracker/push.py: decode within the limits, store through parse +
ingest, or keep it as a dead letter), answer the spec's ok/nack bodies. A forged signature answers 401, a
malformed body 400, as the hand-written handlers do.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, tzinfo
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tracker.form_body import read_form
from tracker.providers.registry import PushSpec
from tracker.settings import ProviderConfig

# (provider, request, signed payload, nack(reason), what) -> None when read and stored whole, else the answer
Take = Callable[[str, Request, Any, Callable[[str], dict[str, Any]], str], Awaitable[Response | None]]
Reject = Callable[[str, Request, int, str, dict[str, Any]], Response]  # logs one line, answers the body


def make_push_handler(
    name: str,
    push: PushSpec,
    config: ProviderConfig,
    *,
    tz: tzinfo,
    now: Callable[[], datetime],
    take: Take,
    reject: Reject,
) -> Callable[[Request], Awaitable[Response]]:
    what = push.field or "body"

    async def handle(request: Request) -> Response:
        if push.field is None:
            payload: str | bytes = await request.body()
            sign = request.headers.get(push.sign_field, "")
        else:
            form = await read_form(request)
            payload, sign = str(form.get(push.field, "")), str(form.get(push.sign_field, ""))
        at = now()
        if not payload:
            return reject(name, request, 400, f"no {what}", push.nack(config, at, tz, f"缺少{what}"))
        if not push.verify(config, payload, sign):
            why = f"signature does not match {push.describe or 'the provider rule'}"
            return reject(name, request, 401, why, push.nack(config, at, tz, "验证签名失败"))
        refused = await take(name, request, payload, lambda reason: push.nack(config, at, tz, reason), what)
        if refused is not None:
            return refused
        ack = push.ok(config, at, tz)
        return Response(status_code=200) if ack is None else JSONResponse(ack)

    return handle
