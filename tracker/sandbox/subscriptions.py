"""The sandbox's push side of subscriptions: Kuaidi100 POST /poll subscriptions (recorded by app.py in
state.kd100_subscriptions), Kdniao 8008 subscriptions and 17TRACK registrations are pushed to their callbacks
when a test or the demo asks, never on a timer:

    POST /_sandbox/subscriptions/flush    {"providers": [...], "all": false, "stop": {"<waybill>": "<reason>"}}
        pushes, per subscription, what is new since its last push (every visible event; "all": true pushes
        everything again). Kuaidi100: form param + sign = upper(md5(param + salt)) to the subscription's
        callbackurl; status=abort "3天查询无记录" when nothing was scanned 3 days after subscribing.
        Kdniao: RequestType 102 to the console's push URL. 17TRACK: TRACKING_UPDATED webhooks (sign header
        sha256(body + "/" + key)) to the console's webhook URL. "stop" sends a stop notice instead
        (Kuaidi100 abort with that message, 17TRACK TRACKING_STOPPED without track_info).
    POST /_sandbox/subscriptions/console  {"kdniao": url, "track17": url}   the providers' console settings
    GET  /_sandbox/subscriptions          what is subscribed and pushed

Bodies come from render.py's builders (kuaidi100_push_param, kdniao_trace, track17_info).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tracker.providers.kdniao.sign import data_sign
from tracker.providers.kuaidi100.sign import push_sign as kd100_push_sign
from tracker.providers.track17.sign import push_sign as t17_push_sign
from tracker.sandbox import accounts, render

NO_RECORD_DAYS = 3  # Kuaidi100 gives up on a number nothing was scanned for after 3 days (status=abort)
NO_RECORD = "3天查询无记录"
KDNIAO_PUSH_BATCH = 10  # waybills per Kdniao push (it batches them: Count, Data[])
PUSH_CONCURRENCY = 8  # pushes in flight at once (the order within one waybill is kept: one push each per flush)


@dataclass
class Pushed:
    since: datetime  # subscribed (or first seen registered) at, sandbox clock
    events: int = 0  # visible events already pushed
    ended: bool = False  # the provider stopped tracking it (abort / TRACKING_STOPPED)
    ended_at: datetime | None = None  # when (sandbox clock): Kuaidi100 takes the number again 30 minutes later


# The sandbox Kdniao account's daily subscription allowance: past it 8008 answers Success false, ResultCode
# 405 (the daily limit), and the tracker polls those waybills until it may subscribe them again.
KDNIAO_DAILY_SUBSCRIPTIONS = 500


@dataclass
class SubscriptionBook:
    """Kdniao subscriptions, console push URLs and what each subscription was pushed so far."""

    kdniao: dict[str, dict[str, Any]] = field(default_factory=dict)  # LogisticCode -> {shipper, customer}
    console: dict[str, str] = field(default_factory=dict)  # provider -> push URL set in its console
    pushed: dict[tuple[str, str], Pushed] = field(default_factory=dict)  # (provider, waybill) -> progress
    # Kdniao subscriptions taken per China day: the demo account's daily allowance, as a real account has one
    kdniao_taken: dict[str, int] = field(default_factory=dict)
    kdniao_daily_limit: int = KDNIAO_DAILY_SUBSCRIPTIONS


def book_of(request: Request) -> SubscriptionBook:
    return request.app.state.subscriptions  # type: ignore[no-any-return]


def _json(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data, ensure_ascii=False), status_code=status, media_type="application/json")


def kdniao_subscribe(request: Request, ebid: str, data: dict[str, Any], now: datetime) -> dict[str, Any]:
    """Record an 8008 (or 1008) subscription; the reply {EBusinessID, UpdateTime, Success, Reason,
    EstimatedDeliveryTime}. Pushes go to the console URL (POST /_sandbox/subscriptions/console)."""
    book = book_of(request)
    code = str(data["LogisticCode"])
    local = now.astimezone(render.CN)
    day = local.strftime("%Y-%m-%d")
    if code not in book.kdniao:
        if book.kdniao_taken.get(day, 0) >= book.kdniao_daily_limit:
            return {
                "EBusinessID": ebid,
                "UpdateTime": local.strftime("%Y-%m-%d %H:%M:%S"),
                "Success": False,
                "ResultCode": "405",
                "Reason": "今日订阅量已达上限",
            }
        book.kdniao_taken[day] = book.kdniao_taken.get(day, 0) + 1
    book.kdniao[code] = {"shipper": str(data["ShipperCode"]), "customer": str(data.get("CustomerName") or "")}
    book.pushed[("kdniao", code)] = Pushed(now)
    return {
        "EBusinessID": ebid,
        "UpdateTime": local.strftime("%Y-%m-%d %H:%M:%S"),
        "Success": True,
        "Reason": "",
        "EstimatedDeliveryTime": (local + timedelta(days=3)).strftime("%Y-%m-%d"),
    }


KD100_RESUBSCRIBE_AFTER = timedelta(minutes=30)  # after abort/shutdown (docs/providers.md, 501 重复订阅)


def kuaidi100_polling(request: Request, number: str, now: datetime) -> bool:
    """Whether Kuaidi100 is still tracking a subscribed number: not yet stopped (abort, shutdown), or stopped
    less than 30 minutes ago. Subscribing it again then answers 501 重复订阅."""
    progress = book_of(request).pushed.get(("kuaidi100", number))
    if progress is None or not progress.ended or progress.ended_at is None:
        return True
    return now - progress.ended_at < KD100_RESUBSCRIBE_AFTER


def _progress(book: SubscriptionBook, provider: str, waybill: str, now: datetime, *, fresh: bool) -> Pushed:
    key = (provider, waybill)
    if fresh or key not in book.pushed:
        book.pushed[key] = Pushed(now)
    return book.pushed[key]


def _kd100_requests(state: Any, book: SubscriptionBook, now: datetime, everything: bool, stop: dict[str, str]):  # type: ignore[no-untyped-def]
    out = []
    for number, sub in state.kd100_subscriptions.items():
        # app.py replaces the record on every (re-)subscription: a new record starts a new push history
        fresh = sub.get("_pushed") is None
        progress = _progress(book, "kuaidi100", number, now, fresh=fresh)
        sub["_pushed"] = True
        if progress.ended:
            continue
        visible = state.book.visible(number, now)
        looks = {"courier": state.courier_by("kuaidi100", sub["company"]), "resultv2": sub.get("resultv2", "")}
        if number in stop:
            param = render.kuaidi100_push_param(sub["company"], number, visible, now, notice="abort", **looks)
            param.update(status="abort", message=stop[number] or NO_RECORD)
        elif not visible:
            if now - progress.since < timedelta(days=NO_RECORD_DAYS):
                continue  # nothing scanned yet: Kuaidi100 waits before it gives up
            param = render.kuaidi100_push_param(sub["company"], number, visible, now, **looks)
        elif len(visible) > progress.events or everything:
            param = render.kuaidi100_push_param(sub["company"], number, visible, now, **looks)
        else:
            continue
        progress.events = len(visible)
        progress.ended = param.get("status") in ("abort", "shutdown")
        progress.ended_at = now if progress.ended else None
        text = json.dumps(param, ensure_ascii=False)
        salt = sub.get("salt")
        sign = kd100_push_sign(text, accounts.KUAIDI100_SALT if salt is None else salt).upper()
        out.append((number, {"url": sub["callback"], "data": {"param": text, "sign": sign}}))
    return out


def _kdniao_requests(state: Any, book: SubscriptionBook, now: datetime, everything: bool):  # type: ignore[no-untyped-def]
    url = book.console.get("kdniao", "")
    items, numbers = [], []
    for code, sub in book.kdniao.items():
        progress = _progress(book, "kdniao", code, now, fresh=False)
        visible = state.book.visible(code, now)
        if progress.ended or not visible or (len(visible) <= progress.events and not everything):
            continue
        progress.events = len(visible)
        items.append(
            render.kdniao_push_item(
                accounts.KDNIAO_EBUSINESS_ID,
                sub["shipper"],
                code,
                visible,
                courier=state.courier_by("kdniao", sub["shipper"]),
                extended=True,
                callback=state.kdn_callbacks.get(code, ""),
            )
        )
        numbers.append(code)
    out = []
    for start in range(0, len(items), KDNIAO_PUSH_BATCH):
        batch = items[start : start + KDNIAO_PUSH_BATCH]
        push = render.kdniao_push_body(accounts.KDNIAO_EBUSINESS_ID, now, batch, extended=True)
        body = json.dumps(push, ensure_ascii=False)
        sign = data_sign(body, accounts.KDNIAO_APP_KEY)
        form = {"RequestData": body, "DataSign": sign, "RequestType": "102"}
        out.append((",".join(numbers[start : start + KDNIAO_PUSH_BATCH]), {"url": url, "data": form}))
    return out


def _track17_requests(state: Any, book: SubscriptionBook, now: datetime, everything: bool, stop: dict[str, str]):  # type: ignore[no-untyped-def]
    url = book.console.get("track17", "")
    out = []
    for number in sorted(state.t17_registered):
        progress = _progress(book, "track17", number, now, fresh=False)
        if progress.ended:
            continue
        visible = state.book.visible(number, now)
        if number in stop:
            carrier = int(state.t17_meta.get(number, {}).get("carrier") or 3011)
            body = {
                "event": "TRACKING_STOPPED",
                "data": {"number": number, "carrier": carrier, "param": None, "tag": None},
            }
            progress.ended = True
        elif visible and (len(visible) > progress.events or everything):
            carrier = int(state.t17_meta.get(number, {}).get("carrier") or 3011)
            slug, names = state.t17_provider(carrier)
            info = render.track17_info(number, carrier, visible, now, courier=slug, provider_name=names)
            body = {"event": "TRACKING_UPDATED", "data": info}
        else:
            continue
        progress.events = len(visible)
        raw = json.dumps(body, ensure_ascii=False).encode()
        headers = {"sign": t17_push_sign(raw, accounts.TRACK17_KEY), "content-type": "application/json"}
        out.append((number, {"url": url, "content": raw, "headers": headers}))
    return out


async def flush(request: Request) -> Response:
    state = request.app.state.sandbox
    book = book_of(request)
    try:
        data = json.loads(await request.body() or b"{}")
        if not isinstance(data, dict):
            raise ValueError("expected a JSON object")
        providers = [str(p) for p in data.get("providers") or ("kuaidi100", "kdniao", "track17")]
        stop = {str(k): str(v) for k, v in (data.get("stop") or {}).items()}
    except (ValueError, TypeError, AttributeError) as exc:
        return _json({"error": f"bad flush request: {exc}"}, 400)
    everything = bool(data.get("all"))
    now = state.clock.now()
    requests: list[tuple[str, str, dict[str, Any]]] = []
    if "kuaidi100" in providers:
        requests += [("kuaidi100", n, r) for n, r in _kd100_requests(state, book, now, everything, stop)]
    if "kdniao" in providers:
        requests += [("kdniao", n, r) for n, r in _kdniao_requests(state, book, now, everything)]
    if "track17" in providers:
        requests += [("track17", n, r) for n, r in _track17_requests(state, book, now, everything, stop)]
    gate = asyncio.Semaphore(PUSH_CONCURRENCY)

    async def send(client: httpx.AsyncClient, provider: str, number: str, req: dict[str, Any]) -> dict[str, Any]:
        url = req.pop("url")
        if not url:
            return {"provider": provider, "waybill": number, "error": "no push URL in the console"}
        async with gate:
            try:
                reply = await client.post(url, **req)
            except httpx.HTTPError as exc:
                return {"provider": provider, "waybill": number, "error": f"{type(exc).__name__}: {exc}"}
        return {"provider": provider, "waybill": number, "status": reply.status_code, "body": reply.text}

    async with httpx.AsyncClient(timeout=20) as client:
        results = await asyncio.gather(*(send(client, p, n, r) for p, n, r in requests))
    for provider, _, _ in requests:
        state.stats[f"push.{provider}"] += 1
    return _json({"sent": len(requests), "results": results})


async def console(request: Request) -> Response:
    book = book_of(request)
    try:
        data = json.loads(await request.body() or b"{}")
        if not isinstance(data, dict):
            raise ValueError("expected a JSON object")
        for provider, url in data.items():
            if provider not in ("kdniao", "track17") or not str(url).startswith(("http://", "https://")):
                raise ValueError(f"{provider}: expected kdniao or track17 with an http(s) URL")
    except ValueError as exc:
        return _json({"error": str(exc)}, 400)
    book.console.update({k: str(v) for k, v in data.items()})
    return _json(book.console)


async def listing(request: Request) -> Response:
    state = request.app.state.sandbox
    book = book_of(request)
    return _json(
        {
            "kuaidi100": {
                n: {k: v for k, v in s.items() if not k.startswith("_")} for n, s in state.kd100_subscriptions.items()
            },
            "kdniao": book.kdniao,
            "track17": sorted(state.t17_registered),
            "console": book.console,
            "pushed": {f"{p}:{n}": {"events": x.events, "ended": x.ended} for (p, n), x in book.pushed.items()},
        }
    )


def routes() -> list[Route]:
    return [
        Route("/_sandbox/subscriptions/flush", flush, methods=["POST"]),
        Route("/_sandbox/subscriptions/console", console, methods=["POST"]),
        Route("/_sandbox/subscriptions", listing, methods=["GET"]),
    ]


def install(app: Any) -> None:
    """Give a sandbox app its subscription book (create_app calls this)."""
    app.state.subscriptions = SubscriptionBook()
