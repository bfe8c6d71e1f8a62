"""Search, deep links and the language in the URL (issue 15 item 5): part of a waybill or order number finds
the parcel whatever was pasted around it; several matches are a list to pick from; a queue row's waybill opens
its parcel; ?lang=en survives a reload and page changes and rides along on the board's links."""

from __future__ import annotations

import re
from decimal import Decimal
from urllib.parse import parse_qsl

import pytest

from dashboard import data
from tests.dashboard.seed import seed_ageing
from tests.dashboard.test_app import login, signed_in
from tests.dashboard.test_overview_counts import with_link_lists


@pytest.mark.parametrize(
    ("typed", "number"),
    [
        ("No: SF1001", "SF1001"),
        ("No.SF1001", "SF1001"),
        ("NO：sf1001", "sf1001"),
        ("运单号：SF 1001", "SF1001"),
        ("快递单号: 7312 3456 78", "7312345678"),
        ("订单号:O-1001", "O-1001"),
        ("'7312345678", "7312345678"),  # Excel's text prefix
        ('"SF1001"', "SF1001"),
        ("“SF1001”", "SF1001"),
        ("  sf1001\u3000", "sf1001"),
        ("NORTH1", "NORTH1"),  # a number that starts with N-O is not a label
    ],
)
def test_search_text_keeps_the_number_only(typed, number):
    assert data.search_text(typed) == number


def test_find_parcels_exact_first_then_start_then_middle(board_db):
    engine, ids = board_db
    waybills = lambda text: sorted(r["waybill"] for r in data.find_parcels(engine, text))  # noqa: E731
    assert waybills("No: sf1001") == ["SF1001"]  # exact wins
    assert waybills("sf10") == ["SF1001", "SF1004"]  # the start of a waybill
    assert waybills("1004") == ["SF1004"]  # the middle or end (4+ characters)
    assert waybills("'O-2002") == ["ZTO2002"]  # an order number, Excel's ' stripped
    assert waybills("O-20") == ["ZTO2002"]  # the start of an order number
    assert waybills("00") == []  # 2 characters: the start only, never "contains"
    assert waybills("100%") == [] and waybills("SF_0") == []  # wildcards are plain characters
    assert len(data.find_parcels(engine, "sf", limit=1)) == 1  # bounded


def test_sidebar_search_lists_several_matches_and_opens_one(board_db):
    _, ids = board_db
    at = login()
    at.text_input(key="search_text").input("No: SF10")
    next(b for b in at.button if b.label == "查询").click().run()
    assert not at.exception, at.exception
    assert "「SF10」匹配到 2 个包裹, 请选择" in [c.value for c in at.caption]
    links = {link.proto.label: link.proto.query_string for link in at.get("page_link") if "parcel" in link.proto.page}
    assert {label.split(" · ")[0] for label in links} == {"SF1001", "SF1004"}
    assert f"id={ids['parcels']['SF1004']}" in links[next(k for k in links if k.startswith("SF1004"))]

    at.text_input(key="search_text").input("'1004")
    next(b for b in at.button if b.label == "查询").click().run()
    assert not at.exception, at.exception
    assert at.title[0].value == "SF1004 · 顺丰速运"


@pytest.mark.parametrize(("waybill", "title"), [("sf1001", "SF1001 · 顺丰速运"), ("O-2002", "ZTO2002 · 中通快递")])
def test_deep_link_by_waybill_or_order(board_db, waybill, title):
    at = signed_in(page="views/parcel.py")
    at.query_params["waybill"] = waybill
    at.run()
    assert not at.exception, at.exception
    assert at.title[0].value == title


def test_a_click_on_a_queue_waybill_opens_its_parcel_and_ticks_still_work(board_db):
    _, ids = board_db
    at = signed_in(page="views/queue.py")
    at.run()
    table = next(d for d in at.dataframe if (d.key or "").startswith("queue_table_"))
    shown = list(table.value["运单号"])
    assert table.value.columns[0] == "运单号"  # the key column first
    row = shown.index("ZTO2002")
    at.session_state[table.key] = {"selection": {"rows": [], "columns": [], "cells": [[row, "运单号"]]}}
    at.run()
    assert not at.exception, at.exception
    assert at.title[0].value == "ZTO2002 · 中通快递"
    # back on the queue the table starts afresh (no second jump), and ticking a row is still a tick
    at.switch_page("views/queue.py").run()
    assert at.title[0].value == "异常队列"
    table = next(d for d in at.dataframe if (d.key or "").startswith("queue_table_"))
    at.session_state[table.key] = {"selection": {"rows": [row], "columns": [], "cells": []}}
    at.run()
    assert at.title[0].value == "异常队列"
    assert "已勾选 1 条" in [c.value for c in at.caption]
    assert any("联系买家确认拒收原因" in c.value for c in at.caption)  # the ticked row's next action, whole


def test_the_language_comes_from_the_url_stays_across_pages_and_rides_on_links(board_db, now):
    engine, _ = board_db
    seed_ageing(engine, now)
    at = login()
    at.query_params["lang"] = "en"
    at.run()
    assert at.title[0].value == "Overview"
    assert "en" in str(at.query_params["lang"])
    queue = [link for link in at.get("page_link") if "queue" in link.proto.page]
    assert queue and all("lang=en" in link.proto.query_string for link in queue)
    at.switch_page("views/claims.py").run()  # a page change clears the URL: the board puts it back
    assert at.title[0].value == "Claims ledger"
    assert "en" in str(at.query_params["lang"])
    at.selectbox(key="lang").select("zh").run()  # back to the default: the URL drops it
    assert at.title[0].value == "理赔台账"
    assert "lang" not in at.query_params


def test_an_unknown_language_in_the_url_is_named_and_ignored(board_db):
    at = login()
    at.query_params["lang"] = "fr"
    at.run()
    assert not at.exception
    assert at.title[0].value == "总览"
    assert any("lang=fr" in w.value for w in at.warning)


def test_next_deadlines_are_the_soonest_n_with_days_left(board_db, now):
    engine, ids = board_db
    from datetime import timedelta

    from tests.dashboard.seed import CLAIM

    with engine.begin() as conn:  # deadlines 20 and 40 days away: not "within 3 days", still the next ones
        for days, ctype in ((40, "late"), (20, "freight")):
            conn.execute(
                CLAIM.insert(),
                dict(
                    parcel_id=ids["parcels"]["SF1004"],
                    courier="sf",
                    claim_type=ctype,
                    state="draft",
                    amount=Decimal("10.00"),
                    formula="",
                    table_version="test",
                    filing_closes_at=now + timedelta(days=days),
                    created_at=now,
                    updated_at=now,
                ),
            )
    rows = data.deadlines(engine, now=now, tz="Asia/Shanghai", limit=2)
    assert [(r["waybill"], r["days_left"]) for r in rows] == [("SF1001", 2), ("SF1004", 20)]
    at = with_link_lists("ov_tab_claims")
    assert "最近的 10 个理赔截止(待提交, 最早截止在前)" in [h.value for h in at.subheader]
    lines = [link.proto.label for link in at.get("page_link") if "parcel" in link.proto.page]
    soonest = lines.pop(0)  # the headline's, under the claimable money, on every tab
    assert soonest == "待提交理赔最早截止: 剩 2 天 · SF1001"
    assert [re.search(r"剩 (\d+) 天", line).group(1) for line in lines] == ["2", "20", "40"]
    assert lines[1].startswith("剩 20 天 · SF1004 · ") and lines[1].endswith("¥10.00"), lines


def test_a_click_on_a_deadline_or_a_parcel_turning_stale_opens_the_parcel(board_db, now):
    engine, ids = board_db
    seed_ageing(engine, now)
    at = login()
    (link,) = [link.proto for link in at.get("page_link") if "parcel" in link.proto.page]
    assert link.label.startswith("待提交理赔最早截止: ") and link.label.endswith(" · SF1001")
    at = signed_in(page="views/parcel.py")  # where the link leads: its own query string
    at.query_params.update(dict(parse_qsl(link.query_string)))
    at.run()
    assert not at.exception, at.exception
    assert at.title[0].value == "SF1001 · 顺丰速运"

    at = signed_in(page="views/queue.py")
    at.query_params["turning_stale"] = "1"
    at.run()
    table = next(d for d in at.dataframe if (d.key or "").startswith("turning_"))
    at.session_state[table.key] = {"selection": {"rows": [], "columns": [], "cells": [[0, "运单号"]]}}
    at.run()
    assert at.title[0].value == "EMS03 · EMS"


def test_a_bad_search_parameter_is_named_and_ignored(board_db):
    at = signed_in(page="views/parcel.py")
    at.query_params["q"] = "SF\x00" + "1" * 300
    at.run()
    assert not at.exception
    assert len(at.warning) == 1 and at.warning[0].value.startswith("链接参数 q=")


def test_a_failing_search_is_one_line_and_the_page_is_drawn(board_db, monkeypatch):
    """The sidebar's search ran before the page's error handler: a database error in it reached Streamlit's own
    error box (a traceback under `streamlit run`). Now one line, and the page below it is drawn."""

    def broken(*_args, **_kw):
        raise RuntimeError("database is locked")

    monkeypatch.setitem(data.READS, "find_parcels", broken)
    at = login()
    at.text_input(key="search_text").input("SF1001")
    next(b for b in at.button if b.label == "查询").click().run()
    assert not at.exception, at.exception
    assert [e.value for e in at.error] == ["页面出错, 详情已记录到服务器日志"]
    assert at.title[0].value == "总览"  # the page itself
