"""What the read-only views show, the language switch, the sidebar search and open localhost mode."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from streamlit.testing.v1 import AppTest

from tests.dashboard.conftest import APP
from tests.dashboard.seed import ALERT, seed_ageing
from tests.dashboard.test_app import login, signed_in
from tests.dashboard.test_overview_counts import LINK_FOLDS, TAB_KEY, every_tab


def test_overview_links_numbers_to_the_filtered_queue(board_db):
    shown = [link for at in every_tab() for link in at.get("page_link")]
    labels = [link.label for link in shown]
    assert "物流不更新: **1**" in labels
    assert "顺丰速运: **2**" in labels  # couriers by name, linked by slug
    links = {link.label: link.proto.query_string for link in shown}
    assert links["物流不更新: **1**"] == "kind=stale"
    assert links["顺丰速运: **2**"] == "courier=sf"


def test_sidebar_search_opens_the_parcel_page_by_order_number(board_db):
    at = login()
    at.sidebar.text_input(key="search_text").input("O-1001")
    at.sidebar.button[0].click().run()
    assert not at.exception
    assert at.title[0].value == "SF1001 · 顺丰速运"  # the courier as people say it, not its slug
    timeline = at.dataframe[1].value  # facts, then the timeline (no manual facts recorded)
    assert "【杭州转运中心】已发出" in list(timeline["快递描述"])


def test_sidebar_search_for_an_unknown_waybill_warns(board_db):
    at = login()
    at.sidebar.text_input(key="search_text").input("NOPE1")
    at.sidebar.button[0].click().run()
    assert at.sidebar.warning[0].value == "没有找到「NOPE1」的包裹"  # what was looked for, named


def test_parcel_page_shows_times_in_the_configured_zone(board_db):
    at = signed_in(page="views/parcel.py")
    at.query_params["id"] = "1"
    at.run()
    # SF1001's last event: 90 h before 2026-11-23 04:00 UTC = 2026-11-19 10:00 UTC = 18:00 Shanghai
    facts = at.dataframe[0].value
    assert "2026-11-19 18:00" in list(facts["内容"])


def test_parcel_page_lists_the_buyers_who_gave_a_shared_return_waybill(board_db):
    from tracker.domain import ParcelFacts
    from tracker.status import Direction
    from tracker.storage.repo import upsert_parcels

    engine, _ = board_db
    now = datetime(2026, 11, 22, tzinfo=UTC)
    returned = ParcelFacts(
        courier="zto", waybill="73100000009999", direction=Direction.ret, buyer_id="tb_qian", order_id="O-2002"
    )
    upsert_parcels(engine, [returned], now=now, return_buyers={("zto", "73100000009999"): {"tb_zhao": "O-2001"}})
    at = login()
    at.sidebar.text_input(key="search_text").input("73100000009999")
    at.sidebar.button[0].click().run()
    assert not at.exception
    assert "同一退货单号的买家" in [h.value for h in at.subheader]
    buyers = at.dataframe[1].value
    assert sorted(zip(buyers["买家"], buyers["订单号"], strict=True)) == [("tb_qian", "O-2002"), ("tb_zhao", "O-2001")]


def test_english_labels_after_switching_language(board_db):
    at = login()
    at.sidebar.selectbox(key="lang").select("en").run()
    assert at.title[0].value == "Overview"
    assert "Open exceptions" in [m.label for m in at.metric]
    for key in LINK_FOLDS:  # a fold's label is its identity: in another language it is a new fold, closed
        at.session_state[key] = True
    assert "Stale: **1**" in [link.label for link in at.run().get("page_link")]


def test_a_chosen_overview_tab_survives_switching_language(board_db):
    at = login()
    at.session_state[TAB_KEY] = "时效与趋势"
    at.run()
    assert "未处理异常(条), 按包裹距上次更新的小时数" in [h.value for h in at.subheader]
    at.sidebar.selectbox(key="lang").select("en").run()
    assert not at.exception, at.exception
    assert [tab.label for tab in at.tabs][:1] == ["By kind"]
    assert "Open exceptions by hours since the parcel's last update" in [h.value for h in at.subheader]


def test_alerts_log_shows_failed_delivery_with_its_error(board_db, now):
    """A failed alert with its error; one retried with the morning's digest, and one out of attempts, say so; a
    waiting one says when it goes next (in Shanghai time), a sent or given-up one nothing."""
    engine, ids = board_db
    morning = now + timedelta(hours=3)
    with engine.begin() as conn:
        for key, attempts, held in (("held-retry", 1, True), ("gave-up", 10, False)):
            conn.execute(
                ALERT.insert().values(
                    parcel_id=ids["parcels"]["SF1001"], dedupe_key=key, channel="board", recipient="客服组",
                    level="warn", subject="[物流不更新] SF1001", state="failed", attempts=attempts, held=held,
                    created_at=now, due_at=morning, error="timeout",
                )
            )  # fmt: skip
    at = signed_in(page="views/alerts.py")
    at.run()
    table = at.dataframe[0].value
    assert list(table["状态"]) == ["已放弃 (重试次数用完)", "失败, 将随下一次暂缓汇总重发", "失败", "已发送"]
    assert "SMTP 550 mailbox unavailable" in list(table["错误"])
    goes = list(table["计划发送"])
    assert goes[0] == "" and goes[1] == morning.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M")
    assert goes[3] == ""  # sent


def test_scorecards_show_each_courier(board_db):
    at = signed_in(page="views/scorecards.py")
    at.run()
    table = at.dataframe[0].value
    assert set(table["快递"]) == {"顺丰速运", "圆通速递", "中通快递"}  # by name, never the slug
    # rates and money are numbers, sorted by value on a header click: 100.0 shown 100.0%, money shown ¥…
    sf = table[table["快递"] == "顺丰速运"].iloc[0]
    assert sf["异常率(快递环节出过异常的包裹÷发货包裹)"] == 100.0 and sf["超时未更新率"] == 50.0
    shown = json.loads(at.dataframe[0].proto.columns)
    assert shown["超时未更新率"]["type_config"] == {"type": "number", "format": "%.1f%%"}
    assert shown["已追回金额"]["type_config"] == {"type": "number", "format": "¥%,.2f"}
    # the median transit in hours, a number, as the queue's ages (as text, 10天 came before 3天)
    assert shown["中位运输时长"]["type_config"] == {"type": "number", "format": "%d 小时"}
    assert str(table["中位运输时长"].dtype) == "Int64"


def test_scorecards_period_is_chosen_in_the_fold_and_kept_when_it_is_folded(board_db, now):
    at = signed_in(page="views/scorecards.py")
    at.run()
    assert not at.get("date_input")  # folded: the dates are drawn once it is opened
    assert int(at.dataframe[0].value["包裹数"].sum()) > 0  # the last 30 days
    at.session_state["s_filters"] = True
    at.run()
    later = (now + timedelta(days=1)).astimezone(ZoneInfo("Asia/Shanghai")).date()
    at.date_input(key="s_from").set_value(later)
    at.session_state["s_filters"] = True
    at.run()
    assert not at.exception, at.exception
    assert not at.dataframe or int(at.dataframe[0].value["包裹数"].sum()) == 0  # nothing shipped after today
    at.session_state["s_filters"] = False
    at.run()
    assert not at.exception, at.exception
    assert not at.dataframe or int(at.dataframe[0].value["包裹数"].sum()) == 0  # folded: the period holds


def test_scorecards_list_the_busiest_courier_first(board_db, now):
    seed_ageing(board_db[0], now)  # more ZTO and EMS parcels: the busiest couriers are not first by code
    at = signed_in(page="views/scorecards.py")
    at.run()
    table = at.dataframe[0].value
    shipped = [int(n) for n in table["包裹数"]]
    assert shipped == sorted(shipped, reverse=True) and shipped[0] > shipped[-1]


def test_open_localhost_needs_no_login(board_db, board_config):
    path = board_config / "board.toml"
    path.write_text(path.read_text(encoding="utf-8").replace("open_localhost = false", "open_localhost = true"))
    at = AppTest.from_file(APP, default_timeout=30).run()
    assert not at.exception
    assert at.title[0].value == "总览"
    assert at.session_state["user"] == "local"


@pytest.mark.parametrize("view", ["views/queue.py", "views/claims.py"])
def test_views_ask_for_login_first(board_db, view):
    at = AppTest.from_file(APP, default_timeout=30).run()
    assert at.button[0].label == "登录"
    assert at.title[0].value == "物流异常看板"


def test_overview_shows_polling_progress_and_a_paused_provider(board_db, now):
    from datetime import timedelta

    from tracker.leases import lease_due
    from tracker.shared_limits import pause_provider

    engine, _ = board_db
    leased = lease_due(engine, couriers=["sf", "zto", "yto"], now=now, limit=1, owner="host-a:1", lease_seconds=600)
    pause_provider(engine, "kdniao", until=now + timedelta(minutes=5), reason="HTTP 502", by="host-a:1")
    at = login()
    assert not at.exception
    line = next(c.value for c in at.caption if c.value.startswith("查询进度"))
    assert f"正在查询 {len(leased)} 个(工作进程 1 个)" in line
    assert any(w.value.startswith("快递鸟 暂停查询至 ") for w in at.warning)  # the provider by name


def test_overview_shows_todays_quota_and_the_parcel_page_its_push_subscription(board_db, now):
    from collections import Counter

    from sqlalchemy import insert

    from tracker.storage.rows import SubscriptionRow
    from tracker.subscriptions import record_spent

    engine, ids = board_db
    record_spent(engine, "kuaidi100", Counter(query=120, subscribe=40), now=now, tz=ZoneInfo("Asia/Shanghai"))
    parcel_id = ids["parcels"]["SF1001"]
    with engine.begin() as conn:
        conn.execute(
            insert(SubscriptionRow.__table__).values(
                parcel_id=parcel_id,
                provider="kuaidi100",
                courier="sf",
                state="aborted",
                attempts=1,
                resubscribes=1,
                message="3天查询无记录",
                updated_at=now,
            )
        )
    at = login()
    assert not at.exception
    line = next(c.value for c in at.caption if c.value.startswith("今日额度"))
    assert line == "今日额度：快递100 查询 120 / 订阅 40 · 推送订阅：快递100 已中止推送 1"
    at.query_params["id"] = str(parcel_id)
    at.switch_page("views/parcel.py").run()
    facts = at.dataframe[0].value
    assert "已停止推送（3天查询无记录），改为定时查询" in list(facts["内容"])


def test_a_parcels_claims_lead_to_the_ledger_where_they_are_worked(board_db, now):
    """The parcel page lists its claims but files, pays and withdraws none: a link opens the ledger at them,
    exactly them (its waybill searched also found SF10012's, whose number it starts)."""
    from urllib.parse import parse_qsl

    from tests.dashboard.seed import seed_claims
    from tests.dashboard.test_overview_money import ledger, ledger_rows
    from tracker.domain import ParcelFacts
    from tracker.storage.repo import upsert_parcels

    engine, ids = board_db
    upsert_parcels(engine, [ParcelFacts(courier="sf", waybill="SF10012", shipped_at=now)], now=now)
    seed_claims(engine, now, [("SF10012", "sf", "goods_lost", "draft", "10.00", None, 5)])
    at = signed_in(page="views/parcel.py")
    at.query_params["id"] = str(ids["parcels"]["SF1001"])
    at.run()
    assert not at.exception, at.exception
    links = [(link.proto.label, dict(parse_qsl(link.proto.query_string))) for link in at.get("page_link")]
    ledger_links = [(label, params) for label, params in links if label.startswith("在理赔台账中处理")]
    assert len(ledger_links) == 1 and ledger_links[0][1] == {"parcel": str(ids["parcels"]["SF1001"])}, links
    label, params = ledger_links[0]
    opened = ledger(params)
    assert len(ledger_rows(opened)) == int(label.split("这 ")[1].split(" 件")[0]) == 1  # SF10012's is not among them
    assert "只列出：顺丰速运 SF1001 这个包裹的索赔" in [c.value for c in opened.caption]


def test_the_claims_confirmation_names_an_amount_it_does_not_know(board_db, monkeypatch):
    """Two claims to open, one lacking an input: the confirmation's total says one amount is not in it (it read as
    if the unknown one were 0)."""
    from dashboard import actions

    proposed = [
        {"claim_type": "goods_lost", "amount": Decimal("199.00"), "formula": "", "missing": "",
         "filing_opens_at": None, "filing_closes_at": None},
        {"claim_type": "freight", "amount": None, "formula": "", "missing": "forward_freight",
         "filing_opens_at": None, "filing_closes_at": None},
    ]  # fmt: skip
    monkeypatch.setattr(actions, "preview_claims", lambda b, pid: proposed)
    at = signed_in(page="views/parcel.py")
    at.query_params["id"] = "1"
    at.run()
    next(button for button in at.button if button.label == "发起理赔").click().run()
    assert not at.exception, at.exception
    assert "确认为运单 SF1001 发起 2 件理赔, 合计 ¥199.00 (另有 1 件金额未知, 未计入)" in [w.value for w in at.warning]


def test_a_parcels_amounts_in_another_currency_name_it(board_db):
    """¥ is CNY's sign: a Tmall Global parcel's goods value in HKD reads 199.00 HKD on its page, not ¥199.00."""
    from tracker.storage.tables import PARCEL

    engine, ids = board_db
    with engine.begin() as conn:
        conn.execute(PARCEL.update().where(PARCEL.c.id == ids["parcels"]["SF1001"]).values(currency="HKD"))
    at = signed_in(page="views/parcel.py")
    at.query_params["id"] = str(ids["parcels"]["SF1001"])
    at.run()
    facts = at.dataframe[0].value
    shown = dict(zip(facts["项目"], facts["内容"], strict=True))
    assert shown["货值"].endswith(" HKD") and "¥" not in shown["货值"], shown


def test_the_parcel_page_says_an_alerts_state_as_the_alert_log_does(board_db):
    """A failed alert out of attempts reads 已放弃 on its parcel's page as in the alert log (it read 失败 there)."""
    from sqlalchemy import update

    from tracker.settings import load_settings

    engine, ids = board_db
    attempts = load_settings().alerts.max_attempts
    with engine.begin() as conn:  # the seed's failed alert on SF1001, out of attempts
        conn.execute(update(ALERT).where(ALERT.c.state == "failed").values(attempts=attempts))
    at = signed_in(page="views/parcel.py")
    at.query_params["id"] = str(ids["parcels"]["SF1001"])
    at.run()
    assert not at.exception, at.exception
    alerts = next(d.value for d in at.dataframe if "渠道" in d.value and "计划发送" in d.value)
    assert list(alerts["状态"]) == ["已放弃 (重试次数用完)"], alerts
    log = signed_in(page="views/alerts.py")
    log.run()
    table = next(d.value for d in log.dataframe if "状态" in d.value)
    assert dict(zip(table["运单号"], table["状态"], strict=True))["SF1001"] == "已放弃 (重试次数用完)"
