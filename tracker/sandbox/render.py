"""Provider replies and pages built from visible scenario events. Field names, types and codes follow
spec/providers.md (§2.1/2.4 Kuaidi100, §3.2/3.3 Kdniao, §4.2/4.4 17TRACK); values are strings where the
providers send strings."""

from __future__ import annotations

import html
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from tracker.sandbox.scenarios import ScenarioEvent

CN = ZoneInfo("Asia/Shanghai")
Visible = list[tuple[datetime, ScenarioEvent]]

KD100_NAMES = {
    "0": "在途", "1": "揽收", "101": "已下单", "102": "待揽收", "103": "已揽收", "1001": "到达派件城市",
    "1002": "干线", "1003": "转递", "2": "疑难", "201": "超时未签收", "202": "超时未更新", "203": "拒收",
    "204": "派件异常", "205": "柜或驿站超时未取", "206": "无法联系", "207": "超区", "208": "滞留",
    "209": "破损", "210": "销单", "3": "签收", "301": "本人签收", "302": "派件异常后签收", "303": "代签",
    "304": "投柜或站签收",
    "4": "退签", "401": "已销单", "5": "派件", "501": "投柜或驿站", "6": "退回", "7": "转投", "14": "拒签",
}  # fmt: skip


def kd100_state(code: str) -> str:
    """Basic Kuaidi100 `state` of an advanced statusCode (1002 -> 0, 207 -> 2, 103 -> 1, 14 -> 14)."""
    if len(code) <= 2:
        return code
    if len(code) == 4 and code.startswith("10"):
        return "0"
    return code[0]


def kdn_state(action: str) -> str:
    """Kdniao `State` of an Action code (201 -> 2, 404 -> 4, 1 -> 1, 10 -> 10)."""
    return action if len(action) <= 2 else action[0]


def t17_status(sub_status: str) -> str:
    return sub_status.split("_", 1)[0]


def _local(at: datetime) -> str:
    return at.astimezone(CN).strftime("%Y-%m-%d %H:%M:%S")


def kuaidi100_query(com: str, num: str, visible: Visible, *, advanced_state: bool = False) -> dict[str, Any]:
    """A successful real-time query reply (§2.1, §2.4): newest first, strings throughout."""
    data = []
    for at, e in reversed(visible):
        data.append({
            "time": _local(at), "ftime": _local(at), "context": e.text, "location": e.location,
            "areaCode": None, "areaName": e.location, "status": KD100_NAMES.get(e.kd100, "在途"),
            "statusCode": e.kd100, "areaCenter": None, "areaPinYin": None,
        })  # fmt: skip
    last = visible[-1][1].kd100
    state = last if advanced_state else kd100_state(last)
    return {
        "message": "ok", "nu": num, "ischeck": "1" if kd100_state(last) in ("3", "4") else "0",
        "condition": "F00", "com": com, "status": "200", "state": state,
        "routeInfo": {"from": None, "cur": {"number": None, "name": visible[-1][1].location}, "to": None},
        "data": data,
    }  # fmt: skip


def kuaidi100_error(code: str, message: str) -> dict[str, Any]:
    return {"result": False, "returnCode": code, "message": message}


def kuaidi100_push_param(com: str, num: str, visible: Visible) -> dict[str, Any]:
    """The decoded `param` of a push (§2.3): polling/shutdown, or abort when nothing was ever scanned."""
    if not visible:
        return {"status": "abort", "billstatus": "", "message": "3天查询无记录", "autoCheck": "0",
                "comOld": "", "comNew": "", "lastResult": {"message": "ok", "nu": num, "com": com,
                "ischeck": "0", "condition": "", "status": "200", "state": "0", "data": []}}  # fmt: skip
    last = kuaidi100_query(com, num, visible)
    status = "shutdown" if last["ischeck"] == "1" else "polling"
    return {"status": status, "billstatus": "got", "message": "", "autoCheck": "0", "comOld": "",
            "comNew": "", "lastResult": last}  # fmt: skip


def kdniao_trace(
    ebusiness_id: str,
    shipper: str,
    code: str,
    visible: Visible,
    *,
    order_code: str = "",
    extended: bool = True,
) -> dict[str, Any]:
    """A 1002/8001 reply object (§3.2, §3.3): oldest first; 8001 adds StateEx and station fields."""
    traces = [
        {
            "AcceptTime": _local(at),
            "AcceptStation": e.text,
            "Location": e.location,
            "Action": e.kdn,
            "Remark": "",
        }
        for at, e in visible
    ]
    action = visible[-1][1].kdn if visible else "0"
    out: dict[str, Any] = {
        "EBusinessID": ebusiness_id, "OrderCode": order_code, "ShipperCode": shipper, "LogisticCode": code,
        "Success": True, "Reason": "" if visible else "暂无轨迹信息", "State": kdn_state(action),
        "Location": visible[-1][1].location if visible else "", "Traces": traces,
    }  # fmt: skip
    if extended:
        out.update({"StateEx": action, "Station": "", "StationTel": "", "StationAdd": "", "DeliveryMan": "",
                    "DeliveryManTel": "", "NextCity": "", "EstimatedDeliveryTime": ""})  # fmt: skip
    return out


def kdniao_error(ebusiness_id: str, code: str, reason: str) -> dict[str, Any]:
    return {"EBusinessID": ebusiness_id, "Success": False, "Reason": reason, "ResultCode": code}


def _t17_time(at: datetime) -> dict[str, Any]:
    local = at.astimezone(CN)
    return {
        "time_iso": local.isoformat(timespec="seconds"),
        "time_utc": at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "time_raw": {
            "date": local.strftime("%Y-%m-%d"),
            "time": local.strftime("%H:%M:%S"),
            "timezone": "+08:00",
        },
    }


def track17_info(number: str, carrier: int, visible: Visible, now: datetime) -> dict[str, Any]:
    """One accepted gettrackinfo item / webhook `data` (§4.2, §4.4): events newest first."""
    events = []
    for at, e in reversed(visible):
        t = _t17_time(at)
        events.append({"time_iso": t["time_iso"], "time_utc": t["time_utc"], "time_raw": t["time_raw"],
                       "description": e.text, "location": e.location, "stage": None, "sub_status": e.t17,
                       "address": None})  # fmt: skip
    if visible:
        sub = visible[-1][1].t17
        latest = {**events[0]}
        latest.pop("time_raw")
        days = (now - visible[-1][0]).days
    else:
        sub, latest, days = "NotFound_Other", None, None
    return {
        "number": number, "carrier": carrier, "param": None, "tag": None,
        "track_info": {
            "shipping_info": {"shipper_address": {"country": "CN"}, "recipient_address": {"country": "CN"}},
            "latest_status": {"status": t17_status(sub), "sub_status": sub, "sub_status_descr": None},
            "latest_event": latest,
            "time_metrics": {"days_after_order": None, "days_of_transit": None, "days_of_transit_done": None,
                             "days_after_last_update": days,
                             "estimated_delivery_date": {"source": None, "from": None, "to": None}},
            "milestone": [],
            "misc_info": {"risk_factor": 0, "service_type": None},
            "tracking": {"providers_hash": 0, "providers": [{
                "provider": {"key": carrier, "name": "China Post", "alias": "中国邮政", "country": "CN"},
                "service_type": None, "latest_sync_status": "Success",
                "latest_sync_time": now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "events_hash": 0, "events": events}]},
        },
    }  # fmt: skip


def track17_error(code: int, message: str) -> dict[str, Any]:
    return {"code": code, "data": {"errors": [{"code": code, "message": message}]}}


def tracking_page(courier_name: str, waybill: str, visible: Visible) -> str:
    """The courier's public tracking page the spiders read: one table row per event, newest first."""
    rows = "\n".join(
        f'<tr class="trace" data-code="{html.escape(e.kd100)}"><td class="time">{_local(at)}</td>'
        f'<td class="context">{html.escape(e.text)}</td>'
        f'<td class="location">{html.escape(e.location)}</td></tr>'
        for at, e in reversed(visible)
    )
    body = f'<table id="traces">\n{rows}\n</table>' if visible else '<p class="empty">暂无物流信息</p>'
    return (
        f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>{html.escape(courier_name)} '
        f"运单查询</title></head><body><h1>{html.escape(courier_name)}</h1>"
        f'<div class="waybill">{html.escape(waybill)}</div>{body}</body></html>'
    )
