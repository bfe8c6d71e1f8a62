"""Helpers for the rule tests: a pure ParcelView factory, and parcels put into a real database the
way the brief says (repo.upsert_parcels, then the snapshot columns with a Core UPDATE)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import Engine, event, select, text, update

from tracker.domain import ParcelFacts
from tracker.rules.model import ParcelView
from tracker.rules.policy import Policy, resolve_policy
from tracker.settings import Settings
from tracker.status import Direction
from tracker.storage import repo, rollups
from tracker.storage.rows import ParcelFactRow

FACT_FIELDS = set(ParcelFacts._fields)


@pytest.fixture
def policy(settings: Settings) -> Policy:
    return resolve_policy(settings.rules, courier="yto")


def make_view(**kw: Any) -> ParcelView:
    base: dict[str, Any] = {"id": 1, "courier": "yto", "waybill": "YT1234567890123"}
    base.update(kw)
    return ParcelView(**base)


class DB:
    """Put parcels and facts into a real database (fixtures below hand out one per engine)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def parcel(self, *, created: datetime, waybill: str, courier: str = "yto", **cols: Any) -> int:
        return put_parcel(self.engine, created=created, waybill=waybill, courier=courier, **cols)

    def set(self, parcel_id: int, **snapshot: Any) -> None:
        set_parcel(self.engine, parcel_id, **snapshot)

    def fact(self, parcel_id: int, kind: str, at: datetime, data: dict | None = None) -> int:  # type: ignore[type-arg]
        return add_fact(self.engine, parcel_id, kind, at, data)


@pytest.fixture
def view() -> Any:
    return make_view


@pytest.fixture
def db(engine: Engine) -> DB:
    return DB(engine)


@pytest.fixture
def sqlite_db(sqlite_engine: Engine) -> DB:
    return DB(sqlite_engine)


def put_parcel(engine: Engine, *, created: datetime, waybill: str, courier: str = "yto", **cols: Any) -> int:
    """Insert one parcel through the import path, then set snapshot columns; returns its id."""
    facts = {k: v for k, v in cols.items() if k in FACT_FIELDS}
    snapshot = {k: v for k, v in cols.items() if k not in FACT_FIELDS}
    if "direction" in facts:
        facts["direction"] = Direction(facts["direction"])
    repo.upsert_parcels(engine, [ParcelFacts(courier=courier, waybill=waybill, **facts)], now=created)
    with engine.begin() as conn:
        parcel_id = conn.execute(
            select(repo.PARCEL.c.id).where(repo.PARCEL.c.waybill == waybill, repo.PARCEL.c.courier == courier)
        ).scalar_one()
        if snapshot:
            conn.execute(update(repo.PARCEL).where(repo.PARCEL.c.id == parcel_id).values(**snapshot))
            rollups.mark_parcels(conn, [parcel_id])  # as the ingest does (PostgreSQL: triggers)
    return parcel_id


def set_parcel(engine: Engine, parcel_id: int, **snapshot: Any) -> None:
    with engine.begin() as conn:
        conn.execute(update(repo.PARCEL).where(repo.PARCEL.c.id == parcel_id).values(**snapshot))
        rollups.mark_parcels(conn, [parcel_id])  # as the ingest does (PostgreSQL: triggers)


def add_fact(engine: Engine, parcel_id: int, kind: str, at: datetime, data: dict | None = None) -> int:  # type: ignore[type-arg]
    table = ParcelFactRow.__table__
    with engine.begin() as conn:
        return conn.execute(
            table.insert().returning(table.c.id),
            {
                "parcel_id": parcel_id,
                "kind": kind,
                "recorded_at": at,
                "recorded_by": "test",
                "data": data or {},
            },
        ).scalar_one()


def evaluate_meeting(
    engine: Engine,
    settings: Settings,
    now: datetime,
    writer: Callable[[], None],
    *,
    at: Callable[[str], bool],
    after: bool = False,
    watch: Engine | None = None,
    parcel_ids: list[int] | None = None,
) -> tuple[Any, bool]:
    """PostgreSQL: evaluate_all at `now` with `writer` started in a thread just before (`after`: just after)
    the evaluation sends the first statement `at` accepts, the evaluation held there until some session waits
    on a lock (or the writer ended, or three seconds passed); then the writer joined. Returns (the
    evaluation's summary, whether a session was seen waiting). `watch`: the engine to look with (the test's
    own, when `engine` is one made for the evaluation); `parcel_ids`: a scoped evaluation."""
    from tracker.flags import evaluate_all

    started: list[threading.Thread] = []
    waited: list[bool] = []

    def meet(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        if at(statement) and not started:
            thread = threading.Thread(target=writer)
            thread.start()
            started.append(thread)
            waited.append(_waiting_on_a_lock(watch or engine, thread))

    name = "after_cursor_execute" if after else "before_cursor_execute"
    event.listen(engine, name, meet)
    try:
        summary = evaluate_all(engine, now=now, settings=settings, parcel_ids=parcel_ids)
    finally:
        event.remove(engine, name, meet)
        for thread in started:  # the writer done before the test goes on (or tears down), whatever happened
            thread.join(30)
    return summary, waited[0]


def _waiting_on_a_lock(engine: Engine, thread: threading.Thread) -> bool:
    """Whether some session waits on a lock, looked at for up to three seconds (or until `thread` ends)."""
    with engine.connect() as watch:
        for _ in range(100):
            waiting = (
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
            )
            if watch.execute(text(waiting)).scalar():
                return True
            if not thread.is_alive():
                return False
            time.sleep(0.03)
    return False
