"""Push intake: receives the providers' signed push callbacks and stores them through the same
parse + ingest path as polling (spec/providers.md §2.3, §3.2, §4.3).

    POST /push/kuaidi100  form param + sign, sign = md5(param + salt);  ack {"result":true,...}
    POST /push/kdniao     form RequestData + DataSign, RequestType 101/102; ack {"Success":true,...}
    POST /push/track17    JSON body, header sign = sha256(body + "/" + key);  HTTP 200

A forged signature answers 401, a malformed body 400; both log one line naming the provider and why.

Every push also feeds the parcel's subscription (tracker/subscriptions.py): heard from now, so the parcel is
not polled before the safety net. A stop notice (Kuaidi100 status=abort "3天查询无记录"/"60天无变化", 17TRACK
TRACKING_STOPPED, which has no track_info) is acknowledged like any push, recorded on the subscription, and
leads to one re-subscription with a corrected courier (Kuaidi100 comNew, or the number's pattern) or to
polling again. A 17TRACK body naming a number but carrying no track_info is acknowledged too (200).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tracker.providers import registry
from tracker.providers.kdniao.sign import verify_data_sign
from tracker.providers.kuaidi100.sign import verify_push_sign as kd100_verify
from tracker.providers.push_handler import make_push_handler
from tracker.providers.track17.sign import verify_push_sign as t17_verify
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


def create_push_app(engine: Engine, settings: Settings, *, clock: Callable[[], datetime] | None = None) -> Starlette:
    """The push receiver as a starlette app; `clock` gives the ingest time (default: the real clock)."""
    now = clock or (lambda: datetime.now(UTC))
    providers = settings.providers

    def store(provider: str, body: Any) -> tuple[int, int, list[str]]:
        """Parse, ingest, feed the subscriptions; (waybills acknowledged, new events, problems)."""
        from tracker import subscriptions
        from tracker.ingest import ingest
        from tracker.providers.base import parse_reply

        at = now()
        result = parse_reply(
            provider, body, kind="push", tz=settings.tz, couriers=settings.couriers, phrases=settings.phrasebook
        )
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

    def reject(provider: str, request: Request, status: int, why: str, body: dict[str, Any]) -> Response:
        client = request.client.host if request.client else "?"
        log.warning("push %s from %s rejected (%d): %s", provider, client, status, why)
        return _json(body, status)

    async def kuaidi100(request: Request) -> Response:
        form = await request.form()
        param, sign = str(form.get("param", "")), str(form.get("sign", ""))
        if not param:
            return reject("kuaidi100", request, 400, "no param field",
                          {"result": False, "returnCode": "400", "message": "缺少param"})  # fmt: skip
        if not kd100_verify(param, providers.kuaidi100.salt, sign):
            return reject("kuaidi100", request, 401, "signature does not match md5(param + salt)",
                          {"result": False, "returnCode": "503", "message": "验证签名失败"})  # fmt: skip
        try:
            body = json.loads(param)
            if not isinstance(body, dict):
                raise ValueError("param is not a JSON object")
        except ValueError as exc:
            return reject("kuaidi100", request, 400, f"param is not JSON: {exc}",
                          {"result": False, "returnCode": "400", "message": "param格式错误"})  # fmt: skip
        count, new, problems = await run_in_threadpool(store, "kuaidi100", body)
        if not count:
            return reject("kuaidi100", request, 400, "; ".join(problems),
                          {"result": False, "returnCode": "400", "message": "推送内容无法解析"})  # fmt: skip
        log.info("push kuaidi100: %d waybills, %d new events, %d problems", count, new, len(problems))
        return _json(KD100_ACK)

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
        try:
            body = json.loads(data)
            if not isinstance(body, dict):
                raise ValueError("RequestData is not a JSON object")
        except ValueError as exc:
            return reject("kdniao", request, 400, f"RequestData is not JSON: {exc}",
                          {**nack, "Reason": "RequestData格式错误"})  # fmt: skip
        count, new, problems = await run_in_threadpool(store, "kdniao", body)
        if not count:
            return reject("kdniao", request, 400, "; ".join(problems), {**nack, "Reason": "推送内容无法解析"})
        log.info("push kdniao: %d waybills, %d new events, %d problems", count, new, len(problems))
        return _json({"EBusinessID": ebid, "UpdateTime": update_time, "Success": True, "Reason": ""})

    async def track17(request: Request) -> Response:
        raw = await request.body()
        if not t17_verify(raw, providers.track17.key, request.headers.get("sign", "")):
            return reject("track17", request, 401, "sign header does not match sha256(body + '/' + key)",
                          {"code": 401, "message": "invalid sign"})  # fmt: skip
        try:
            body = json.loads(raw)
            if not isinstance(body, dict):
                raise ValueError("body is not a JSON object")
        except ValueError as exc:
            return reject("track17", request, 400, f"body is not JSON: {exc}", {"code": 400, "message": "bad body"})
        count, new, problems = await run_in_threadpool(store, "track17", body)
        if not count:
            return reject("track17", request, 400, "; ".join(problems), {"code": 400, "message": "unparseable"})
        log.info("push track17: %d waybills, %d new events, %d problems", count, new, len(problems))
        return Response(status_code=200)

    # one route per provider that pushes (tracker/providers/registry.py); the three above keep their own checks
    handlers = {"kuaidi100": kuaidi100, "kdniao": kdniao, "track17": track17}
    routes = []
    for name, spec in registry.specs().items():
        if spec.push is not None:
            handler = handlers.get(name) or make_push_handler(
                name, spec.push, providers.of(name), tz=settings.tz, now=now, store=store, reject=reject, log=log
            )
            routes.append(Route(f"/push/{name}", handler, methods=["POST"]))
    return Starlette(routes=routes)
