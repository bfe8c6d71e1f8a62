"""Kuaidi100 codes -> the one taxonomy (docs/tracking-status.md, docs/providers.md). Data, not if-chains.

`state` (top level) and `data[].statusCode` share one table: the basic codes 0-14 and, with
resultv2=4, the advanced codes (a top-level `state` may itself carry an advanced code such as "206").
The only code in both sets is 14 (拒签), which means the same in both.
"""

from __future__ import annotations

from tracker.providers.messages import CodedAnswers
from tracker.status import TrackingStatus as S

# Basic `state` codes [V] (§2.1).
BASIC_STATE: dict[str, S] = {
    "0": S.in_transit,  # 在途
    "1": S.picked_up,  # 揽收
    "2": S.delivery_failed,  # 疑难 (generic problem; the advanced 2xx code says which)
    "3": S.delivered,  # 签收
    "4": S.returned,  # 退签: 此快件单已退签
    "5": S.out_for_delivery,  # 派件
    "6": S.returning,  # 退回: 快件正处于返回发货人的途中
    "7": S.forwarded,  # 转投(转单)
    "8": S.customs,  # 清关
    "10": S.customs,  # 待清关
    "11": S.customs,  # 清关中
    "12": S.customs,  # 已清关
    "13": S.customs,  # 清关异常
    "14": S.refused,  # 拒签
}

# Advanced `statusCode` codes (resultv2=4) [V: 1xx, 10xx, 3xx, 401, 501, 14; V2: 2xx] (§2.1).
ADVANCED_STATE: dict[str, S] = {
    "101": S.info_received,  # 已下单
    "102": S.info_received,  # 待揽收
    "103": S.picked_up,  # 已揽收
    "1001": S.in_transit,  # 到达派件城市
    "1002": S.in_transit,  # 干线
    "1003": S.in_transit,  # 转递
    "501": S.available_for_pickup,  # 投柜或驿站
    "301": S.delivered,  # 本人签收
    "302": S.delivered,  # 派件异常后签收
    "303": S.delivered,  # 代签
    "304": S.delivered,  # 投柜或站签收
    "401": S.cancelled,  # 已销单
    "14": S.refused,  # 拒签: 收件人拒绝签收
    "201": S.overdue_unsigned,  # 超时未签收: 快件长时间派件后未签收
    "202": S.stale,  # 超时未更新: 快件长时间没有派件或签收
    "203": S.refused,  # 拒收: 收件人发起拒收快递，待发货方确认
    "204": S.delivery_failed,  # 派件异常
    "205": S.locker_overdue,  # 柜或驿站超时未取
    "206": S.unreachable,  # 无法联系: 无法联系到收件人
    "207": S.out_of_area,  # 超区: 超出快递公司的服务区范围
    "208": S.stranded,  # 滞留: 快件滞留在网点，没有派送
    "209": S.damaged,  # 破损
    "210": S.cancelled,  # 销单: 寄件人申请撤销寄件
}

STATE: dict[str, S] = {**BASIC_STATE, **ADVANCED_STATE}

# The status *names* Kuaidi100 sends in `data[].status` (resultv2=1/4); used when an item has no code.
STATUS_NAMES: dict[str, S] = {
    "在途": S.in_transit,
    "揽收": S.picked_up,
    "疑难": S.delivery_failed,
    "签收": S.delivered,
    "退签": S.returned,
    "派件": S.out_for_delivery,
    "退回": S.returning,
    "转投": S.forwarded,
    "转单": S.forwarded,
    "清关": S.customs,
    "待清关": S.customs,
    "清关中": S.customs,
    "已清关": S.customs,
    "清关异常": S.customs,
    "拒签": S.refused,
    "已下单": S.info_received,
    "待揽收": S.info_received,
    "已揽收": S.picked_up,
    "到达派件城市": S.in_transit,
    "干线": S.in_transit,
    "转递": S.in_transit,
    "投柜或驿站": S.available_for_pickup,
    "本人签收": S.delivered,
    "派件异常后签收": S.delivered,
    "代签": S.delivered,
    "投柜或站签收": S.delivered,
    "已销单": S.cancelled,
    "超时未签收": S.overdue_unsigned,
    "超时未更新": S.stale,
    "拒收": S.refused,
    "派件异常": S.delivery_failed,
    "柜或驿站超时未取": S.locker_overdue,
    "无法联系": S.unreachable,
    "超区": S.out_of_area,
    "滞留": S.stranded,
    "破损": S.damaged,
    "销单": S.cancelled,
}

# Codes and names that name a broad class (在途, 干线, 疑难, 派件 whose 501 投柜或驿站 is finer, 揽收 whose 101/102
# 已下单/待揽收 are finer, 退回 whose cause - 拒收, 拦截 - the words may name): the courier's text decides when it
# names something more precise
# (docs/tracking-status.md). The basic `state` 0-14 is what resultv2 empty/1 replies carry.
GENERIC: frozenset[str] = frozenset(
    {"0", "1", "2", "5", "6", "1001", "1002", "1003", "204"}
    | {"在途", "揽收", "疑难", "派件", "退回", "干线", "到达派件城市", "转递", "派件异常"}
)

# Real-time query failures: `result` false + `returnCode` [V2] (§2.1), as (zh, en) for the reader
# (tracker/providers/messages.py); the stored line is the English.
QUERY_ERRORS: dict[str, tuple[str, str]] = {
    "400": ("提交的数据不完整，或账号未授权，请核对快递公司编码、customer 和账户余额",
            "incomplete request or account not authorised (提交的数据不完整，或者贵公司没授权): "
            "check the company code, the customer id and the account balance"),
    "500": ("查询无结果，单号刚打出、快递还没揽收时常见，稍后会再查；几天后仍无结果请核对单号和快递公司",
            "no result for this waybill (查询无结果): check the number and company, try again later"),
    "501": ("快递100服务器错误，稍后会再查", "Kuaidi100 server error (服务器错误): try again later"),
    "502": ("快递100服务器繁忙，稍后会再查", "Kuaidi100 server busy (服务器繁忙): try again later"),
    "503": ("签名验证失败，请核对 key 和 customer",
            "signature check failed (验证签名失败): check the key and customer id"),
    "601": ("key 已过期，请在快递100后台续费", "API key expired (key 已过期): renew it in the Kuaidi100 console"),
}  # fmt: skip
QUERY = CodedAnswers("kuaidi100 returnCode", "kuaidi100 error", QUERY_ERRORS)

# Subscription replies `returnCode` [V] (§2.2); "200" is success.
SUBSCRIBE_RESULTS: dict[str, tuple[str, str]] = {
    "200": ("订阅成功", "subscribed (提交成功)"),
    "501": ("重复订阅，已在推送中，需在停止推送 30 分钟后才能重新订阅",
            "already subscribed (重复订阅): resubscribe only after abort/shutdown, 30 minutes later"),
    "500": ("快递100服务器错误，稍后会再试", "Kuaidi100 server error (服务器错误): try again later"),
    "600": ("不是合法的订阅者，请核对 key", "not a valid subscriber (不是合法订阅者): check the key"),
    "601": ("key 已过期，请在快递100后台续费", "API key expired (KEY 已过期): renew it in the Kuaidi100 console"),
    "700": ("订阅数据或回调地址有误，请核对快递公司、单号和回调地址",
            "bad subscription data or callback URL: check company, number and callbackurl"),
    "701": ("快递100不接受该快递公司的订阅", "Kuaidi100 refuses subscriptions for this company (拒绝订阅的快递公司)"),
    "702": ("快递100识别不出快递公司，请指定快递公司编码",
            "Kuaidi100 cannot recognise the company (识别不到快递公司): set the company code"),
}  # fmt: skip
SUBSCRIBE = CodedAnswers("kuaidi100 subscribe returnCode", "kuaidi100 subscribe error", SUBSCRIBE_RESULTS)

# Push `status` values that end monitoring (§2.3).
PUSH_ABORT = "abort"


def query_error(return_code: str | None, message: str | None) -> str:
    """A failed query reply -> one clear line, the provider's own words included."""
    return QUERY.line(return_code, message)


def subscribe_error(return_code: str, message: str | None) -> str | None:
    """A subscription reply -> None on success, else one clear line."""
    if return_code == "200":
        return None
    return SUBSCRIBE.line(return_code, message)
