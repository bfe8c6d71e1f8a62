"""A courier scorecard's claims filed and money recovered open the claims they count: the ledger filtered to
the courier and the period's shipping days lists as many filed claims, and its paid line is the money recovered
(they linked nowhere). The ledger names the scorecard's filters in words and offers every claim again."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

from tests.dashboard.seed import seed_ageing, seed_claims
from tests.dashboard.test_app import signed_in
from tests.dashboard.test_overview_counts import listed
from tests.dashboard.test_overview_money import ledger, ledger_rows
from tracker.domain import ParcelFacts
from tracker.storage.repo import upsert_parcels

FILED = re.compile(r"(.+)：已提交索赔 (\d+) 件")
RECOVERED = re.compile(r"(.+)：已追回 ¥([\d,]+\.\d\d)")


def test_a_scorecards_claims_open_the_claims_it_counts(board_db, now):
    engine, _ = board_db
    # a parcel shipped 40 days ago: its claims are another period's, in neither figure nor list
    upsert_parcels(engine, [ParcelFacts(courier="sf", waybill="SF9009", shipped_at=now - timedelta(days=40))], now=now)
    filed = now - timedelta(hours=30)
    seed_claims(
        engine,
        now,
        [
            ("SF1004", "sf", "goods_lost", "filed", "35.00", None, None, filed),
            ("ZTO2002", "zto", "goods_lost", "paid", "59.90", "50.00", None, filed),
            ("SF9009", "sf", "goods_lost", "paid", "20.00", "20.00", None, filed),
        ],
    )
    at = signed_in(page="views/scorecards.py")
    at.run()
    assert not at.exception, at.exception
    assert not at.get("page_link")  # folded: the couriers' lists are drawn only once opened
    at.session_state["s_lists"] = True
    at.run()
    links = [
        (link.proto.label, dict(parse_qsl(link.proto.query_string)))
        for link in at.get("page_link")
        if "claims" in link.proto.page
    ]
    filed_links = {p["courier"]: (m, p) for label, p in links if (m := FILED.fullmatch(label))}
    paid_links = {p["courier"]: (m, p) for label, p in links if (m := RECOVERED.fullmatch(label))}
    # couriers with claims filed or money back (yto: the seed's filed claim, nothing paid yet)
    assert set(filed_links) == set(paid_links) == {"sf", "yto", "zto"}, links
    assert filed_links["sf"][0].group(1) == "顺丰速运" and filed_links["sf"][0].group(2) == "1"
    assert paid_links["zto"][0].group(2) == "50.00" and paid_links["sf"][0].group(2) == "0.00"
    for courier, (match, params) in filed_links.items():
        assert params["filed"] == "1" and params["shipped_to"] == now.date().isoformat()
        rows = ledger_rows(ledger(params))
        assert len(rows) == int(match.group(2)), courier  # SF9009's paid claim is not among sf's
    for courier, (match, params) in paid_links.items():
        at = ledger(params)
        paid = Decimal(match.group(2).replace(",", ""))
        assert any(c.value.endswith(f"已赔付合计 ¥{paid:,.2f}") for c in at.caption), (courier, at.caption)
    # the ledger says what it lists, and how back to every claim
    at = ledger(filed_links["zto"][1])
    captions = [c.value for c in at.caption]
    start = (now - timedelta(days=30)).date().isoformat()
    assert (
        f"只列出：已向快递提交的索赔（之后无论结果如何）；发货日期 {start} 至 {now.date().isoformat()} 的包裹"
        in captions
    )
    back = [
        dict(parse_qsl(link.proto.query_string)) for link in at.get("page_link") if link.proto.label == "去掉这些条件"
    ]
    assert back == [{"courier": "zto"}]  # the scorecard's conditions dropped, the courier kept
    # folded, the fold counts its own filters (the courier), not the ones said above in words
    assert "已设 1 个筛选条件" in captions, captions


def test_a_wrong_scorecard_filter_in_the_url_is_named_and_dropped(board_db, now):
    at = signed_in(page="views/claims.py")
    at.query_params["shipped_from"] = "2026-13-45"
    at.query_params["filed"] = "yes"
    at.run()
    assert not at.exception, at.exception
    warnings = [w.value for w in at.warning]
    assert any("shipped\\_from" in w and "应为 1900 到 9998 年间的日期" in w for w in warnings), warnings
    assert any("filed" in w for w in warnings), warnings
    # a day a shipping time cannot have (its next midnight overflowed: the page failed), and days run backwards
    for params, bad in (
        ({"shipped_to": "9999-12-31"}, "shipped\\_to"),
        ({"shipped_from": "0001-01-01"}, "shipped\\_from"),
        ({"shipped_from": "2026-11-30", "shipped_to": "2026-11-01"}, "早于起始日期"),
    ):
        at = signed_in(page="views/claims.py")
        for key, value in params.items():
            at.query_params[key] = value
        at.run()
        assert not at.exception, at.exception
        assert any(bad in w.value for w in at.warning), (params, [w.value for w in at.warning])


def test_a_ledger_link_to_a_parcel_that_is_not_there_says_so(board_db, now):
    at = signed_in(page="views/claims.py")
    at.query_params["parcel"] = "987654"
    at.run()
    assert not at.exception, at.exception
    assert "只列出：编号 987654 的包裹 (没有这个包裹)" in [c.value for c in at.caption]
    at = signed_in(page="views/claims.py")
    at.query_params["parcel"] = "１２"  # full-width digits: named and dropped
    at.run()
    assert any("parcel" in w.value for w in at.warning), [w.value for w in at.warning]


SCORECARD_NUMBER = re.compile(r"(.+)：(?:包裹|快递环节出过异常|超时未更新|.+) ([\d,]+) 件")


def test_a_scorecards_parcels_exceptions_and_stale_share_open_the_parcels_they_count(board_db, now):
    """Its parcels, those with an exception (any state: a resolved flag counts), the stale ones and a kind's
    (from the fold) open the queue's list of those parcels, as many as the number says (they opened nothing)."""
    engine, _ = board_db
    seed_ageing(engine, now)
    at = signed_in(page="views/scorecards.py")
    at.session_state["s_lists"] = True  # the fold of the couriers' lists, open
    at.run()
    assert not at.exception, at.exception
    links = [
        (link.proto.label, dict(parse_qsl(link.proto.query_string)))
        for link in at.get("page_link")
        if "queue" in link.proto.page
    ]
    by_list: dict[str, list] = {}
    for label, params in links:
        match = SCORECARD_NUMBER.fullmatch(label)
        assert match, label
        by_list.setdefault(params["shipped"] + ("." + params["kind"] if "kind" in params else ""), []).append(
            (int(match.group(2).replace(",", "")), params)
        )
        assert params["shipped_to"] == now.astimezone(ZoneInfo("Asia/Shanghai")).date().isoformat()
    # every courier's parcels; the exceptions and stale parcels of those that have them; a kind of each sort
    # the courier counts (a time rule, a status rule); not the buyer's address problem (docs/domain.md)
    assert {"all", "flagged", "stale", "flagged.stale", "flagged.stranded"} <= set(by_list), sorted(by_list)
    assert "flagged.address_problem" not in by_list
    ems = {p["courier"]: n for n, p in by_list["all"]}["ems"]
    assert ems == 8  # the seed's EMS parcels
    for number, params in (item for items in by_list.values() for item in items):
        assert listed("views/queue.py", params) == number, params
    # the list says what it counts, in words
    at = signed_in(page="views/queue.py")
    for key, value in next(p for _, p in by_list["flagged"] if p["courier"] == "ems").items():
        at.query_params[key] = value
    at.run()
    assert [s.value for s in at.subheader] == ["快递环节出过异常的包裹"]
    captions = [c.value for c in at.caption]
    assert any(c.startswith("只列出：快递：EMS；发货日期 ") for c in captions), captions
    assert any("异常现在是否已解决都算" in c for c in captions), captions


def test_a_scorecard_list_names_what_it_does_not_apply(board_db, now):
    at = signed_in(page="views/queue.py")
    for key, value in {"shipped": "stale", "kind": "lost", "assignee": "王芳", "shipped_from": "2026-02-30"}.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, at.exception
    warnings = [w.value for w in at.warning]
    assert len(warnings) == 3, warnings
    assert any("kind" in w and "此列表不按它筛选" in w for w in warnings), warnings
    assert any("assignee" in w and "此列表不按它筛选" in w for w in warnings), warnings
    assert any("shipped\\_from" in w for w in warnings), warnings
    assert [s.value for s in at.subheader] == ["现在超时未更新的包裹"]


def test_a_scorecard_list_names_not_shipped_as_no_courier_of_its_own(board_db, now):
    """未发货 (courier=-) is a choice of the queue's courier filter while an order waits, never a courier of a list of
    shipped parcels: named as a wrong value there (it listed nothing, said nothing)."""
    from tracker.domain import AWAITING_COURIER, awaiting_waybill

    engine, _ = board_db
    waiting = ParcelFacts(courier=AWAITING_COURIER, waybill=awaiting_waybill("4101"), order_id="4101")
    upsert_parcels(engine, [waiting], now=now)
    at = signed_in(page="views/queue.py")
    at.query_params["shipped"] = "all"
    at.query_params["courier"] = "-"
    at.run()
    assert not at.exception, at.exception
    assert any("courier" in w.value and "-" in w.value for w in at.warning), [w.value for w in at.warning]


def test_the_ledger_offers_not_shipped_while_a_claim_has_no_courier(board_db, now):
    """A 发货延迟 claim of an order that never shipped (closed before it did) keeps no courier: the ledger's filter
    offers 未发货 for it, whether or not an order still waits, and lists it."""
    from dashboard import data
    from tracker.domain import AWAITING_COURIER, awaiting_waybill

    engine, _ = board_db
    assert not data.claims_without_courier(engine)
    closed = ParcelFacts(courier=AWAITING_COURIER, waybill=awaiting_waybill("4101"), order_id="4101")
    upsert_parcels(engine, [closed], now=now)
    seed_claims(engine, now, [(awaiting_waybill("4101"), AWAITING_COURIER, "ship_delay", "draft", "10.00", None, 20)])
    assert data.claims_without_courier(engine)
    at = signed_in(page="views/claims.py")
    at.query_params["courier"] = data.NO_COURIER
    at.run()
    assert not at.exception and not at.warning, (at.exception, [w.value for w in at.warning])
    assert len(ledger_rows(at)) == 1
