"""Taobao logistics trace codes -> the one taxonomy, and TOP error codes -> clear messages. Data only.

`transit_step_info.action` is the node type ("节点说明，指明当前节点揽收、派送、签收"); it is often absent.
Only action values seen in Taobao/Cainiao integrations are listed; any other value reads as the courier
text says (ctx.phrases), its raw code kept.
"""

from __future__ import annotations

from tracker.status import TrackingStatus as S

ACTIONS: dict[str, S] = {
    "ACCEPT": S.picked_up,  # 揽收 (older carriers)
    "GOT": S.picked_up,  # 揽收成功
    "ARRIVAL": S.in_transit,  # 到件
    "ARRIVE": S.in_transit,  # 到件 (the API reference's example value)
    "DEPARTURE": S.in_transit,  # 发件
    "SENT_SCAN": S.out_for_delivery,  # 派件扫描
    "TMS_DELIVERING": S.out_for_delivery,  # 派送中 (Cainiao TMS)
    "SIGNED": S.delivered,  # 已签收
    "TMS_SIGN": S.delivered,  # 签收 (Cainiao TMS)
    "STA_SIGN": S.delivered,  # 驿站签收 (Cainiao station)
    "FAILED": S.delivery_failed,  # 失败 / 问题件: which problem, the text says
    "TRACKING": S.in_transit,  # 流转信息 (any other scan): the text says what happened
}

# Actions too coarse to stand on their own: when the courier text names something more specific (拒收, 滞留,
# 已退回...), the text wins (docs/tracking-status.md). Milestones (揽收, 派件, 签收) keep the action's status.
GENERIC_ACTIONS: frozenset[str] = frozenset({"ARRIVAL", "ARRIVE", "DEPARTURE", "TRACKING", "FAILED"})

# TOP platform errors (`error_response.code`): what they mean for whoever reads the poll report.
ERRORS: dict[str, str] = {
    "7": "call limit reached for this app; wait and ask again",
    "11": "the app lacks permission for taobao.logistics.trace.search",
    "12": "the seller has not granted this app the permission",
    "15": "the order service refused the query",
    "21": "request has no method",
    "22": "unknown method",
    "25": "signature does not match: check app_secret and sign_method",
    "26": "no session: set the seller's session (TRACKER_TAOBAO_SESSION)",
    "27": "the seller's session is invalid or expired: authorize the app again (TRACKER_TAOBAO_SESSION)",
    "28": "no app_key",
    "29": "unknown app_key (TRACKER_TAOBAO_APP_KEY)",
    "31": "timestamp refused: the clock is more than 10 minutes off",
    "40": "a required argument is missing",
    "41": "an argument is invalid",
}

# `sub_code` of business errors (code 15) worth naming.
SUB_ERRORS: dict[str, str] = {
    "isv.trade-not-exist": "no such Taobao order",
    "session-expired": "the seller's session expired: authorize the app again (TRACKER_TAOBAO_SESSION)",
    "invalid-sessionkey": "the seller's session is invalid: authorize the app again (TRACKER_TAOBAO_SESSION)",
}


def error_message(code: str | None, msg: str | None, sub_code: str | None, sub_msg: str | None) -> str:
    """One line: what Taobao said (its words) and what it means."""
    said = " / ".join(part for part in (msg, sub_msg) if part) or "no message"
    meaning = SUB_ERRORS.get(sub_code or "") or ERRORS.get(code or "")
    head = f"Taobao refused the query (error {code or '?'}{', ' + sub_code if sub_code else ''}): {said}"
    return f"{head}; {meaning}" if meaning else head
