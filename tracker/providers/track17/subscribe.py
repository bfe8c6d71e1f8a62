"""17TRACK register reply (POST /track/v2.2/register, spec/providers.md §4.1) -> SubscribeAnswers. Pure.

    {"code": 0, "data": {"accepted": [{"origin": 1, "number": "...", "carrier": 3011}],
                         "rejected": [{"number": "...", "error": {"code": -18019901, "message": "..."}}]}}
-18019901 (already registered) counts as active: the webhook keeps coming. A top-level error (bad key,
internal error) answers for every number asked.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from tracker.providers.track17.codes import error_message
from tracker.subscriptions import Outcome, SubscribeAnswer

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
    data = reply.get("data") if isinstance(reply.get("data"), dict) else {}
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
        error = item.get("error") if isinstance(item.get("error"), dict) else {}
        code = str(error.get("code", "")).strip()
        number = str(item["number"])
        answers[number] = SubscribeAnswer(number, _outcome(code), code, error_message(code, error.get("message")))
    missing = "17track register: the answer does not mention this number"
    return [answers.get(n) or SubscribeAnswer(n, Outcome.retry, "", missing) for n in asked]
