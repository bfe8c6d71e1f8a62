"""A provider's coded answer (a failed query, a refused subscription) stored as one English line for the log,
read back on the board in the reader's words: the provider by name, the code's meaning, its own words quoted."""

from __future__ import annotations

import pytest

from tracker.labels import PHONE_MISSING, value_label
from tracker.providers.kdniao.codes import error_message as kdniao_error
from tracker.providers.kuaidi100.codes import query_error, subscribe_error
from tracker.providers.messages import in_words
from tracker.providers.taobao.codes import error_message as taobao_error
from tracker.providers.taobao.codes import no_waybill
from tracker.providers.track17.codes import error_message as track17_error


@pytest.mark.parametrize(
    ("stored", "zh", "en"),
    [
        (  # a waybill just printed, not scanned yet: the usual case, not a fault
            query_error("500", "查询无结果，请隔段时间再查"),
            "快递100：查询无结果，单号刚打出、快递还没揽收时常见，稍后会再查；几天后仍无结果请核对单号和快递公司"
            "（原话：查询无结果，请隔段时间再查）",
            "Kuaidi100: no result for this waybill (查询无结果): check the number and company, try again later"
            " (its words: 查询无结果，请隔段时间再查)",
        ),
        (query_error(None, None), "快递100返回错误", "Kuaidi100 answered an error"),
        (
            query_error("777", "未知（内部）错误"),
            "快递100返回错误 777：未知（内部）错误",
            "Kuaidi100 answered error 777: 未知（内部）错误",
        ),
        (
            kdniao_error("405", "今日查询次数已达上限"),
            "快递鸟：今日查询次数已用完，明天再查或提高额度（原话：今日查询次数已达上限）",
            "Kdniao: daily query limit reached: wait until tomorrow or raise the quota (its words: 今日查询次数已达上限)",
        ),
        (
            kdniao_error(None, "快递公司编码不存在"),
            "快递鸟返回错误：快递公司编码不存在",
            "Kdniao answered an error: 快递公司编码不存在",
        ),
        (
            track17_error("-18019909", "No tracking information at this time."),
            "17TRACK：暂无物流信息（原话：No tracking information at this time.）",
            "17TRACK: no tracking information yet (its words: No tracking information at this time.)",
        ),
        (track17_error(None, "boom (x)"), "17TRACK返回错误：boom (x)", "17TRACK answered an error: boom (x)"),
        (  # the provider's words in brackets of their own
            subscribe_error("600", "您不是合法的订阅者（即授权Key出错）"),
            "快递100：不是合法的订阅者，请核对 key（原话：您不是合法的订阅者（即授权Key出错））",
            "Kuaidi100: not a valid subscriber (不是合法订阅者): check the key (its words: 您不是合法的订阅者（即授权Key出错）)",
        ),
    ],
)
def test_a_stored_answer_reads_in_words_never_the_slug_or_a_known_code(stored: str, zh: str, en: str) -> None:
    assert in_words(stored, "zh") == zh
    assert in_words(stored, "en") == en
    # the parcel page's provider error (查询错误) reads the same way
    assert value_label("provider_error", stored, "zh") == zh
    assert "kuaidi100" not in zh and "kdniao" not in zh and "returnCode" not in zh


def test_the_stored_line_stays_the_english_one_the_log_and_the_cli_print() -> None:
    assert query_error("500", "查询无结果，请隔段时间再查") == (
        "kuaidi100 returnCode 500: no result for this waybill (查询无结果): check the number and company, try again"
        " later (查询无结果，请隔段时间再查)"
    )
    assert kdniao_error(None, None) == "kdniao error"


def test_a_line_not_written_this_way_is_shown_as_it_came() -> None:
    for stored in ("单号不存在", "kuaidi100 returnCodes 5: x", ""):  # another source's words, another head
        assert in_words(stored, "zh") == stored
    assert in_words(None, "zh") == ""
    # the tracker's own words for a courier it does not ask without a phone: from the labels' table
    assert value_label("provider_error", PHONE_MISSING, "en").startswith("The consignee's or sender's phone's")


def test_without_the_name_where_the_reader_has_it_already() -> None:
    stored = track17_error("-18019902", "not registered")
    assert in_words(stored, "zh", named=False) == "单号未注册，需先注册（原话：not registered）"
    assert in_words(track17_error("-1", None), "en", named=False) == "Error -1"


@pytest.mark.parametrize(
    ("stored", "zh"),
    [
        # a known code's meaning worded otherwise (an older version's): today's meaning, the last bracket's words
        (
            "kuaidi100 returnCode 500: an older meaning of it (查询无结果，请隔段时间再查)",
            "快递100：查询无结果，单号刚打出、快递还没揽收时常见，稍后会再查；几天后仍无结果请核对单号和快递公司"
            "（原话：查询无结果，请隔段时间再查）",
        ),
        # what older versions stored for a code no table named, or for none
        ("kuaidi100 returnCode 777: unexpected error (未知)", "快递100返回错误 777：未知"),
        ("kuaidi100 returnCode ?: unexpected error (x)", "快递100返回错误：x"),
        ("kuaidi100 subscribe returnCode 999: unexpected subscription error (奇怪)", "快递100返回错误 999：奇怪"),
    ],
)
def test_a_line_of_an_older_wording_reads_in_words_too(stored: str, zh: str) -> None:
    assert in_words(stored, "zh") == zh


def test_taobaos_refusals_and_an_order_without_a_waybill_read_in_words() -> None:
    limited = taobao_error("7", "App Call Limited", "accesscontrol.limited-by-app-access-count", "调用次数超限")
    assert in_words(limited, "zh") == (
        "淘宝开放平台：应用调用次数超限，稍后会再查（原话：App Call Limited / 调用次数超限"
        " [accesscontrol.limited-by-app-access-count]）"
    )
    missing = taobao_error("15", "Remote service error", "isv.trade-not-exist", "交易不存在")
    assert in_words(missing, "zh") == "淘宝开放平台：淘宝没有这个订单（原话：Remote service error / 交易不存在）"
    assert in_words(no_waybill("3521234567890"), "zh") == (
        "淘宝开放平台：订单 3521234567890 还没有运单号，未在线发货或快递还没揽收扫描"
    )
    assert in_words(no_waybill(None), "zh") == "淘宝开放平台：订单还没有运单号，未在线发货或快递还没揽收扫描"


def test_blank_words_are_no_words() -> None:
    stored = track17_error("-18019909", "   ")
    assert stored == "17track error -18019909: no tracking information yet"
    assert in_words(stored, "zh") == "17TRACK：暂无物流信息"


def test_taobao_lines_an_older_version_stored_read_in_words_too() -> None:
    refusal = (
        "Taobao refused the query (error 27, session-expired): Invalid session / session不合法; the seller's session"
        " expired: authorize the app again (TRACKER_TAOBAO_SESSION)"
    )
    assert (
        in_words(refusal, "zh") == "淘宝开放平台：卖家授权已过期，请重新授权（原话：Invalid session / session不合法）"
    )
    limited = (
        "Taobao refused the query (error 7): App Call Limited; call limit reached for this app; wait and ask again"
    )
    assert in_words(limited, "zh") == "淘宝开放平台：应用调用次数超限，稍后会再查（原话：App Call Limited）"
    no_waybill = "Taobao order 345678 has no waybill yet (out_sid is empty): not shipped online, or not scanned"
    assert in_words(no_waybill, "zh") == "淘宝开放平台：订单 345678 还没有运单号，未在线发货或快递还没揽收扫描"
