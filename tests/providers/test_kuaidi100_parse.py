"""Kuaidi100 query replies and pushes -> normalized events (spec/providers.md §1, §2)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from tests.providers.conftest import FIXTURES, NO_PHRASES, Parse
from tracker.status import TrackingStatus as S

# Every state / statusCode of spec/providers.md §1 and §2.1, written out from the spec.
EXPECTED = {
    "0": S.in_transit, "1": S.picked_up, "2": S.delivery_failed, "3": S.delivered, "4": S.returned,
    "5": S.out_for_delivery, "6": S.returning, "7": S.forwarded, "8": S.customs, "10": S.customs,
    "11": S.customs, "12": S.customs, "13": S.customs, "14": S.refused,
    "101": S.info_received, "102": S.info_received, "103": S.picked_up,
    "1001": S.in_transit, "1002": S.in_transit, "1003": S.in_transit,
    "201": S.overdue_unsigned, "202": S.stale, "203": S.refused, "204": S.delivery_failed,
    "205": S.locker_overdue, "206": S.unreachable, "207": S.out_of_area, "208": S.stranded,
    "209": S.damaged, "210": S.cancelled,
    "301": S.delivered, "302": S.delivered, "303": S.delivered, "304": S.delivered,
    "401": S.cancelled, "501": S.available_for_pickup,
}  # fmt: skip


@pytest.mark.parametrize(("code", "status"), sorted(EXPECTED.items()))
def test_every_code_maps_to_its_status(parse: Parse, code: str, status: S) -> None:
    result = parse("kuaidi100", "query_all_codes.json", phrases=NO_PHRASES)
    assert result.problems == ()
    (waybill,) = result.waybills
    by_code = {e.raw_code: e for e in waybill.events}
    assert by_code[code].status is status


def test_fixture_covers_every_code(parse: Parse) -> None:
    (waybill,) = parse("kuaidi100", "query_all_codes.json", phrases=NO_PHRASES).waybills
    assert {e.raw_code for e in waybill.events} == set(EXPECTED)


def test_newest_first_reply_becomes_oldest_first_in_utc(parse: Parse) -> None:
    (waybill,) = parse("kuaidi100", "query_out_of_area.json").waybills
    assert [e.time for e in waybill.events] == sorted(e.time for e in waybill.events)
    first = waybill.events[0]
    # "2024-05-17 21:15:03" Asia/Shanghai
    assert first.time == datetime(2024, 5, 17, 13, 15, 3, tzinfo=UTC)
    assert first.status is S.picked_up and first.raw_code == "1"
    assert first.text == "【杭州市萧山区公司】已揽收" and first.location == "浙江,杭州市"
    assert waybill.events[-1].status is S.out_of_area
    assert (waybill.waybill, waybill.company, waybill.courier) == ("YT7512345678901", "yuantong", "yto")


def test_top_level_state_with_advanced_code_describes_the_newest_event(parse: Parse) -> None:
    # without codes, the words speak for every event; the newest one's words agree with the state 206
    (waybill,) = parse("kuaidi100", "query_state_advanced.json").waybills
    assert [e.status for e in waybill.events] == [S.picked_up, S.out_for_delivery, S.unreachable]
    assert waybill.events[0].location is None  # "" is no location
    # with no phrase known, the package state speaks for the newest event only
    (waybill,) = parse("kuaidi100", "query_state_advanced.json", phrases=NO_PHRASES).waybills
    assert waybill.events[-1].status is S.unreachable and waybill.events[-1].raw_code == "206"
    assert [e.status for e in waybill.events[:-1]] == [S.unknown, S.unknown]


def test_bad_event_is_a_problem_naming_the_waybill_and_the_rest_is_kept(parse: Parse) -> None:
    result = parse("kuaidi100", "query_bad_event.json")
    (waybill,) = result.waybills
    # an item without its context is still an event (nothing the courier said is dropped); a bad time is not
    assert [e.text for e in waybill.events] == ["【义乌公司】已揽收", "", "【西安转运中心】已发出"]
    assert [p.waybill for p in result.problems] == ["YT7511112222333"]
    assert [p.message for p in result.problems] == ["data[1].ftime: expected a time, got '2026-11-20 25:61:00'"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "reply is not JSON"),
        (b"[1, 2]", "reply: expected an object"),
        (b'{"message": "ok", "state": "0", "data": []}', "nu: missing"),
        (b'{"nu": "YT1", "com": "yuantong", "data": {"a": 1}}', "data: expected a list"),
        (b'{"nu": "YT1", "com": "yuantong", "data": ["x"]}', "data[0]: expected an object"),
        (b'{"nu": "YT1", "com": "yuantong", "data": [{"context": "x"}]}', "data[0].ftime: expected a time"),
    ],
)
def test_malformed_reply_is_a_problem_not_an_exception(parse: Parse, body: bytes, message: str) -> None:
    result = parse("kuaidi100", body)
    assert result.problems and result.problems[0].message.startswith(message)


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("400", "not authorised"),
        ("500", "no result"),
        ("501", "server error"),
        ("502", "busy"),
        ("503", "signature"),
        ("601", "expired"),
    ],
)
def test_error_reply_becomes_a_clear_provider_error(parse: Parse, code: str, words: str) -> None:
    result = parse("kuaidi100", f"error_{code}.json")
    (waybill,) = result.waybills
    said = json.loads((FIXTURES / "kuaidi100" / f"error_{code}.json").read_text())["message"]
    assert waybill.error is not None
    assert f"returnCode {code}" in waybill.error and words in waybill.error and said in waybill.error
    assert waybill.events == () and result.problems == ()


def test_push_reads_last_result(parse: Parse) -> None:
    result = parse("kuaidi100", "push_stale.json", kind="push")
    (waybill,) = result.waybills
    assert waybill.waybill == "78312345678901" and waybill.courier == "zto" and waybill.error is None
    assert [e.status for e in waybill.events] == [S.in_transit, S.stale]
    assert waybill.events[0].location == "河南,郑州市"  # areaName when there is no location


def test_push_abort_is_a_stop_notice_with_the_reason_not_an_error(parse: Parse) -> None:
    (waybill,) = parse("kuaidi100", "push_abort.json", kind="push").waybills
    assert (waybill.waybill, waybill.courier, waybill.events) == ("773012345678", "sto", ())
    assert waybill.error is None
    assert waybill.stop is not None and (waybill.stop.kind, waybill.stop.reason) == ("abort", "3天查询无记录")


def test_push_with_corrected_company_uses_the_new_code(parse: Parse) -> None:
    (waybill,) = parse("kuaidi100", "push_company_corrected.json", kind="push").waybills
    assert (waybill.company, waybill.courier) == ("zhongtong", "zto")
    assert waybill.events[-1].status is S.delivered


def test_push_without_last_result_is_a_problem(parse: Parse) -> None:
    result = parse("kuaidi100", b'{"status": "polling"}', kind="push")
    assert result.waybills == () and result.problems[0].message.startswith("lastResult: expected an object")


def test_unknown_company_code_keeps_the_code_without_a_courier(parse: Parse) -> None:
    body = b'{"nu": "X1", "com": "nosuchco", "state": "0", "data": []}'
    (waybill,) = parse("kuaidi100", body).waybills
    assert (waybill.company, waybill.courier) == ("nosuchco", None)


def test_unlisted_code_reads_unknown_and_keeps_the_raw_code(parse: Parse) -> None:
    body = (
        '{"nu": "YT1", "com": "yuantong", "data": [{"ftime": "2026-11-20 10:00:00",'
        ' "context": "新状态", "statusCode": "999"}]}'
    )
    (waybill,) = parse("kuaidi100", body).waybills
    assert (waybill.events[0].status, waybill.events[0].raw_code) == (S.unknown, "999")
    # the package-level state speaks for the newest event when nothing else does
    (waybill,) = parse("kuaidi100", body.replace('"com"', '"state": "5", "com"')).waybills
    assert (waybill.events[0].status, waybill.events[0].raw_code) == (S.out_for_delivery, "999")


def test_a_reply_saying_signed_makes_a_newest_event_read_only_as_out_for_delivery_signed(parse: Parse) -> None:
    """A resultv2=0 reply (time and words only) with state 3 (签收) and ischeck 1 whose newest words read only
    派送中: the parcel is signed for (it stayed 派送中 until another poll brought the signature's words)."""
    body = json.dumps({
        "message": "ok", "nu": "YT7512345678999", "ischeck": "1", "condition": "F00", "com": "yuantong",
        "status": "200", "state": "3",
        "data": [
            {"time": "2026-11-20 14:02:11", "ftime": "2026-11-20 14:02:11",
             "context": "【杭州市】浙江杭州西湖区公司 派件员：王强 电话：13800000000 当前正在为您派件"},
            {"time": "2026-11-19 08:10:00", "ftime": "2026-11-19 08:10:00", "context": "【杭州转运中心】已发出"},
        ],
    }, ensure_ascii=False)  # fmt: skip
    (waybill,) = parse("kuaidi100", body).waybills
    assert [e.status for e in waybill.events] == [S.in_transit, S.delivered]
    assert waybill.events[-1].raw_code == "3"
