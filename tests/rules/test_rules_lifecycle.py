"""Flag lifecycle in storage: open, escalate, auto-resolve, acknowledge, assign, resolve by a person,
reopen with the history kept in the audit log (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from tracker.errors import TrackerError
from tracker.flags import evaluate_all, lifecycle
from tracker.storage.repo import AUDIT
from tracker.storage.tables import FLAG

T0 = datetime.fromisoformat("2026-11-10T04:00:00+00:00")
H = timedelta(hours=1)


def _stale_parcel(db, last: datetime = T0) -> int:  # type: ignore[no-untyped-def]
    return db.parcel(
        created=last, waybill="YT0000000000009", status="in_transit", first_scan_at=last, last_event_at=last
    )


def _flag(engine, parcel_id: int, kind: str = "stale"):  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return conn.execute(select(FLAG).where(FLAG.c.parcel_id == parcel_id, FLAG.c.kind == kind)).one()


def _history(engine, flag_id: int) -> list[tuple[str, str]]:
    """The flag's stored audit lines in the order of their times (an opening is written when the rules first
    change the flag, with the time it opened: tracker/flags/history.py)."""
    query = select(AUDIT.c.actor, AUDIT.c.action).where(AUDIT.c.entity == "flag", AUDIT.c.entity_id == flag_id)
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(query.order_by(AUDIT.c.at, AUDIT.c.id))]


def test_flag_opens_escalates_is_handled_resolves_and_reopens(db, settings) -> None:  # type: ignore[no-untyped-def]
    p = _stale_parcel(db)
    assert dict(evaluate_all(db.engine, now=T0 + 72 * H, settings=settings).opened) == {"stale": 1}
    assert not evaluate_all(db.engine, now=T0 + 80 * H, settings=settings).changes  # opened once
    flag_id = _flag(db.engine, p).id
    lifecycle.acknowledge(db.engine, flag_id=flag_id, actor="lead.wang", now=T0 + 81 * H, note="已电话联系网点")
    lifecycle.assign(db.engine, flag_id=flag_id, to="agent.li", actor="lead.wang", now=T0 + 82 * H)
    flag = _flag(db.engine, p)
    assert (flag.state, flag.assignee, flag.note) == ("acknowledged", "agent.li", "lead.wang: 已电话联系网点")
    # a note given with a change is a line added, as a note alone is: the earlier lines stay
    lifecycle.assign(db.engine, flag_id=flag_id, to=" agent.li ", actor="lead.wang", now=T0 + 83 * H, note="明早再跟")
    flag = _flag(db.engine, p)
    assert (flag.assignee, flag.note) == ("agent.li", "lead.wang: 已电话联系网点\nlead.wang: 明早再跟")

    assert dict(evaluate_all(db.engine, now=T0 + 96 * H, settings=settings).escalated) == {"stale": 1}
    flag = _flag(db.engine, p)
    assert (flag.severity, flag.state, flag.assignee) == ("escalate", "open", "agent.li")

    db.set(p, last_event_at=T0 + 97 * H)  # a new scan clears the condition
    assert dict(evaluate_all(db.engine, now=T0 + 98 * H, settings=settings).resolved) == {"stale": 1}
    assert (_flag(db.engine, p).state, _flag(db.engine, p).resolved_by) == ("resolved", "rules")

    assert dict(evaluate_all(db.engine, now=T0 + 169 * H, settings=settings).reopened) == {"stale": 1}
    flag = _flag(db.engine, p)
    assert (flag.id, flag.state, flag.severity, flag.resolved_at) == (flag_id, "open", "warn", None)
    assert _history(db.engine, flag_id) == [
        ("rules", "flag.open"),
        ("lead.wang", "flag.ack"),
        ("lead.wang", "flag.assign"),
        ("lead.wang", "flag.assign"),
        ("rules", "flag.escalate"),
        ("rules", "flag.resolve"),
        ("rules", "flag.reopen"),
    ]


def test_a_persons_resolution_holds_until_the_rule_escalates(db, settings) -> None:  # type: ignore[no-untyped-def]
    p = _stale_parcel(db)
    evaluate_all(db.engine, now=T0 + 72 * H, settings=settings)
    flag_id = _flag(db.engine, p).id
    lifecycle.resolve(db.engine, flag_id=flag_id, actor="agent.li", now=T0 + 73 * H, note="快递说明天派送")
    assert not evaluate_all(db.engine, now=T0 + 90 * H, settings=settings).changes
    assert _flag(db.engine, p).state == "resolved"
    assert dict(evaluate_all(db.engine, now=T0 + 96 * H, settings=settings).reopened) == {"stale": 1}
    flag = _flag(db.engine, p)
    assert (flag.state, flag.severity, flag.note) == ("open", "escalate", "agent.li: 快递说明天派送")


def test_a_persons_resolution_reopens_on_a_new_occurrence(db, settings) -> None:  # type: ignore[no-untyped-def]
    p = _stale_parcel(db)
    evaluate_all(db.engine, now=T0 + 100 * H, settings=settings)  # opens at escalate level directly
    lifecycle.resolve(db.engine, flag_id=_flag(db.engine, p).id, actor="agent.li", now=T0 + 101 * H)
    db.set(p, last_event_at=T0 + 102 * H)
    assert not evaluate_all(db.engine, now=T0 + 103 * H, settings=settings).changes
    assert dict(evaluate_all(db.engine, now=T0 + 174 * H, settings=settings).reopened) == {"stale": 1}


def test_people_cannot_act_on_unknown_or_resolved_flags(db, settings) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(TrackerError, match="flag 999: no such flag"):
        lifecycle.acknowledge(db.engine, flag_id=999, actor="lead.wang", now=T0)
    p = _stale_parcel(db)
    evaluate_all(db.engine, now=T0 + 72 * H, settings=settings)
    flag_id = _flag(db.engine, p).id
    with pytest.raises(TrackerError, match="the assignee's name is required") as no_one:
        lifecycle.assign(db.engine, flag_id=flag_id, to=" ", actor="lead.wang", now=T0)
    assert no_one.value.field == "assignee"  # the CLI names its option (--to), the board its field
    lifecycle.resolve(db.engine, flag_id=flag_id, actor="lead.wang", now=T0 + 73 * H)
    with pytest.raises(TrackerError, match="already resolved"):
        lifecycle.acknowledge(db.engine, flag_id=flag_id, actor="lead.wang", now=T0 + 74 * H)


def test_list_filters_by_kind_courier_and_state(db, settings) -> None:  # type: ignore[no-untyped-def]
    _stale_parcel(db)
    db.parcel(created=T0, waybill="SF1234567890123", courier="sf", shipped_at=T0)
    evaluate_all(db.engine, now=T0 + 80 * H, settings=settings)
    assert [r["kind"] for r in lifecycle.list_flags(db.engine, settings=settings, now=T0 + 100 * H, courier="sf")] == [
        "no_first_scan"
    ]
    assert [
        r["waybill"]
        for r in lifecycle.list_flags(db.engine, settings=settings, now=T0 + 100 * H, kind="stale", state="open")
    ] == ["YT0000000000009"]
    assert lifecycle.list_flags(db.engine, settings=settings, now=T0 + 100 * H, state="resolved") == []
    evaluate_all(db.engine, now=T0 + 100 * H, settings=settings)  # both escalate; the stale one first by age
    db.parcel(created=T0, waybill="YT0000000000010", shipped_at=T0 + 20 * H)  # a newer warn flag
    evaluate_all(db.engine, now=T0 + 100 * H, settings=settings)
    assert [r["severity"] for r in lifecycle.list_flags(db.engine, settings=settings, now=T0 + 100 * H)] == [
        "escalate",
        "escalate",
        "warn",
    ]
    with pytest.raises(TrackerError, match="expected a flag kind .*got 'nonsense'") as nonsense:
        lifecycle.list_flags(db.engine, settings=settings, now=T0 + 100 * H, kind="nonsense")
    assert nonsense.value.field == "kind"


def test_an_evaluations_steps_account_for_its_time_once_each(db, settings) -> None:  # type: ignore[no-untyped-def]
    """The seconds per step (what bench/rules.py prints) cover the whole evaluation, the commit included,
    and no stretch of it is counted under two steps."""
    _stale_parcel(db)
    summary = evaluate_all(db.engine, now=T0 + 72 * H, settings=settings)
    assert list(summary.steps)[0] == "setup" and list(summary.steps)[-1] == "commit"
    assert {"text hits", "rules", "diff", "count", "open", "audit", "details"} <= set(summary.steps)
    assert all(seconds >= 0 for seconds in summary.steps.values())
    assert sum(summary.steps.values()) <= summary.seconds


def test_an_assignees_name_longer_than_the_column_is_refused_by_name_on_both_databases(db, settings) -> None:  # type: ignore[no-untyped-def]
    """PostgreSQL refused a 65-character name as a fault (a generic line on the board) where SQLite stored it."""
    p = _stale_parcel(db)
    evaluate_all(db.engine, now=T0 + 72 * H, settings=settings)
    flag_id = _flag(db.engine, p).id
    with pytest.raises(TrackerError) as refused:
        lifecycle.assign(db.engine, flag_id=flag_id, to="王" * 65, actor="lead.wang", now=T0 + 73 * H)
    assert (refused.value.code, refused.value.field, refused.value.params) == (
        "assignee_too_long",
        "assignee",
        {"limit": 64},
    )
    assert _flag(db.engine, p).assignee is None  # nothing written
    lifecycle.assign(db.engine, flag_id=flag_id, to="王" * 64, actor="lead.wang", now=T0 + 74 * H)
    assert _flag(db.engine, p).assignee == "王" * 64


def test_a_note_longer_than_a_line_is_refused_by_name_and_nothing_written(db, settings) -> None:  # type: ignore[no-untyped-def]
    """A person's note (a flag's, a fact's) is bounded: a page pasted by mistake is refused, by name, before anything
    is written (the flag's note keeps every line and grew without end)."""
    from tracker.flags import facts
    from tracker.notes import NOTE_CHARS
    from tracker.storage.tables import FACT

    p = _stale_parcel(db)
    evaluate_all(db.engine, now=T0 + 72 * H, settings=settings)
    flag_id = _flag(db.engine, p).id
    page = "包裹" * (NOTE_CHARS // 2) + "!"
    for change in (
        lambda: lifecycle.acknowledge(db.engine, flag_id=flag_id, actor="lead.wang", now=T0 + 73 * H, note=page),
        lambda: lifecycle.add_note(db.engine, flag_id=flag_id, text=page, actor="lead.wang", now=T0 + 73 * H),
        lambda: facts.confirm_loss(db.engine, waybill="YT0000000000009", actor="lead.wang", now=T0 + 73 * H, note=page),
        lambda: facts.buyer_not_received(  # who signed, as a person typed it: named as that input
            db.engine, waybill="YT0000000000009", actor="lead.wang", now=T0 + 73 * H, signer=page
        ),
    ):
        with pytest.raises(TrackerError) as refused:
            change()
        assert refused.value.code == "note_too_long" and refused.value.params == {"limit": NOTE_CHARS}
        assert refused.value.field in ("note", "signer")
    flag = _flag(db.engine, p)
    assert (flag.state, flag.note) == ("open", None)
    with db.engine.connect() as conn:
        assert conn.execute(select(FACT.c.id)).first() is None
    lifecycle.add_note(db.engine, flag_id=flag_id, text=page[:-1], actor="lead.wang", now=T0 + 74 * H)
    assert _flag(db.engine, p).note == f"lead.wang: {page[:-1]}"


def test_two_notes_on_one_flag_at_once_are_both_kept(db, settings) -> None:  # type: ignore[no-untyped-def]
    """Two people adding a line to one flag at the same moment (the board and a CLI): the second waits for the
    first's commit and adds its line after it. Here the second comes in after the first read the flag's note
    and before it wrote: read outside the write lock (SQLite), the later write dropped the earlier line."""
    import threading

    from sqlalchemy import event

    p = _stale_parcel(db)
    evaluate_all(db.engine, now=T0 + 72 * H, settings=settings)
    flag_id = _flag(db.engine, p).id
    threads: list[threading.Thread] = []

    def second() -> None:
        lifecycle.add_note(db.engine, flag_id=flag_id, text="已联系网点", actor="agent.li", now=T0 + 73 * H)

    def between_read_and_write(conn, cursor, statement: str, *args) -> None:  # type: ignore[no-untyped-def]
        if not threads and statement.startswith("UPDATE flag SET note"):
            threads.append(threading.Thread(target=second))
            threads[0].start()
            threads[0].join(1.0)  # time enough for an unlocked second note to read, write and commit

    event.listen(db.engine, "before_cursor_execute", between_read_and_write)
    try:
        lifecycle.add_note(db.engine, flag_id=flag_id, text="买家说未收到", actor="lead.wang", now=T0 + 73 * H)
        threads[0].join(30)
    finally:  # removed once no thread runs statements (SQLAlchemy walks its listeners without a lock)
        event.remove(db.engine, "before_cursor_execute", between_read_and_write)
    assert _flag(db.engine, p).note == "lead.wang: 买家说未收到\nagent.li: 已联系网点"
