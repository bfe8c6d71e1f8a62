"""Ingest: parsed replies -> stored events and parcel snapshots, on SQLite and PostgreSQL."""

from __future__ import annotations

import gc
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, func, select

from tracker.domain import ParcelFacts, TrackingEvent
from tracker.ingest import ingest
from tracker.providers.base import ParsedWaybill, parse_reply
from tracker.settings import Settings
from tracker.status import Direction
from tracker.status import TrackingStatus as S
from tracker.storage.repo import upsert_parcels
from tracker.storage.rows import ParcelRow, TrackingEventRow

T0 = datetime(2026, 11, 18, 1, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)
P = ParcelRow.__table__
E = TrackingEventRow.__table__


def _ev(hours: int, status: S, text: str, code: str = "") -> TrackingEvent:
    return TrackingEvent(T0 + timedelta(hours=hours), status, code or str(status), text, "浙江,杭州市")


HISTORY = (
    _ev(0, S.info_received, "商家已下单，等待揽收", "101"),
    _ev(5, S.picked_up, "【杭州市萧山区公司】已揽收", "1"),
    _ev(20, S.in_transit, "【杭州转运中心】已发出", "1002"),
    _ev(40, S.out_for_delivery, "【成都市武侯区公司】正在派件", "5"),
)


def _wb(waybill: str, events: tuple[TrackingEvent, ...], *, courier: str | None = "yto", error: str | None = None):
    return ParsedWaybill("kuaidi100", waybill, "yuantong", courier, events, error)


def _parcels(engine: Engine, *pairs: tuple[str, str]) -> None:
    upsert_parcels(engine, [ParcelFacts(courier=c, waybill=w) for c, w in pairs], now=T0)


def _row(engine: Engine, waybill: str, courier: str = "yto") -> dict[str, Any]:
    with engine.connect() as conn:
        row = conn.execute(select(P).where(P.c.waybill == waybill, P.c.courier == courier)).mappings().one()
    return dict(row)


def _event_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(E)).scalar_one()


def test_ingest_stores_events_and_the_snapshot(engine: Engine) -> None:
    _parcels(engine, ("yto", "YT1000000000001"))
    result = ingest(engine, [_wb("YT1000000000001", HISTORY)], now=NOW, source="kuaidi100")
    assert (result.matched, result.new_events, result.unknown) == (1, 4, [])
    row = _row(engine, "YT1000000000001")
    assert result.changed_parcel_ids == [row["id"]]
    assert row["status"] == "out_for_delivery" and row["status_text"] == "【成都市武侯区公司】正在派件"
    assert row["first_scan_at"] == T0 + timedelta(hours=5)  # the order-created event is not a carrier scan
    assert row["last_event_at"] == T0 + timedelta(hours=40)
    assert row["delivered_at"] is None and row["is_open"] is True
    assert row["last_polled_at"] == NOW and row["provider_error"] is None
    with engine.connect() as conn:
        stored = conn.execute(select(E.c.raw_code, E.c.location, E.c.source).order_by(E.c.event_time)).all()
    assert [tuple(r) for r in stored][1] == ("1", "浙江,杭州市", "kuaidi100")


def test_the_ingest_writes_with_the_collector_paused_and_turns_it_on_again(engine: Engine) -> None:
    """A batch's objects live until its transaction ends: no collection walks them meanwhile (tracker/runtime.py
    collector_paused), and the collector is on again after the ingest."""
    _parcels(engine, ("yto", "YT1000000000001"))
    collecting: list[bool] = []

    def seen(*_: Any) -> None:
        collecting.append(gc.isenabled())

    event.listen(engine, "before_cursor_execute", seen)
    try:
        assert gc.isenabled()
        ingest(engine, [_wb("YT1000000000001", HISTORY)], now=NOW, source="kuaidi100")
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert collecting and not any(collecting)
    assert gc.isenabled()


def test_reingesting_the_same_reply_adds_nothing(engine: Engine) -> None:
    _parcels(engine, ("yto", "YT1000000000002"))
    ingest(engine, [_wb("YT1000000000002", HISTORY)], now=NOW, source="kuaidi100")
    before = _row(engine, "YT1000000000002")
    later = NOW + timedelta(hours=1)
    again = ingest(engine, [_wb("YT1000000000002", HISTORY)] * 2, now=later, source="kuaidi100")
    assert (again.matched, again.new_events, again.changed_parcel_ids) == (1, 0, [])
    assert _event_count(engine) == 4
    after = _row(engine, "YT1000000000002")
    assert after["last_polled_at"] == after["updated_at"] == later  # heard, though nothing changed
    assert {k: after[k] for k in ("status", "first_scan_at", "last_event_at")} == {
        k: before[k] for k in ("status", "first_scan_at", "last_event_at")
    }


def test_out_of_order_arrival_gives_the_same_snapshot(engine: Engine) -> None:
    _parcels(engine, ("yto", "YT1000000000003"), ("yto", "YT1000000000004"))
    ingest(engine, [_wb("YT1000000000003", HISTORY)], now=NOW, source="kuaidi100")
    ingest(engine, [_wb("YT1000000000004", HISTORY[2:])], now=NOW, source="push")
    late = ingest(engine, [_wb("YT1000000000004", HISTORY[:2])], now=NOW, source="kuaidi100")
    assert late.new_events == 2
    keys = ("status", "status_text", "first_scan_at", "last_event_at", "delivered_at", "is_open")
    in_order, out_of_order = _row(engine, "YT1000000000003"), _row(engine, "YT1000000000004")
    assert {k: in_order[k] for k in keys} == {k: out_of_order[k] for k in keys}


def test_delivery_closes_the_parcel(engine: Engine) -> None:
    _parcels(engine, ("yto", "YT1000000000005"))
    delivered = (*HISTORY, _ev(44, S.delivered, "您的快件已签收，签收人：本人", "301"))
    ingest(engine, [_wb("YT1000000000005", delivered)], now=NOW, source="kuaidi100")
    row = _row(engine, "YT1000000000005")
    assert row["status"] == "delivered" and row["is_open"] is False
    assert row["delivered_at"] == T0 + timedelta(hours=44)


def test_two_ingests_of_one_parcel_at_once_take_turns(engine: Engine) -> None:
    """A poll and a push of one parcel stored at the same moment: the second waits for the first's commit and
    reads its events, so the snapshot is that of all of them. Here the push comes in after the poll's batch
    read the parcel's stored events and before it wrote: unlocked (SQLite reads outside a transaction until
    the first write), each wrote a snapshot from its own events alone and the last one won."""
    _parcels(engine, ("yto", "YT1000000000095"))
    signed = (*HISTORY[2:], _ev(44, S.delivered, "您的快件已签收，签收人：本人", "301"))
    pushed: list[Any] = []
    threads: list[threading.Thread] = []

    def push() -> None:
        pushed.append(ingest(engine, [_wb("YT1000000000095", signed)], now=NOW, source="push"))

    def between_read_and_write(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if not threads and statement.startswith("INSERT INTO tracking_event"):
            threads.append(threading.Thread(target=push))
            threads[0].start()
            threads[0].join(1.0)  # time enough for an unlocked push to read, write and commit

    event.listen(engine, "before_cursor_execute", between_read_and_write)
    try:
        polled = ingest(engine, [_wb("YT1000000000095", HISTORY[:2])], now=NOW, source="kuaidi100")
        threads[0].join(30)
    finally:  # removed once no thread runs statements (SQLAlchemy walks its listeners without a lock)
        event.remove(engine, "before_cursor_execute", between_read_and_write)
    assert (polled.new_events, pushed[0].new_events) == (2, 3)
    row = _row(engine, "YT1000000000095")
    assert row["status"] == "delivered" and row["is_open"] is False
    assert row["first_scan_at"] == T0 + timedelta(hours=5)  # the poll's pickup scan, read by the push's batch
    if engine.dialect.name == "sqlite":  # the batch's connection went back to the pool with its key checks on
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1


def test_a_return_parcel_signed_for_by_the_shop_is_delivered(engine: Engine) -> None:
    """The same words on an outbound parcel and on a buyer's return parcel (as the phrase book reads them,
    `returned`): the outbound parcel came back to the shop; the return arrived at the shop, its delivery, in
    the stored event and the snapshot. A return signed for by its sender, the buyer, stays returned."""
    shop = "您的退货已由商家签收，退货签收完成"
    buyer = "退回件已签收，签收人：寄件人"
    upsert_parcels(
        engine,
        [
            ParcelFacts(courier="yto", waybill="YT1000000000031"),
            ParcelFacts(courier="yto", waybill="YT1000000000032", direction=Direction.ret),
            ParcelFacts(courier="yto", waybill="YT1000000000033", direction=Direction.ret),
        ],
        now=T0,
    )
    replies = [
        _wb("YT1000000000031", (*HISTORY[1:3], _ev(44, S.returned, shop, ""))),
        _wb("YT1000000000032", (*HISTORY[1:3], _ev(44, S.returned, shop, ""))),
        _wb("YT1000000000033", (*HISTORY[1:3], _ev(44, S.returned, buyer, ""))),
    ]
    ingest(engine, replies, now=NOW, source="kuaidi100")
    got = {}
    for waybill in ("YT1000000000031", "YT1000000000032", "YT1000000000033"):
        row = _row(engine, waybill)
        with engine.connect() as conn:
            newest = conn.execute(
                select(E.c.status).where(E.c.parcel_id == row["id"]).order_by(E.c.event_time.desc()).limit(1)
            ).scalar_one()
        got[waybill] = (row["status"], newest, row["is_open"], row["delivered_at"])
    assert got == {
        "YT1000000000031": ("returned", "returned", False, None),
        "YT1000000000032": ("delivered", "delivered", False, T0 + timedelta(hours=44)),
        "YT1000000000033": ("returned", "returned", False, None),
    }


def test_a_loss_reported_at_the_same_second_as_a_scan_sets_the_status(engine: Engine) -> None:
    """A reported loss is not final (the parcel stays open), but a scan stamped the same second must not hide it:
    the text hash, which decides other ties, would put this scan last."""
    from tracker.ingest import text_hash

    scan, loss = "【成都转运中心】已发出", "快件丢失，已上报"
    assert text_hash(scan) > text_hash(loss)
    _parcels(engine, ("yto", "YT1000000000041"), ("yto", "YT1000000000042"))
    same = (_ev(30, S.in_transit, scan, "1002"), _ev(30, S.lost, loss, ""))
    ingest(engine, [_wb("YT1000000000041", (*HISTORY[1:3], *same))], now=NOW, source="kuaidi100")
    ingest(engine, [_wb("YT1000000000042", (*HISTORY[1:3], *reversed(same)))], now=NOW, source="kuaidi100")
    for waybill in ("YT1000000000041", "YT1000000000042"):
        row = _row(engine, waybill)
        assert (row["status"], row["status_text"], row["is_open"]) == ("lost", loss, True), waybill


def test_closing_a_parcel_drops_its_lease(engine: Engine) -> None:
    """A worker killed between ingest and schedule() leaves its lease; on an open parcel it lapses and the
    parcel is due again, but a closed parcel is never due, so ingest must drop the lease itself."""
    _parcels(engine, ("yto", "YT1000000000015"), ("yto", "YT1000000000016"))
    until = NOW + timedelta(minutes=5)
    with engine.begin() as conn:
        conn.execute(P.update().values(lease_until=until, lease_owner="w0"))
    delivered = (*HISTORY, _ev(44, S.delivered, "您的快件已签收，签收人：本人", "301"))
    ingest(engine, [_wb("YT1000000000015", delivered), _wb("YT1000000000016", HISTORY)], now=NOW, source="kuaidi100")
    closed, still_open = _row(engine, "YT1000000000015"), _row(engine, "YT1000000000016")
    assert (closed["is_open"], closed["lease_until"], closed["lease_owner"]) == (False, None, None)
    assert still_open["is_open"] is True and still_open["lease_owner"] == "w0"  # its worker clears it in schedule()


def test_unknown_waybills_are_reported_not_created(engine: Engine) -> None:
    _parcels(engine, ("yto", "YT1000000000006"))
    result = ingest(
        engine,
        [_wb("YT9999999999999", HISTORY), _wb("YT1000000000006", HISTORY[:1]), _wb("YT9999999999999", ())],
        now=NOW,
        source="kuaidi100",
    )
    assert (result.matched, result.unknown) == (1, ["YT9999999999999"])
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(P)).scalar_one() == 1
    assert _event_count(engine) == 1


def test_provider_error_is_stored_then_cleared_by_a_good_reply(engine: Engine) -> None:
    _parcels(engine, ("yto", "YT1000000000007"))
    error = "kuaidi100 returnCode 503: signature check failed"
    failed = ingest(engine, [_wb("YT1000000000007", (), error=error)], now=NOW, source="kuaidi100")
    row = _row(engine, "YT1000000000007")
    assert row["provider_error"] == error and row["status"] == "pending" and row["last_polled_at"] == NOW
    assert failed.changed_parcel_ids == [row["id"]]
    ingest(engine, [_wb("YT1000000000007", HISTORY)], now=NOW, source="kuaidi100")
    assert _row(engine, "YT1000000000007")["provider_error"] is None


def test_courier_picks_between_parcels_sharing_a_waybill(engine: Engine) -> None:
    _parcels(engine, ("yto", "7700000000001"), ("sto", "7700000000001"), ("zto", "7700000000002"))
    result = ingest(
        engine,
        [_wb("7700000000001", HISTORY, courier="sto"), _wb("7700000000002", HISTORY, courier="yto")],
        now=NOW,
        source="kuaidi100",
    )
    assert result.matched == 2  # a lone parcel matches even when the provider names another company
    assert _row(engine, "7700000000001", "sto")["status"] == "out_for_delivery"
    assert _row(engine, "7700000000001", "yto")["status"] == "pending"
    ambiguous = ingest(engine, [_wb("7700000000001", HISTORY, courier=None)], now=NOW, source="kuaidi100")
    assert ambiguous.unknown == ["7700000000001"]


def test_reply_level_error_without_waybill_is_skipped(engine: Engine) -> None:
    result = ingest(engine, [_wb("", (), error="bad key")], now=NOW, source="kuaidi100")
    assert (result.matched, result.unknown) == (0, [])


def test_parsed_fixture_round_trip(engine: Engine, settings: Settings) -> None:
    from tests.providers.conftest import FIXTURES

    _parcels(engine, ("zto", "78398765432101"))
    body = (FIXTURES / "kdniao" / "query_8001_refused.json").read_bytes()
    parsed = parse_reply("kdniao", body, tz=settings.tz, couriers=settings.couriers)
    result = ingest(engine, parsed.waybills, now=NOW, source="kdniao")
    assert (result.matched, result.new_events) == (1, 5)
    row = _row(engine, "78398765432101", "zto")
    assert row["status"] == "refused" and row["is_open"] is True
    assert row["first_scan_at"] == datetime(2024, 5, 18, 11, 22, 10, tzinfo=UTC)


def test_batches_of_any_size_give_the_same_result(engine: Engine) -> None:
    numbers = [f"YT20000000000{i:02d}" for i in range(7)]
    _parcels(engine, *(("yto", n) for n in numbers))
    parsed = [_wb(n, HISTORY[: 1 + i % 4]) for i, n in enumerate(numbers)] + [_wb("YT2999", HISTORY)]
    result = ingest(engine, parsed, now=NOW, source="kuaidi100", batch_size=3)
    assert (result.matched, result.new_events, result.unknown) == (7, 16, ["YT2999"])
    assert len(result.changed_parcel_ids) == 7


def test_an_event_nothing_explains_never_moves_the_status_backwards(engine: Engine) -> None:
    _parcels(engine, ("yto", "YT1000000000077"))
    unread = _ev(50, S.unknown, "【成都市】扫描记录", "")
    ingest(engine, [_wb("YT1000000000077", (*HISTORY, unread))], now=NOW, source="kuaidi100")
    row = _row(engine, "YT1000000000077")
    # the status stays what the last explained event said; the time and the words are the newest
    assert row["status"] == "out_for_delivery" and row["is_open"] is True
    assert row["last_event_at"] == T0 + timedelta(hours=50) and row["status_text"] == "【成都市】扫描记录"
    _parcels(engine, ("yto", "YT1000000000078"))
    ingest(engine, [_wb("YT1000000000078", (unread,))], now=NOW, source="kuaidi100")
    row = _row(engine, "YT1000000000078")
    assert row["status"] == "unknown" and row["first_scan_at"] == T0 + timedelta(hours=50)


@pytest.mark.sqlite_only
@pytest.mark.parametrize(
    ("rewrite", "looks"),
    [  # as other tools write a time SQLite stores as text: each reads as a time, none is the tracker's form
        ("strftime('%Y-%m-%d %H:%M:%S', event_time, '+8 hours') || '+08:00'", "+08:00"),
        ("replace(event_time, ' ', 'T')", "T01:00:00.000000"),  # as long as the tracker's text: 26 characters
        ("strftime('%Y-%m-%d %H:%M:%S', event_time, '+8 hours') || '.000+08'", ".000+08"),
    ],
)
def test_a_stored_time_in_another_form_is_the_same_event(tmp_path: Path, rewrite: str, looks: str) -> None:
    """SQLite: an event time written by another tool in another form ('...09:00:00+08:00', '...T01:00:00.000000',
    not the UTC text the tracker writes) is read as the same instant: the next poll of that history stores
    nothing again, and a newer event still makes the snapshot."""
    from tracker.storage.db import make_engine, migrate

    engine = make_engine(f"sqlite:///{tmp_path / 'tracker.db'}")
    migrate(engine)
    _parcels(engine, ("yto", "YT1000000000009"))
    ingest(engine, [_wb("YT1000000000009", HISTORY)], now=NOW, source="kuaidi100")
    with engine.begin() as conn:
        conn.exec_driver_sql(f"UPDATE tracking_event SET event_time = {rewrite}")  # noqa: S608 - the cases above
        rewritten = conn.exec_driver_sql("SELECT min(event_time) FROM tracking_event").scalar_one()
    assert looks in rewritten, rewritten
    again = ingest(engine, [_wb("YT1000000000009", HISTORY)], now=NOW, source="kuaidi100")
    assert again.new_events == 0 and _event_count(engine) == len(HISTORY)
    signed = _ev(41, S.delivered, "【成都市武侯区公司】已签收,签收人:本人", "3")
    last = ingest(engine, [_wb("YT1000000000009", (*HISTORY, signed))], now=NOW, source="kuaidi100")
    assert last.new_events == 1 and _event_count(engine) == len(HISTORY) + 1
    row = _row(engine, "YT1000000000009")
    assert (row["status"], row["is_open"]) == ("delivered", False)
    assert row["last_event_at"].replace(tzinfo=UTC) == signed.time == row["delivered_at"].replace(tzinfo=UTC)
    engine.dispose()
