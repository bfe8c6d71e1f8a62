"""Taobao Open Platform taobao.logistics.trace.search replies -> normalized events (docs/adding-a-provider.md).

The status decisions are checked with a small phrase book of our own, so they do not move when
config/phrases.toml grows; one test reads with the project's phrase book."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from tests.providers.conftest import FIXTURES
from tracker.phrases import PhraseBook, PhraseRule
from tracker.providers.base import ParseResult, parse_reply
from tracker.providers.taobao import codes
from tracker.settings import Settings
from tracker.status import TrackingStatus as S

SHANGHAI = ZoneInfo("Asia/Shanghai")
BOOK = PhraseBook(
    [
        PhraseRule(S.refused, 88, ("拒收",)),
        PhraseRule(S.stranded, 60, ("滞留",)),
        PhraseRule(S.available_for_pickup, 50, ("驿站", "取件码")),
        PhraseRule(S.delivered, 40, ("已签收",), ("未签收",)),
        PhraseRule(S.picked_up, 30, ("已揽收", "已收件")),
        PhraseRule(S.delivery_failed, 20, ("派送异常", "派送不成功")),
    ]
)


@pytest.fixture
def read(settings: Settings):
    def run(name: str, phrases: PhraseBook | None = BOOK) -> ParseResult:
        body = (FIXTURES / "taobao" / name).read_bytes()
        return parse_reply("taobao", body, kind="query", tz=SHANGHAI, couriers=settings.couriers, phrases=phrases)

    return run


def test_full_trace_reads_every_action_oldest_first_in_utc(read) -> None:
    result = read("query_delivered.json")
    assert result.problems == ()
    (waybill,) = result.waybills
    assert (waybill.provider, waybill.waybill, waybill.company, waybill.courier) == (
        "taobao",
        "78398765430021",
        "中通快递",
        "zto",
    )
    assert [e.raw_code for e in waybill.events] == ["GOT", "DEPARTURE", "ARRIVAL", "SENT_SCAN", "SIGNED"]
    assert [e.status for e in waybill.events] == [
        S.picked_up,
        S.in_transit,
        S.in_transit,
        S.out_for_delivery,
        S.delivered,
    ]
    assert waybill.events[0].time == datetime(2024, 5, 18, 9, 42, 5, tzinfo=UTC)  # 17:42:05 Beijing time
    assert waybill.events[-1].text.startswith("【广州市】快件已签收")
    assert waybill.error is None and all(e.location is None for e in waybill.events)


def test_steps_without_action_are_read_from_the_courier_text(read) -> None:
    (waybill,) = read("query_sparse_no_action.json").waybills
    assert waybill.courier == "yunda"
    assert [(e.raw_code, e.status) for e in waybill.events] == [
        ("", S.picked_up),  # 已收件
        ("", S.unknown),  # 已发出: no action and no phrase of the book
        ("", S.stranded),  # 滞留
        ("TRACKING", S.available_for_pickup),  # a generic action: the text (驿站) is more specific
    ]


def test_a_coarse_action_yields_to_a_specific_text_and_stands_otherwise(read) -> None:
    (waybill,) = read("query_refused.json").waybills
    assert waybill.courier == "yto"
    assert [(e.raw_code, e.status) for e in waybill.events] == [
        ("GOT", S.picked_up),
        ("FAILED", S.refused),  # 拒收 outranks 派送不成功 in the book; FAILED alone says only "a problem"
        ("FAILED", S.delivery_failed),
    ]


def test_milestone_actions_win_over_the_text(settings: Settings) -> None:
    body = {
        "logistics_trace_search_response": {
            "out_sid": "1",
            "company_name": "中通快递",
            "trace_list": {
                "transit_step_info": [
                    {"status_time": "2024-05-20 10:00:00", "status_desc": "快件滞留后已签收", "action": "SIGNED"}
                ]
            },
        }
    }
    result = parse_reply("taobao", body, tz=SHANGHAI, couriers=settings.couriers, phrases=BOOK)
    assert result.waybills[0].events[0].status is S.delivered


@pytest.mark.parametrize("name", ["query_no_trace.json", "query_empty_trace_list.json"])
def test_shipped_but_not_scanned_is_a_waybill_without_events(read, name: str) -> None:
    result = read(name)
    assert result.problems == ()
    (waybill,) = result.waybills
    assert waybill.waybill and waybill.events == () and waybill.error is None
    assert waybill.courier in ("sf", "jt")


def test_one_step_sent_as_an_object_is_read(read) -> None:
    (waybill,) = read("query_single_step.json").waybills
    assert waybill.courier == "sto"
    assert [(e.raw_code, e.status) for e in waybill.events] == [("GOT", S.picked_up)]


def test_an_order_without_waybill_is_an_error_naming_no_waybill(read) -> None:
    (waybill,) = read("query_not_shipped.json").waybills
    assert waybill.waybill == "" and waybill.events == ()
    assert "3456789012345678901" in waybill.error and "no waybill yet" in waybill.error


@pytest.mark.parametrize(
    ("name", "words"),
    [
        # a known sub_code says more than its code: the line is under it
        ("error_session_expired.json", ["taobao error session-expired", "authorize the app again"]),
        ("error_trade_not_exist.json", ["taobao error isv.trade-not-exist", "交易订单不存在", "no such Taobao order"]),
        ("error_bad_signature.json", ["taobao error 25", "Invalid signature", "app_secret"]),
    ],
)
def test_error_replies_become_one_clear_message(read, name: str, words: list[str]) -> None:
    result = read(name)
    assert result.problems == ()
    (waybill,) = result.waybills
    assert waybill.waybill == "" and waybill.events == ()
    for word in words:
        assert word in waybill.error


def test_bad_steps_are_problems_naming_the_field_and_the_rest_is_kept(read) -> None:
    result = read("query_bad_step.json")
    (waybill,) = result.waybills
    assert waybill.courier == "zto"  # 中通速递 is an alias
    # a step without its text is still a step (nothing the courier sent is dropped); a bad time is not
    assert [e.raw_code for e in waybill.events] == ["GOT", "ARRIVAL"]
    assert waybill.events[1].text == "" and waybill.events[1].status is S.in_transit
    messages = [p.message for p in result.problems]
    assert len(messages) == 2 and all(p.waybill == "78312340000099" for p in result.problems)
    assert "transit_step_info[1].status_time: expected a time, got '2024-13-40 25:00:00'" in messages[0]
    assert "transit_step_info[3]: expected an object" in messages[1]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"[]", "reply: expected an object"),
        (b'{"something_else": {}}', "logistics_trace_search_response: expected an object, got None"),
        (b'{"logistics_trace_search_response": {"out_sid": "1", "trace_list": [1]}}', "trace_list: expected an"),
        (b"<xml/>", "reply is not JSON"),
    ],
)
def test_unreadable_replies_are_one_problem(settings: Settings, body: bytes, message: str) -> None:
    result = parse_reply("taobao", body, tz=SHANGHAI, couriers=settings.couriers, phrases=BOOK)
    assert result.waybills == ()
    assert message in result.problems[0].message


def test_unknown_company_keeps_its_name_and_no_courier(settings: Settings) -> None:
    body = {"logistics_trace_search_response": {"out_sid": "X1", "company_name": "某某物流"}}
    (waybill,) = parse_reply("taobao", body, tz=SHANGHAI, couriers=settings.couriers, phrases=BOOK).waybills
    assert (waybill.company, waybill.courier) == ("某某物流", None)


def test_every_action_in_the_table_is_a_status_and_unknown_actions_read_the_text() -> None:
    assert all(isinstance(status, S) for status in codes.ACTIONS.values())
    assert codes.GENERIC_ACTIONS <= set(codes.ACTIONS)


def test_project_phrase_book_reads_a_refusal(read) -> None:
    (waybill,) = read("query_refused.json", phrases=None).waybills
    assert waybill.events[1].status is S.refused
