"""17TRACK register reply (POST /track/v2.2/register, docs/providers.md) -> SubscribeAnswers. Pure.

    {"code": 0, "data": {"accepted": [{"origin": 1, "number": "...", "carrier": 3011}],
                         "rejected": [{"number": "...", "error": {"code": -18019901, "message": "..."}}]}}
-18019901 (already registered) counts as active: the webhook keeps coming. A top-level error (bad key,
internal error) answers for every number asked.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from tracker.providers.base import DueSubscription, Outcome, SubscribeAnswer
from tracker.providers.track17.codes import error_message
from tracker.settings import CourierConfig

ALREADY_REGISTERED = "-18019901"
PASSING = {"-18010003", "429"}  # internal error, too many requests: ask again later


def _outcome(code: str) -> Outcome:
    if code == ALREADY_REGISTERED:
        return Outcome.duplicate
    return Outcome.retry if code in PASSING else Outcome.refused


def parse_register(body: str, asked: Sequence[str]) -> list[SubscribeAnswer]:
    """One answer per number asked (in that order); a number the reply does not mention is asked again."""
    try:
        reply = json.loads(body)
        if not isinstance(reply, dict):
            raise ValueError("not a JSON object")
    except ValueError as exc:
        return [SubscribeAnswer(n, Outcome.retry, "", f"17track register: unreadable answer ({exc})") for n in asked]
    top = str(reply.get("code", "0")).strip()
    raw_data = reply.get("data")
    data: dict[str, Any] = raw_data if isinstance(raw_data, dict) else {}
    if top != "0":
        first = (data.get("errors") or [{}])[0] if isinstance(data.get("errors"), list) else {}
        code = str(first.get("code", top)) if isinstance(first, dict) else top
        message = error_message(code, first.get("message") if isinstance(first, dict) else reply.get("message"))
        return [SubscribeAnswer(n, _outcome(code), code, message) for n in asked]
    answers: dict[str, SubscribeAnswer] = {}
    for item in data.get("accepted") or []:
        if isinstance(item, dict) and item.get("number"):
            number = str(item["number"])
            answers[number] = SubscribeAnswer(number, Outcome.ok, "0", "")
    for item in data.get("rejected") or []:
        if not isinstance(item, dict) or not item.get("number"):
            continue
        raw_error = item.get("error")
        error: dict[str, Any] = raw_error if isinstance(raw_error, dict) else {}
        code = str(error.get("code", "")).strip()
        number = str(item["number"])
        answers[number] = SubscribeAnswer(number, _outcome(code), code, error_message(code, error.get("message")))
    missing = "17track register: the answer does not mention this number"
    return [answers.get(n) or SubscribeAnswer(n, Outcome.retry, "", missing) for n in asked]


BATCH = 40  # numbers per register request


async def subscribe_waybills(
    client: Any, subs: Sequence[DueSubscription], couriers: Mapping[str, CourierConfig], callback_url: str
) -> dict[int, SubscribeAnswer]:
    """Register the waybills, 40 a request (the webhook URL is set in the 17TRACK console, not per call);
    parcel id -> answer. A paused provider is not asked; a failed request is an answer to retry."""
    from tracker.providers.http import CircuitOpen, ProviderError

    answers: dict[int, SubscribeAnswer] = {}
    for start in range(0, len(subs), BATCH):
        chunk = subs[start : start + BATCH]
        numbers = [s.waybill for s in chunk]
        carriers = {s.waybill: couriers[s.courier].track17 for s in chunk}
        by_number: dict[str, SubscribeAnswer] = {}
        try:
            for body in await client.register(numbers, carriers):  # one body per chunk it sent
                for answer in parse_register(body, numbers):
                    if answer.waybill not in by_number or by_number[answer.waybill].code == "":
                        by_number[answer.waybill] = answer
        except CircuitOpen:
            continue  # paused: not asked, not an attempt
        except ProviderError as exc:
            by_number = {n: SubscribeAnswer(n, Outcome.retry, "", str(exc)) for n in numbers}
        answers.update({s.parcel_id: by_number[s.waybill] for s in chunk if s.waybill in by_number})
    return answers
