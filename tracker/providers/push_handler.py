"""A push callback handler built from a provider's PushSpec alone (tracker/providers/registry.py).

tracker/push.py routes POST /push/<name> for every provider whose spec has `push`; a provider without a
handler of its own there gets this one: read the payload (form field or raw body) and the signature (form
field or header), verify, decode JSON, store through parse + ingest, answer the spec's ok/nack bodies.
A forged signature answers 401, a malformed body 400, as the hand-written handlers do.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import datetime, tzinfo
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tracker.providers.registry import PushSpec
from tracker.settings import ProviderConfig

Store = Callable[[str, Any], tuple[int, int, list[str]]]  # (provider, body) -> (waybills, new events, problems)
Reject = Callable[[str, Request, int, str, dict[str, Any]], Response]  # logs one line, answers the body


def make_push_handler(
    name: str,
    push: PushSpec,
    config: ProviderConfig,
    *,
    tz: tzinfo,
    now: Callable[[], datetime],
    store: Store,
    reject: Reject,
    log: Any,
) -> Callable[[Request], Awaitable[Response]]:
    what = push.field or "body"

    async def handle(request: Request) -> Response:
        if push.field is None:
            payload: str | bytes = await request.body()
            sign = request.headers.get(push.sign_field, "")
        else:
            form = await request.form()
            payload, sign = str(form.get(push.field, "")), str(form.get(push.sign_field, ""))
        at = now()
        if not payload:
            return reject(name, request, 400, f"no {what}", push.nack(config, at, tz, f"缺少{what}"))
        if not push.verify(config, payload, sign):
            why = f"signature does not match {push.describe or 'the provider rule'}"
            return reject(name, request, 401, why, push.nack(config, at, tz, "验证签名失败"))
        try:
            body = json.loads(payload)
            if not isinstance(body, dict):
                raise ValueError("not a JSON object")
        except ValueError as exc:
            return reject(name, request, 400, f"{what} is not JSON: {exc}", push.nack(config, at, tz, "格式错误"))
        count, new, problems = await run_in_threadpool(store, name, body)
        if not count:
            return reject(name, request, 400, "; ".join(problems), push.nack(config, at, tz, "推送内容无法解析"))
        log.info("push %s: %d waybills, %d new events, %d problems", name, count, new, len(problems))
        ack = push.ok(config, at, tz)
        return Response(status_code=200) if ack is None else JSONResponse(ack)

    return handle
