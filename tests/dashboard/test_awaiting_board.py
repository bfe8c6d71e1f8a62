"""An order paid and awaiting shipment, on the board: its 延迟发货 in the queue under 未发货 with the order number
in the waybill's place, its page saying what it is (no tracking asked, no subscription line; its 发货延迟 claim
offered) without failing."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from tests.dashboard.test_app import signed_in
from tests.dashboard.test_overview_counts import queue_links, queue_rows, with_link_lists
from tests.dashboard.test_queue import open_queue
from tracker.domain import AWAITING_COURIER, ParcelFacts, awaiting_waybill
from tracker.flags import evaluate_all
from tracker.settings import load_settings
from tracker.storage.repo import upsert_parcels
from tracker.storage.tables import PARCEL


def test_an_order_awaiting_shipment_reads_as_one_on_the_board(board_db, board_config, now):
    engine, _ = board_db
    waiting = ParcelFacts(
        courier=AWAITING_COURIER,
        waybill=awaiting_waybill("4101"),
        order_id="4101",
        shop="旗舰店",
        paid_at=now - timedelta(days=4),
        goods_value=Decimal("200.00"),
    )
    upsert_parcels(engine, [waiting], now=now)
    with engine.connect() as conn:
        pid = conn.execute(select(PARCEL.c.id).where(PARCEL.c.waybill == waiting.waybill)).scalar_one()
    evaluate_all(engine, now=now, settings=load_settings(board_config), parcel_ids=[pid])
    frame = open_queue(kind="late_shipment").dataframe[0].value
    assert list(frame["运单号"]) == ["订单4101"] and list(frame["快递"]) == ["未发货"]
    at = signed_in(page="views/parcel.py")
    at.query_params["id"] = str(pid)
    at.run()
    assert not at.exception, at.exception
    assert at.title[0].value == "订单4101 · 未发货"
    assert any("等待发货的订单：还没有运单号，不查询物流" in i.value for i in at.info), [i.value for i in at.info]
    facts = at.dataframe[0].value
    assert "推送订阅" not in list(facts.iloc[:, 0]), list(facts.iloc[:, 0])
    # an alert's link names it by its place of a waybill: found by the order number, before and after it ships
    by_name = signed_in(page="views/parcel.py")
    by_name.query_params["waybill"] = "订单4101"
    assert by_name.run().title[0].value == "订单4101 · 未发货"
    # the warehouse's 发货延迟 compensation (seed 002) is the order's, shipped or not: offered to a person
    assert "**可发起的理赔(金额按理赔表计算)**" in [m.value for m in at.markdown]
    assert not at.error, [e.value for e in at.error]
    upsert_parcels(engine, [ParcelFacts(courier="yto", waybill="YT7512345670101", order_id="4101")], now=now)
    by_name = signed_in(page="views/parcel.py")
    by_name.query_params["waybill"] = "订单4101"
    assert by_name.run().title[0].value == "YT7512345670101 · 圆通速递"  # the same parcel, shipped


def test_the_overviews_count_of_orders_not_shipped_opens_exactly_them(board_db, board_config, now):
    """未发货 is a courier of the overview's open exceptions like the others: its number opens the queue filtered
    to the orders awaiting their parcel (a URL cannot say an empty courier: ?courier=-), not the whole queue."""
    engine, _ = board_db
    waiting = [
        ParcelFacts(courier=AWAITING_COURIER, waybill=awaiting_waybill(o), order_id=o, paid_at=now - timedelta(days=4))
        for o in ("4101", "4102")
    ]
    upsert_parcels(engine, waiting, now=now)
    with engine.connect() as conn:
        ids = list(conn.execute(select(PARCEL.c.id).where(PARCEL.c.courier == AWAITING_COURIER)).scalars())
    evaluate_all(engine, now=now, settings=load_settings(board_config), parcel_ids=ids)
    at = with_link_lists("ov_tab_couriers")
    assert not at.exception, at.exception
    links = dict(queue_links(at))
    params = links["未发货: **2**"]
    assert params["courier"] == "-"
    assert queue_rows(params) == 2
    frame = open_queue(**params).dataframe[0].value
    assert set(frame["运单号"]) == {"订单4101", "订单4102"}
    # the ledger's courier filter reads it the same way
    at = signed_in(page="views/claims.py")
    at.query_params["courier"] = "-"
    at.run()
    assert not at.exception and not at.warning, [w.value for w in at.warning]
