"""The diff of an evaluation: the rows the rules raise (DESIRED) against the flags as they are, as the
changes to make (CHANGE: open, reopen, escalate, resolve), before any write (tracker/flags/evaluate.py)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, and_, case, exists, func, literal, literal_column, or_, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.sql import FromClause

from tracker.flags import queries
from tracker.flags.candidates import status_candidates, status_rule_rows
from tracker.flags.history import RULES_ACTOR
from tracker.flags.rulesql import COLUMNS, Context
from tracker.flags.temp import CAND, CHANGE, DESIRED, SCOPE
from tracker.flags.timing import StepClock
from tracker.rules.registry import FOLLOWS_FACT
from tracker.status import FlagState
from tracker.storage.tables import FLAG, TEXT_HIT

CLEARED = -1  # anchor of a person-resolved flag whose condition was seen clear


def desired(conn: Connection, ctx: Context, steps: dict[str, float], *, hits: bool) -> None:
    """DESIRED: every row the rules raise. CAND first (one scan for the status rules: with `hits`, the text
    hits kept up to date before, tracker/flags/text_hits.py), then each rule's SELECTs
    (tracker/flags/queries.py) and the status rules over CAND."""
    tick = StepClock(steps)
    for stmt in status_candidates(ctx, hits=TEXT_HIT if hits else None):
        conn.execute(CAND.insert().from_select([c.name for c in CAND.c], stmt))
    tick("status candidates")
    names = list(COLUMNS)
    for stmt in queries.selects(ctx):
        conn.execute(DESIRED.insert().from_select(names, stmt))
    for stmt in status_rule_rows(ctx, CAND):
        conn.execute(DESIRED.insert().from_select(names, stmt))
    tick("rules")


def same(a: FromClause, b: FromClause) -> Any:
    """Rows of a and b about the same flag (parcel and kind)."""
    return and_(a.c.parcel_id == b.c.parcel_id, a.c.kind == b.c.kind)


def now_literal(ctx: Context) -> Any:
    """The evaluation's `now` as a value of the flag table's time type."""
    return literal(ctx.now, FLAG.c.opened_at.type)


def diff(conn: Connection, ctx: Context, steps: dict[str, float]) -> None:
    """CHANGE: the desired rows that open, reopen or escalate a flag, then the unresolved flags no rule
    raises any more (resolve), both against the flags as they were. Texts are filled later, only
    for the rows that need them."""
    tick = StepClock(steps)
    d, f, c = DESIRED, FLAG, CHANGE
    resolved = f.c.state == str(FlagState.resolved)
    by_rules = func.coalesce(f.c.resolved_by, RULES_ACTOR) == RULES_ACTOR
    # a flag raised by a person's fact follows the newest fact: a newer one (another signature, a new weighing)
    # rewrites its next action and details (docs/domain.md "What people record")
    newer_fact = and_(d.c.kind.in_([str(k) for k in FOLLOWS_FACT]), d.c.anchor != func.coalesce(f.c.anchor, CLEARED))
    changed = or_(
        f.c.id.is_(None),
        and_(~resolved, or_(d.c.level > f.c.level, newer_fact)),
        and_(resolved, or_(by_rules, d.c.level > f.c.level, d.c.anchor != func.coalesce(f.c.anchor, CLEARED))),
    )
    action = case((f.c.id.is_(None), "open"), (resolved, "reopen"), else_="escalate")
    names = [
        "flag_id",
        "parcel_id",
        "kind",
        "action",
        "severity",
        "level",
        "anchor",
        "courier",
        "action_key",
        "value",
        "since",
        "last_update",
        "shipped_at",
    ]
    rows = (
        select(
            f.c.id.label("flag_id"),
            d.c.parcel_id,
            d.c.kind,
            action.label("action"),
            d.c.severity,
            d.c.level,
            d.c.anchor,
            d.c.courier,
            d.c.action.label("action_key"),
            d.c.value,
            d.c.since,
            d.c.last_update,
            d.c.shipped_at,
        )
        .select_from(d.outerjoin(f, same(f, d)))
        .where(changed)
    )
    if conn.dialect.name == "postgresql":
        # the flags to open get their ids here: the flag and its audit line are then written from CHANGE
        # alone (finding the ids after the INSERT, by a join or a RETURNING, cost 0.25 s per 100,000 flags)
        sequence = conn.execute(text("SELECT pg_get_serial_sequence('flag', 'id')")).scalar_one()
        new_id: Any = literal_column(f"nextval('{sequence}'::regclass)")
        rows = rows.with_only_columns(func.coalesce(f.c.id, new_id), *rows.selected_columns[1:])
    conn.execute(c.insert().from_select(names, rows))
    tick("diff")
    # unresolved flags no rule raises any more resolve themselves (the flags this evaluation opens
    # are all desired: looking before they exist spares the check; no_longer_raised)
    conn.execute(
        c.insert().from_select(
            ["flag_id", "parcel_id", "kind", "action", "severity", "level"],
            select(f.c.id, f.c.parcel_id, f.c.kind, literal("resolve"), f.c.severity, f.c.level).where(
                f.c.id.in_(no_longer_raised(ctx))
            ),
        )
    )
    tick("resolve")


def no_longer_raised(ctx: Context) -> Select:
    """The ids of the unresolved flags (in scope) that no rule raises now: found in
    ix_flag_unresolved_parcel_kind alone, in DESIRED's order; only the few found are then read from the flag
    table (a scan of every flag row cost the steady evaluation 0.3 s at 114,660 flags)."""
    u = FLAG.alias("unresolved")
    unresolved = u.c.state != literal_column(f"'{FlagState.resolved}'")  # a literal: the index's predicate
    gone = select(u.c.id).where(unresolved, ~exists().where(same(DESIRED, u)))
    if ctx.scope is not None:
        gone = gone.where(u.c.parcel_id.in_(select(SCOPE.c.parcel_id)))
    return gone


def not_desired() -> Any:
    return ~exists().where(same(DESIRED, FLAG))


def in_scope(ctx: Context) -> list[Any]:
    return [FLAG.c.parcel_id.in_(select(SCOPE.c.parcel_id))] if ctx.scope is not None else []
