"""Kuaidi100 subscription reply (POST /poll, spec/providers.md §2.2) -> SubscribeAnswer. Pure.

{"result": true,  "returnCode": "200", "message": "提交成功"}
{"result": false, "returnCode": "501", "message": "重复订阅"}   already polling: pushes keep coming
500 server error (ask again later); 600/601 key; 700 bad data or callback; 701/702 company
"""

from __future__ import annotations

import json

from tracker.providers.kuaidi100.codes import subscribe_error
from tracker.subscriptions import Outcome, SubscribeAnswer

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
