"""Sandbox Kuaidi100 智能单号识别: `GET|POST /autonumber/auto?num=&key=` (tracker/providers/kuaidi100/autonumber.py).

Answers as sparsely as the real service: a JSON list of the companies the number could belong to, the
likeliest first, each `{comCode, id, noCount, noPre, startTime}` with nothing but `comCode` meaningful;
`[]` for a number no courier's pattern matches; a `returnCode`/`message` object for a missing or wrong key.
The sandbox's "knowledge" is the courier table's patterns (their weights give the order). Faults
injected with /_sandbox/faults apply here as on the other Kuaidi100 routes.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from tracker.couriers.detect import CourierIndex, normalize_waybill
from tracker.sandbox import accounts


def _json(data: Any) -> Response:
    return Response(json.dumps(data, ensure_ascii=False), media_type="application/json")


def suggestions(index: CourierIndex, num: str) -> list[dict[str, Any]]:
    """The reply list for `num`: every configured courier with a Kuaidi100 code whose pattern matches."""
    number = normalize_waybill(num)
    rows = []
    for candidate in index.candidates(number):
        code = index.couriers[candidate.slug].kuaidi100
        if code:
            rows.append(
                {
                    "comCode": code,
                    "id": "",
                    "noCount": 1000 + sum(map(ord, number)) % 9000,
                    "noPre": number[:4],
                    "startTime": "",
                }
            )
    return rows


async def kuaidi100_autonumber(request: Request) -> Response:
    from tracker.sandbox.app import _fault  # app.py routes here; its fault injection applies as elsewhere

    state = request.app.state.sandbox
    state.arrived("kuaidi100.autonumber")
    fault, _ = await _fault(state, "kuaidi100")
    if fault:
        return fault
    params = dict(request.query_params)
    if request.method == "POST":
        params.update({k: str(v) for k, v in (await request.form()).items()})
    num, key = params.get("num", "").strip(), params.get("key", "")
    if key != accounts.KUAIDI100_KEY:
        return _json({"result": False, "returnCode": "600", "message": "您不是合法的用户（即授权Key出错）"})
    if not num:
        return _json({"result": False, "returnCode": "700", "message": "单号不能为空"})
    return _json(suggestions(CourierIndex(state.couriers), num))
