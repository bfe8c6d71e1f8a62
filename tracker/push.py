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

Group commit (tracker/push_writer.py): the route checks the signature and hands the payload to one writer,
in a process of its own by default ([push] writer). The writer decodes and parses each payload (off the event
loop), then stores every push that arrived within [push] group_window_ms (or while the previous group was being
written) in ONE transaction (tracker/push_store.py); each push is answered only after that commit. When the
group's transaction fails, each push is tried again alone; a push whose own transaction fails is answered with
the provider's refusal (HTTP 503), so the provider resends it.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tracker import deadletter
from tracker.form_body import read_form
from tracker.providers import registry
from tracker.providers.kdniao.sign import verify_data_sign
from tracker.providers.kuaidi100.sign import verify_push_sign as kd100_verify
from tracker.providers.push_handler import make_push_handler
from tracker.providers.track17.sign import verify_push_sign as t17_verify
from tracker.push_guard import BodyLimit
from tracker.push_writer import GroupCommit, make_writer
from tracker.settings import Settings

log = logging.getLogger("tracker.push")
KD100_ACK = {"result": True, "returnCode": "200", "message": "成功"}
WRITER_SWITCH_INTERVAL = 0.0005  # seconds; sys.setswitchinterval for a receiver process (tracker serve-push)


def _json(data: Any, status: int = 200) -> Response:
    return JSONResponse(data, status_code=status)


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
    limits = settings.providers.push
    _ = settings.phrasebook  # read now, not on the first push (half a second)
    committer = GroupCommit(
        make_writer(engine, settings), now, window=limits.group_window_ms / 1000, max_group=limits.group_max_pushes
    )
    receiver = _Receiver(engine, settings, now, committer)
    middleware = [
        Middleware(
            BodyLimit,
            max_bytes=limits.max_body_bytes,
            timeout=limits.body_timeout_seconds,
            max_header_bytes=limits.max_header_bytes,
        )
    ]

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        committer.start()  # the writer process imports while the server starts, not on the first push
        yield
        committer.close()  # the writer answers what it holds, then stops

    app = Starlette(routes=receiver.routes(only, unserved or {}), middleware=middleware, lifespan=lifespan)
    app.state.group_commit = committer  # its writer (a test that patches this process swaps in a ThreadWriter)
    return app


@dataclass
class _Receiver:
    """The push routes: one per provider that pushes (tracker/providers/registry.py). Kuaidi100, Kdniao and
    17TRACK keep handlers of their own; another provider gets the one its PushSpec describes
    (tracker/providers/push_handler.py). Each checks the signature, then `take`s the payload."""

    engine: Engine
    settings: Settings
    now: Callable[[], datetime]
    committer: GroupCommit

    def routes(self, only: Iterable[str] | None, unserved: Mapping[str, str]) -> list[Route]:
        handlers = {"kuaidi100": self.kuaidi100, "kdniao": self.kdniao, "track17": self.track17}
        routes = [
            Route(f"/push/{name}", self.refuse_all(name, variable), methods=["POST"])
            for name, variable in unserved.items()
        ]
        for name, spec in registry.specs().items():
            if spec.push is not None and (only is None or name in only) and name not in unserved:
                handler = handlers.get(name) or make_push_handler(
                    name,
                    spec.push,
                    self.settings.providers.of(name),
                    tz=self.settings.tz,
                    now=self.now,
                    take=self.take,
                    reject=self.reject,
                )
                routes.append(Route(f"/push/{name}", handler, methods=["POST"]))
        return routes

    @staticmethod
    def reject(provider: str, request: Request, status: int, why: str, body: dict[str, Any]) -> Response:
        client = request.client.host if request.client else "?"
        log.warning("push %s from %s rejected (%d): %s", provider, client, status, why)
        return _json(body, status)

    async def take(
        self, provider: str, request: Request, payload: str | bytes, nack: Callable[[str], dict[str, Any]], what: str
    ) -> Response | None:
        """Store a signed payload through the group commit. None when it was read whole and committed (the
        caller acknowledges); a write the database refused is answered 503 with the provider's refusal (it
        resends); an unreadable payload is kept as a dead letter and refused, so it is never acknowledged and
        lost (docs/operations-pushes.md)."""
        outcome = await self.committer.submit(provider, payload, what)
        if outcome.failed:
            return self.reject(provider, request, 503, outcome.failed, nack("暂时无法保存，请重发"))
        if outcome.count and not outcome.problems:
            return None
        why = "; ".join(outcome.problems)
        reason = f"{what}格式错误" if outcome.not_json else "推送内容无法解析"
        if outcome.count:
            why = f"{outcome.count} waybills stored but {why}"
        letter = await run_in_threadpool(deadletter.keep, self.engine, provider, payload, why, now=self.now())
        return self.reject(provider, request, 400, f"{why} [kept as dead letter {letter}]", nack(reason))

    async def kuaidi100(self, request: Request) -> Response:
        form = await read_form(request)
        param, sign = str(form.get("param", "")), str(form.get("sign", ""))
        if not param:
            return self.reject(
                "kuaidi100",
                request,
                400,
                "no param field",
                {"result": False, "returnCode": "400", "message": "缺少param"},
            )
        if not kd100_verify(param, self.settings.providers.of("kuaidi100").salt, sign):
            return self.reject(
                "kuaidi100",
                request,
                401,
                "signature does not match md5(param + salt)",
                {"result": False, "returnCode": "503", "message": "验证签名失败"},
            )
        refused = await self.take(
            "kuaidi100",
            request,
            param,
            lambda reason: {"result": False, "returnCode": "400", "message": reason},
            "param",
        )
        return refused or _json(KD100_ACK)

    async def kdniao(self, request: Request) -> Response:
        form = await read_form(request)
        data, sign = str(form.get("RequestData", "")), str(form.get("DataSign", ""))
        request_type = str(form.get("RequestType", ""))
        config = self.settings.providers.of("kdniao")
        ebid = config.ebusiness_id
        update_time = self.now().astimezone(self.settings.tz).strftime("%Y-%m-%d %H:%M:%S")
        nack = {"EBusinessID": ebid, "UpdateTime": update_time, "Success": False}
        if request_type not in ("101", "102") or not data:
            return self.reject(
                "kdniao",
                request,
                400,
                f"RequestType {request_type!r} or RequestData missing",
                {**nack, "Reason": "RequestType或RequestData错误"},
            )
        if not verify_data_sign(data, config.app_key, sign):
            return self.reject(
                "kdniao", request, 401, "DataSign does not match", {**nack, "Reason": "DataSign签名校验失败"}
            )
        refused = await self.take("kdniao", request, data, lambda reason: {**nack, "Reason": reason}, "RequestData")
        return refused or _json({"EBusinessID": ebid, "UpdateTime": update_time, "Success": True, "Reason": ""})

    async def track17(self, request: Request) -> Response:
        raw = await request.body()
        if not t17_verify(raw, self.settings.providers.of("track17").key, request.headers.get("sign", "")):
            return self.reject(
                "track17",
                request,
                401,
                "sign header does not match sha256(body + '/' + key)",
                {"code": 401, "message": "invalid sign"},
            )
        refused = await self.take("track17", request, raw, lambda reason: {"code": 400, "message": reason}, "body")
        return refused or Response(status_code=200)

    def refuse_all(self, name: str, variable: str) -> Callable[[Request], Awaitable[Response]]:
        """The route of a provider whose secret is the sandbox's public one: every push is refused (401)."""
        why = f"no secret of its own configured (set {variable}); the sandbox's public one is not accepted"

        async def handle(request: Request) -> Response:
            return self.reject(name, request, 401, why, {"code": 401, "message": "no secret configured"})

        return handle


PUSH_ONLY_ENV = "TRACKER_PUSH_ONLY"  # JSON list: the providers `tracker serve-push --workers N` serves
PUSH_UNSERVED_ENV = "TRACKER_PUSH_UNSERVED"  # JSON object: provider -> the secret's variable (refused, 401)


def app_from_environment() -> Starlette:
    """The receiver app of one `tracker serve-push --workers N` process (uvicorn calls this in each worker):
    the settings from TRACKER_CONFIG_DIR, the database from the settings, the providers as the command chose."""
    import json
    import os
    import sys

    from tracker.runtime import tune_gc
    from tracker.settings import load_settings
    from tracker.storage.db import make_engine

    sys.setswitchinterval(WRITER_SWITCH_INTERVAL)
    tune_gc()  # as the CLI does for its own process
    config_dir = os.environ.get("TRACKER_CONFIG_DIR")
    settings = load_settings(Path(config_dir) if config_dir else None)
    only = json.loads(os.environ.get(PUSH_ONLY_ENV) or "null")
    unserved = json.loads(os.environ.get(PUSH_UNSERVED_ENV) or "{}")
    return create_push_app(make_engine(settings.database_url), settings, only=only, unserved=unserved)
