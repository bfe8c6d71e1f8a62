"""Provider replies, pushes and pages built from visible scenario events, as sparse as the real services send
them (docs/sandbox.md: Kuaidi100 resultv2 levels, Kdniao 1002 vs 8001 vs push 101, 17TRACK v2.2/v2.4 stages
without per-event sub_status). Values are strings where the providers send strings, numbers where they send
numbers (Kdniao push `Count`). `courier` is the courier slug the request names; it picks the courier's wording."""

from __future__ import annotations

import html
import zlib
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tracker.sandbox.scenarios import T17_STAGES, ScenarioEvent

CN = ZoneInfo("Asia/Shanghai")
Visible = list[tuple[datetime, ScenarioEvent]]

# Kuaidi100 `state` basic codes and names (what resultv2=1 puts in data[].status)
KD100_BASIC = {
    "0": "在途",
    "1": "揽收",
    "2": "疑难",
    "3": "签收",
    "4": "退签",
    "5": "派件",
    "6": "退回",
    "7": "转投",
    "8": "清关",
    "10": "待清关",
    "11": "清关中",
    "12": "已清关",
    "13": "清关异常",
    "14": "拒签",
}
# Advanced names (resultv2=4/8 data[].status next to statusCode)
KD100_NAMES = {
    **KD100_BASIC, "101": "已下单", "102": "待揽收", "103": "已揽收", "1001": "到达派件城市", "1002": "干线",
    "1003": "转递", "201": "超时未签收", "202": "超时未更新", "203": "拒收", "204": "派件异常",
    "205": "柜或驿站超时未取", "206": "无法联系", "207": "超区", "208": "滞留", "209": "破损", "210": "销单",
    "301": "本人签收", "302": "派件异常后签收", "303": "代签", "304": "投柜或站签收", "401": "已销单",
    "501": "投柜或驿站",
}  # fmt: skip
KD100_ABORT_NO_SCAN = "3天查询无记录"
KD100_ABORT_STALE = "60天无变化"
KD100_STALE_DAYS = 60  # an unsigned waybill without change this long is aborted (docs/sandbox.md)
T17_STOP_IDLE_DAYS = 30  # 17TRACK stops tracking after 30 days without update ...
T17_STOP_DELIVERED_DAYS = 15  # ... or 15 days after delivery


def kd100_state(code: str) -> str:
    """Basic Kuaidi100 `state` of an advanced statusCode (1002 -> 0, 207 -> 2, 103 -> 1, 14 -> 14)."""
    if len(code) <= 2:
        return code
    if len(code) == 4 and code.startswith("10"):
        return "0"
    return code[0]


def kd100_level(resultv2: str) -> int:
    """How much a Kuaidi100 reply says: 0 (time/context only), 1 (+ status names), 4 (+ codes), 8 (+ ETA)."""
    value = str(resultv2 or "").strip()
    if value in ("4", "6"):
        return 4
    if value == "8":
        return 8
    return 1 if value in ("1", "2") else 0


def kdn_state(action: str) -> str:
    """Kdniao `State` of an Action code (201 -> 2, 404 -> 4, 1 -> 1, 10 -> 10)."""
    return action if len(action) <= 2 else action[0]


def t17_status(sub_status: str) -> str:
    return sub_status.split("_", 1)[0]


def _local(at: datetime) -> str:
    return at.astimezone(CN).strftime("%Y-%m-%d %H:%M:%S")


def _city(location: str) -> str:
    return location.split(",")[-1]


# --- Kuaidi100 ---------------------------------------------------------------------------------------------


def kuaidi100_query(
    com: str,
    num: str,
    visible: Visible,
    *,
    courier: str | None = None,
    resultv2: str = "",
    advanced_state: bool = False,
    ascending: bool = False,
) -> dict[str, Any]:
    """A real-time query reply / push `lastResult`: newest first unless `ascending`, strings throughout.

    resultv2 empty/0: items carry time, ftime, context only. 1: + `status` (basic name, no code) and the area
    fields (null on exception items). 4/6/8: + `statusCode`, advanced name, location and `routeInfo`; 8 adds the
    ETA fields. The top-level `state` is always the basic code, the advanced one only with `advanced_state`
    on a resultv2=4 query (a switch of the simulator, as real accounts differ)."""
    level = kd100_level(resultv2)
    data = []
    for at, e in visible:
        item: dict[str, Any] = {"time": _local(at), "ftime": _local(at), "context": e.text_for(courier)}
        exception = kd100_state(e.kd100) in ("2", "14")
        if level == 1:
            item["areaCode"] = None
            item["areaName"] = None if exception else e.location
            item["status"] = KD100_BASIC.get(kd100_state(e.kd100), "在途")
        elif level >= 4:
            item.update({
                "location": "" if exception else e.location, "areaCode": None,
                "areaName": None if exception else e.location, "status": KD100_NAMES.get(e.kd100, "在途"),
                "statusCode": e.kd100, "areaCenter": None, "areaPinYin": None,
            })  # fmt: skip
        data.append(item)
    if not ascending:
        data.reverse()
    last = visible[-1][1].kd100 if visible else "0"
    basic = kd100_state(last)
    out: dict[str, Any] = {
        "message": "ok",
        "nu": num,
        "ischeck": "1" if basic in ("3", "4") else "0",
        "condition": "F00",
        "com": com,
        "status": "200",
        "state": last if advanced_state and level >= 4 else basic,
        "data": data,
    }
    if level >= 4:
        cur = {"number": None, "name": visible[-1][1].location} if visible else None
        out["routeInfo"] = {"from": None, "cur": cur, "to": None}
        out["isLoop"] = False
    if level >= 8:
        out.update({"arrivalTime": None, "totalTime": None, "remainTime": None})
    return out


def kuaidi100_error(code: str, message: str) -> dict[str, Any]:
    return {"result": False, "returnCode": code, "message": message}


def kuaidi100_push_param(
    com: str,
    num: str,
    visible: Visible,
    now: datetime,
    *,
    courier: str | None = None,
    resultv2: str = "",
    notice: str = "auto",
) -> dict[str, Any]:
    """The decoded `param` of a push. notice "auto": abort "3天查询无记录" when nothing was ever scanned,
    abort "60天无变化" when an unsigned waybill has not changed for 60 days, shutdown once signed, else polling.
    "abort": abort now with the fitting message. "update": polling/shutdown (abort only with no scan)."""
    last = kuaidi100_query(com, num, visible, courier=courier, resultv2=resultv2)
    if not visible:
        return _kd100_abort(last, KD100_ABORT_NO_SCAN)
    stale = now - visible[-1][0] >= timedelta(days=KD100_STALE_DAYS)
    if notice == "abort" or (notice == "auto" and stale and last["ischeck"] != "1"):
        return _kd100_abort(last, KD100_ABORT_STALE)
    status = "shutdown" if last["ischeck"] == "1" else "polling"
    return {
        "status": status,
        "billstatus": "got",
        "message": "",
        "autoCheck": "0",
        "comOld": "",
        "comNew": "",
        "lastResult": last,
    }


def _kd100_abort(last: dict[str, Any], message: str) -> dict[str, Any]:
    return {
        "status": "abort",
        "billstatus": "",
        "message": message,
        "autoCheck": "0",
        "comOld": "",
        "comNew": "",
        "lastResult": {**last, "condition": "" if not last["data"] else last["condition"]},
    }


# --- Kdniao ------------------------------------------------------------------------------------------------


def kdniao_trace(
    ebusiness_id: str,
    shipper: str,
    code: str,
    visible: Visible,
    *,
    courier: str | None = None,
    order_code: str = "",
    extended: bool = False,
) -> dict[str, Any]:
    """A 1002 (or, `extended`, 8001) reply object, traces oldest first.

    1002: traces carry AcceptTime and AcceptStation only (Remark where the courier wrote one), no Action, no
    Location; the parcel's `State` is the only code. 8001: each trace adds Location, Action and Remark, and the
    top level adds StateEx, Location and the station fields."""
    traces = []
    for at, e in visible:
        trace: dict[str, Any] = {"AcceptTime": _local(at), "AcceptStation": e.text_for(courier)}
        if extended:
            trace.update({"Location": _city(e.location), "Action": e.kdn, "Remark": e.remark or ""})
        elif e.remark is not None:
            trace["Remark"] = e.remark
        traces.append(trace)
    action = visible[-1][1].kdn if visible else "0"
    out: dict[str, Any] = {"EBusinessID": ebusiness_id}
    if order_code:
        out["OrderCode"] = order_code
    out.update({"ShipperCode": shipper, "LogisticCode": code, "Success": True, "State": kdn_state(action)})
    if not visible:
        out["Reason"] = "暂无轨迹信息"
    out["Traces"] = traces
    if extended:
        out.update({"StateEx": action, "Location": _city(visible[-1][1].location) if visible else "",
                    "Station": "", "StationTel": "", "StationAdd": "", "DeliveryMan": "", "DeliveryManTel": "",
                    "NextCity": "", "EstimatedDeliveryTime": ""})  # fmt: skip
    return out


def kdniao_push_item(
    ebusiness_id: str,
    shipper: str,
    code: str,
    visible: Visible,
    *,
    courier: str | None = None,
    extended: bool = False,
    callback: str = "",
) -> dict[str, Any]:
    """One `Data` item of a push: 101 items have a `CallBack` (what the subscription passed as `Callback`),
    traces without Action/Remark and State "0" with empty Traces while nothing was scanned; 102 (增值版) items
    are 8001-shaped."""
    if extended:
        trace = kdniao_trace(ebusiness_id, shipper, code, visible, courier=courier, extended=True)
        return {**trace, "CallBack": callback}
    return {
        "EBusinessID": ebusiness_id, "ShipperCode": shipper, "LogisticCode": code, "Success": True,
        "Reason": "" if visible else "暂无轨迹信息", "State": kdn_state(visible[-1][1].kdn) if visible else "0",
        "CallBack": callback,
        "Traces": [{"AcceptTime": _local(at), "AcceptStation": e.text_for(courier)} for at, e in visible],
    }  # fmt: skip


def kdniao_push_body(
    ebusiness_id: str, now: datetime, items: list[dict[str, Any]], *, extended: bool = False
) -> dict[str, Any]:
    """A push's RequestData: `Count` is a number in 101 pushes (Kdniao's push tool) and a string in the 102
    (增值版) pushes, as the SDKs written against each type it."""
    count: int | str = str(len(items)) if extended else len(items)
    return {"EBusinessID": ebusiness_id, "PushTime": _local(now), "Count": count, "Data": items}


def kdniao_error(ebusiness_id: str, code: str, reason: str) -> dict[str, Any]:
    return {"EBusinessID": ebusiness_id, "Success": False, "Reason": reason, "ResultCode": code}


# --- 17TRACK -----------------------------------------------------------------------------------------------


def _t17_times(at: datetime) -> dict[str, Any]:
    local = at.astimezone(CN)
    return {
        "time_iso": local.isoformat(timespec="seconds"),
        "time_utc": at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def _t17_address(location: str) -> dict[str, Any]:
    parts = location.split(",")
    return {
        "country": "CN",
        "state": parts[0] if len(parts) > 1 else None,
        "city": parts[-1] or None,
        "street": None,
        "postal_code": None,
        "coordinates": {"longitude": None, "latitude": None},
    }


def track17_stop_due(visible: Visible, now: datetime) -> bool:
    """17TRACK stops tracking on its own: 30 days without update, or 15 days after delivery."""
    if not visible:
        return False
    at, last = visible[-1]
    if t17_status(last.t17) == "Delivered":
        return now - at >= timedelta(days=T17_STOP_DELIVERED_DAYS)
    return now - at >= timedelta(days=T17_STOP_IDLE_DAYS)


def track17_info(
    number: str,
    carrier: int,
    visible: Visible,
    now: datetime,
    *,
    courier: str | None = None,
    provider_name: tuple[str, str] = ("China Post", "中国邮政"),
    version: str = "v2.2",
    tag: str | None = None,
) -> dict[str, Any]:
    """One accepted gettrackinfo item / TRACKING_UPDATED `data`, events newest first.

    Events carry `stage` (a milestone name, or null for other events) and no per-event sub_status; the
    package's `latest_status` comes from the scenario and can disagree with the newest event's stage.
    v2.4 adds `provider_tips` to each provider and `description_translation` (null) to each event."""
    events = _t17_events(visible, courier=courier, version=version)
    sub, latest, metrics = _t17_state(visible, events, now)
    milestone = []
    for stage in T17_STAGES:
        at_stage = next((at for at, e in visible if e.stage == stage), None)
        times = _t17_times(at_stage) if at_stage else {"time_iso": None, "time_utc": None}
        milestone.append({"key_stage": stage, **times})
    provider: dict[str, Any] = {
        "provider": {"key": carrier, "name": provider_name[0], "alias": provider_name[1], "tel": None,
                     "homepage": None, "country": "CN"},
        "service_type": None, "latest_sync_status": "Success",
        "latest_sync_time": now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "events_hash": zlib.crc32("|".join(e["time_utc"] for e in events).encode()), "events": events,
    }  # fmt: skip
    if version == "v2.4":
        provider["provider_tips"] = []
    return {
        "number": number, "carrier": carrier, "param": None, "tag": tag,
        "track_info": {
            "shipping_info": {"shipper_address": _t17_address(visible[0][1].location) if visible else {"country": "CN"},
                              "recipient_address": {"country": "CN"}},
            "latest_status": {"status": t17_status(sub), "sub_status": sub, "sub_status_descr": None},
            "latest_event": latest,
            "time_metrics": {**metrics, "estimated_delivery_date": {"source": None, "from": None, "to": None}},
            "milestone": milestone,
            "misc_info": {"risk_factor": 0, "service_type": None, "weight_raw": None, "weight_kg": None,
                          "pieces": None, "dimensions": None, "customer_number": None, "reference_number": None,
                          "local_number": None, "local_provider": None, "local_key": 0},
            "tracking": {"providers_hash": carrier, "providers": [provider]},
        },
    }  # fmt: skip


def _t17_events(visible: Visible, *, courier: str | None, version: str) -> list[dict[str, Any]]:
    """The visible events as 17TRACK lists them, newest first."""
    events = []
    for at, e in reversed(visible):
        local = at.astimezone(CN)
        event: dict[str, Any] = {
            **_t17_times(at),
            "time_raw": {"date": local.strftime("%Y-%m-%d"), "time": local.strftime("%H:%M:%S"), "timezone": "+08:00"},
            "description": e.text_for(courier), "location": _city(e.location), "stage": e.stage,
            "address": _t17_address(e.location),
        }  # fmt: skip
        if version == "v2.4":
            event["description_translation"] = None
        events.append(event)
    return events


def _t17_state(
    visible: Visible, events: list[dict[str, Any]], now: datetime
) -> tuple[str, dict[str, Any] | None, dict[str, int]]:
    """The package's sub_status, its latest_event and its time_metrics (day counts)."""
    if not visible:
        metrics = {"days_after_order": 0, "days_of_transit": 0, "days_of_transit_done": 0, "days_after_last_update": 0}
        return "NotFound_Other", None, metrics
    sub = visible[-1][1].t17
    if t17_status(sub) in ("InfoReceived", "InTransit") and now - visible[-1][0] >= timedelta(days=T17_STOP_IDLE_DAYS):
        sub = "Expired_Other"  # 运输过久: 17TRACK's own verdict on a package in transit too long
    latest = {k: v for k, v in events[0].items() if k != "time_raw"}
    if t17_status(sub) in ("Exception", "DeliveryFailure", "Expired"):
        latest["stage"] = t17_status(sub)  # as 17TRACK's own example: the package's state, not the event's
    first_at, last_at = visible[0][0], visible[-1][0]
    delivered = t17_status(sub) == "Delivered"
    metrics = {
        "days_after_order": (now - first_at).days,
        "days_of_transit": ((last_at if delivered else now) - first_at).days,
        "days_of_transit_done": (last_at - first_at).days if delivered else 0,
        "days_after_last_update": (now - last_at).days,
    }
    return sub, latest, metrics


def track17_webhook(
    event: str, number: str, carrier: int, *, info: dict[str, Any] | None = None, tag: str | None = None
) -> dict[str, Any]:
    """A webhook body: TRACKING_UPDATED with `info` (full), TRACKING_UPDATED without track_info (minimal), or
    TRACKING_STOPPED (never a track_info)."""
    if info is not None and event == "TRACKING_UPDATED":
        return {"event": event, "data": info}
    return {"event": event, "data": {"number": number, "carrier": carrier, "param": None, "tag": tag}}


def track17_error(code: int, message: str) -> dict[str, Any]:
    return {"code": code, "data": {"errors": [{"code": code, "message": message}]}}


# --- courier pages -----------------------------------------------------------------------------------------


def tracking_page(courier_name: str, waybill: str, visible: Visible, *, courier: str | None = None) -> str:
    """The courier's public tracking page the spiders read: one table row per event, newest first."""
    rows = "\n".join(
        f'<tr class="trace" data-code="{html.escape(e.kd100)}"><td class="time">{_local(at)}</td>'
        f'<td class="context">{html.escape(e.text_for(courier))}</td>'
        f'<td class="location">{html.escape(e.location)}</td></tr>'
        for at, e in reversed(visible)
    )
    body = f'<table id="traces">\n{rows}\n</table>' if visible else '<p class="empty">暂无物流信息</p>'
    return (
        f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>{html.escape(courier_name)} '
        f"运单查询</title></head><body><h1>{html.escape(courier_name)}</h1>"
        f'<div class="waybill">{html.escape(waybill)}</div>{body}</body></html>'
    )
