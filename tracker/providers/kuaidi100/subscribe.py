"""Kuaidi100 subscription reply (POST /poll, docs/push-subscriptions.md) -> SubscribeAnswer. Pure.

{"result": true,  "returnCode": "200", "message": "提交成功"}
{"result": false, "returnCode": "501", "message": "重复订阅"}   already polling: pushes keep coming
500 server error (ask again later); 600/601 key; 700 bad data or callback; 701/702 company
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from tracker.providers.base import DueSubscription, Outcome, SubscribeAnswer
from tracker.providers.kuaidi100.codes import subscribe_error
from tracker.providers.subscribing import one_by_one
from tracker.settings import CourierConfig

DUPLICATE = "501"
PASSING = {"500"}  # server error: the same request may succeed later


def parse_subscribe(body: str, waybill: str) -> SubscribeAnswer:
    """The answer to subscribing `waybill` (Kuaidi100 does not echo the number)."""
    try:
        reply = json.loads(body)
        if not isinstance(reply, dict):
            raise ValueError("not a JSON object")
    except ValueError as exc:
        return SubscribeAnswer(waybill, Outcome.retry, "", f"kuaidi100 subscribe: unreadable answer ({exc})")
    code = str(reply.get("returnCode", "")).strip()
    said = str(reply.get("message") or "").strip()
    if code == "200":
        return SubscribeAnswer(waybill, Outcome.ok, code, said)
    message = subscribe_error(code, said) or said
    if code == DUPLICATE:
        return SubscribeAnswer(waybill, Outcome.duplicate, code, message)
    if code in PASSING or not code:
        return SubscribeAnswer(waybill, Outcome.retry, code, message or "kuaidi100 subscribe: no returnCode")
    return SubscribeAnswer(waybill, Outcome.refused, code, message)


async def subscribe_waybills(
    client: Any, subs: Sequence[DueSubscription], couriers: Mapping[str, CourierConfig], callback_url: str
) -> dict[int, SubscribeAnswer]:
    """Subscribe each waybill (POST /poll with the callback URL)."""

    async def ask(sub: DueSubscription) -> str:
        courier = couriers[sub.courier]
        phone = sub.phone_last4 if courier.phone_required("kuaidi100") else None
        return await client.subscribe(courier.kuaidi100 or sub.courier, sub.waybill, callback_url, phone=phone)

    return await one_by_one(subs, ask, parse_subscribe)
