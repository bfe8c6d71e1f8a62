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

Group commit (GroupCommit): the route checks the signature and hands the payload to one writer thread. The
writer decodes and parses each payload (off the event loop), then stores every push that arrived within
[push] group_window_ms (or while the previous group was being written) in ONE transaction; each push is
answered only after that commit. When the group's transaction fails, each push is tried again alone; a push
whose own transaction fails is answered with the provider's refusal (HTTP 503), so the provider resends it.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Engine
from sqlalchemy.engine import Connection
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tracker import deadletter
from tracker.providers import registry
from tracker.providers.base import ParsedWaybill
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
    """Parse a push, ingest it, feed the subscriptions, in one transaction; (waybills acknowledged, new events,
    problems). The receiver groups pushes (GroupCommit); this is the one-push path (`tracker pushes --replay`)."""
    waybills, count, problems = prepare_push(settings, provider, body)
    if not count:
        return 0, 0, problems
    with engine.begin() as conn:
        new_events = store_parsed(_SharedTransaction(conn), settings, [(provider, body, waybills)], at)
    return count, new_events, problems


def read_payload(settings: Settings, provider: str, payload: str | bytes) -> dict[str, Any]:
    """A push payload as its JSON object; PushBodyError (a ValueError) when too deep, not JSON or no object."""
    return decode_json(payload, max_depth=settings.providers.push.max_json_depth)


class _SharedTransaction:
    """Stands in for the Engine inside a group: every begin()/connect() is the group's one connection, within
    its one transaction (ingest and subscriptions open their own transactions when given an Engine)."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self.dialect = conn.dialect

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        yield self._conn

    connect = begin


@dataclass
class _Push:
    """One push waiting for the writer, and what became of it."""

    provider: str
    payload: str | bytes
    what: str  # the payload's field, for the error line
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Outcome]
    body: dict[str, Any] | None = None
    waybills: list[ParsedWaybill] = field(default_factory=list)
    count: int = 0
    problems: list[str] = field(default_factory=list)
    not_json: bool = False  # the payload itself is not a JSON object within the limits


@dataclass(frozen=True)
class Outcome:
    """stored: the waybills were committed; problems: why the push is not acknowledged (read, not stored
    whole); failed: the database refused the write (the provider should resend)."""

    count: int = 0
    problems: tuple[str, ...] = ()
    failed: str = ""
    not_json: bool = False


def prepare_push(settings: Settings, provider: str, body: dict[str, Any]) -> tuple[list[ParsedWaybill], int, list[str]]:
    """Parse a push (pure): (waybills with a number, waybills acknowledged, problems)."""
    from tracker.providers.base import parse_reply

    try:
        result = parse_reply(
            provider, body, kind="push", tz=settings.tz, couriers=settings.couriers, phrases=settings.phrasebook
        )
    except Exception as exc:  # a parser fault must not lose the push: it is kept as a dead letter instead
        log.exception("push %s: the parser failed", provider)
        return [], 0, [f"the parser failed: {type(exc).__name__}: {exc}"[:500]]
    problems = [p.message for p in result.problems]
    waybills = [w for w in result.waybills if w.waybill]
    count = len({w.waybill for w in waybills})
    if not count:
        return [], 0, problems or ["no waybill in the push"]
    return waybills, count, problems


def store_parsed(
    engine: Engine | _SharedTransaction,
    settings: Settings,
    pushes: list[tuple[str, dict[str, Any], list[ParsedWaybill]]],
    at: datetime,
) -> int:
    """Store parsed pushes (provider, body, waybills): their events in one ingest, then the subscriptions each
    feeds (heard from now; stop notices recorded). Returns the new events."""
    from tracker import subscriptions
    from tracker.ingest import ingest

    every = [w for _, _, waybills in pushes for w in waybills]
    if not every:
        return 0
    new_events = ingest(cast(Engine, engine), every, now=at, source="push").new_events
    by_provider: dict[str, list[tuple[str, str | None]]] = {}
    for provider, _, waybills in pushes:
        by_provider.setdefault(provider, []).extend((w.waybill, w.courier) for w in waybills)
    for provider, named in by_provider.items():
        subscriptions.record_push(cast(Engine, engine), settings, provider, named, now=at)
    for provider, body, waybills in pushes:
        # the parsers read stop notices (ParsedWaybill.stop): Kuaidi100 status=abort, 17TRACK TRACKING_STOPPED
        stops = {w.waybill: (w.courier, w.stop) for w in waybills if w.stop is not None}
        corrected = subscriptions.courier_of_company(settings, provider, _corrected_company(provider, body))
        for number, (courier, stop) in stops.items():
            subscriptions.record_stop(
                cast(Engine, engine), settings, provider, number, courier, stop, corrected=corrected, now=at
            )
    return new_events


WRITER_SWITCH_INTERVAL = 0.0005  # seconds; sys.setswitchinterval for a receiver process (tracker serve-push)


class GroupCommit:
    """One writer thread: pushes that arrive within `window` seconds of each other (or while the previous group
    is being written) are parsed and stored in one transaction, and each is answered after its commit."""

    def __init__(
        self, engine: Engine, settings: Settings, now: Callable[[], datetime], *, window: float, max_group: int
    ) -> None:
        self.engine, self.settings, self.now = engine, settings, now
        self.window, self.max_group = window, max_group
        self._queue: queue.SimpleQueue[_Push | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    async def submit(self, provider: str, payload: str | bytes, what: str) -> Outcome:
        self._ensure_started()
        loop = asyncio.get_running_loop()
        push = _Push(provider, payload, what, loop, loop.create_future())
        self._queue.put(push)
        return await push.future

    def close(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(10)
            self._thread = None

    def _ensure_started(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="push-group-commit", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            group = [first]
            deadline = time.monotonic() + self.window
            stop = False
            while len(group) < self.max_group:
                try:
                    push = self._queue.get(timeout=max(deadline - time.monotonic(), 0)) if self.window else None
                    if push is None and not self.window:
                        push = self._queue.get_nowait()
                except queue.Empty:
                    break
                if push is None:
                    stop = True
                    break
                group.append(push)
            try:
                self._write(group)
            except Exception:  # never let the writer die: every push of the group gets an answer
                log.exception("push group of %d: unexpected failure", len(group))
                for push in group:
                    self._answer(push, Outcome(failed="unexpected failure"))
            if stop:
                return

    def _write(self, group: list[_Push]) -> None:
        limits = self.settings.providers.push
        for push in group:
            try:
                push.body = decode_json(push.payload, max_depth=limits.max_json_depth)
            except PushBodyError as exc:
                push.problems, push.not_json = [f"{push.what} {exc}"], True
                continue
            push.waybills, push.count, push.problems = prepare_push(self.settings, push.provider, push.body)
        storing = [p for p in group if p.count]
        at = self.now()
        try:
            with self.engine.begin() as conn:
                new = store_parsed(_SharedTransaction(conn), self.settings, _stored(storing), at)
            log.info(
                "push group: %d pushes, %d waybills, %d new events", len(storing), sum(p.count for p in storing), new
            )
        except Exception as exc:
            log.warning("push group of %d: the transaction failed (%s); storing each alone", len(storing), exc)
            for push in storing:
                try:
                    with self.engine.begin() as conn:
                        store_parsed(_SharedTransaction(conn), self.settings, _stored([push]), at)
                except Exception as alone:
                    log.error("push %s not stored (%s): answered as failed, the provider resends", push.provider, alone)
                    push.count = -1
                    push.problems = [f"the database refused the write: {type(alone).__name__}"]
        for push in group:
            if push.count < 0:
                self._answer(push, Outcome(failed=push.problems[0]))
            else:
                self._answer(push, Outcome(push.count, tuple(push.problems), not_json=push.not_json))

    @staticmethod
    def _answer(push: _Push, outcome: Outcome) -> None:
        def settle() -> None:
            if not push.future.done():
                push.future.set_result(outcome)

        try:
            push.loop.call_soon_threadsafe(settle)
        except RuntimeError:  # the loop is closed: the server is shutting down
            pass


def _stored(pushes: list[_Push]) -> list[tuple[str, dict[str, Any], list[ParsedWaybill]]]:
    return [(p.provider, p.body or {}, p.waybills) for p in pushes]


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
        engine, settings, now, window=limits.group_window_ms / 1000, max_group=limits.group_max_pushes
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
        yield
        committer.close()  # the writer thread answers what it holds, then stops

    return Starlette(routes=receiver.routes(only, unserved or {}), middleware=middleware, lifespan=lifespan)


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
        form = await request.form()
        param, sign = str(form.get("param", "")), str(form.get("sign", ""))
        if not param:
            return self.reject(
                "kuaidi100",
                request,
                400,
                "no param field",
                {"result": False, "returnCode": "400", "message": "缺少param"},
            )
        if not kd100_verify(param, self.settings.providers.kuaidi100.salt, sign):
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
        form = await request.form()
        data, sign = str(form.get("RequestData", "")), str(form.get("DataSign", ""))
        request_type = str(form.get("RequestType", ""))
        config = self.settings.providers.kdniao
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
        if not t17_verify(raw, self.settings.providers.track17.key, request.headers.get("sign", "")):
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

    from tracker.settings import load_settings
    from tracker.storage.db import make_engine

    sys.setswitchinterval(WRITER_SWITCH_INTERVAL)
    config_dir = os.environ.get("TRACKER_CONFIG_DIR")
    settings = load_settings(Path(config_dir) if config_dir else None)
    only = json.loads(os.environ.get(PUSH_ONLY_ENV) or "null")
    unserved = json.loads(os.environ.get(PUSH_UNSERVED_ENV) or "{}")
    return create_push_app(make_engine(settings.database_url), settings, only=only, unserved=unserved)
