"""PostgreSQL: writers meeting an evaluation in progress. The evaluation holds the marks it took
(tracker/flags/marks.py) until it commits. A person's change of a flag marks the flag's parcel before it writes
the flag, and reads the flag again locked, so it waits for the evaluation holding no flag row the evaluation may
write, and checks the state the evaluation left. An ingest that marked a scorecard hour and then waits for a
mark deadlocks with the evaluation marking the same hour; whichever PostgreSQL rolls back is run again, once
(unless it ran in a caller's transaction: the caller's error). Each test fails with its fix undone."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, event, func, select, text

from tests.rules.conftest import DB, evaluate_meeting
from tracker.errors import TrackerError
from tracker.flags import evaluate_all, lifecycle
from tracker.storage.repo import AUDIT
from tracker.storage.tables import EVENT, FLAG

T0 = datetime.fromisoformat("2026-11-20T04:00:00+00:00")


def _refused_then_moving(engine: Engine, settings, waybill: str) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """A parcel whose refusal flag is open, then whose text no longer says so (marked: migration 0022's
    trigger): the next evaluation resolves the flag. (parcel id, flag id)"""
    db = DB(engine)
    parcel = db.parcel(
        created=T0, waybill=waybill, status="in_transit", status_text="【上海】收件人拒收", first_scan_at=T0,
        last_event_at=T0,
    )  # fmt: skip
    evaluate_all(engine, now=T0 + timedelta(hours=2), settings=settings)
    with engine.connect() as conn:
        flag_id = conn.execute(select(FLAG.c.id).where(FLAG.c.parcel_id == parcel)).scalar_one()
    db.set(parcel, status_text="【上海】已发出")
    return parcel, flag_id


@pytest.mark.postgres
@pytest.mark.parametrize("change", ["acknowledge", "resolve"])
def test_a_person_changing_a_flag_during_an_evaluation_waits_for_it(pg_engine, settings, change: str) -> None:  # type: ignore[no-untyped-def]
    """The evaluation has taken the parcel's mark (its text changed: the refusal no longer holds, so it
    resolves the flag) when a person acknowledges or resolves the same flag: the person's change waits for the
    evaluation's commit, then is refused as a change of a flag already resolved, or applies; the evaluation
    resolves the flag. Marked after the flag's update, the person's change held the flag row the
    evaluation's resolve wanted while waiting for the mark the evaluation held: PostgreSQL's deadlock."""
    parcel, flag_id = _refused_then_moving(pg_engine, settings, "YT8000000000001")
    outcome: dict[str, object] = {}

    def person() -> None:
        try:
            getattr(lifecycle, change)(pg_engine, flag_id=flag_id, actor="ann", now=T0 + timedelta(hours=3))
            outcome["person"] = "changed"
        except TrackerError as exc:  # the flag the evaluation resolved meanwhile
            outcome["person"] = exc.code
        except Exception as exc:  # a deadlock: reported below
            outcome["person"] = exc

    summary, waited = evaluate_meeting(
        pg_engine, settings, T0 + timedelta(hours=3), person, at=lambda s: "DELETE FROM rule_mark" in s, after=True
    )
    assert waited  # the person's change did meet the evaluation
    assert summary.resolved["refused"] == 1
    assert outcome["person"] in ("changed", "flag_resolved"), outcome["person"]


@pytest.mark.postgres
def test_an_evaluation_rolled_back_by_a_deadlock_with_an_ingest_is_evaluated_again(pg_engine, settings) -> None:  # type: ignore[no-untyped-def]
    """An ingest marks a scorecard hour (a parcel's new delivery), then waits for a mark the evaluation took
    (another parcel's new snapshot); the evaluation then marks the same hour for a flag it opens and waits
    for the ingest: a deadlock, which PostgreSQL breaks by rolling the evaluation back (the ingest here waits
    longer before it looks for one). The evaluation is evaluated again after the ingest's commit: both
    finish, and the flag is open."""
    from tracker.storage.tables import PARCEL

    db = DB(pg_engine)
    moving = {"status": "in_transit", "first_scan_at": T0, "last_event_at": T0}
    delivered = db.parcel(created=T0, waybill="YT8000000000011", shipped_at=T0, status_text="【上海】已发出", **moving)
    taken = db.parcel(created=T0, waybill="YT8000000000012", shipped_at=T0, status_text="【上海】已发出", **moving)
    evaluate_all(pg_engine, now=T0 + timedelta(hours=1), settings=settings)  # nothing flagged
    refused = db.parcel(
        created=T0, waybill="YT8000000000013", shipped_at=T0 + timedelta(minutes=5), status_text="【上海】收件人拒收",
        **moving,
    )  # fmt: skip
    db.set(taken, status_text="【上海】已到达")  # its mark, which the evaluation takes
    with pg_engine.begin() as conn:  # the hours marked so far: taken by a scorecard refresh
        conn.execute(text("DELETE FROM scorecard_dirty"))
    outcome: dict[str, object] = {}

    def ingest() -> None:
        try:
            with pg_engine.begin() as conn:
                conn.execute(text("SET LOCAL deadlock_timeout = '10s'"))  # the evaluation looks first
                conn.execute(PARCEL.update().where(PARCEL.c.id == delivered).values(delivered_at=T0))  # hour T0
                conn.execute(PARCEL.update().where(PARCEL.c.id == taken).values(status_text="【上海】派送中"))
            outcome["ingest"] = "committed"
        except Exception as exc:  # reported below
            outcome["ingest"] = exc

    attempts: list[str] = []

    def counted(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        if "pg_advisory_xact_lock" in statement:
            attempts.append(statement)

    event.listen(pg_engine, "before_cursor_execute", counted)
    try:
        summary, waited = evaluate_meeting(
            pg_engine,
            settings,
            T0 + timedelta(hours=2),
            ingest,
            at=lambda s: s.startswith("INSERT INTO scorecard_dirty"),
        )
    finally:
        event.remove(pg_engine, "before_cursor_execute", counted)
    assert waited
    assert outcome["ingest"] == "committed", outcome["ingest"]
    assert len(attempts) == 2  # rolled back once, evaluated again
    assert summary.opened["refused"] == 1
    with pg_engine.connect() as conn:
        assert conn.execute(select(FLAG.c.kind).where(FLAG.c.parcel_id == refused)).scalars().all() == ["refused"]


@pytest.mark.postgres
def test_an_ingest_batch_rolled_back_by_a_deadlock_with_an_evaluation_is_stored_again(
    pg_engine, settings, caplog
) -> None:  # type: ignore[no-untyped-def]
    """The same deadlock, broken the other way: PostgreSQL rolls the ingest's batch back (the evaluation here
    waits longer before it looks for one). The batch is stored again, waiting for the evaluation's commit:
    both finish, the events are stored once, the flag is open, and the ingest counts its batch once."""
    from tracker.domain import TrackingEvent
    from tracker.ingest import ingest
    from tracker.providers.base import ParsedWaybill
    from tracker.status import TrackingStatus
    from tracker.storage.db import make_engine
    from tracker.storage.tables import EVENT

    db = DB(pg_engine)
    moving = {"status": "in_transit", "first_scan_at": T0, "last_event_at": T0, "shipped_at": T0}
    db.parcel(created=T0, waybill="YT8000000000021", status_text="【上海】已发出", **moving)
    taken = db.parcel(created=T0, waybill="YT8000000000022", status_text="【上海】已发出", **moving)
    evaluate_all(pg_engine, now=T0 + timedelta(hours=1), settings=settings)  # nothing flagged
    refused = db.parcel(created=T0, waybill="YT8000000000023", status_text="【上海】收件人拒收", **moving)
    db.set(taken, status_text="【上海】已到达")  # its mark, which the evaluation takes
    with pg_engine.begin() as conn:
        conn.execute(text("DELETE FROM scorecard_dirty"))
    at = T0 + timedelta(minutes=90)
    replies = [
        ParsedWaybill("kuaidi100", "YT8000000000021", "yuantong", "yto", (
            TrackingEvent(at, TrackingStatus.delivered, "3", "【上海市】已签收，签收人：本人", None),), None),
        ParsedWaybill("kuaidi100", "YT8000000000022", "yuantong", "yto", (
            TrackingEvent(at, TrackingStatus.out_for_delivery, "5", "【上海市】派送中", None),), None),
    ]  # fmt: skip
    outcome: dict[str, object] = {}

    def poll() -> None:
        try:
            outcome["ingest"] = ingest(pg_engine, replies, now=at, source="kuaidi100")
        except Exception as exc:  # reported below
            outcome["ingest"] = exc

    url = pg_engine.url.render_as_string(hide_password=False)
    evaluator = make_engine(url, connect_args={"options": "-c deadlock_timeout=10s"})  # the ingest looks first
    try:
        with caplog.at_level(logging.WARNING, logger="tracker.ingest"):
            summary, waited = evaluate_meeting(
                evaluator, settings, T0 + timedelta(hours=2), poll,
                at=lambda s: s.startswith("INSERT INTO scorecard_dirty"), watch=pg_engine,
            )  # fmt: skip
    finally:
        evaluator.dispose()
    assert waited
    assert "SQLSTATE 40P01), stored again" in caplog.text  # the deadlock did form, and the batch was retried
    stored = outcome["ingest"]
    assert not isinstance(stored, Exception), stored
    assert (stored.matched, stored.new_events, len(stored.changed_parcel_ids)) == (2, 2, 2)  # type: ignore[attr-defined]
    assert summary.opened["refused"] == 1
    with pg_engine.connect() as conn:
        assert conn.execute(select(FLAG.c.kind).where(FLAG.c.parcel_id == refused)).scalars().all() == ["refused"]
        assert conn.execute(select(func.count()).select_from(EVENT)).scalar_one() == 2


def _rolled_back_once(engine: Engine, table: str, *, nth: int = 1, code: str = "40P01") -> None:
    """The `nth` INSERT statement into `table` from now on fails as PostgreSQL fails a transaction it rolls back
    to break a deadlock (SQLSTATE `code`), once: a statement trigger counting its firings in a sequence (which
    a rollback does not undo)."""
    with engine.begin() as conn:
        conn.execute(text("CREATE SEQUENCE rolled_back_once"))
        conn.execute(
            text(
                "CREATE FUNCTION rolled_back_once() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                f"IF nextval('rolled_back_once') = {nth} THEN "
                f"RAISE EXCEPTION 'rolled back to break a deadlock' USING ERRCODE = '{code}'; END IF; "
                "RETURN NULL; END $$"
            )
        )
        conn.execute(
            text(f"CREATE TRIGGER rolled_back_once BEFORE INSERT ON {table} EXECUTE FUNCTION rolled_back_once()")
        )


def _replies(numbers: list[str], at: datetime) -> list[Any]:
    from tracker.domain import TrackingEvent
    from tracker.providers.base import ParsedWaybill
    from tracker.status import TrackingStatus

    event_of = lambda n: TrackingEvent(at, TrackingStatus.in_transit, "", f"【上海】{n} 已发出", None)  # noqa: E731
    return [ParsedWaybill("kuaidi100", n, "yuantong", "yto", (event_of(n),), None) for n in numbers]


def _moving(db: DB, numbers: list[str]) -> None:
    for number in numbers:
        db.parcel(
            created=T0, waybill=number, status="in_transit", status_text="【上海】已发出", first_scan_at=T0,
            last_event_at=T0, shipped_at=T0,
        )  # fmt: skip


@pytest.mark.postgres
def test_a_batch_rolled_back_is_stored_again_and_counted_once(pg_engine, caplog) -> None:  # type: ignore[no-untyped-def]
    """The second of three one-waybill batches rolled back once: stored again, each event stored once, each
    waybill counted once in the result (an unknown one listed once, in the order first seen)."""
    from tracker.ingest import ingest

    numbers = [f"YT80000000003{i:02d}" for i in range(3)]
    _moving(DB(pg_engine), numbers)
    _rolled_back_once(pg_engine, "tracking_event", nth=2)  # the second batch's insert
    at = T0 + timedelta(minutes=30)
    replies = _replies(numbers, at) + _replies(["YT8999999999991", "YT8999999999992", "YT8999999999991"], at)
    with caplog.at_level(logging.WARNING, logger="tracker.ingest"):
        result = ingest(pg_engine, replies, now=at, source="kuaidi100", batch_size=1)
    assert "stored again" in caplog.text
    assert (result.matched, result.new_events, len(result.changed_parcel_ids)) == (3, 3, 3)
    assert result.unknown == ["YT8999999999991", "YT8999999999992"]
    with pg_engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(EVENT)).scalar_one() == 3


@pytest.mark.postgres
def test_a_rollback_inside_a_callers_transaction_is_the_callers(pg_engine, settings) -> None:  # type: ignore[no-untyped-def]
    """Given a group of pushes' transaction (tracker/push_store.py), the ingest does not store again within a
    transaction PostgreSQL has already rolled back: the deadlock's own error reaches the caller, which stores
    each push alone (not "current transaction is aborted")."""
    from sqlalchemy.exc import DBAPIError

    from tracker.push_store import SharedTransaction, store_parsed

    _moving(DB(pg_engine), ["YT8000000000401"])
    _rolled_back_once(pg_engine, "tracking_event")
    at = T0 + timedelta(minutes=30)
    with pytest.raises(DBAPIError) as raised, pg_engine.begin() as conn:
        store_parsed(SharedTransaction(conn), settings, [("kuaidi100", {}, _replies(["YT8000000000401"], at))], at)
    assert getattr(raised.value.orig, "sqlstate", None) == "40P01"


@pytest.mark.postgres
def test_an_evaluation_rolled_back_at_its_audit_lines_is_evaluated_again(pg_engine, settings) -> None:  # type: ignore[no-untyped-def]
    """Rolled back late (at its audit lines), the evaluation runs again on a clean connection: its flag opens
    once, and no temporary table of the first attempt is left."""
    db = DB(pg_engine)
    refused = db.parcel(
        created=T0, waybill="YT8000000000501", status="in_transit", status_text="【上海】收件人拒收",
        first_scan_at=T0, last_event_at=T0,
    )  # fmt: skip
    _rolled_back_once(pg_engine, "audit_log")
    summary = evaluate_all(pg_engine, now=T0 + timedelta(hours=2), settings=settings)
    assert summary.opened["refused"] == 1
    with pg_engine.connect() as conn:
        assert conn.execute(select(FLAG.c.kind).where(FLAG.c.parcel_id == refused)).scalars().all() == ["refused"]
        lines = select(func.count()).select_from(AUDIT).where(AUDIT.c.entity == "flag")
        assert conn.execute(lines).scalar_one() == 0  # the opening is the flag's row (tracker/flags/history.py)
        # the audit INSERT ran in both attempts (rows or none: a statement trigger fires), the first rolled back
        assert conn.execute(text("SELECT last_value FROM rolled_back_once")).scalar_one() == 2
        assert conn.execute(text("SELECT count(*) FROM pg_class WHERE relpersistence = 't'")).scalar_one() == 0


@pytest.mark.postgres
def test_a_person_changing_a_flag_a_scoped_evaluation_resolves_waits_for_it(pg_engine, settings) -> None:  # type: ignore[no-untyped-def]
    """A scoped evaluation (a person's re-read: it takes no mark) resolving a flag while a person acknowledges
    it: the person's change waits for the flag's row and then finds it resolved (refused), instead of writing
    an acknowledged state over the resolution."""
    parcel, flag_id = _refused_then_moving(pg_engine, settings, "YT8000000000601")
    outcome: dict[str, object] = {}

    def person() -> None:
        try:
            lifecycle.acknowledge(pg_engine, flag_id=flag_id, actor="ann", now=T0 + timedelta(hours=3))
            outcome["person"] = "changed"
        except TrackerError as exc:
            outcome["person"] = exc.code

    summary, waited = evaluate_meeting(
        pg_engine, settings, T0 + timedelta(hours=3), person, parcel_ids=[parcel],
        at=lambda s: s.startswith("INSERT INTO audit_log"), after=True,
    )  # fmt: skip
    assert waited and summary.resolved["refused"] == 1
    assert outcome["person"] == "flag_resolved"
    with pg_engine.connect() as conn:
        assert conn.execute(select(FLAG.c.state).where(FLAG.c.id == flag_id)).scalar_one() == "resolved"
