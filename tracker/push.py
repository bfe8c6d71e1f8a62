"""Push intake: receives the providers' signed push callbacks and stores them through the same
parse + ingest path as polling (docs/providers.md, docs/operations-pushes.md).

    POST /push/kuaidi100  form param + sign, sign = md5(param + salt);  ack {"result":true,...}
    POST /push/kdniao     form RequestData + DataSign, RequestType 101/102; ack {"Success":true,...}
    POST /push/track17    JSON body, header sign = sha256(body + "/" + key);  HTTP 200

A forged signature answers 401, a malformed body 400; both log one line naming the provider and why. A body
over [push] max_body_bytes answers 413 before it is read, a body not received in time 408, JSON nested too deep
400 (tracker/push_guard.py). A SIGNED push that cannot be read whole (not JSON, too deep, a waybill or event the
parser refused) is kept as a dead letter (tracker/deadletter.py, `tracker pushes --failed`, `--replay ID`) and
answered with the provider's refusal: never acknowledged and lost.

Every push also feeds the parcel's subscription (tracker/subscriptions.py): heard from now, so the parcel is
not polled before the safety net. A stop notice (Kuaidi100 status=abort "3天查询无记录"/"60天无变化", 17TRACK
TRACKING_STOPPED, which has no track_info) is acknowledged like any push, recorded on the subscription, and
leads to one re-subscription with a corrected courier (Kuaidi100 comNew, or the number's pattern) or to
polling again. A 17TRACK body naming a number but carrying no track_info is acknowledged too (200).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tracker import deadletter
from tracker.providers import registry
from tracker.providers.kdniao.sign import verify_data_sign
from tracker.providers.kuaidi100.sign import verify_push_sign as kd100_verify
from tracker.providers.push_handler import make_push_handler
from tracker.providers.track17.sign import verify_push_sign as t17_verify
from tracker.push_guard import BodyLimit, PushBodyError, decode_json
from tracker.settings import Settings

log = logging.getLogger("tracker.push")
KD100_ACK = {"result": True, "returnCode": "200", "message": "成功"}


def _json(data: Any, status: int = 200) -> Response:
    return JSONResponse(data, status_code=status)


def _corrected_company(provider: str, body: dict[str, Any]) -> str | None:
    """Kuaidi100's own company correction on a push (comNew, with autoCheck=1)."""
    if provider != "kuaidi100":
        return None
    return str(body.get("comNew") or "").strip() or None


def store_push(
    engine: Engine, settings: Settings, provider: str, body: Any, at: datetime
) -> tuple[int, int, list[str]]:
    """Parse a push, ingest it, feed the subscriptions; (waybills acknowledged, new events, problems)."""
    from tracker import subscriptions
    from tracker.ingest import ingest
    from tracker.providers.base import parse_reply

    try:
        result = parse_reply(
            provider, body, kind="push", tz=settings.tz, couriers=settings.couriers, phrases=settings.phrasebook
        )
    except Exception as exc:  # a parser fault must not lose the push: it is kept as a dead letter instead
        log.exception("push %s: the parser failed", provider)
        return 0, 0, [f"the parser failed: {type(exc).__name__}: {exc}"[:500]]
    problems = [p.message for p in result.problems]
    waybills = [w for w in result.waybills if w.waybill]
    # the parsers read stop notices (ParsedWaybill.stop): Kuaidi100 status=abort, 17TRACK TRACKING_STOPPED
    stops = {w.waybill: (w.courier, w.stop) for w in waybills if w.stop is not None}
    new_events = 0
    if waybills:
        new_events = ingest(engine, waybills, now=at, source="push").new_events
        subscriptions.record_push(engine, settings, provider, [(w.waybill, w.courier) for w in waybills], now=at)
    corrected = subscriptions.courier_of_company(settings, provider, _corrected_company(provider, body))
    for number, (courier, stop) in stops.items():
        subscriptions.record_stop(engine, settings, provider, number, courier, stop, corrected=corrected, now=at)
    # a minimal 17TRACK TRACKING_UPDATED (no track_info) is a waybill without events: acknowledged too
    count = len({w.waybill for w in waybills} | set(stops))
    if not count:
        return 0, 0, problems or ["no waybill in the push"]
    return count, new_events, problems


def read_payload(settings: Settings, provider: str, payload: str | bytes) -> dict[str, Any]:
    """A push payload as its JSON object; PushBodyError (a ValueError) when too deep, not JSON or no object."""
    return decode_json(payload, max_depth=settings.providers.push.max_json_depth)


def create_push_app(
    engine: Engine,
    settings: Settings,
    *,
    clock: Callable[[], datetime] | None = None,
    only: Iterable[str] | None = None,
    unserved: Mapping[str, str] | None = None,
) -> Starlette:
    """The push receiver as a starlette app; `clock` gives the ingest time (default: the real clock); `only`:
    route these providers' pushes (default: every provider that pushes); `unserved`: provider -> the secret's
    environment variable, for providers whose routes refuse every push (401) because that secret is the
    sandbox's public one (tracker/public_secrets.py). Every
    route reads its body within [push] max_bytes and body_timeout_seconds (tracker/push_guard.py); run it with
    push_guard.uvicorn_options for the connection bounds."""
    now = clock or (lambda: datetime.now(UTC))
    providers = settings.providers
    limits = providers.push

    def store(provider: str, body: Any) -> tuple[int, int, list[str]]:
        return store_push(engine, settings, provider, body, now())

    def reject(provider: str, request: Request, status: int, why: str, body: dict[str, Any]) -> Response:
        client = request.client.host if request.client else "?"
        log.warning("push %s from %s rejected (%d): %s", provider, client, status, why)
        return _json(body, status)

    async def take(
        provider: str, request: Request, payload: str | bytes, nack: Callable[[str], dict[str, Any]], what: str
    ) -> Response | None:
        """Read and store a signed payload. None when it was read whole (the caller acknowledges); else the
        payload is kept as a dead letter and the provider's refusal is the answer, so it is never acknowledged
        and lost (docs/operations-pushes.md)."""
        try:
            body = read_payload(settings, provider, payload)
        except PushBodyError as exc:
            why, reason = f"{what} {exc}", f"{what}格式错误"
        else:
            count, new, problems = await run_in_threadpool(store, provider, body)
            if count and not problems:
                log.info("push %s: %d waybills, %d new events", provider, count, new)
                return None
            why, reason = "; ".join(problems), "推送内容无法解析"
            if count:
                why = f"{count} waybills stored ({new} new events) but {why}"
        letter = await run_in_threadpool(deadletter.keep, engine, provider, payload, why, now=now())
        return reject(provider, request, 400, f"{why} [kept as dead letter {letter}]", nack(reason))

    async def kuaidi100(request: Request) -> Response:
        form = await request.form()
        param, sign = str(form.get("param", "")), str(form.get("sign", ""))
        if not param:
            return reject("kuaidi100", request, 400, "no param field",
                          {"result": False, "returnCode": "400", "message": "缺少param"})  # fmt: skip
        if not kd100_verify(param, providers.kuaidi100.salt, sign):
            return reject("kuaidi100", request, 401, "signature does not match md5(param + salt)",
                          {"result": False, "returnCode": "503", "message": "验证签名失败"})  # fmt: skip
        refused = await take(
            "kuaidi100",
            request,
            param,
            lambda reason: {"result": False, "returnCode": "400", "message": reason},
            "param",
        )
        return refused or _json(KD100_ACK)

    async def kdniao(request: Request) -> Response:
        form = await request.form()
        data, sign = str(form.get("RequestData", "")), str(form.get("DataSign", ""))
        request_type = str(form.get("RequestType", ""))
        ebid = providers.kdniao.ebusiness_id
        update_time = now().astimezone(settings.tz).strftime("%Y-%m-%d %H:%M:%S")
        nack = {"EBusinessID": ebid, "UpdateTime": update_time, "Success": False}
        if request_type not in ("101", "102") or not data:
            return reject("kdniao", request, 400, f"RequestType {request_type!r} or RequestData missing",
                          {**nack, "Reason": "RequestType或RequestData错误"})  # fmt: skip
        if not verify_data_sign(data, providers.kdniao.app_key, sign):
            return reject("kdniao", request, 401, "DataSign does not match",
                          {**nack, "Reason": "DataSign签名校验失败"})  # fmt: skip
        refused = await take("kdniao", request, data, lambda reason: {**nack, "Reason": reason}, "RequestData")
        return refused or _json({"EBusinessID": ebid, "UpdateTime": update_time, "Success": True, "Reason": ""})

    async def track17(request: Request) -> Response:
        raw = await request.body()
        if not t17_verify(raw, providers.track17.key, request.headers.get("sign", "")):
            return reject("track17", request, 401, "sign header does not match sha256(body + '/' + key)",
                          {"code": 401, "message": "invalid sign"})  # fmt: skip
        refused = await take("track17", request, raw, lambda reason: {"code": 400, "message": reason}, "body")
        return refused or Response(status_code=200)

    def refuse_all(name: str, variable: str) -> Callable[[Request], Awaitable[Response]]:
        async def handle(request: Request) -> Response:
            why = f"no secret of its own configured (set {variable}); the sandbox's public one is not accepted"
            return reject(name, request, 401, why, {"code": 401, "message": "no secret configured"})

        return handle

    # one route per provider that pushes (tracker/providers/registry.py); the three above keep their own checks
    handlers = {"kuaidi100": kuaidi100, "kdniao": kdniao, "track17": track17}
    routes = []
    for name, variable in (unserved or {}).items():
        routes.append(Route(f"/push/{name}", refuse_all(name, variable), methods=["POST"]))
    for name, spec in registry.specs().items():
        if spec.push is not None and (only is None or name in only) and name not in (unserved or {}):
            handler = handlers.get(name) or make_push_handler(
                name, spec.push, providers.of(name), tz=settings.tz, now=now, take=take, reject=reject
            )
            routes.append(Route(f"/push/{name}", handler, methods=["POST"]))
    middleware = [Middleware(BodyLimit, max_bytes=limits.max_body_bytes, timeout=limits.body_timeout_seconds,
                             max_header_bytes=limits.max_header_bytes)]  # fmt: skip
    return Starlette(routes=routes, middleware=middleware)
