"""The people's side of a flag: list, acknowledge, assign, resolve with a note. Every change goes to
the audit log under the person's name. Keyword-only, engine and actor passed in (CLI and board)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, case, select, update
from sqlalchemy.engine import Connection

from tracker.errors import TrackerError
from tracker.flags import next_action
from tracker.notes import check_note
from tracker.settings import Settings
from tracker.status import FlagKind, FlagState, Severity
from tracker.storage import rollups
from tracker.storage.db import write_transaction
from tracker.storage.repo import PARCEL, record_audit
from tracker.storage.tables import FLAG, width

LIST_COLUMNS = [
    "id",
    "waybill",
    "courier",
    "kind",
    "severity",
    "level",
    "state",
    "opened_at",
    "escalated_at",
    "resolved_at",
    "assignee",
    "note",
    "next_action_zh",
    "next_action_en",
    "details",
]


ASSIGNEE_CHARS = width(FLAG.c.assignee)  # 64


def list_flags(
    engine: Engine,
    *,
    kind: str | None = None,
    courier: str | None = None,
    state: str | None = None,
    waybill: str | None = None,
    limit: int = 100,
    offset: int = 0,
    settings: Settings,
    now: datetime,
) -> list[dict[str, Any]]:
    """Flags with their parcel's waybill and next action (rendered with `settings` as of `now`), escalated
    first, then newest; filters run in SQL."""
    if kind is not None and kind not in FlagKind.__members__:
        raise TrackerError(f"expected a flag kind ({', '.join(FlagKind)}), got {kind!r}", field="kind")
    if state is not None and state not in FlagState.__members__:
        raise TrackerError(f"expected a flag state ({', '.join(FlagState)}), got {state!r}", field="state")
    query = select(
        *(FLAG.c[c] for c in LIST_COLUMNS if c != "waybill"), PARCEL.c.waybill, *next_action.RENDERED_FROM
    ).join(PARCEL, PARCEL.c.id == FLAG.c.parcel_id)
    if kind:
        query = query.where(FLAG.c.kind == kind)
    if courier is not None:  # "": an order awaiting its parcel
        query = query.where(FLAG.c.courier == courier)
    if state:
        query = query.where(FLAG.c.state == state)
    if waybill:
        query = query.where(PARCEL.c.waybill == waybill.upper())
    escalated_first = case((FLAG.c.severity == str(Severity.escalate), 0), else_=1)
    query = query.order_by(escalated_first, FLAG.c.opened_at.desc(), FLAG.c.id.desc())
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(query.limit(limit).offset(offset))]
    next_action.fill(rows, settings, now)
    return rows


def _load(conn: Connection, flag_id: int, *, lock: bool = False) -> dict[str, Any]:
    """The flag's row (`lock`: locked until the transaction ends, PostgreSQL's FOR UPDATE)."""
    query = select(FLAG).where(FLAG.c.id == flag_id)
    row = conn.execute(query.with_for_update() if lock else query).first()
    if row is None:
        raise TrackerError(f"flag {flag_id}: no such flag (see `tracker flags`)", code="flag_missing", flag_id=flag_id)
    return dict(row._mapping)


def _change(
    engine: Engine,
    flag_id: int,
    *,
    actor: str,
    now: datetime,
    action: str,
    values: dict[str, Any],
    detail: dict[str, Any],
    refuse_resolved: bool = True,
    note: str | None = None,
) -> dict[str, Any]:
    """Write `values` to the flag and its audit line; `note` (a line the person gave with the change) is added to
    the flag's note as add_note adds one, never in its place (a bulk acknowledgement with a note wiped every
    earlier line)."""
    if not actor.strip():
        raise TrackerError("the name of the person making the change is required", code="actor_required", field="actor")
    check_note(note)
    # locked before the flag is read (its note, its state): two people's notes on one flag at once are both kept
    # (read outside SQLite's write lock, the later write dropped the earlier line)
    with write_transaction(engine) as conn:
        if "state" in values:
            # the parcel marked first (the next evaluation compares the new state with what the rules raise:
            # tracker/flags/marks.py). An evaluation in progress that took this mark holds it until it commits:
            # this change waits for it here, holding no flag row it may write (marked after the flag's update,
            # the two deadlocked on PostgreSQL)
            rollups.mark_flag_changed(conn, _load(conn, flag_id)["parcel_id"])
        # the flag read (again) and locked: an evaluation writing it (one that took no mark of this parcel: a
        # scoped one, a resolve by time) is waited for here, and the change reads what it left, its state
        # checked and recorded as it is (PostgreSQL; SQLite has one writer at a time)
        flag = _load(conn, flag_id, lock=True)
        if refuse_resolved and flag["state"] == FlagState.resolved:
            raise TrackerError(
                f"flag {flag_id}: already resolved; it reopens by itself if it fires again",
                code="flag_resolved",
                flag_id=flag_id,
            )
        if note and note.strip():
            line = f"{actor}: {note.strip()}"
            values = {**values, "note": f"{flag['note']}\n{line}" if flag["note"] else line}
        conn.execute(update(FLAG).where(FLAG.c.id == flag_id).values(**values))
        record_audit(
            conn,
            at=now,
            actor=actor,
            action=f"flag.{action}",
            entity="flag",
            entity_id=flag_id,
            detail={"kind": flag["kind"], "from_state": flag["state"], **detail},
        )
        return _load(conn, flag_id)


def acknowledge(engine: Engine, *, flag_id: int, actor: str, now: datetime, note: str | None = None) -> dict[str, Any]:
    """Someone has seen the flag and is on it: state acknowledged (an escalation reopens it)."""
    note = note.strip() if note else None
    values: dict[str, Any] = {"state": str(FlagState.acknowledged)}
    return _change(engine, flag_id, actor=actor, now=now, action="ack", values=values, detail={"note": note}, note=note)


def assign(
    engine: Engine, *, flag_id: int, to: str, actor: str, now: datetime, note: str | None = None
) -> dict[str, Any]:
    """Give the flag to a person (state unchanged)."""
    to, note = to.strip(), note.strip() if note else None  # " 王芳 " is 王芳: one person in the assignee filter
    if not to:
        raise TrackerError("the assignee's name is required", code="assignee_required", field="assignee")
    if len(to) > ASSIGNEE_CHARS:  # PostgreSQL refused the row (a fault on the board); SQLite stored it whole
        raise TrackerError(
            f"the assignee's name is longer than {ASSIGNEE_CHARS} characters",
            code="assignee_too_long",
            field="assignee",
            limit=ASSIGNEE_CHARS,
        )
    values: dict[str, Any] = {"assignee": to}
    return _change(
        engine,
        flag_id,
        actor=actor,
        now=now,
        action="assign",
        values=values,
        detail={"to": to, "note": note},
        note=note,
    )


def resolve(engine: Engine, *, flag_id: int, actor: str, now: datetime, note: str | None = None) -> dict[str, Any]:
    """Close the flag by hand with a note. It stays closed while the same occurrence lasts and reopens
    (same flag, history kept) if the rule raises a higher level or a new occurrence."""
    note = note.strip() if note else None
    values: dict[str, Any] = {"state": str(FlagState.resolved), "resolved_at": now, "resolved_by": actor}
    return _change(
        engine, flag_id, actor=actor, now=now, action="resolve", values=values, detail={"note": note}, note=note
    )


def add_note(engine: Engine, *, flag_id: int, text: str, actor: str, now: datetime) -> dict[str, Any]:
    """Add a line to the flag's note (state unchanged; also on a resolved flag): the note keeps every line,
    newest last, each with its author; the audit log has the line alone."""
    if not text.strip():
        raise TrackerError("the note is empty", code="note_empty", field="note")
    # the line added to the note as read in the change's own locked transaction (read before it, a line another
    # person added meanwhile was lost)
    return _change(
        engine,
        flag_id,
        actor=actor,
        now=now,
        action="note",
        values={},
        detail={"note": text.strip()},
        refuse_resolved=False,
        note=text,
    )
