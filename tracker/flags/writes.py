"""The writes of an evaluation: CHANGE applied to the flag table (open, reopen, escalate, resolve, with
their next actions' keys and numbers), and one audit line per change but the openings, which the flag's row
records until the rules next change it (tracker/flags/history.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, case, exists, func, literal, select, text, tuple_, update
from sqlalchemy.engine import Connection

from tracker.flags.bulk import indexes_built_after
from tracker.flags.diff import CLEARED, in_scope, not_desired, now_literal, same
from tracker.flags.history import DETAIL_KEYS, ENTITY, OPENED, RULES_ACTOR
from tracker.flags.rulesql import Context
from tracker.flags.sqlfuncs import json_object
from tracker.flags.temp import CHANGE, DESIRED, DETAIL
from tracker.flags.timing import StepClock
from tracker.rules.registry import FOLLOWS_FACT
from tracker.status import FlagState, Severity
from tracker.storage import scorecard_days
from tracker.storage.repo import AUDIT
from tracker.storage.rows import FLAG_INDEXES_NO_OPENING_ENTERS, PERSON_RESOLVED_UNCLEARED
from tracker.storage.tables import FACT, FLAG

if TYPE_CHECKING:
    from tracker.flags.evaluate import EvaluationSummary


def apply(conn: Connection, ctx: Context, summary: EvaluationSummary) -> None:
    """Write CHANGE: open, reopen, escalate, resolve (a statement only for an action that has rows),
    then one audit line per change but the openings (the openings of the flags that reopen or escalate
    written first, from their rows before the change: history.py)."""
    tick = StepClock(summary.steps)
    now = now_literal(ctx)
    _follow_occurrence(conn, ctx)
    tick("occurrence")
    if summary.opened:
        _open(conn, now, sum(summary.opened.values()))
    tick("open")
    if summary.reopened or summary.escalated:
        _opening_lines(conn)
        _reopen_escalate(conn, now)
    fact_kinds = [str(k) for k in FOLLOWS_FACT]
    if any(counter[k] for counter in (summary.opened, summary.reopened, summary.escalated) for k in fact_kinds):
        _fact_details(conn, fact_kinds)
    tick("reopen, escalate")
    _resolve(conn, ctx, now, any_resolved=bool(summary.resolved))
    tick("resolve")
    _audit_lines(conn, now)
    tick("audit")


def _follow_occurrence(conn: Connection, ctx: Context) -> None:
    """An unresolved flag's anchor, and the time and number its next action counts from, follow the
    occurrence the rule reads now (a later scan of a parcel still stale, a refund deadline moved within the
    same step): the occurrence a person then resolves is the one they saw, and the flag stays resolved while
    it holds. Without this, the next evaluation reopened the flag at once (its stored anchor was the one it
    opened with), and its next action counted the hours from the old scan. Kinds that follow a fact rewrite
    theirs when raised (diff.newer_fact); no audit line: neither the state nor the level changes. An UPDATE
    ... FROM: one join, not a lookup of DESIRED per flag (on PostgreSQL DESIRED has no index here)."""
    f, d = FLAG, DESIRED
    conn.execute(
        update(f)
        .where(
            same(d, f),
            func.coalesce(d.c.anchor, 0) != func.coalesce(f.c.anchor, 0),
            f.c.state != str(FlagState.resolved),
            f.c.kind.not_in([str(k) for k in FOLLOWS_FACT]),
            *in_scope(ctx),
        )
        .values(anchor=d.c.anchor, action_since=d.c.since, action_value=d.c.value)
    )


def _open(conn: Connection, now: Any, opening: int) -> None:
    """The `opening` flags CHANGE opens, with their next actions' keys and numbers (the texts are rendered
    when read: writing them was a quarter of a first evaluation at a million parcels); on PostgreSQL a large
    opening builds the flag indexes after the rows (tracker/flags/bulk.py). No ANALYZE after a large
    opening: the planner scales the flag table's last statistics to its current size in pages, and
    autovacuum re-samples it (ANALYZE here cost 0.17 s per 100,000 flags)."""
    c = CHANGE
    columns = {
        "parcel_id": c.c.parcel_id,
        "courier": c.c.courier,
        "kind": c.c.kind,
        "severity": c.c.severity,
        "level": c.c.level,
        "state": literal(str(FlagState.open)),
        "opened_at": now,
        "escalated_at": case((c.c.severity == str(Severity.escalate), now)),
        "anchor": c.c.anchor,
        "action_key": c.c.action_key,  # the next action, rendered when read (tracker/flags/next_action.py)
        "action_value": c.c.value,
        "action_since": c.c.since,
        "last_update": c.c.last_update,  # the board's ageing reads it on the flag
    }
    if conn.dialect.name == "postgresql":
        columns["id"] = c.c.flag_id  # numbered by the diff
    # the scorecards' days of the parcels flagged, from their shipping times as the rules read them: no parcel
    # lookup per flag (0.3 s per 100,000 flags on SQLite); first, as it may wait for a scorecard refresh's
    # transaction, which nothing may do once the flag table is locked (bulk.py)
    scorecard_days.mark_shipping(conn, select(c.c.shipped_at).where(c.c.action == "open"))
    rows = select(*columns.values()).where(c.c.action == "open")
    with indexes_built_after(conn, FLAG.name, opening, kept=FLAG_INDEXES_NO_OPENING_ENTERS):
        conn.execute(FLAG.insert().from_select(list(columns), rows))


def _fact_details(conn: Connection, fact_kinds: list[str]) -> None:
    """Flags raised by a person's fact carry that fact (signer, weights, counts) as their details."""
    f, c = FLAG, CHANGE
    raised = select(c.c.parcel_id, c.c.kind).where(c.c.kind.in_(fact_kinds), c.c.action != "resolve")
    conn.execute(
        update(f)
        .where(tuple_(f.c.parcel_id, f.c.kind).in_(raised))
        .values(details=select(FACT.c.data).where(FACT.c.id == f.c.anchor).scalar_subquery())
    )


def _resolve(conn: Connection, ctx: Context, now: Any, *, any_resolved: bool) -> None:
    """The flags no rule raises any more resolve; a person's resolution whose condition cleared is marked."""
    f = FLAG
    if any_resolved:
        conn.execute(
            update(f)
            .where(_changing("resolve"))
            .values(state=str(FlagState.resolved), resolved_at=now, resolved_by=RULES_ACTOR)
        )
    # a person's resolution holds while the same occurrence lasts; once seen clear, a new one reopens it
    # (the predicate as text: ix_flag_resolved_by_person's, so that both databases read that index)
    conn.execute(update(f).where(text(PERSON_RESOLVED_UNCLEARED), not_desired(), *in_scope(ctx)).values(anchor=CLEARED))


def _audit_lines(conn: Connection, now: Any) -> None:
    """One audit line per change but the openings (history.py): the flag's id, and the kind, severity and
    level it changed to (the flag names the parcel). PostgreSQL builds each distinct detail once (DETAIL): a
    change of the rules can resolve a hundred thousand flags."""
    c = CHANGE
    changed = c.c.action != "open"
    if conn.dialect.name == "postgresql":
        triples = select(c.c.kind, c.c.severity, c.c.level).where(changed).distinct().subquery()
        details = select(*triples.c, _detail(triples))
        conn.execute(DETAIL.insert().from_select(["kind", "severity", "level", "detail"], details))
        by_triple = and_(*(DETAIL.c[n] == c.c[n] for n in DETAIL_KEYS))
        conn.execute(_audit(now, c.c.flag_id, c.c.action, DETAIL.c.detail, c.join(DETAIL, by_triple), changed))
    else:
        conn.execute(_audit(now, c.c.flag_id, c.c.action, _detail(c), c, changed))


def _opening_lines(conn: Connection) -> None:
    """The opening of each flag about to reopen or escalate, as its audit line (at its opened_at), from its row
    before the change overwrites it, unless a line holds it already (history.py): one lookup of the audit
    index per such flag (few)."""
    f, c, a = FLAG, CHANGE, AUDIT
    recorded = exists().where(a.c.entity == ENTITY, a.c.entity_id == f.c.id, a.c.action == OPENED)
    flags = f.join(c, c.c.flag_id == f.c.id)
    stmt = select(f.c.opened_at, literal(RULES_ACTOR), literal(OPENED), literal(ENTITY), f.c.id, _detail(f))
    conn.execute(
        AUDIT.insert().from_select(
            ["at", "actor", "action", "entity", "entity_id", "detail"],
            stmt.select_from(flags).where(c.c.action.in_(["reopen", "escalate"]), ~recorded),
        )
    )


def _changing(action: str) -> Any:
    return FLAG.c.id.in_(select(CHANGE.c.flag_id).where(CHANGE.c.action == action))


def _reopen_escalate(conn: Connection, now: Any) -> None:
    """The flags that reopen or escalate (few): their level, occurrence and next action. Texts stored on the
    flag are cleared: its new action is rendered when read, or written again by tracker/flags/details.py."""
    f, c = FLAG, CHANGE

    def new(column: str) -> Any:
        return select(c.c[column]).where(c.c.flag_id == f.c.id).scalar_subquery()

    common = {
        "severity": new("severity"),
        "level": new("level"),
        "anchor": new("anchor"),
        "action_key": new("action_key"),
        "action_value": new("value"),
        "action_since": new("since"),
        "next_action_zh": None,
        "next_action_en": None,
        "state": str(FlagState.open),
    }
    conn.execute(update(f).where(_changing("escalate")).values(**common, escalated_at=now))
    conn.execute(
        update(f)
        .where(_changing("reopen"))
        .values(
            **common,
            opened_at=now,
            resolved_at=None,
            resolved_by=None,
            escalated_at=case((new("severity") == str(Severity.escalate), now)),
        )
    )


def _detail(row: Any) -> Any:
    """What a rules' audit line says the flag became (history.DETAIL_KEYS), as a JSON object."""
    return json_object(*(part for key in DETAIL_KEYS for part in (key, row.c[key])))


def _audit(now: Any, flag_id: Any, action: Any, detail: Any, source: Any, where: Any) -> Any:
    """INSERT of one audit line per row of `source` that `where` holds, actor "rules"."""
    line = select(now, literal(RULES_ACTOR), literal(f"{ENTITY}.") + action, literal(ENTITY), flag_id, detail)
    return AUDIT.insert().from_select(
        ["at", "actor", "action", "entity", "entity_id", "detail"], line.select_from(source).where(where)
    )
