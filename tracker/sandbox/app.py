"""The sandbox server (starlette): Kuaidi100, Kdniao and 17TRACK wire formats, courier HTML pages,
signed pushes to a callback, a controllable clock and fault injection.

Control endpoints (JSON): POST /_sandbox/clock {"now", "speed"}; POST /_sandbox/faults {"rates", "next",
"delay_seconds"}; POST /_sandbox/assign {"waybill", "scenario", "anchor"}; POST /_sandbox/push
{"provider", "callback", "waybills", "courier", "bad_sign", "notice", "resultv2", "request_type",
"api_version"}; GET /_sandbox/stats.

The replies are as sparse as the real services' (render.py): Kuaidi100 honours `resultv2`, Kdniao 1002 traces
have no Action, 17TRACK events have a stage and no sub_status (v2.2 and v2.4 paths). The courier named by the
request (Kuaidi100 `com`, Kdniao ShipperCode, 17TRACK carrier, the page's courier) picks the wording.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections import Counter, deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from tracker.providers.kdniao.sign import data_sign, verify_data_sign
from tracker.providers.kuaidi100.sign import push_sign as kd100_push_sign
from tracker.providers.kuaidi100.sign import verify_query_sign
from tracker.providers.track17.sign import push_sign as t17_push_sign
from tracker.sandbox import accounts, render
from tracker.sandbox import subscriptions as sandbox_subs
from tracker.sandbox.control import Faults, SandboxClock, WindowLimit, parse_time
from tracker.sandbox.scenarios import ScenarioBook, load_scenarios
from tracker.settings import CourierConfig

T17_MAX_NUMBERS = 40  # numbers a request; error -18010014 above (docs/sandbox.md)
T17_RATE = 3  # requests per second per key, 429 above
T17_VERSIONS = ("v2.2", "v2.4")
T17_DEFAULT_CARRIER = 3011  # China Post
T17_QUOTA = 10_000  # the sandbox account's tracking quota [I]
# 17TRACK rejection codes: -18019901 is documented ("already registered"); the others are the sandbox's [I]
T17_ALREADY_REGISTERED = -18019901
T17_NOT_REGISTERED = -18019902
T17_ALREADY_STOPPED = -18019904
T17_NOT_STOPPED = -18019905
T17_RETRACKED_ONCE = -18019906
PUSH_NOTICES = {
    "kuaidi100": ("auto", "update", "abort"),
    "kdniao": ("auto", "update"),
    "track17": ("auto", "update", "minimal", "stopped"),
}


@dataclass
class SandboxState:
    book: ScenarioBook
    clock: SandboxClock
    faults: Faults
    couriers: Mapping[str, CourierConfig]
    t17_limit: WindowLimit = field(default_factory=lambda: WindowLimit(T17_RATE))
    t17_registered: set[str] = field(default_factory=set)
    # per registered number: carrier, tag, stopped (stoptrack or auto-stop), retracked (once allowed)
    t17_meta: dict[str, dict[str, Any]] = field(default_factory=dict)
    t17_quota_used: int = 0
    kdn_callbacks: dict[str, str] = field(default_factory=dict)  # LogisticCode -> the 1008 `Callback` it gave
    kd100_subscriptions: dict[str, dict[str, Any]] = field(default_factory=dict)
    stats: Counter[str] = field(default_factory=Counter)
    # every tracking query answered: (monotonic arrival time, provider, waybill); tests read it to check
    # rate limits across workers and that no parcel was polled twice at once
    queries: deque[tuple[float, str, str]] = field(default_factory=lambda: deque(maxlen=200_000))
    arrivals: dict[str, deque[float]] = field(default_factory=dict)
    latency: float = 0.0  # seconds every provider answer takes (a real API's round trip)

    def arrived(self, endpoint: str) -> None:
        self.stats[endpoint] += 1
        self.arrivals.setdefault(endpoint, deque(maxlen=200_000)).append(time.monotonic())

    def answered(self, provider: str, waybill: str) -> None:
        self.queries.append((time.monotonic(), provider, waybill))

    def courier_by(self, provider: str, code: str | int | None) -> str | None:
        for slug, cfg in self.couriers.items():
            if provider == "kuaidi100" and cfg.kuaidi100 == code:
                return slug
            if provider == "kdniao" and cfg.kdniao == code:
                return slug
            if provider == "track17" and cfg.track17 is not None and str(cfg.track17) == str(code):
                return slug
        return None

    def t17_provider(self, carrier: int) -> tuple[str | None, tuple[str, str]]:
        """(courier slug, (English name, Chinese name)) of a 17TRACK carrier key."""
        slug = self.courier_by("track17", carrier)
        if slug is None:
            return None, ("China Post", "中国邮政") if carrier == T17_DEFAULT_CARRIER else (str(carrier), str(carrier))
        cfg = self.couriers[slug]
        return slug, (cfg.name_en, cfg.name)


def make_state(
    couriers: Mapping[str, CourierConfig],
    *,
    now: datetime | None = None,
    speed: float = 1.0,
    faults: dict[str, float] | None = None,
    fault_delay: float = 3.0,
    seed: int = 1,
    latency: float = 0.0,
) -> SandboxState:
    """A fresh sandbox; scenario anchors spread over the 14 days before `now`'s UTC midnight. `latency`
    (seconds) delays every provider answer, as a real API's round trip does (benchmarks)."""
    start = (now or datetime.now(UTC)).astimezone(UTC)
    midnight = start.replace(hour=0, minute=0, second=0, microsecond=0)
    book = ScenarioBook(load_scenarios(), epoch=midnight - timedelta(days=14))
    return SandboxState(
        book=book,
        clock=SandboxClock(start, speed),
        faults=Faults(dict(faults or {}), fault_delay, seed),
        couriers=couriers,
        latency=latency,
    )


_MALFORMED = '{"message":"ok","nu":"'  # a body cut off mid-string
_DIGIT = re.compile(r"\d")


def _phone_missing(state: SandboxState, provider: str, courier: str | None, phone: Any) -> bool:
    """The courier's provider wants the phone (config/couriers.toml needs_phone, kdniao_needs_phone) and the
    request has no 4 digits of it. Last 4 digits are enough; a full or virtual number (…-1234) passes too."""
    if courier is None or not state.couriers[courier].phone_required(provider):
        return False
    return len(_DIGIT.findall(str(phone or ""))) < 4


async def _fault(state: SandboxState, kind: str) -> tuple[Response | None, bool]:
    """(a fault response to send instead, whether the reply should fail its signature check)."""
    if state.latency:
        await asyncio.sleep(state.latency)
    fault = state.faults.draw()
    if fault:
        state.stats[f"fault:{fault}"] += 1
    if fault == "5xx":
        return Response("Bad Gateway", status_code=502), False
    if fault == "timeout":
        await asyncio.sleep(state.faults.delay_seconds)
        return Response("Gateway Timeout", status_code=504), False
    if fault == "429":
        return JSONResponse({"code": 429, "message": "Too Many Requests"}, status_code=429), False
    if fault == "malformed":
        return Response(_MALFORMED, media_type="application/json"), False
    return None, fault == "bad_sign"


def _json(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data, ensure_ascii=False), status_code=status, media_type="application/json")


# --- Kuaidi100 (docs/sandbox.md) ----------------------------------------------------------------------


async def kuaidi100_query(request: Request) -> Response:
    state: SandboxState = request.app.state.sandbox
    state.arrived("kuaidi100.query")
    fault, bad_sign = await _fault(state, "kuaidi100")
    if fault:
        return fault
    form = await request.form()
    customer, sign, param = (str(form.get(k, "")) for k in ("customer", "sign", "param"))
    if not customer or not sign or not param:
        return _json(render.kuaidi100_error("400", "提交的数据不完整，或者贵公司没授权"))
    if customer == accounts.KUAIDI100_EXPIRED_CUSTOMER:
        return _json(render.kuaidi100_error("601", "key已过期"))
    if customer != accounts.KUAIDI100_CUSTOMER:
        return _json(render.kuaidi100_error("400", "提交的数据不完整，或者贵公司没授权"))
    if bad_sign or not verify_query_sign(param, accounts.KUAIDI100_KEY, customer, sign):
        return _json(render.kuaidi100_error("503", "验证签名失败"))
    try:
        query = json.loads(param)
        com, num = str(query["com"]), str(query["num"])
    except (ValueError, KeyError, TypeError):
        return _json(render.kuaidi100_error("400", "提交的数据不完整，或者贵公司没授权"))
    if state.courier_by("kuaidi100", com) is None:
        return _json(render.kuaidi100_error("400", "找不到对应公司"))
    if not 6 <= len(num) <= 32:
        return _json(render.kuaidi100_error("400", "提交的数据不完整，或者贵公司没授权"))
    if _phone_missing(state, "kuaidi100", state.courier_by("kuaidi100", com), query.get("phone")):
        # SF and ZTO need the phone (docs/providers.md); no phone-specific reply is documented: the 400 one
        return _json(render.kuaidi100_error("400", "提交的数据不完整，或者贵公司没授权"))
    visible = state.book.visible(num, state.clock.now())
    state.answered("kuaidi100", num)
    if not visible:
        return _json(render.kuaidi100_error("500", "查询无结果，请隔段时间再查"))
    resultv2 = str(query.get("resultv2") or "")
    advanced = resultv2 == "4" and request.query_params.get("advanced_state") == "1"
    return _json(
        render.kuaidi100_query(
            com,
            num,
            visible,
            courier=state.courier_by("kuaidi100", com),
            resultv2=resultv2,
            advanced_state=advanced,
            ascending=str(query.get("order", "desc")).lower() == "asc",
        )
    )


async def kuaidi100_subscribe(request: Request) -> Response:
    state: SandboxState = request.app.state.sandbox
    state.stats["kuaidi100.subscribe"] += 1
    fault, _ = await _fault(state, "kuaidi100")
    if fault:
        return fault
    form = await request.form()
    try:
        param = json.loads(str(form.get("param", "")))
        company, number, key = str(param["company"]), str(param["number"]), str(param["key"])
        parameters = param.get("parameters") or {}
        callback = str(parameters["callbackurl"])
    except (ValueError, KeyError, TypeError):
        return _json({"result": False, "returnCode": "700", "message": "订阅参数错误"})
    if key != accounts.KUAIDI100_KEY:
        return _json({"result": False, "returnCode": "600", "message": "您不是合法的订阅者（即授权Key出错）"})
    if state.courier_by("kuaidi100", company) is None:
        return _json({"result": False, "returnCode": "702", "message": "POLL:识别不到该单号对应的快递公司"})
    if not callback.startswith(("http://", "https://")):
        return _json({"result": False, "returnCode": "700", "message": "回调地址不合法"})
    if _phone_missing(state, "kuaidi100", state.courier_by("kuaidi100", company), parameters.get("phone")):
        return _json({"result": False, "returnCode": "700", "message": "订阅参数错误"})  # 700: bad data
    sub = state.kd100_subscriptions.get(number)
    # already polling (until abort/shutdown and 30 minutes after), or the 4 subscriptions a month used up
    if sub and (sub["count"] >= 4 or sandbox_subs.kuaidi100_polling(request, number, state.clock.now())):
        return _json({"result": False, "returnCode": "501", "message": "重复订阅"})
    state.kd100_subscriptions[number] = {
        "company": company,
        "callback": callback,
        "salt": parameters.get("salt"),
        "resultv2": str(parameters.get("resultv2") or ""),
        "count": (sub["count"] if sub else 0) + 1,
    }
    sandbox_subs.book_of(request).pushed.pop(("kuaidi100", number), None)  # polling again: a new push history
    return _json({"result": True, "returnCode": "200", "message": "提交成功"})


# --- Kdniao (docs/sandbox.md) ---------------------------------------------------------------------------


async def kdniao(request: Request) -> Response:
    state: SandboxState = request.app.state.sandbox
    state.arrived("kdniao")
    fault, bad_sign = await _fault(state, "kdniao")
    if fault:
        return fault
    form = await request.form()
    ebid = str(form.get("EBusinessID", ""))
    request_data = str(form.get("RequestData", ""))
    request_type = str(form.get("RequestType", ""))
    sign = str(form.get("DataSign", ""))
    if not (ebid and request_data and request_type and sign):
        return _json(render.kdniao_error(ebid, "101", "缺少必要参数"))
    if ebid != accounts.KDNIAO_EBUSINESS_ID:
        return _json(render.kdniao_error(ebid, "104", "用户不存在或未开通该接口"))
    if bad_sign or not verify_data_sign(request_data, accounts.KDNIAO_APP_KEY, sign):
        return _json(render.kdniao_error(ebid, "102", "DataSign签名校验失败"))
    try:
        data = json.loads(request_data)
        shipper, code = str(data["ShipperCode"]), str(data["LogisticCode"])
    except (ValueError, KeyError, TypeError):
        return _json(render.kdniao_error(ebid, "103", "RequestData格式错误"))
    if state.courier_by("kdniao", shipper) is None:
        return _json(render.kdniao_error(ebid, "105", f"暂不支持该快递公司：{shipper}"))
    if request_type in ("1002", "8001", "1008", "8008") and _phone_missing(
        state, "kdniao", state.courier_by("kdniao", shipper), data.get("CustomerName")
    ):  # CustomerName (the phone's last 4 digits) is required for SF (docs/providers.md): 101 missing parameter
        return _json(render.kdniao_error(ebid, "101", "缺少必要参数"))
    if request_type in ("1002", "8001"):
        visible = state.book.visible(code, state.clock.now())
        state.answered("kdniao", code)
        return _json(
            render.kdniao_trace(
                ebid,
                shipper,
                code,
                visible,
                courier=state.courier_by("kdniao", shipper),
                order_code=str(data.get("OrderCode") or ""),
                extended=request_type == "8001",
            )
        )
    if request_type in ("1008", "8008"):  # subscriptions: tracker/sandbox/subscriptions.py
        state.kdn_callbacks[code] = str(data.get("Callback") or "")
        return _json(sandbox_subs.kdniao_subscribe(request, ebid, data, state.clock.now()))
    return _json(render.kdniao_error(ebid, "101", f"不支持的RequestType：{request_type}"))


# --- 17TRACK (docs/sandbox.md) --------------------------------------------------------------------------


async def _track17_body(request: Request, state: SandboxState) -> tuple[list[dict[str, Any]] | None, Response | None]:
    token = request.headers.get("17token", "")
    if token != accounts.TRACK17_KEY:
        return None, _json(render.track17_error(-18010002, "Invalid security key."), 401)
    if not state.t17_limit.allow(token):
        state.stats["track17.429"] += 1
        return None, _json(render.track17_error(429, "Too many requests: 3 per second."), 429)
    fault, _ = await _fault(state, "track17")
    if fault:
        return None, fault
    try:
        items = json.loads(await request.body())
        if not isinstance(items, list) or not all(isinstance(i, dict) and i.get("number") for i in items):
            raise ValueError
    except ValueError:
        return None, _json(render.track17_error(-18010012, "The data format is incorrect."))
    if len(items) > T17_MAX_NUMBERS:
        return None, _json(render.track17_error(-18010014, "Tracking numbers exceed the 40 limit."))
    return items, None


def _t17_version(request: Request) -> str:
    return request.url.path.split("/")[2]  # /track/<version>/<call>


def _t17_carrier(item: dict[str, Any], meta: dict[str, Any] | None = None) -> int:
    try:
        return int(item.get("carrier") or (meta or {}).get("carrier") or T17_DEFAULT_CARRIER)
    except (TypeError, ValueError):
        return T17_DEFAULT_CARRIER


def _t17_reject(number: str, code: int, message: str) -> dict[str, Any]:
    return {"number": number, "error": {"code": code, "message": message}}


async def track17_register(request: Request) -> Response:
    state: SandboxState = request.app.state.sandbox
    state.arrived("track17.register")
    items, error = await _track17_body(request, state)
    if error:
        return error
    accepted, rejected = [], []
    for item in items or []:
        number = str(item["number"])
        if number in state.t17_registered:
            rejected.append(
                _t17_reject(number, T17_ALREADY_REGISTERED, f"Tracking number {number} is already registered.")
            )
            continue
        carrier = _t17_carrier(item)
        tag = str(item["tag"]) if item.get("tag") is not None else None
        state.t17_registered.add(number)
        state.t17_meta[number] = {"carrier": carrier, "tag": tag, "stopped": False, "retracked": False}
        state.t17_quota_used += 1
        entry: dict[str, Any] = {"origin": 1, "number": number, "carrier": carrier}
        if _t17_version(request) == "v2.4":
            entry.update({"email": None, "tag": tag, "lang": item.get("lang")})
        accepted.append(entry)
    return _json({"code": 0, "data": {"accepted": accepted, "rejected": rejected}})


async def track17_gettrackinfo(request: Request) -> Response:
    state: SandboxState = request.app.state.sandbox
    state.arrived("track17.gettrackinfo")
    items, error = await _track17_body(request, state)
    if error:
        return error
    now = state.clock.now()
    accepted, rejected = [], []
    for item in items or []:
        number = str(item["number"])
        if number not in state.t17_registered:
            rejected.append(_t17_reject(number, T17_NOT_REGISTERED, "The tracking number is not registered."))
            continue
        meta = state.t17_meta.get(number, {})
        carrier = _t17_carrier(item, meta)
        visible = state.book.visible(number, now)
        state.answered("track17", number)
        slug, names = state.t17_provider(carrier)
        accepted.append(
            render.track17_info(
                number,
                carrier,
                visible,
                now,
                courier=slug,
                provider_name=names,
                version=_t17_version(request),
                tag=meta.get("tag"),
            )
        )
    return _json({"code": 0, "data": {"accepted": accepted, "rejected": rejected}})


async def track17_stoptrack(request: Request) -> Response:
    """Stop tracking numbers; a stopped number keeps its data and gets a TRACKING_STOPPED notice on the next
    /_sandbox/push (as the real service notifies the webhook)."""
    state: SandboxState = request.app.state.sandbox
    state.arrived("track17.stoptrack")
    items, error = await _track17_body(request, state)
    if error:
        return error
    accepted, rejected = [], []
    for item in items or []:
        number = str(item["number"])
        meta = state.t17_meta.get(number)
        if meta is None:
            rejected.append(_t17_reject(number, T17_NOT_REGISTERED, "The tracking number is not registered."))
        elif meta["stopped"]:
            rejected.append(_t17_reject(number, T17_ALREADY_STOPPED, "The tracking number is already stopped."))
        else:
            meta["stopped"] = True
            accepted.append({"number": number, "carrier": meta["carrier"]})
    return _json({"code": 0, "data": {"accepted": accepted, "rejected": rejected}})


async def track17_retrack(request: Request) -> Response:
    """Restart a stopped number, once per number."""
    state: SandboxState = request.app.state.sandbox
    state.arrived("track17.retrack")
    items, error = await _track17_body(request, state)
    if error:
        return error
    now = state.clock.now()
    accepted, rejected = [], []
    for item in items or []:
        number = str(item["number"])
        meta = state.t17_meta.get(number)
        if meta is None:
            rejected.append(_t17_reject(number, T17_NOT_REGISTERED, "The tracking number is not registered."))
            continue
        stopped = meta["stopped"] or render.track17_stop_due(state.book.visible(number, now), now)
        if not stopped:
            rejected.append(_t17_reject(number, T17_NOT_STOPPED, "Only a stopped tracking number can be retracked."))
        elif meta["retracked"]:
            rejected.append(_t17_reject(number, T17_RETRACKED_ONCE, "A tracking number can be retracked only once."))
        else:
            meta.update(stopped=False, retracked=True)
            accepted.append({"number": number, "carrier": meta["carrier"]})
    return _json({"code": 0, "data": {"accepted": accepted, "rejected": rejected}})


async def track17_getquota(request: Request) -> Response:
    state: SandboxState = request.app.state.sandbox
    state.arrived("track17.getquota")
    if request.headers.get("17token", "") != accounts.TRACK17_KEY:
        return _json(render.track17_error(-18010002, "Invalid security key."), 401)
    used = state.t17_quota_used
    return _json(
        {
            "code": 0,
            "data": {
                "quota_total": T17_QUOTA,
                "quota_used": used,
                "quota_remain": T17_QUOTA - used,
                "today_used": used,
                "max_track_daily": T17_QUOTA,
            },
        }
    )


# --- courier pages for the spiders -----------------------------------------------------------------------


async def web_page(request: Request) -> Response:
    state: SandboxState = request.app.state.sandbox
    state.stats["web"] += 1
    slug, waybill = request.path_params["courier"], request.path_params["waybill"]
    if slug not in state.couriers:
        return HTMLResponse("<h1>404 未找到该快递公司</h1>", status_code=404)
    fault, _ = await _fault(state, "web")
    if fault:
        return fault
    visible = state.book.visible(waybill, state.clock.now())
    return HTMLResponse(render.tracking_page(state.couriers[slug].name, waybill, visible, courier=slug))


# --- control ---------------------------------------------------------------------------------------------


async def _control_json(request: Request) -> dict[str, Any]:
    try:
        data = json.loads(await request.body() or b"{}")
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise ValueError("expected a JSON object")
    return data


async def control_clock(request: Request) -> Response:
    state: SandboxState = request.app.state.sandbox
    if request.method == "POST":
        try:
            data = await _control_json(request)
            now = parse_time(data["now"]) if data.get("now") else None
            speed = float(data["speed"]) if data.get("speed") is not None else None
        except (ValueError, TypeError) as exc:
            return _json({"error": str(exc)}, 400)
        state.clock.set(now, speed)
    return _json({"now": state.clock.now().isoformat(), "speed": state.clock.speed})


async def control_faults(request: Request) -> Response:
    state: SandboxState = request.app.state.sandbox
    try:
        data = await _control_json(request)
        rates = {k: float(v) for k, v in (data.get("rates") or {}).items()}
        Faults.validate(rates)
        forced = list(data.get("next") or [])
        Faults.validate(dict.fromkeys(forced, 0.0))
    except (ValueError, TypeError, AttributeError) as exc:
        return _json({"error": str(exc)}, 400)
    if "rates" in data:
        state.faults.rates = rates
    if "delay_seconds" in data:
        state.faults.delay_seconds = float(data["delay_seconds"])
    state.faults.queue.clear()
    state.faults.queue.extend(forced)
    return _json({"rates": state.faults.rates, "next": list(state.faults.queue)})


async def control_assign(request: Request) -> Response:
    state: SandboxState = request.app.state.sandbox
    try:
        data = await _control_json(request)
        anchor = parse_time(data["anchor"]) if data.get("anchor") else None
        state.book.assign(str(data["waybill"]), str(data["scenario"]), anchor)
    except KeyError as exc:
        return _json({"error": f"unknown or missing {exc}"}, 400)
    except (ValueError, TypeError) as exc:
        return _json({"error": str(exc)}, 400)
    scenario, at = state.book.lookup(str(data["waybill"]))
    return _json({"waybill": data["waybill"], "scenario": scenario.name, "anchor": at.isoformat()})


async def control_stats(request: Request) -> Response:
    state: SandboxState = request.app.state.sandbox
    return _json(dict(state.stats))


@dataclass(frozen=True)
class _PushOrder:
    """What a control_push request asks for, checked (see control_push)."""

    provider: str
    waybills: list[str]
    callback: str
    slug: str | None
    courier: CourierConfig | None
    notice: str
    request_type: str
    api_version: str
    resultv2: str | None
    bad_sign: bool

    def key(self, secret: str) -> str:
        """The signing secret, spoiled when the order asks for a bad signature."""
        return secret + ("x" if self.bad_sign else "")


def _push_order(state: SandboxState, data: dict[str, Any]) -> _PushOrder | str:
    """The request's order, or what is wrong with it."""
    try:
        provider = str(data["provider"])
        slug = str(data.get("courier") or "") or None
        order = _PushOrder(
            provider=provider,
            waybills=[str(w) for w in data["waybills"]],
            callback=str(data.get("callback") or ""),
            slug=slug,
            courier=state.couriers[slug] if slug else None,
            notice=str(data.get("notice") or "auto"),
            request_type=str(data.get("request_type") or "101"),
            api_version=str(data.get("api_version") or "v2.2"),
            resultv2=str(data["resultv2"]) if data.get("resultv2") is not None else None,
            bad_sign=bool(data.get("bad_sign")),
        )
    except (KeyError, ValueError, TypeError) as exc:
        return f"bad push request: {exc}"
    if provider not in PUSH_NOTICES:
        return f"unknown provider {provider!r}"
    if order.notice not in PUSH_NOTICES[provider]:
        return f"notice for {provider} must be one of {', '.join(PUSH_NOTICES[provider])}, got {order.notice!r}"
    if order.request_type not in ("101", "102") or order.api_version not in T17_VERSIONS:
        return "request_type must be 101 or 102 and api_version v2.2 or v2.4"
    return order


async def control_push(request: Request) -> Response:
    """Send signed pushes for `waybills` to `callback` in `provider`'s push format; report the answers.

    Optional: `courier` (slug; picks the company code and wording), `bad_sign`, `notice` (kuaidi100: auto |
    update | abort; kdniao: auto | update; track17: auto | update | minimal | stopped; "auto" sends what the
    real service would: Kuaidi100 abort on no scan / 60 days unchanged, 17TRACK TRACKING_STOPPED once stopped),
    `resultv2` (kuaidi100; default the subscription's), `request_type` (kdniao "101" or "102"),
    `api_version` (track17 "v2.2" or "v2.4")."""
    state: SandboxState = request.app.state.sandbox
    try:
        order = _push_order(state, await _control_json(request))
    except (KeyError, ValueError, TypeError) as exc:
        order = f"bad push request: {exc}"
    if isinstance(order, str):
        return _json({"error": order}, 400)
    build = {"kuaidi100": _kuaidi100_pushes, "kdniao": _kdniao_pushes}.get(order.provider, _track17_pushes)
    requests = build(state, order, state.clock.now())
    results = await _send_pushes(requests)
    state.stats[f"push.{order.provider}"] += len(requests)
    return _json({"sent": len(requests), "results": results})


def _kuaidi100_pushes(state: SandboxState, order: _PushOrder, now: datetime) -> list[dict[str, Any]]:
    """One form post per waybill, to the URL it was subscribed with unless the order names one."""
    requests = []
    for wb in order.waybills:
        sub = state.kd100_subscriptions.get(wb, {})
        com = (order.courier.kuaidi100 if order.courier else None) or sub.get("company") or "zhongtong"
        resultv2 = order.resultv2 if order.resultv2 is not None else sub.get("resultv2", "")
        salt = str(sub["salt"]) if sub.get("salt") is not None else accounts.KUAIDI100_SALT
        who = order.slug or state.courier_by("kuaidi100", com)
        visible = state.book.visible(wb, now)
        body = render.kuaidi100_push_param(com, wb, visible, now, courier=who, resultv2=resultv2, notice=order.notice)
        param = json.dumps(body, ensure_ascii=False)
        sign = kd100_push_sign(param, order.key(salt)).upper()  # the real pushes' case
        url = order.callback or sub.get("callback", "")
        requests.append({"url": url, "data": {"param": param, "sign": sign}})
    return requests


def _kdniao_pushes(state: SandboxState, order: _PushOrder, now: datetime) -> list[dict[str, Any]]:
    """One form post carrying every waybill."""
    shipper = (order.courier.kdniao if order.courier else None) or "ZTO"
    extended = order.request_type == "102"
    items = [
        render.kdniao_push_item(
            accounts.KDNIAO_EBUSINESS_ID,
            shipper,
            wb,
            state.book.visible(wb, now),
            courier=order.slug or state.courier_by("kdniao", shipper),
            extended=extended,
            callback=state.kdn_callbacks.get(wb, ""),
        )
        for wb in order.waybills
    ]
    push = render.kdniao_push_body(accounts.KDNIAO_EBUSINESS_ID, now, items, extended=extended)
    request_data = json.dumps(push, ensure_ascii=False)
    sign = data_sign(request_data, order.key(accounts.KDNIAO_APP_KEY))
    form = {"RequestData": request_data, "DataSign": sign, "RequestType": order.request_type}
    return [{"url": order.callback, "data": form}]


def _track17_pushes(state: SandboxState, order: _PushOrder, now: datetime) -> list[dict[str, Any]]:
    """One JSON webhook per waybill: TRACKING_UPDATED with its track_info, or without it (`minimal`), or
    TRACKING_STOPPED."""
    requests = []
    for wb in order.waybills:
        meta = state.t17_meta.get(wb, {})
        carrier = (order.courier.track17 if order.courier else None) or meta.get("carrier") or T17_DEFAULT_CARRIER
        visible = state.book.visible(wb, now)
        stopped = meta.get("stopped") or render.track17_stop_due(visible, now)
        if order.notice == "stopped" or (order.notice == "auto" and stopped):
            hook = render.track17_webhook("TRACKING_STOPPED", wb, carrier, tag=meta.get("tag"))
        elif order.notice == "minimal":
            hook = render.track17_webhook("TRACKING_UPDATED", wb, carrier, tag=meta.get("tag"))
        else:
            found, names = state.t17_provider(carrier)
            info = render.track17_info(
                wb,
                carrier,
                visible,
                now,
                courier=order.slug or found,
                provider_name=names,
                version=order.api_version,
                tag=meta.get("tag"),
            )
            hook = render.track17_webhook("TRACKING_UPDATED", wb, carrier, info=info)
        raw = json.dumps(hook, ensure_ascii=False).encode()
        sign = t17_push_sign(raw, order.key(accounts.TRACK17_KEY))
        headers = {"sign": sign, "content-type": "application/json"}
        requests.append({"url": order.callback, "content": raw, "headers": headers})
    return requests


async def _send_pushes(requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Post each request in turn; each one's answer (status and body) or why it was not sent."""
    results: list[dict[str, Any]] = []
    async with httpx.AsyncClient(timeout=20) as client:
        for req in requests:
            url = req.pop("url")
            if not url:
                results.append({"error": "no callback URL (pass callback or subscribe first)"})
                continue
            try:
                reply = await client.post(url, **req)
                results.append({"status": reply.status_code, "body": reply.text})
            except httpx.HTTPError as exc:
                results.append({"error": f"{type(exc).__name__}: {exc}"})
    return results


def create_app(state: SandboxState) -> Starlette:
    from tracker.providers.registry import specs

    # each provider's endpoints come from its spec (tracker/providers/<name>/spec.py, sandbox_routes)
    provider_routes = [route for spec in specs().values() for route in spec.sandbox_routes()]
    app = Starlette(
        routes=[
            *provider_routes,
            Route("/web/{courier}/{waybill}", web_page, methods=["GET"]),
            Route("/_sandbox/clock", control_clock, methods=["GET", "POST"]),
            Route("/_sandbox/faults", control_faults, methods=["POST"]),
            Route("/_sandbox/assign", control_assign, methods=["POST"]),
            Route("/_sandbox/push", control_push, methods=["POST"]),
            Route("/_sandbox/stats", control_stats, methods=["GET"]),
            *sandbox_subs.routes(),
        ]
    )
    app.state.sandbox = state
    sandbox_subs.install(app)
    return app
