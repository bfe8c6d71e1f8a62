"""Taobao logistics trace codes -> the one taxonomy, and TOP error codes -> clear messages. Data only.

`transit_step_info.action` is the node type ("节点说明，指明当前节点揽收、派送、签收"); it is often absent.
Only action values seen in Taobao/Cainiao integrations are listed; any other value reads as the courier
text says (ctx.phrases), its raw code kept.
"""

from __future__ import annotations

import re

from tracker.providers.messages import CodedAnswers, OlderLines
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

# TOP platform errors (`error_response.code`): what they mean, as (zh, en) for the reader
# (tracker/providers/messages.py); the stored line is the English.
ERRORS: dict[str, tuple[str, str]] = {
    "7": ("应用调用次数超限，稍后会再查", "call limit reached for this app; wait and ask again"),
    "11": ("应用没有物流查询的权限",
           "the app lacks permission for taobao.logistics.trace.search"),
    "12": ("卖家没有授权此应用", "the seller has not granted this app the permission"),
    "15": ("订单服务拒绝了查询", "the order service refused the query"),
    "21": ("请求缺少方法名", "request has no method"),
    "22": ("未知的方法", "unknown method"),
    "25": ("签名不符，请核对应用密钥和签名方式", "signature does not match: check app_secret and sign_method"),
    "26": ("缺少卖家授权，请让卖家授权此应用", "no session: set the seller's session (TRACKER_TAOBAO_SESSION)"),
    "27": ("卖家授权无效或已过期，请重新授权",
           "the seller's session is invalid or expired: authorize the app again (TRACKER_TAOBAO_SESSION)"),
    "28": ("缺少应用的 AppKey", "no app_key"),
    "29": ("未知的应用 AppKey，请核对设置", "unknown app_key (TRACKER_TAOBAO_APP_KEY)"),
    "31": ("时间戳被拒绝，本机时钟偏差超过 10 分钟", "timestamp refused: the clock is more than 10 minutes off"),
    "40": ("缺少必填参数", "a required argument is missing"),
    "41": ("参数无效", "an argument is invalid"),
}  # fmt: skip

# `sub_code` of business errors (code 15) worth naming: they say more than the code, so they are the line's code.
SUB_ERRORS: dict[str, tuple[str, str]] = {
    "isv.trade-not-exist": ("淘宝没有这个订单", "no such Taobao order"),
    "session-expired": ("卖家授权已过期，请重新授权",
                        "the seller's session expired: authorize the app again (TRACKER_TAOBAO_SESSION)"),
    "invalid-sessionkey": ("卖家授权无效，请重新授权",
                           "the seller's session is invalid: authorize the app again (TRACKER_TAOBAO_SESSION)"),
}  # fmt: skip
ANSWERS = CodedAnswers("taobao error", "taobao error", {**ERRORS, **SUB_ERRORS})

# An order Taobao answers about without a waybill: the line's code is the order's number
NO_WAYBILL = CodedAnswers(
    "taobao order",
    "taobao order",
    {},
    every=(
        "订单{code}还没有运单号，未在线发货或快递还没揽收扫描",
        "no waybill yet (out_sid is empty): not shipped online, or not scanned",
    ),
)


# the lines versions before 2026-12 stored: "Taobao refused the query (error 27, session-expired): Invalid session;
# <meaning>" and "Taobao order 123 has no waybill yet (out_sid is empty): ..."
_OLD_REFUSAL = re.compile(
    r"Taobao refused the query \(error (?P<code>[^,)]*)(?:, (?P<sub>[^)]*))?\): (?P<said>.*?)(?:; .*)?"
)
_OLD_NO_WAYBILL = re.compile(r"Taobao order (?P<tid>\S+) has no waybill yet .*")


def _older_refusal(stored: str) -> tuple[str | None, str | None] | None:
    found = _OLD_REFUSAL.fullmatch(stored)
    if found is None:
        return None
    code, sub, said = found["code"], found["sub"], found["said"]
    said = None if said == "no message" else said
    return (sub, said) if sub in SUB_ERRORS else (None if code == "?" else code, said)


def _older_no_waybill(stored: str) -> tuple[str | None, str | None] | None:
    found = _OLD_NO_WAYBILL.fullmatch(stored)
    return None if found is None else (None if found["tid"] == "?" else found["tid"], None)


OLDER = (OlderLines(_older_refusal, ANSWERS), OlderLines(_older_no_waybill, NO_WAYBILL))


def error_message(code: str | None, msg: str | None, sub_code: str | None, sub_msg: str | None) -> str:
    """One line: what Taobao said (its words) and what it means, under the sub_code when it is a known one (it says
    more), else the code (an unknown sub_code stays among the words)."""
    said = " / ".join(part for part in (msg, sub_msg) if part)
    if sub_code in SUB_ERRORS:
        return ANSWERS.line(sub_code, said or None)
    if sub_code:
        said = f"{said} [{sub_code}]" if said else sub_code
    return ANSWERS.line(code, said or None)


def no_waybill(tid: str | None) -> str:
    """An order Taobao answers about without a waybill."""
    return NO_WAYBILL.line(tid, None)
