"""PostgreSQL: a person's change of a flag while an evaluation runs. The evaluation holds the marks it took
(tracker/flags/marks.py) until it commits; a person's change marks the flag's parcel before it writes the flag,
so it waits for the evaluation holding no flag row the evaluation may write: both finish, no deadlock."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine, event, select, text

from tests.rules.conftest import DB
from tracker.errors import TrackerError
from tracker.flags import evaluate_all, lifecycle
from tracker.storage.tables import FLAG

T0 = datetime.fromisoformat("2026-11-20T04:00:00+00:00")


def _waiting_on_a_lock(engine: Engine, thread: threading.Thread) -> bool:
    """Whether some session waits on a lock, looked at for up to three seconds (or until `thread` ends)."""
    with engine.connect() as watch:
        for _ in range(100):
            if watch.execute(text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")).scalar():
                return True
            if not thread.is_alive():
                return False
            time.sleep(0.03)
    return False


@pytest.mark.postgres
@pytest.mark.parametrize("change", ["acknowledge", "resolve"])
def test_a_person_changing_a_flag_during_an_evaluation_waits_for_it(pg_engine, settings, change: str) -> None:  # type: ignore[no-untyped-def]
    """The evaluation has taken the parcel's mark (its text changed: the refusal no longer holds, so it
    resolves the flag) when a person acknowledges or resolves the same flag: the person's change waits for the
    evaluation's commit, then is refused as a change of a flag already resolved, or applies; the evaluation
    resolves the flag. Marked after the flag's update, the person's change held the flag row the
    evaluation's resolve wanted while waiting for the mark the evaluation held: PostgreSQL's deadlock."""
    db = DB(pg_engine)
    parcel = db.parcel(
        created=T0, waybill="YT8000000000001", status="in_transit", status_text="【上海】收件人拒收",
        first_scan_at=T0, last_event_at=T0,
    )  # fmt: skip
    evaluate_all(pg_engine, now=T0 + timedelta(hours=2), settings=settings)
    with pg_engine.connect() as conn:
        flag_id = conn.execute(select(FLAG.c.id).where(FLAG.c.parcel_id == parcel)).scalar_one()
    db.set(parcel, status_text="【上海】已发出")  # marks the parcel (migration 0022's trigger)
    outcome: dict[str, object] = {}

    def person() -> None:
        try:
            getattr(lifecycle, change)(pg_engine, flag_id=flag_id, actor="ann", now=T0 + timedelta(hours=3))
            outcome["person"] = "changed"
        except TrackerError as exc:  # the flag the evaluation resolved meanwhile
            outcome["person"] = exc.code
        except Exception as exc:  # a deadlock: reported below
            outcome["person"] = exc

    started: list[threading.Thread] = []

    def after_taking_the_marks(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        if "DELETE FROM rule_mark" in statement and not started:
            thread = threading.Thread(target=person)
            thread.start()
            started.append(thread)
            outcome["waited"] = _waiting_on_a_lock(pg_engine, thread)

    event.listen(pg_engine, "after_cursor_execute", after_taking_the_marks)
    try:
        summary = evaluate_all(pg_engine, now=T0 + timedelta(hours=3), settings=settings)
    finally:
        event.remove(pg_engine, "after_cursor_execute", after_taking_the_marks)
    started[0].join(30)
    assert outcome["waited"] is True  # the person's change did meet the evaluation
    assert summary.resolved["refused"] == 1
    assert outcome["person"] in ("changed", "flag_resolved"), outcome["person"]
