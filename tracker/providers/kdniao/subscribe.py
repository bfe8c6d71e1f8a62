"""Kdniao 8008 subscription (订阅 增值版) reply -> SubscribeAnswer. Pure.

The request is the 1002 envelope with RequestType 8008 (docs/push-subscriptions.md); the answer:
    {"EBusinessID": "1000001", "UpdateTime": "2026-11-23 12:00:00", "Success": true, "Reason": "",
     "EstimatedDeliveryTime": "2026-11-25"}
Pushes (RequestType 102) then go to the URL set in the Kdniao console, not to one sent per request.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from tracker.providers.base import DueSubscription, Outcome, SubscribeAnswer
from tracker.providers.kdniao.codes import error_message
from tracker.providers.subscribing import one_by_one
from tracker.settings import CourierConfig

# Worth asking again later: 105 "other" (Kdniao's catch-all for a failure on its side) and 405 (the account's
# daily limit is reached: tomorrow it is not).
PASSING = {"105", "405"}


def parse_subscribe(body: str, waybill: str) -> SubscribeAnswer:
    try:
        reply = json.loads(body)
        if not isinstance(reply, dict):
            raise ValueError("not a JSON object")
    except ValueError as exc:
        return SubscribeAnswer(waybill, Outcome.retry, "", f"kdniao subscribe: unreadable answer ({exc})")
    success = reply.get("Success")
    if success is True or str(success).lower() == "true":
        eta = str(reply.get("EstimatedDeliveryTime") or "").strip()
        return SubscribeAnswer(waybill, Outcome.ok, "100", f"预计送达 {eta}" if eta else "")
    code = str(reply.get("ResultCode") or "").strip()
    reason = str(reply.get("Reason") or "").strip()
    message = error_message(code or None, reason or None)
    outcome = Outcome.retry if code in PASSING else Outcome.refused
    return SubscribeAnswer(waybill, outcome, code, message)


async def subscribe_waybills(
    client: Any, subs: Sequence[DueSubscription], couriers: Mapping[str, CourierConfig], callback_url: str
) -> dict[int, SubscribeAnswer]:
    """Subscribe each waybill (8008; pushes go to the URL set in the Kdniao console, not `callback_url`)."""

    async def ask(sub: DueSubscription) -> str:
        courier = couriers[sub.courier]
        phone = sub.phone_last4 if courier.phone_required("kdniao") else None
        return await client.subscribe(courier.kdniao or sub.courier, sub.waybill, customer_name=phone)

    return await one_by_one(subs, ask, parse_subscribe)
