"""Kuaidi100 智能单号识别 (autonumber) replies -> the suggested company codes, best first. Pure.

`GET /autonumber/auto?num=<number>&key=<key>` answers a JSON list, Kuaidi100's most likely company
first, e.g. `[{"comCode": "shentong", "lengthPre": 15, "name": "申通快递", "noPre": "7730", "noCount": 5}]`.
Only `comCode` is dependable: the other fields are absent in older replies (`id`, `startTime` instead) and
Kuaidi100's own SDK says to ignore them. An unknown number is `[]`; a refused call (bad key, quota) is
an object with `returnCode`/`message` instead of a list. The reply carries no confidence.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class AutonumberReply:
    codes: tuple[str, ...]  # Kuaidi100 company codes, its best guess first, no duplicates
    error: str | None = None  # why Kuaidi100 gave no answer (refused, unreadable, unreachable)


def parse_autonumber(body: str | bytes | Any) -> AutonumberReply:
    """The raw body (or already decoded JSON) -> the suggested company codes or the reason there are none."""
    data = body
    if isinstance(body, str | bytes):
        try:
            data = json.loads(body)
        except ValueError:
            return AutonumberReply((), "the reply is not JSON")
    if isinstance(data, dict):
        message = str(data.get("message") or "").strip()
        code = str(data.get("returnCode") or data.get("status") or "").strip()
        reason = " ".join(part for part in (code, message) if part) or "no suggestions"
        return AutonumberReply((), f"refused: {reason}")
    if not isinstance(data, list):
        return AutonumberReply((), "the reply is neither a list nor an error object")
    codes: list[str] = []
    for item in data:
        com = item.get("comCode") if isinstance(item, dict) else None
        if isinstance(com, str) and com.strip() and com.strip() not in codes:
            codes.append(com.strip())
    return AutonumberReply(tuple(codes))
