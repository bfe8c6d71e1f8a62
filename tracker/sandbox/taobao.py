"""The sandbox's Taobao Open Platform router: `taobao.logistics.trace.search` answered from the scenarios
(docs/adding-a-provider.md). The sandbox has no Taobao orders of its own: tests and demos tell it which
waybill an order shipped with (POST /_sandbox/taobao/orders), as the shop's own order system would.

    POST|GET /router/rest                  the TOP router (form or query parameters, signed)
    POST /_sandbox/taobao/orders           {"orders": [{"tid", "waybill", "courier"}]} -> {"known": n}
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tracker.providers.taobao.client import METHOD, PATH
from tracker.providers.taobao.sign import verify_top_sign
from tracker.sandbox import render
from tracker.sandbox.scenarios import ScenarioEvent

# The sandbox's demo app and seller (the defaults of tracker/providers/taobao/spec.py).
APP_KEY = "12345678"
APP_SECRET = "sandbox-taobao-secret"
SESSION = "sandbox-taobao-session"

_ARRIVE_WORDS = ("发出", "发往", "离开")  # an in-transit step that leaves a site is a DEPARTURE


@dataclass(frozen=True, slots=True)
class Order:
    waybill: str
    courier: str  # a courier slug (config/couriers.toml); its name is the reply's company_name


def _orders(request: Request) -> dict[str, Order]:
    state = request.app.state
    if not hasattr(state, "taobao_orders"):
        state.taobao_orders = {}
    return state.taobao_orders


def _json(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data, ensure_ascii=False), status_code=status, media_type="application/json")


def error(code: int, msg: str, sub_code: str | None = None, sub_msg: str | None = None) -> dict[str, Any]:
    err: dict[str, Any] = {"code": code, "msg": msg}
    if sub_code:
        err.update({"sub_code": sub_code, "sub_msg": sub_msg or ""})
    err["request_id"] = "sandbox"
    return {"error_response": err}


def action_of(event: ScenarioEvent) -> str | None:
    """The step's `action` as carriers report it; None (the field left out) where they give none."""
    status = event.status
    if status == "picked_up":
        return "GOT"
    if status == "in_transit":
        return "DEPARTURE" if any(word in event.text for word in _ARRIVE_WORDS) else "ARRIVAL"
    if status == "out_for_delivery":
        return "SENT_SCAN"
    if status == "delivered":
        return "SIGNED"
    if status in ("delivery_failed", "refused", "out_of_area", "address_problem", "unreachable", "stranded"):
        return "FAILED"
    return None  # pre-pickup notices, station and return steps: carriers send the text only


def trace_reply(tid: str, order: Order, company: str, visible: list[tuple[datetime, ScenarioEvent]]) -> dict:
    """A successful reply: steps oldest first; no trace_list at all before the first scan (TOP leaves
    empty fields out)."""
    body: dict[str, Any] = {"out_sid": order.waybill, "company_name": company, "tid": int(tid)}
    if visible:
        steps = []
        for at, event in visible:
            step = {"status_time": at.astimezone(render.CN).strftime("%Y-%m-%d %H:%M:%S"), "status_desc": event.text}
            action = action_of(event)
            if action:
                step["action"] = action
            steps.append(step)
        body["trace_list"] = {"transit_step_info": steps}
        # the order's logistics status in words (not read by the tracker: unreliable for offline shipping)
        body["status"] = "对方已签收" if visible[-1][1].status == "delivered" else "运输中"
    return {"logistics_trace_search_response": body}


async def router(request: Request) -> Response:
    from tracker.sandbox.app import SandboxState, _fault

    state: SandboxState = request.app.state.sandbox
    state.arrived("taobao")
    fault, bad_sign = await _fault(state, "taobao")
    if fault:
        return fault
    params = dict(request.query_params)
    if request.method == "POST":
        params.update({k: str(v) for k, v in (await request.form()).items()})
    if not params.get("method"):
        return _json(error(21, "Missing method"))
    if params["method"] != METHOD:
        return _json(error(22, "Invalid method"))
    if not params.get("app_key"):
        return _json(error(28, "Missing app key"))
    if params["app_key"] != APP_KEY:
        return _json(error(29, "Invalid app Key"))
    if not params.get("sign"):
        return _json(error(24, "Missing signature"))
    if bad_sign or not verify_top_sign(params, APP_SECRET):
        return _json(error(25, "Invalid signature"))
    try:
        datetime.strptime(params.get("timestamp", ""), "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return _json(error(31, "Invalid timestamp"))
    if not params.get("session"):
        return _json(error(26, "Missing session"))
    if params["session"] != SESSION:
        return _json(error(27, "Invalid session", "invalid-sessionkey", "session不合法"))
    tid = params.get("tid", "")
    if not tid:
        return _json(error(40, "Missing required arguments:tid"))
    if not tid.isdigit():
        return _json(error(41, "Invalid arguments:tid"))
    order = _orders(request).get(tid)
    if order is None:
        return _json(error(15, "Remote service error", "isv.trade-not-exist", "交易订单不存在"))
    courier = state.couriers.get(order.courier)
    visible = state.book.visible(order.waybill, state.clock.now())
    state.answered("taobao", order.waybill)
    return _json(trace_reply(tid, order, courier.name if courier else order.courier, visible))


async def control_orders(request: Request) -> Response:
    try:
        data = json.loads(await request.body() or b"{}")
        rows = data["orders"]
        orders = {str(r["tid"]): Order(str(r["waybill"]), str(r.get("courier") or "zto")) for r in rows}
    except (ValueError, KeyError, TypeError) as exc:
        return _json({"error": f"bad orders request: {exc!r}"}, 400)
    known = _orders(request)
    known.update(orders)
    return _json({"known": len(known)})


def routes() -> list[Route]:
    return [
        Route(PATH, router, methods=["GET", "POST"]),
        Route("/_sandbox/taobao/orders", control_orders, methods=["POST"]),
    ]
