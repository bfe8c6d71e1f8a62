"""Kdniao (快递鸟) codes -> the one taxonomy (docs/tracking-status.md, docs/providers.md). Data, not if-chains.

`State` (coarse), `StateEx` and `Traces[].Action` (fine) share one table: their numbers never collide.
Codes not in the spec (e.g. 203, 207-210, 408-411) are not guessed: they read as `unknown`, raw code kept.
"""

from __future__ import annotations

from tracker.providers.messages import CodedAnswers
from tracker.status import TrackingStatus as S

# `State` [V2, all SDKs; 5, 6, 10 from the extended set] (§3.2).
STATE: dict[str, S] = {
    "0": S.pending,  # 暂无轨迹信息
    "1": S.picked_up,  # 已揽收
    "2": S.in_transit,  # 在途中
    "3": S.delivered,  # 签收
    "4": S.delivery_failed,  # 问题件 (generic; StateEx says which)
    "5": S.forwarded,  # 转寄
    "6": S.customs,  # 清关
    "10": S.info_received,  # 待揽件
}

# `StateEx` / `Action` [V2] (§3.2).
STATE_EX: dict[str, S] = {
    "201": S.in_transit,  # 到达派件城市
    "202": S.out_for_delivery,  # 派件中
    "204": S.in_transit,  # 到达转运中心
    "205": S.in_transit,  # 到达派件网点
    "206": S.in_transit,  # 寄件网点发件
    "211": S.available_for_pickup,  # 已放入快递柜或驿站
    "301": S.delivered,  # 正常签收
    "302": S.delivered,  # 派件异常后最终签收 / 轨迹异常后最终签收
    "304": S.delivered,  # 代收签收
    "311": S.delivered,  # 快递柜或驿站签收
    "401": S.no_first_scan,  # 发货无信息
    "402": S.overdue_unsigned,  # 超时未签收
    "403": S.stale,  # 超时未更新
    "404": S.refused,  # 拒收(退件)
    "405": S.delivery_failed,  # 派件异常
    "406": S.returned,  # 退货签收
    "407": S.returning,  # 退货未签收 [V2; meaning inferred: on its way back]
    "412": S.locker_overdue,  # 快递柜或驿站超时未取
    "413": S.intercepted,  # 单号已拦截
    "414": S.damaged,  # 破损
    "415": S.cancelled,  # 客户取消发货
    "416": S.unreachable,  # 无法联系
    "417": S.stranded,  # 配送延迟 (closest to 滞留, §1)
    "418": S.out_for_delivery,  # 快件取出 (taken out of the locker for delivery) [I]
    "419": S.out_for_delivery,  # 重新派送 [I]
    "420": S.address_problem,  # 收货地址不详细
    "421": S.address_problem,  # 收件人电话错误
    "422": S.missorted,  # 错分件
    "423": S.out_of_area,  # 超区件
    "601": S.customs,  # 待清关
    "602": S.customs,  # 清关中
    "603": S.customs,  # 已清关
    "604": S.customs,  # 清关异常
}

CODES: dict[str, S] = {**STATE, **STATE_EX}

# Codes that name a broad class (在途中, 问题件, the transit scans, 派件异常): the courier's text decides when it
# names something more precise (docs/tracking-status.md).
GENERIC: frozenset[str] = frozenset({"2", "4", "201", "204", "205", "206", "405", "407"})

# `Success=false` result codes [V2: bububa/kdniao] (§3.1), as (zh, en) for the reader
# (tracker/providers/messages.py); the provider's `Reason` is always shown too.
RESULT_CODES: dict[str, tuple[str, str]] = {
    "100": ("成功", "success"),
    "101": ("缺少必填参数，请核对快递公司编码和单号",
            "a required parameter is missing: check ShipperCode and LogisticCode"),
    "102": ("校验失败，请核对商户 ID、AppKey 和签名",
            "verification failed: check EBusinessID, AppKey and the DataSign"),
    "103": ("请求格式错误", "bad request format: check RequestData and DataType"),
    "104": ("账号问题，请检查快递鸟账号及开通的服务", "account problem: check the Kdniao account and its services"),
    "105": ("其他错误，见快递鸟的说明", "other error: see the reason"),
    "401": ("请求数据无效", "RequestData is invalid"),
    "402": ("请求数据或单号格式无效", "RequestData or waybill number format is invalid"),
    "403": ("单号格式无效", "waybill number format is invalid"),
    "404": ("单号格式无效", "waybill number format is invalid"),
    "405": ("今日查询次数已用完，明天再查或提高额度",
            "daily query limit reached: wait until tomorrow or raise the quota"),
}  # fmt: skip
ANSWERS = CodedAnswers("kdniao ResultCode", "kdniao error", RESULT_CODES)


def error_message(result_code: str | None, reason: str | None) -> str:
    """A `Success=false` reply or push item -> one clear line, the provider's own words included."""
    return ANSWERS.line(result_code, reason)
