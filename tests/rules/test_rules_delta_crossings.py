"""Each time rule's crossing form, one parcel each (both databases): a parcel whose threshold falls two
minutes after an evaluation, with nothing written in between, changes its flag in the next incremental
evaluation (mode "delta"), and a full evaluation then changes nothing. So does a parcel an import adds
without any later write (SQLite marks no insert: the evaluation reads the ids above the last one it saw).
The chain check (test_rules_delta.py) covers mixes; this one names every crossing."""

from __future__ import annotations

from datetime import timedelta

from tests.rules.conftest import DB
from tests.rules.sample import NOW
from tracker.domain import ParcelFacts
from tracker.flags import evaluate_all
from tracker.flags.queries import CROSSING_FORMS
from tracker.settings import Settings
from tracker.status import Direction, FlagKind
from tracker.storage import repo

H, D, M = timedelta(hours=1), timedelta(days=1), timedelta(minutes=1)
LATER = NOW + 2 * M
SCANNED = {"status": "in_transit", "is_open": True}


def _scanned(last: object) -> dict[str, object]:
    return {**SCANNED, "first_scan_at": last, "last_event_at": last, "shipped_at": last}


# (waybill, columns, what the delta evaluation at LATER does to which kind)
CASES = [
    ("YT0000000000001", _scanned(NOW - 72 * H + M), ("opened", FlagKind.stale)),
    ("YT0000000000002", _scanned(NOW - 96 * H + M), ("escalated", FlagKind.stale)),
    ("YT0000000000003", _scanned(NOW - 168 * H + M), ("opened", FlagKind.lost_suspected)),
    ("YT0000000000004", {"shipped_at": NOW - 72 * H + M}, ("opened", FlagKind.no_first_scan)),
    ("YT0000000000005", {"paid_at": NOW - 72 * H + M}, ("opened", FlagKind.late_shipment)),
    ("YT0000000000006", {"paid_at": NOW - H, "promised_ship_by": NOW + M}, ("opened", FlagKind.late_shipment)),
    (
        "YT0000000000007",
        {"order_id": "O7", "return_agreed_at": NOW - 2 * D + M, **_scanned(NOW - H)},
        ("opened", FlagKind.return_no_waybill),
    ),
    (
        "KA0000000000008",
        {"direction": "return", "order_id": "O8", "return_agreed_at": NOW - 10 * D + M},
        ("opened", FlagKind.return_no_movement),
    ),
    (
        "YT0000000000010",
        {"order_id": "O10", "return_agreed_at": NOW - H, "refund_deadline": NOW + 9 * D + M, **_scanned(NOW - H)},
        ("opened", FlagKind.refund_deadline),
    ),
    (
        "YT0000000000011",
        {"status": "refused", "is_open": False, "last_event_at": NOW - 15 * D + M, "first_scan_at": NOW - 16 * D},
        ("resolved", FlagKind.refused),
    ),
]


def test_each_threshold_crossed_since_the_last_evaluation_is_read(db: DB, settings: Settings) -> None:
    for waybill, columns, _ in CASES:
        db.parcel(created=NOW - 30 * D, waybill=waybill, **columns)
    before = evaluate_all(db.engine, now=NOW, settings=settings, full=True)
    assert before.resolved == {} and before.opened[str(FlagKind.refused)] == 1
    # after that evaluation, an import alone (no snapshot written): a new order paid four days ago
    added = ParcelFacts(courier="yto", waybill="YT0000000000099", order_id="O99", paid_at=NOW - 96 * H)
    repo.upsert_parcels(db.engine, [added], now=NOW + M)

    delta = evaluate_all(db.engine, now=LATER, settings=settings)
    assert delta.mode == "delta" and delta.parcels is not None and delta.parcels < 30
    expected = [change for _, _, change in CASES] + [("opened", FlagKind.late_shipment)]
    for action, kind in expected:
        assert getattr(delta, action)[str(kind)] >= expected.count((action, kind)), (action, kind, delta.rows())
    assert evaluate_all(db.engine, now=LATER, settings=settings, full=True).changes == 0
    crossed = {kind for _, kind in expected} - {FlagKind.refused}  # the status rules' window: candidates.py
    assert crossed == set(CROSSING_FORMS) - {FlagKind.return_abandoned}  # abandoned: attempts too (below)


def test_a_return_case_abandoned_once_its_days_pass(db: DB, settings: Settings) -> None:
    """return_abandoned: the buyer unreachable often enough, and the case older than abandoned_days."""
    parcel = db.parcel(
        created=NOW - 30 * D, waybill="YT0000000000021", order_id="O21", return_agreed_at=NOW - 20 * D + M
    )
    for minutes in range(settings.rules.returns.abandoned_min_attempts):
        db.fact(parcel, "buyer_unreachable", NOW - 2 * D + minutes * M)
    assert evaluate_all(db.engine, now=NOW, settings=settings, full=True).opened[str(FlagKind.return_abandoned)] == 0
    delta = evaluate_all(db.engine, now=LATER, settings=settings)
    assert delta.mode == "delta" and delta.opened[str(FlagKind.return_abandoned)] == 1, delta.rows()
    assert evaluate_all(db.engine, now=LATER, settings=settings, full=True).changes == 0


def test_a_flag_resolved_after_a_later_scan_stays_resolved(db: DB, settings: Settings) -> None:
    """A stale parcel gets a later scan while still stale, then a lead resolves its flag: the flag stays
    resolved (its anchor followed the scan), in the next incremental evaluation and in a full one alike. Its
    next action counts the hours from that scan, not from the one it opened with."""
    from sqlalchemy import select

    from tracker.domain import TrackingEvent
    from tracker.flags.lifecycle import resolve
    from tracker.ingest import ingest
    from tracker.providers.base import ParsedWaybill
    from tracker.status import TrackingStatus
    from tracker.storage.tables import FLAG

    parcel = db.parcel(created=NOW - 300 * H, waybill="YT0000000000031", **_scanned(NOW - 90 * H))
    assert evaluate_all(db.engine, now=NOW, settings=settings, full=True).opened[str(FlagKind.stale)] == 1
    scan = TrackingEvent(NOW - 80 * H, TrackingStatus.in_transit, "", "快件到达【上海转运中心】")
    ingest(db.engine, [ParsedWaybill("kuaidi100", "YT0000000000031", None, "yto", (scan,))], now=NOW + M, source="t")
    assert evaluate_all(db.engine, now=NOW + 2 * M, settings=settings).changes == 0
    with db.engine.connect() as conn:
        flag, since = conn.execute(select(FLAG.c.id, FLAG.c.action_since).where(FLAG.c.parcel_id == parcel)).one()
    assert since == int((NOW - 80 * H).timestamp())
    resolve(db.engine, flag_id=flag, actor="组长", now=NOW + 3 * M, note="已联系快递")
    delta = evaluate_all(db.engine, now=NOW + 4 * M, settings=settings)
    assert delta.mode == "delta" and delta.changes == 0, delta.rows()
    assert evaluate_all(db.engine, now=NOW + 4 * M, settings=settings, full=True).changes == 0


def test_one_statement_writing_two_returns_of_an_order(db: DB, settings: Settings) -> None:
    """PostgreSQL's statement triggers mark each parcel once, however many rows of its order one statement
    writes (ON CONFLICT DO UPDATE refuses to touch a row twice); the returns and their order's parcel are read.
    SQLite: the import marks the order's parcels (a raw INSERT there is a write around the tracker)."""
    from sqlalchemy import delete

    from tracker.storage.tables import PARCEL

    outbound = db.parcel(created=NOW - 9 * D, waybill="YT0000000000041", order_id="O41", return_agreed_at=NOW - 3 * D)
    assert evaluate_all(db.engine, now=NOW, settings=settings, full=True).opened[str(FlagKind.return_no_waybill)] == 1
    times = {"created_at": NOW, "updated_at": NOW, "next_poll_at": NOW}
    waybills = ["YT0000000000042", "YT0000000000043"]
    if db.engine.dialect.name == "postgresql":
        rows = [{"courier": "yto", "waybill": w, "direction": "return", "order_id": "O41", **times} for w in waybills]
        with db.engine.begin() as conn:
            conn.execute(PARCEL.insert().values(rows))  # one statement, two rows
    else:
        returns = [ParcelFacts(courier="yto", waybill=w, direction=Direction.ret, order_id="O41") for w in waybills]
        repo.upsert_parcels(db.engine, returns, now=NOW)
    delta = evaluate_all(db.engine, now=NOW + M, settings=settings)
    assert delta.resolved[str(FlagKind.return_no_waybill)] == 1, delta.rows()  # the order has its return waybill
    with db.engine.begin() as conn:  # and one statement deleting both
        conn.execute(delete(PARCEL).where(PARCEL.c.order_id == "O41", PARCEL.c.id != outbound))
    delta = evaluate_all(db.engine, now=NOW + 2 * M, settings=settings)
    assert delta.reopened[str(FlagKind.return_no_waybill)] == 1, delta.rows()
    assert evaluate_all(db.engine, now=NOW + 2 * M, settings=settings, full=True).changes == 0


def test_an_unchanged_reimport_marks_nothing_and_a_changed_row_is_read(db: DB, settings: Settings) -> None:
    """The same export imported again writes no parcel (nothing marked: the next evaluation reads none); a row
    with a new shipping time is read (it leaves no_first_scan's window here)."""
    orders = [
        ParcelFacts(courier="yto", waybill=f"YT00000000005{i}", order_id=f"O5{i}", paid_at=NOW - 10 * H)
        for i in range(3)
    ]
    repo.upsert_parcels(db.engine, orders, now=NOW - H)
    evaluate_all(db.engine, now=NOW, settings=settings, full=True)
    repo.upsert_parcels(db.engine, orders, now=NOW + M)
    assert evaluate_all(db.engine, now=NOW + M, settings=settings).parcels == 0
    shipped = orders[0]._replace(shipped_at=NOW - 80 * H)
    repo.upsert_parcels(db.engine, [shipped, *orders[1:]], now=NOW + 2 * M)
    delta = evaluate_all(db.engine, now=NOW + 2 * M, settings=settings)
    assert delta.parcels == 1 and delta.opened[str(FlagKind.no_first_scan)] == 1, delta.rows()
    assert evaluate_all(db.engine, now=NOW + 2 * M, settings=settings, full=True).changes == 0
