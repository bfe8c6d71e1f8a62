"""Money at a glance (issue 15 item 6): the overview's claimable, filed, paid and rejected money per courier,
each number linking to the ledger filtered to that courier and state, equals, exactly, the sum of the rows that
ledger lists; the ledger searches by waybill, order or reference and filters by courier, type, state, deadline."""

from __future__ import annotations

import re
from decimal import Decimal
from urllib.parse import parse_qsl

import pandas as pd
import pytest

from dashboard import data
from tests.dashboard.seed import seed_ageing, seed_claims
from tests.dashboard.test_app import signed_in
from tests.dashboard.test_overview_counts import with_link_lists
from tracker.settings import PROJECT_ROOT, load_settings

MONEY = re.compile(r"[^:]+: ¥([\d,]+\.\d\d) · (\d+) 件理赔")  # courier: money · claims


@pytest.fixture
def money_board(board_db, now):
    """Claims in every state for three couriers; paid short of the amount, one expired draft (not claimable),
    one needs_config (not claimable), one draft whose window closed yesterday (seed_ageing, not claimable)."""
    engine, ids = board_db
    more = seed_ageing(engine, now)
    rows = [
        ("EMS01", "ems", "goods_lost", "draft", "1234.50", None, 5),
        ("EMS02", "ems", "goods_lost", "filed", "300.00", None, 30),
        ("EMS03", "ems", "goods_lost", "paid", "88.00", "80.00", None),
        ("EMS04", "ems", "freight", "paid", "12.00", "12.00", None),
        ("EMS05", "ems", "goods_lost", "rejected", "45.00", None, None),
        ("ZTO11", "zto", "goods_lost", "draft", "50.00", None, 40),
        ("ZTO12", "zto", "goods_lost", "needs_config", None, None, 10),
        ("ZTO13", "zto", "goods_lost", "expired", "70.00", None, -2),
        ("ZTO2002", "zto", "freight", "rejected", "8.50", None, None),
    ]
    seed_claims(engine, now, rows)
    return engine, ids, more


def ledger(params: dict[str, str]):
    at = signed_in(page="views/claims.py")
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, at.exception
    assert not at.warning, [w.value for w in at.warning]  # no parameter of ours is refused
    return at


def ledger_rows(at):
    table = next(d for d in at.dataframe if (d.key or "").startswith("claims_table_")).value
    counts = [m for c in at.caption if (m := re.fullmatch(r"共 (\d+) 条 · \d+/\d+", c.value))]
    assert len(counts) == 1 and int(counts[0].group(1)) == len(table)  # one page holds them all here
    return table


def total(column) -> Decimal:
    """The money column's sum: its cells are numbers (shown as ¥1,234.50), an empty one a missing value."""
    return sum((Decimal(f"{v:.2f}") for v in column if v == v and v is not pd.NA), Decimal(0))


def test_every_money_number_is_the_sum_of_the_ledger_rows_it_opens(money_board):
    at = with_link_lists("ov_tab_claims")  # the money per courier is the last tab's
    assert not at.exception, at.exception
    assert "理赔金额, 按快递" in [h.value for h in at.subheader]
    links = [
        (link.proto.label, dict(parse_qsl(link.proto.query_string)))
        for link in at.get("page_link")
        if "claims" in link.proto.page and "courier=" in link.proto.query_string  # the tab's, not the metric's
    ]
    found = {(p["courier"], p["state"]): MONEY.fullmatch(label) for label, p in links}
    assert all(found.values()), links
    couriers = load_settings(PROJECT_ROOT / "config").couriers
    for label, p in links:  # each line names its courier as a lead knows it
        assert label.startswith(couriers[p["courier"]].name + ": "), label
    # every courier and state that has money has its link; nothing else has one
    assert set(found) == {
        ("sf", "claimable"),
        ("yto", "filed"),
        ("ems", "claimable"),
        ("ems", "filed"),
        ("ems", "paid"),
        ("ems", "rejected"),
        ("zto", "claimable"),
        ("zto", "rejected"),
    }
    for (courier, state), match in found.items():
        shown, n = Decimal(match.group(1).replace(",", "")), int(match.group(2))
        rows = ledger_rows(ledger({"courier": courier, "state": state}))
        assert len(rows) == n, (courier, state)
        column = "赔付金额" if state == "paid" else "金额"
        assert total(rows[column]) == shown, (courier, state)
    # the money a lead reads: claimable excludes the expired, the needs_config and the closed-window drafts
    assert found["ems", "claimable"].group(1) == "1,234.50"
    assert found["ems", "paid"].group(1) == "92.00"  # paid out, not claimed (88 + 12 claimed)
    assert found["zto", "claimable"].group(1) == "50.00"
    # and the headline claimable money is the sum of the couriers' claimable money
    metric = next(m for m in at.metric if m.label.startswith("可索赔金额"))
    claimable = sum(Decimal(m.group(1).replace(",", "")) for (_, s), m in found.items() if s == "claimable")
    assert metric.value == f"¥{claimable:,.2f}"


def test_the_ledger_total_line_is_the_whole_filtered_set(money_board):
    at = ledger({"courier": "ems", "state": "paid"})
    assert "索赔金额合计 ¥100.00 · 已赔付合计 ¥92.00" in [c.value for c in at.caption]


@pytest.mark.parametrize(
    ("params", "waybills"),
    [
        ({"text": "REF-EMS0"}, {"EMS02", "EMS03", "EMS04", "EMS05"}),  # reference, its start
        ({"text": "No: ems03"}, {"EMS03"}),  # waybill, label stripped
        ({"text": "'O-ZTO11"}, {"ZTO11"}),  # order number, Excel's ' stripped
        ({"text": "2002"}, {"ZTO2002"}),  # the end of a waybill
        ({"courier": "zto", "claim_type": "freight"}, {"ZTO2002"}),
        ({"state": "needs_config"}, {"ZTO12"}),
        ({"closes_within_days": "7"}, {"SF1001", "EMS01"}),  # still to file, closing within 7 days
        ({"closes_within_days": "10", "courier": "zto"}, {"ZTO12"}),
    ],
)
def test_ledger_search_and_filters(money_board, params, waybills):
    at = ledger(params)
    assert set(ledger_rows(at)["运单号"]) == waybills


def test_ledger_filters_are_mirrored_in_the_url_and_a_bad_one_is_named(money_board):
    at = ledger({})
    at.session_state["c_filters"] = True  # the folded filters opened: their widgets are drawn then
    at.run()
    at.selectbox(key="c_courier").select("ems").run()
    assert "ems" in str(at.query_params["courier"])
    at = signed_in(page="views/claims.py")
    at.query_params["state"] = "lost_in_space"
    at.query_params["closes_within_days"] = "-1"
    at.run()
    assert not at.exception
    warned = " ".join(w.value for w in at.warning).replace("\\", "")  # Markdown-escaped on the page
    assert "state=lost_in_space" in warned and "closes_within_days=-1" in warned


def test_money_by_courier_counts_in_sql_as_the_ledger_filters(money_board, now):
    engine, _, _ = money_board
    for r in data.money_by_courier(engine, now=now):
        for name, (state, column) in data.MONEY_STATES.items():
            f = data.LedgerFilter(courier=r["courier"], state=state)
            rows = data.claims_page(engine, f=f, now=now, limit=500)
            assert len(rows) == r[f"{name}_n"] == data.claims_count(engine, f=f, now=now)
            assert sum((x[column] or Decimal(0) for x in rows), Decimal(0)) == r[name]


def test_the_claims_closing_soon_are_counted_and_linked_to_their_ledger_list(board_db, now):
    """Under the claimable money: the claims still to file whose window closes within contracts.toml's
    closing_soon_days (3), as a link to the ledger filtered so; its number is the ledger's row count."""
    engine, _ = board_db
    seed_ageing(engine, now)  # with a draft whose window closed yesterday: not counted
    rows = [  # the seed's SF1001 draft closes in 2 days
        ("EMS01", "ems", "goods_lost", "draft", "10.00", None, 1),
        ("EMS02", "ems", "goods_lost", "needs_config", None, None, 3),  # on the day: within
        ("EMS03", "ems", "goods_lost", "draft", "30.00", None, 4),  # later
        ("EMS04", "ems", "goods_lost", "filed", "40.00", None, 1),  # filed: nothing to do
        ("EMS05", "ems", "goods_lost", "expired", "50.00", None, 1),
    ]
    seed_claims(engine, now, rows)
    at = signed_in().run()
    assert not at.exception, at.exception
    (link,) = [link.proto for link in at.get("page_link") if "closes_within_days" in link.proto.query_string]
    assert link.label == "3 件理赔 3 天内截止, 待提交"
    assert dict(parse_qsl(link.query_string)) == {"closes_within_days": "3"}
    table = ledger_rows(ledger({"closes_within_days": "3"}))
    assert sorted(table["运单号"]) == ["EMS01", "EMS02", "SF1001"]
    # the claims the money leaves out until their inputs are given: a link to them, its number the ledger's rows
    (lacking,) = [link.proto for link in at.get("page_link") if "needs_config" in link.proto.query_string]
    assert lacking.label == "1 件理赔缺参数, 补充后可索赔"
    assert sorted(ledger_rows(ledger(dict(parse_qsl(lacking.query_string))))["运单号"]) == ["EMS02"]


def test_a_claim_to_file_without_a_window_says_its_deadline_is_unknown(board_db, now):
    """A courier claim drafted for a parcel with no order or release time has no window: the ledger says the
    deadline is unknown, not a blank cell. A filed claim and 大运险 (which has no window) stay blank."""
    engine, _ = board_db
    seed_ageing(engine, now)
    rows = [
        ("EMS01", "ems", "goods_lost", "draft", "10.00", None, None),
        ("EMS02", "ems", "goods_lost", "needs_config", None, None, None),
        ("EMS03", "ems", "goods_lost", "filed", "30.00", None, None),
        ("EMS04", "ems", "freight_insurance", "draft", "40.00", None, None),
    ]
    seed_claims(engine, now, rows)
    table = ledger_rows(ledger({"courier": "ems"}))
    window = dict(zip(table["运单号"], table["申请期限"], strict=True))
    unknown = "未知: 缺少下单/下发时间, 请核对快递的理赔期限 (导入订单后, 下次生成理赔时补定)"
    assert {w: window[w] for w in ("EMS01", "EMS02", "EMS03", "EMS04")} == {
        "EMS01": unknown,
        "EMS02": unknown,
        "EMS03": "",
        "EMS04": "",
    }
    assert window["EMS06"].endswith(" ~ 2026-11-22 12:00")  # seed_ageing's draft: a window, shown as ever


def test_each_state_figure_above_the_ledger_equals_the_list_its_filter_opens(money_board, now):
    """The figures per state count a draft whose filing window has closed as expired (read at now); the
    state filter, the rows' state and the command line's list read it the same way, before the daily
    `claims propose` stores it so."""
    engine, _, _ = money_board
    figures = {r["state"]: r["n"] for r in data.claims_by_state(engine, now=now)}
    assert figures["expired"] >= 2  # ZTO13, stored so, and seed_ageing's draft closed yesterday, read so
    for state, n in figures.items():
        f = data.LedgerFilter(state=state)
        rows = data.claims_page(engine, f=f, now=now, limit=500)
        assert len(rows) == n == data.claims_count(engine, f=f, now=now), state
        assert {r["state"] for r in rows} == {state}
    from claims import service

    listed = service.list_claims(engine, state="expired", now=now)
    assert len(listed) == figures["expired"] and {r["state"] for r in listed} == {"expired"}
