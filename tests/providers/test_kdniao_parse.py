"""Kdniao (快递鸟) 1002/8001 replies and pushes -> normalized events (spec/providers.md §1, §3)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.providers.conftest import NO_PHRASES, Parse
from tracker.status import TrackingStatus as S

# Every State / StateEx of spec/providers.md §1 and §3.2, written out from the spec.
EXPECTED = {
    "0": S.pending, "1": S.picked_up, "2": S.in_transit, "3": S.delivered, "4": S.delivery_failed,
    "5": S.forwarded, "6": S.customs, "10": S.info_received,
    "201": S.in_transit, "202": S.out_for_delivery, "204": S.in_transit, "205": S.in_transit,
    "206": S.in_transit, "211": S.available_for_pickup,
    "301": S.delivered, "302": S.delivered, "304": S.delivered, "311": S.delivered,
    "401": S.no_first_scan, "402": S.overdue_unsigned, "403": S.stale, "404": S.refused,
    "405": S.delivery_failed, "406": S.returned, "407": S.returning, "412": S.locker_overdue,
    "413": S.intercepted, "414": S.damaged, "415": S.cancelled, "416": S.unreachable, "417": S.stranded,
    "418": S.out_for_delivery, "419": S.out_for_delivery, "420": S.address_problem,
    "421": S.address_problem, "422": S.missorted, "423": S.out_of_area,
    "601": S.customs, "602": S.customs, "603": S.customs, "604": S.customs,
}  # fmt: skip


@pytest.mark.parametrize(("code", "status"), sorted(EXPECTED.items()))
def test_every_code_maps_to_its_status(parse: Parse, code: str, status: S) -> None:
    result = parse("kdniao", "query_all_codes.json", phrases=NO_PHRASES)
    assert result.problems == ()
    (waybill,) = result.waybills
    assert {e.raw_code: e.status for e in waybill.events}[code] is status


def test_fixture_covers_every_code(parse: Parse) -> None:
    (waybill,) = parse("kdniao", "query_all_codes.json", phrases=NO_PHRASES).waybills
    assert {e.raw_code for e in waybill.events} == set(EXPECTED)


def test_8001_reply_is_read_oldest_first_in_utc(parse: Parse) -> None:
    (waybill,) = parse("kdniao", "query_8001_refused.json").waybills
    assert (waybill.waybill, waybill.company, waybill.courier) == ("78398765432101", "ZTO", "zto")
    assert [e.raw_code for e in waybill.events] == ["1", "204", "201", "202", "404"]
    assert waybill.events[0].time == datetime(2024, 5, 18, 11, 22, 10, tzinfo=UTC)  # 19:22:10 +08:00
    assert waybill.events[-1].status is S.refused
    assert waybill.events[-1].text == "收件人拒收，原因：不想要了，快件将退回"
    assert waybill.events[-1].location == "成都市"


def test_traces_out_of_order_are_sorted(parse: Parse) -> None:
    body = (
        '{"LogisticCode": "YT1", "ShipperCode": "YTO", "Success": true, "State": "2", "Traces": ['
        '{"AcceptTime": "2026-11-21 08:00:00", "AcceptStation": "b", "Action": "2"},'
        '{"AcceptTime": "2026-11-20 08:00:00", "AcceptStation": "a", "Action": "1"}]}'
    )
    (waybill,) = parse("kdniao", body).waybills
    assert [e.text for e in waybill.events] == ["a", "b"]


def test_1002_traces_without_action_are_read_from_the_couriers_words(parse: Parse) -> None:
    (waybill,) = parse("kdniao", "query_1002_no_action.json").waybills
    assert [e.status for e in waybill.events] == [S.picked_up, S.in_transit, S.out_for_delivery]
    assert [e.raw_code for e in waybill.events] == ["", "", ""] and waybill.courier == "yunda"
    # without the words, the parcel's State/StateEx speaks for the newest event only
    (waybill,) = parse("kdniao", "query_1002_no_action.json", phrases=NO_PHRASES).waybills
    assert [e.status for e in waybill.events] == [S.unknown, S.unknown, S.out_for_delivery]
    assert waybill.events[-1].raw_code == "202"


def test_bad_traces_are_problems_naming_the_waybill(parse: Parse) -> None:
    result = parse("kdniao", "query_bad_trace.json")
    (waybill,) = result.waybills
    assert [e.raw_code for e in waybill.events] == ["1", "201"]
    assert [(p.waybill, p.message) for p in result.problems] == [
        ("YT7522223333444", "Traces[1].AcceptTime: expected a time, got ''"),
        ("YT7522223333444", "Traces[2]: expected an object, got 'not a trace'"),
    ]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("<html>502 Bad Gateway</html>", "reply is not JSON"),
        ('{"Success": true, "State": "2", "Traces": []}', "LogisticCode: missing"),
        ('{"LogisticCode": "YT1", "Success": true, "Traces": "none"}', "Traces: expected a list"),
    ],
)
def test_malformed_reply_is_a_problem(parse: Parse, body: str, message: str) -> None:
    result = parse("kdniao", body)
    assert result.waybills == () and result.problems[0].message.startswith(message)


def test_error_reply_becomes_a_clear_provider_error(parse: Parse) -> None:
    result = parse("kdniao", "error_no_balance.json")
    (waybill,) = result.waybills
    assert waybill.waybill == "SF1234567890123" and waybill.courier == "sf" and waybill.events == ()
    assert waybill.error == (
        "kdniao ResultCode 405: daily query limit reached: wait until tomorrow or raise the quota"
        " (超过当日查询次数限制)"
    )


def test_error_without_result_code_shows_the_reason() -> None:
    from tracker.providers.kdniao.codes import error_message

    assert error_message(None, "快递公司编码不存在") == "kdniao error: 快递公司编码不存在"


def test_push_reads_every_waybill_and_keeps_going_after_an_error(parse: Parse) -> None:
    result = parse("kdniao", "push.json", kind="push")
    assert result.problems == ()
    first, second, failed = result.waybills
    assert (first.waybill, first.courier, first.events[-1].status) == (
        "YT7533334444555",
        "yto",
        S.out_of_area,
    )
    assert (second.waybill, second.courier, second.events[-1].status) == ("773012345679", "sto", S.delivered)
    assert failed.waybill == "1234" and failed.error == "kdniao error: 快递公司编码不存在" and failed.courier is None


def test_push_with_a_broken_item_reports_it_and_parses_the_rest(parse: Parse) -> None:
    body = '{"Data": [42, {"LogisticCode": "YT1", "ShipperCode": "YTO", "Success": true, "Traces": []}]}'
    result = parse("kdniao", body, kind="push")
    assert [w.waybill for w in result.waybills] == ["YT1"]
    assert [p.message for p in result.problems] == ["Data[0]: expected an object, got 42"]


def test_push_without_data_list_is_a_problem(parse: Parse) -> None:
    result = parse("kdniao", '{"EBusinessID": "1", "Data": {}}', kind="push")
    assert result.problems[0].message.startswith("Data: expected a list")
