"""The sandbox answers as sparsely as the real services (docs/sandbox.md): Kuaidi100 resultv2 levels, Kdniao
1002/8001/push shapes, 17TRACK v2.2/v2.4 stages without per-event sub_status, stop and abort notices, and each
courier's own wording. Real HTTP both ways: the sandbox server and a receiver for its pushes."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tracker.providers.kdniao.sign import data_sign, verify_data_sign
from tracker.providers.kuaidi100.sign import query_sign, verify_push_sign
from tracker.providers.track17.sign import verify_push_sign as t17_verify
from tracker.sandbox import accounts
from tracker.sandbox.scenarios import load_scenarios
from tracker.sandbox.server import start_background

from .conftest import SANDBOX_NOW

ANCHOR = SANDBOX_NOW - timedelta(days=4)


def _assign(url: str, waybill: str, scenario: str, anchor=ANCHOR) -> None:  # noqa: ANN001
    httpx.post(
        f"{url}/_sandbox/assign", json={"waybill": waybill, "scenario": scenario, "anchor": anchor.isoformat()}
    ).raise_for_status()


def _kd100(url: str, com: str, num: str, query_params: str = "", **extra: str) -> dict[str, Any]:
    """A signed query; with the phone's last 4 digits unless `phone` says otherwise (SF and ZTO need them)."""
    param = json.dumps({"com": com, "num": num, "phone": "1234", **extra})
    sign = query_sign(param, accounts.KUAIDI100_KEY, accounts.KUAIDI100_CUSTOMER)
    r = httpx.post(
        f"{url}/poll/query.do{query_params}",
        data={"customer": accounts.KUAIDI100_CUSTOMER, "sign": sign, "param": param},
    )
    r.raise_for_status()
    return r.json()


def _kdn(url: str, shipper: str, code: str, request_type: str, customer_name: str = "1234") -> dict[str, Any]:
    data = json.dumps({"ShipperCode": shipper, "LogisticCode": code, "CustomerName": customer_name})
    r = httpx.post(
        f"{url}/Ebusiness/EbusinessOrderHandle.aspx",
        data={
            "EBusinessID": accounts.KDNIAO_EBUSINESS_ID,
            "RequestType": request_type,
            "DataType": "2",
            "RequestData": data,
            "DataSign": data_sign(data, accounts.KDNIAO_APP_KEY),
        },
    )
    r.raise_for_status()
    return r.json()


def _t17(
    url: str, version: str, call: str, items: list[dict[str, Any]], key: str = accounts.TRACK17_KEY
) -> httpx.Response:
    r = httpx.post(f"{url}/track/{version}/{call}", json=items, headers={"17token": key})
    if r.status_code == 429:  # 3 requests a second per key, as the real service: wait out the window once
        time.sleep(1.05)
        r = httpx.post(f"{url}/track/{version}/{call}", json=items, headers={"17token": key})
    return r


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A callback server that records every push it gets (form fields or raw body plus headers)."""
    got: list[dict[str, Any]] = []

    async def record(request: Request) -> JSONResponse:
        raw = await request.body()
        form = dict(await request.form()) if "form" in request.headers.get("content-type", "") else {}
        got.append({"raw": raw, "form": {k: str(v) for k, v in form.items()}, "headers": dict(request.headers)})
        return JSONResponse({"result": True, "returnCode": "200", "message": "成功"})

    server = start_background(Starlette(routes=[Route("/cb", record, methods=["POST"])]))
    yield f"{server.url}/cb", got
    server.stop()


def _push(url: str, callback: str, provider: str, waybills: list[str], **extra: Any) -> dict[str, Any]:
    r = httpx.post(
        f"{url}/_sandbox/push",
        json={"provider": provider, "callback": callback, "waybills": waybills, **extra},
        timeout=30,
    )
    r.raise_for_status()
    return r.json()


# --- Kuaidi100 ---------------------------------------------------------------------------------------------


def test_kuaidi100_resultv2_levels(sandbox) -> None:
    url, _ = sandbox
    _assign(url, "78300000000001", "out_of_area")
    sparse = _kd100(url, "zhongtong", "78300000000001")
    assert [set(item) for item in sparse["data"]] == [{"time", "ftime", "context"}] * 3
    assert sparse["state"] == "2" and "routeInfo" not in sparse
    assert _kd100(url, "zhongtong", "78300000000001", resultv2="0")["data"] == sparse["data"]

    named = _kd100(url, "zhongtong", "78300000000001", resultv2="1")
    assert [i["status"] for i in named["data"]] == ["疑难", "在途", "揽收"]
    assert all("statusCode" not in i for i in named["data"])
    assert named["data"][0]["areaName"] is None and named["data"][1]["areaName"] == "西藏,拉萨市"

    coded = _kd100(url, "zhongtong", "78300000000001", resultv2="4")
    assert [(i["status"], i["statusCode"]) for i in coded["data"]] == [
        ("超区", "207"),
        ("到达派件城市", "1001"),
        ("已揽收", "103"),
    ]
    assert coded["state"] == "2" and coded["routeInfo"]["cur"]["name"] == "西藏,拉萨市"
    assert _kd100(url, "zhongtong", "78300000000001", "?advanced_state=1", resultv2="4")["state"] == "207"
    assert _kd100(url, "zhongtong", "78300000000001", "?advanced_state=1", resultv2="1")["state"] == "2"
    assert "arrivalTime" in _kd100(url, "zhongtong", "78300000000001", resultv2="8")
    oldest_first = _kd100(url, "zhongtong", "78300000000001", order="asc")["data"]
    assert oldest_first == list(reversed(sparse["data"]))


def test_kuaidi100_words_follow_the_courier(sandbox) -> None:
    url, _ = sandbox
    _assign(url, "SF1000000000001", "delivered")
    texts = {
        com: [i["context"] for i in _kd100(url, com, "SF1000000000001")["data"]]
        for com in ("shunfeng", "zhongtong", "shentong", "yuantong")
    }
    assert texts["shunfeng"][-1] == "顺丰速运 已收取快件"
    assert texts["zhongtong"][-3] == "【深圳市】 快件已经到达 【深圳转运中心】"
    assert texts["shentong"][-2] == "杭州转运中心-已发往-深圳转运中心"
    assert texts["yuantong"][-3] == "【深圳转运中心】 已收入"
    assert len({tuple(t) for t in texts.values()}) == 4  # four couriers, four wordings of one story


def test_generic_codes_sit_next_to_specific_words(sandbox) -> None:
    url, _ = sandbox
    _assign(url, "78300000000002", "station_pickup")
    data = _kd100(url, "zhongtong", "78300000000002", resultv2="4")["data"]
    station = next(i for i in data if "菜鸟驿站" in i["context"] and "代收" in i["context"])
    out = next(i for i in data if "派件" in i["context"])
    assert station["statusCode"] == "0" and station["status"] == "在途"
    assert out["statusCode"] == "0"
    assert data[0]["statusCode"] == "3"  # 已签收 with the basic code, not 304


# --- Kdniao ------------------------------------------------------------------------------------------------


def test_kuaidi100_refuses_sf_and_zto_without_the_phone(sandbox) -> None:
    """SF and ZTO need the phone (config/couriers.toml needs_phone; docs/providers.md): without 4 digits of it
    the query gets the documented 400 reply and the subscription 700, with no tracking; others need none."""
    url, _ = sandbox
    refused = {"result": False, "returnCode": "400", "message": "提交的数据不完整，或者贵公司没授权"}
    for com, num in (("shunfeng", "SF1234567890123"), ("zhongtong", "78300000000031")):
        _assign(url, num, "delivered")
        assert _kd100(url, com, num, phone="") == refused
        assert _kd100(url, com, num, phone="12") == refused
        for phone in ("1234", "13812341234", "13800000000-1234"):  # last 4, full, a virtual number's extension
            assert _kd100(url, com, num, phone=phone)["nu"] == num
        param = {"company": com, "number": num, "key": accounts.KUAIDI100_KEY}
        subscribe = {**param, "parameters": {"callbackurl": "http://127.0.0.1:9/cb", "salt": "s"}}
        reply = httpx.post(f"{url}/poll", data={"schema": "json", "param": json.dumps(subscribe)}).json()
        assert reply["result"] is False and reply["returnCode"] == "700"
    _assign(url, "YT7500000000031", "delivered")
    assert _kd100(url, "yuantong", "YT7500000000031", phone="")["nu"] == "YT7500000000031"


def test_kuaidi100_resubscribing_a_polling_number_is_a_duplicate(sandbox, receiver) -> None:
    """501 重复订阅 while the number is polling; after abort/shutdown Kuaidi100 takes it again 30 minutes
    later (docs/providers.md, Kuaidi100's own article)."""
    url, _ = sandbox
    callback, got = receiver
    number = "78300000000041"
    _assign(url, number, "stale_in_transit")
    param = {"company": "zhongtong", "number": number, "key": accounts.KUAIDI100_KEY}
    param["parameters"] = {"callbackurl": callback, "salt": "s", "phone": "1234"}

    def subscribe() -> str:
        reply = httpx.post(f"{url}/poll", data={"schema": "json", "param": json.dumps(param)}).json()
        return str(reply["returnCode"])

    assert [subscribe(), subscribe()] == ["200", "501"]
    flushed = httpx.post(
        f"{url}/_sandbox/subscriptions/flush", json={"providers": ["kuaidi100"], "stop": {number: "60天无变化"}}
    )
    flushed.raise_for_status()
    assert json.loads(got[-1]["form"]["param"])["status"] == "abort"
    assert subscribe() == "501"  # stopped less than 30 minutes ago
    later = SANDBOX_NOW + timedelta(minutes=30)
    httpx.post(f"{url}/_sandbox/clock", json={"now": later.isoformat()}).raise_for_status()
    assert [subscribe(), subscribe()] == ["200", "501"]  # polling again


def test_kdniao_refuses_sf_without_customer_name(sandbox) -> None:
    """CustomerName (the phone's last 4 digits) is required for SF (docs/providers.md §Kdniao), for the
    queries and the subscriptions: Success false, ResultCode 101, no traces. ZTO needs none at Kdniao."""
    url, _ = sandbox
    _assign(url, "SF1234567890124", "delivered")
    for request_type in ("1002", "8001", "8008"):
        reply = _kdn(url, "SF", "SF1234567890124", request_type, customer_name="")
        assert reply["Success"] is False and reply["ResultCode"] == "101" and not reply.get("Traces")
        assert _kdn(url, "SF", "SF1234567890124", request_type)["Success"] is True
    _assign(url, "78300000000032", "delivered")
    assert _kdn(url, "ZTO", "78300000000032", "1002", customer_name="")["Success"] is True


def test_kdniao_1002_is_sparse_and_8001_is_rich(sandbox) -> None:
    url, _ = sandbox
    _assign(url, "4300000000001", "refused_returned")
    basic = _kdn(url, "YD", "4300000000001", "1002")
    assert basic["State"] == "4" and "StateEx" not in basic and "Location" not in basic
    keys = [set(t) for t in basic["Traces"]]
    assert keys.count({"AcceptTime", "AcceptStation", "Remark"}) == 1  # the refusal carries a Remark
    assert all(k <= {"AcceptTime", "AcceptStation", "Remark"} for k in keys)
    assert basic["Traces"][0]["AcceptTime"] < basic["Traces"][-1]["AcceptTime"]  # oldest first
    assert basic["Traces"][0]["AcceptStation"].startswith("【金华市】浙江义乌公司 揽收员：")  # Yunda's wording

    rich = _kdn(url, "YD", "4300000000001", "8001")
    assert rich["StateEx"] == "406" and "Station" in rich
    assert [t["Action"] for t in rich["Traces"]] == ["1", "202", "404", "407", "406"]
    assert all("Location" in t for t in rich["Traces"])

    _assign(url, "4300000000002", "no_first_scan")
    empty = _kdn(url, "YD", "4300000000002", "1002")
    assert empty["State"] == "0" and empty["Traces"] == [] and empty["Success"] is True


def test_kdniao_push_101_shape(sandbox, receiver) -> None:
    url, _ = sandbox
    callback, got = receiver
    _assign(url, "4300000000003", "delivered")
    _assign(url, "4300000000004", "no_first_scan")
    result = _push(url, callback, "kdniao", ["4300000000003", "4300000000004"], courier="yunda")
    assert result["results"][0]["status"] == 200
    form = got[0]["form"]
    assert form["RequestType"] == "101"
    assert verify_data_sign(form["RequestData"], accounts.KDNIAO_APP_KEY, form["DataSign"])
    body = json.loads(form["RequestData"])
    assert body["Count"] == 2 and isinstance(body["Count"], int)
    first, second = body["Data"]
    assert "CallBack" in first and "CallBack" in second and "StateEx" not in first
    assert first["State"] == "3" and all(set(t) == {"AcceptTime", "AcceptStation"} for t in first["Traces"])
    assert second["State"] == "0" and second["Traces"] == []

    _push(url, callback, "kdniao", ["4300000000003"], courier="yunda", request_type="102")
    rich_body = json.loads(got[1]["form"]["RequestData"])
    assert rich_body["Count"] == "1"  # a string in 增值版 pushes
    rich = rich_body["Data"][0]
    assert got[1]["form"]["RequestType"] == "102" and rich["StateEx"] == "301" and "Action" in rich["Traces"][0]


# --- Kuaidi100 pushes --------------------------------------------------------------------------------------


def test_kuaidi100_push_sign_case_resultv2_and_notices(sandbox, receiver) -> None:
    url, _ = sandbox
    callback, got = receiver
    _assign(url, "78300000000010", "delivered")
    _assign(url, "78300000000011", "no_first_scan")
    _assign(url, "78300000000012", "stale_in_transit", SANDBOX_NOW - timedelta(days=70))
    _assign(url, "78300000000013", "stale_in_transit")
    _push(
        url,
        callback,
        "kuaidi100",
        ["78300000000010", "78300000000011", "78300000000012", "78300000000013"],
        courier="zto",
        resultv2="0",
    )
    params = []
    for push in got:
        sign = push["form"]["sign"]
        assert sign == sign.upper() and verify_push_sign(push["form"]["param"], accounts.KUAIDI100_SALT, sign)
        params.append(json.loads(push["form"]["param"]))
    assert [(p["status"], p["message"]) for p in params] == [
        ("shutdown", ""),
        ("abort", "3天查询无记录"),
        ("abort", "60天无变化"),
        ("polling", ""),
    ]
    assert params[0]["lastResult"]["state"] == "3" and set(params[0]["lastResult"]["data"][0]) == {
        "time",
        "ftime",
        "context",
    }
    assert params[1]["lastResult"]["data"] == [] and len(params[2]["lastResult"]["data"]) == 2

    got.clear()
    _push(url, callback, "kuaidi100", ["78300000000013"], courier="zto", resultv2="4", notice="abort")
    forced = json.loads(got[0]["form"]["param"])
    assert forced["status"] == "abort" and forced["message"] == "60天无变化"
    assert forced["lastResult"]["data"][0]["statusCode"] == "1002"
    bad = httpx.post(f"{url}/_sandbox/push", json={"provider": "kuaidi100", "waybills": ["1"], "notice": "stopped"})
    assert bad.status_code == 400 and "notice for kuaidi100" in bad.json()["error"]


def test_kuaidi100_push_follows_the_subscriptions_resultv2(sandbox, receiver) -> None:
    url, _ = sandbox
    callback, got = receiver
    _assign(url, "78300000000020", "out_of_area")
    for resultv2, expect in (("1", {"status"}), ("4", {"status", "statusCode"})):
        waybill = f"7830000000002{resultv2}"
        _assign(url, waybill, "out_of_area")
        param = json.dumps(
            {
                "company": "zhongtong",
                "number": waybill,
                "key": accounts.KUAIDI100_KEY,
                "parameters": {"callbackurl": callback, "salt": "s", "resultv2": resultv2, "phone": "1234"},
            }
        )
        assert httpx.post(f"{url}/poll", data={"schema": "json", "param": param}).json()["returnCode"] == "200"
        got.clear()
        _push(url, "", "kuaidi100", [waybill])
        pushed = json.loads(got[0]["form"]["param"])
        assert verify_push_sign(got[0]["form"]["param"], "s", got[0]["form"]["sign"])
        assert expect <= set(pushed["lastResult"]["data"][0])
        assert ("statusCode" in pushed["lastResult"]["data"][0]) == (resultv2 == "4")


# --- 17TRACK -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["v2.2", "v2.4"])
def test_track17_events_have_stages_and_no_sub_status(sandbox, version) -> None:
    url, _ = sandbox
    number = f"98100000000{version[-1]}1"
    _assign(url, number, "locker_exception")
    registered = _t17(url, version, "register", [{"number": number, "carrier": 3011, "tag": "TB1"}]).json()
    assert registered["data"]["accepted"][0]["number"] == number
    again = _t17(url, version, "register", [{"number": number}]).json()
    assert again["data"]["rejected"][0]["error"]["code"] == -18019901
    info = _t17(url, version, "gettrackinfo", [{"number": number}]).json()["data"]["accepted"][0]
    assert info["tag"] == "TB1"
    track = info["track_info"]
    events = track["tracking"]["providers"][0]["events"]
    assert [e["stage"] for e in events] == ["AvailableForPickup", "Arrival", "PickedUp"]
    assert all("sub_status" not in e for e in events)
    assert events[0]["description"].startswith("邮件已在【丰巢智能柜")  # China Post's wording (carrier 3011)
    # the package is Exception while its newest event is a locker drop-off
    assert track["latest_status"] == {"status": "Exception", "sub_status": "Exception_Other", "sub_status_descr": None}
    stages = {m["key_stage"]: m["time_iso"] for m in track["milestone"]}
    assert stages["PickedUp"] and stages["AvailableForPickup"] and stages["Delivered"] is None
    v24 = "provider_tips" in track["tracking"]["providers"][0]
    assert v24 == (version == "v2.4") and ("description_translation" in events[0]) == v24


def test_track17_stop_retrack_and_quota(sandbox) -> None:
    url, _ = sandbox
    number = "9800000000031"
    _assign(url, number, "stale_in_transit")
    assert _t17(url, "v2.4", "stoptrack", [{"number": number}]).json()["data"]["rejected"][0]["error"]["code"] == (
        -18019902
    )
    _t17(url, "v2.4", "register", [{"number": number}])
    assert _t17(url, "v2.4", "retrack", [{"number": number}]).json()["data"]["rejected"][0]["error"]["code"] == (
        -18019905
    )  # not stopped
    assert _t17(url, "v2.4", "stoptrack", [{"number": number}]).json()["data"]["accepted"] == [
        {"number": number, "carrier": 3011}
    ]
    assert _t17(url, "v2.4", "stoptrack", [{"number": number}]).json()["data"]["rejected"][0]["error"]["code"] == (
        -18019904
    )
    assert _t17(url, "v2.2", "retrack", [{"number": number}]).json()["data"]["accepted"][0]["number"] == number
    _t17(url, "v2.2", "stoptrack", [{"number": number}])
    assert _t17(url, "v2.2", "retrack", [{"number": number}]).json()["data"]["rejected"][0]["error"]["code"] == (
        -18019906
    )  # once only
    quota = _t17(url, "v2.4", "getquota", []).json()["data"]
    assert quota["quota_used"] >= 1 and quota["quota_remain"] == quota["quota_total"] - quota["quota_used"]
    assert _t17(url, "v2.4", "gettrackinfo", [{"number": number}], key="wrong").status_code == 401


def test_track17_webhooks_updated_minimal_and_stopped(sandbox, receiver) -> None:
    url, _ = sandbox
    callback, got = receiver
    number = "9800000000041"
    _assign(url, number, "refused_returned")
    _t17(url, "v2.2", "register", [{"number": number, "tag": "TB9"}])
    for notice in ("auto", "minimal", "stopped"):
        _push(url, callback, "track17", [number], courier="chinapost", notice=notice)
    _t17(url, "v2.2", "stoptrack", [{"number": number}])
    _push(url, callback, "track17", [number], courier="chinapost")  # auto after /stoptrack
    bodies = []
    for push in got:
        assert t17_verify(push["raw"], accounts.TRACK17_KEY, push["headers"]["sign"])
        bodies.append(json.loads(push["raw"]))
    full, minimal, stopped, auto_stopped = bodies
    assert full["event"] == "TRACKING_UPDATED" and full["data"]["track_info"]["latest_status"]["status"] == "Exception"
    assert minimal == {
        "event": "TRACKING_UPDATED",
        "data": {"number": number, "carrier": 3011, "param": None, "tag": "TB9"},
    }
    assert stopped["event"] == "TRACKING_STOPPED" and "track_info" not in stopped["data"]
    assert auto_stopped == stopped

    _assign(url, "9800000000042", "delivered", SANDBOX_NOW - timedelta(days=20))  # delivered 15+ days ago
    got.clear()
    _push(url, callback, "track17", ["9800000000042"], courier="chinapost")
    assert json.loads(got[0]["raw"])["event"] == "TRACKING_STOPPED"


# --- scenario data -----------------------------------------------------------------------------------------


def test_a_template_naming_a_missing_field_fails_loading(tmp_path: Path) -> None:
    (tmp_path / "w.toml").write_text('[wording.default]\npickup = "【{city}】{site} 已揽收"\n', encoding="utf-8")
    (tmp_path / "s.toml").write_text(
        '[[scenario]]\nname = "x"\nevents = [{ h = 0, status = "picked_up", kd100 = "103", kdn = "1", '
        't17 = "InTransit_PickedUp", say = "pickup", city = "杭州市", loc = "浙江,杭州市" }]\n',
        encoding="utf-8",
    )
    with pytest.raises(
        ValueError, match=r"s\.toml: scenario x: events\[0\]: wording\.default\.pickup needs key 'site'"
    ):
        load_scenarios(tmp_path)


def test_every_courier_has_its_own_wording_for_the_common_steps() -> None:
    delivered = load_scenarios()["delivered"]
    for event in delivered.events:
        wordings = {event.text_for(c) for c in ("sf", "zto", "yto", "sto", "yunda", "jt", "jd", "ems", "chinapost")}
        assert len(wordings) == 9, event
        assert event.text_for("nosuch") == event.text


def test_kdniao_push_carries_the_subscriptions_callback(sandbox, receiver) -> None:
    url, _ = sandbox
    callback, got = receiver
    _assign(url, "4300000000050", "stale_in_transit")
    data = json.dumps({"ShipperCode": "YD", "LogisticCode": "4300000000050", "Callback": "TB-ORDER-77"})
    subscribed = httpx.post(
        f"{url}/Ebusiness/EbusinessOrderHandle.aspx",
        data={
            "EBusinessID": accounts.KDNIAO_EBUSINESS_ID,
            "RequestType": "1008",
            "DataType": "2",
            "RequestData": data,
            "DataSign": data_sign(data, accounts.KDNIAO_APP_KEY),
        },
    ).json()
    assert subscribed["Success"] is True
    _push(url, callback, "kdniao", ["4300000000050"], courier="yunda")
    assert json.loads(got[0]["form"]["RequestData"])["Data"][0]["CallBack"] == "TB-ORDER-77"


def test_track17_calls_a_package_idle_for_30_days_expired(sandbox) -> None:
    url, _ = sandbox
    _assign(url, "9800000000060", "stale_in_transit", SANDBOX_NOW - timedelta(days=35))
    _t17(url, "v2.2", "register", [{"number": "9800000000060"}])
    info = _t17(url, "v2.2", "gettrackinfo", [{"number": "9800000000060"}]).json()["data"]["accepted"][0]
    assert info["track_info"]["latest_status"]["status"] == "Expired"
    assert info["track_info"]["tracking"]["providers"][0]["events"][0]["stage"] == "Departure"
