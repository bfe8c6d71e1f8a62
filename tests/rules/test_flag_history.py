"""A flag's history when the rules write no audit line for an opening (tracker/flags/history.py): the flag's row
holds the opening until the rules next change the flag, which first writes the opening as it was; the parcel
page's history has every opening once, at the time it happened, with what the flag opened as."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from dashboard import data
from tests.rules.test_rules_lifecycle import T0, H, _flag, _stale_parcel
from tracker.flags import evaluate_all, lifecycle
from tracker.flags.history import with_openings
from tracker.storage.repo import AUDIT

OPENING = {"kind": "stale", "severity": "warn", "level": 0}


def _stored(engine, flag_id: int) -> list[tuple[Any, ...]]:  # type: ignore[no-untyped-def]
    query = select(AUDIT.c.at, AUDIT.c.actor, AUDIT.c.action, AUDIT.c.detail).where(
        AUDIT.c.entity == "flag", AUDIT.c.entity_id == flag_id
    )
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(query.order_by(AUDIT.c.at, AUDIT.c.id))]


def _page_history(engine, parcel_id: int) -> list[tuple[Any, ...]]:  # type: ignore[no-untyped-def]
    """The parcel page's history, oldest first: (time, actor, action, detail)."""
    detail = data.parcel_detail(engine, parcel_id)
    assert detail is not None
    return [(a["at"], a["actor"], a["action"], a["detail"]) for a in reversed(detail["audit"])]


def test_an_opening_is_read_from_the_flags_row_and_stored_before_the_first_escalation(db, settings) -> None:  # type: ignore[no-untyped-def]
    p = _stale_parcel(db)
    assert dict(evaluate_all(db.engine, now=T0 + 72 * H, settings=settings).opened) == {"stale": 1}
    flag = _flag(db.engine, p)
    assert _stored(db.engine, flag.id) == []  # no line written for the opening
    assert _page_history(db.engine, p) == [(T0 + 72 * H, "rules", "flag.open", OPENING)]

    lifecycle.acknowledge(db.engine, flag_id=flag.id, actor="lead.wang", now=T0 + 80 * H)
    assert [line[2] for line in _stored(db.engine, flag.id)] == ["flag.ack"]  # a person's change: its own line

    assert dict(evaluate_all(db.engine, now=T0 + 97 * H, settings=settings).escalated) == {"stale": 1}
    escalated = {"kind": "stale", "severity": "escalate", "level": 1}
    expected = [
        (T0 + 72 * H, "rules", "flag.open", OPENING),  # as it opened, when it opened: the row before the change
        (T0 + 80 * H, "lead.wang", "flag.ack", {"kind": "stale", "from_state": "open", "note": None}),
        (T0 + 97 * H, "rules", "flag.escalate", escalated),
    ]
    assert _stored(db.engine, flag.id) == expected
    assert _page_history(db.engine, p) == expected  # the stored opening, not a second one read from the row


def test_a_reopened_flag_keeps_its_first_opening_once(db, settings) -> None:  # type: ignore[no-untyped-def]
    p = _stale_parcel(db)
    evaluate_all(db.engine, now=T0 + 72 * H, settings=settings)
    db.set(p, last_event_at=T0 + 73 * H)  # a new scan: the condition clears
    assert dict(evaluate_all(db.engine, now=T0 + 74 * H, settings=settings).resolved) == {"stale": 1}
    assert [line[2] for line in _page_history(db.engine, p)] == ["flag.open", "flag.resolve"]

    assert dict(evaluate_all(db.engine, now=T0 + 146 * H, settings=settings).reopened) == {"stale": 1}
    flag = _flag(db.engine, p)
    assert flag.opened_at == T0 + 146 * H  # the row now says the reopening
    reopened = [
        (T0 + 72 * H, "rules", "flag.open", OPENING),
        (T0 + 74 * H, "rules", "flag.resolve", OPENING),
        (T0 + 146 * H, "rules", "flag.reopen", OPENING),
    ]
    assert _stored(db.engine, flag.id) == reopened
    assert _page_history(db.engine, p) == reopened

    # a later change finds the opening stored: no second line
    assert dict(evaluate_all(db.engine, now=T0 + 170 * H, settings=settings).escalated) == {"stale": 1}
    actions = [line[2] for line in _stored(db.engine, flag.id)]
    assert actions == ["flag.open", "flag.resolve", "flag.reopen", "flag.escalate"]


def test_with_openings_adds_only_the_openings_no_line_holds() -> None:
    stored_open = {"id": 5, "at": T0, "actor": "rules", "action": "flag.open", "entity": "flag", "entity_id": 1}
    same_instant = {"id": 9, "at": T0 + H, "actor": "lead.wang", "action": "flag.ack", "entity": "flag", "entity_id": 2}
    claim = {
        "id": 7,
        "at": T0 + 2 * H,
        "actor": "lead.wang",
        "action": "claim.filed",
        "entity": "claim",
        "entity_id": 2,
    }
    flags = [
        {"id": 1, "opened_at": T0, "kind": "stale", "severity": "warn", "level": 0},  # an opening stored before
        {"id": 2, "opened_at": T0 + H, "kind": "refused", "severity": "warn", "level": 0},
    ]
    lines = with_openings([claim, stored_open, same_instant], flags)
    assert [(line["id"], line["action"], line["entity_id"]) for line in lines] == [
        (7, "claim.filed", 2),  # a claim's line of the same number is not the flag's
        (9, "flag.ack", 2),
        (None, "flag.open", 2),  # before the lines of its own instant
        (5, "flag.open", 1),
    ]
    assert lines[2]["detail"] == {"kind": "refused", "severity": "warn", "level": 0}
