"""Run every rule over the parcels and bring the flag table in line, set-based (no per-parcel loop).

    evaluate_all(engine, now, settings, parcel_ids=None)
      ├─ _cand     ← one scan: watched parcels whose status/text may raise a status rule
      ├─ _desired  ← INSERT … SELECT per rule (queries.py)
      ├─ _change   ← desired vs flag, before any write: open | reopen | escalate, and unresolved flags
      │              no rule wants: resolve
      ├─ flag      ← INSERT … SELECT (open), UPDATE … (reopen, escalate, resolve); next actions filled
      │              by replace() for these rows only
      └─ audit_log ← INSERT … SELECT, one line per change, actor "rules"

Lifecycle: a flag is opened once per parcel and kind; it escalates when the level rises (warn ->
escalate, ladder steps; an escalation puts an acknowledged flag back to open); it resolves by itself
when no rule raises it any more. A flag resolved by the rules reopens (same row, history in the audit
log) when raised again. A flag a person resolved stays resolved while the same occurrence holds; it
reopens when the rule raises a higher level, a new occurrence (new anchor: new last scan, new deadline,
new fact), or after its condition was seen clear."""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Engine,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    and_,
    bindparam,
    case,
    cast,
    exists,
    func,
    literal,
    literal_column,
    or_,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.schema import CreateTable

from tracker.flags import queries
from tracker.flags.sqlfuncs import contains_text, json_object, register_text_match
from tracker.rules import actions as next_actions
from tracker.rules.common import whole_hours
from tracker.rules.ladder import position
from tracker.rules.late_shipment import WITH_EXPOSURE
from tracker.rules.tmall_timers import late_shipment_exposure
from tracker.settings import Settings
from tracker.status import FlagKind, FlagState, Severity
from tracker.storage import rollups
from tracker.storage.repo import AUDIT
from tracker.storage.rows import OPEN_TEXT_INDEX_BYTES, PERSON_RESOLVED_UNCLEARED
from tracker.storage.tables import FACT, FLAG

RULES_ACTOR = "rules"
# kinds whose anchor is the id of the fact that raised them
FACT_FLAG_KINDS = (FlagKind.lost, FlagKind.delivered_disputed, FlagKind.return_partial)
CLEARED = -1  # anchor of a person-resolved flag whose condition was seen clear
# PostgreSQL session setting under which the flag.parcel_id trigger does not look the parcel up
PARCELS_CHECKED = "tracker.flag_parcels_checked"
EVALUATION_LOCK = 7_410_002  # pg_advisory_xact_lock key: one evaluation at a time (see db.MIGRATION_LOCK)

_tmp = MetaData()


def _temp(name: str, *columns: Column, **kw: Any) -> Table:
    return Table(name, _tmp, *columns, prefixes=["TEMPORARY"], **kw)


SCOPE = _temp("_rule_scope", Column("parcel_id", BigInteger, primary_key=True))
CAND = _temp(
    "_rule_cand",
    Column("id", BigInteger, primary_key=True),
    Column("courier", String(32)),
    Column("waybill", String(40)),
    Column("status", String(32)),
    Column("status_text", String),
    Column("is_open", Boolean),
)
# one row per parcel and kind: SQLite keeps it as one B-tree in (parcel_id, kind) order; PostgreSQL fills
# a heap (an index insert per row cost 0.05 s per 100,000 rows) and indexes it (DESIRED_KEY) only when
# flags reopen or escalate: their next actions are looked up in it. A rule that raised the same flag
# twice is refused either way: by the key, or by flag's unique (parcel_id, kind) when the flag opens,
# or by the update of a flag from two CHANGE rows (a scalar subquery returning two rows).
DESIRED = _temp(
    "_rule_desired",
    Column("parcel_id", BigInteger, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("severity", String(10)),
    Column("level", Integer),
    Column("anchor", BigInteger),
    Column("value", Integer),
    Column("action", String(64)),
    Column("courier", String(32)),
    Column("waybill", String(40)),
    PrimaryKeyConstraint("parcel_id", "kind").ddl_if(dialect="sqlite"),
    sqlite_with_rowid=False,
)
DESIRED_KEY = Index("ix__rule_desired_key", DESIRED.c.parcel_id, DESIRED.c.kind, unique=True)
# no key: filled in bulk by _diff, indexed afterwards when flags reopen, escalate or resolve (CHANGE_INDEXES)
CHANGE = _temp(
    "_rule_change",
    Column("flag_id", BigInteger),
    Column("parcel_id", BigInteger, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("action", String(16)),
    Column("severity", String(10)),
    Column("level", Integer),
    Column("anchor", BigInteger),
    Column("courier", String(32)),
    # what the next action is filled from (the rows it opens are written from here)
    Column("action_key", String(64)),
    Column("waybill", String(40)),
    Column("value", Integer),
    Column("zh", String),
    Column("en", String),
)
ACTION = _temp("_rule_action", Column("key", String(64), primary_key=True), Column("zh", String), Column("en", String))
COURIER = _temp(
    "_rule_courier",
    Column("slug", String(32), primary_key=True),
    Column("name", String),
    Column("name_en", String),
)
# the reopen, escalate and resolve updates look their row up by flag id (SQLite: opened flags have none)
CHANGE_INDEXES = (
    Index(
        "ix__rule_change_flag_id",
        CHANGE.c.flag_id,
        sqlite_where=CHANGE.c.flag_id.is_not(None),
        postgresql_where=CHANGE.c.flag_id.is_not(None),
    ),
)
# PostgreSQL: the statements that match CHANGE rows to flags by (parcel_id, kind) (the fact details
# update) get an index on either side whatever the planner thinks of the sizes (a flag table it believed
# empty once made CHANGE the inner side, seq-scanned per flag, for minutes in the bench). SQLite does not
# guess sizes that way: no index to build there.
CHANGE_KEY = Index("ix__rule_change_key", CHANGE.c.parcel_id, CHANGE.c.kind, unique=True)
# next-action templates with the courier's names filled, cut at the other placeholders ({waybill}: "w",
# {hours}/{days}: "n"): a flag's text is then lit0 || value1 || lit1 || value2 || lit2, not a chain of
# replace() calls (cheaper). NULL lit0: the template does not fit (_segments), replace() instead.
SEGMENTS = 2
ACTION_TEXT = _temp(
    "_rule_action_text",
    Column("key", String(64), primary_key=True),
    Column("courier", String(32), primary_key=True),
    *(
        Column(f"{lang}_{part}", String)
        for lang in ("zh", "en")
        for part in ["0", *(f"{kind}{i}" for i in range(1, SEGMENTS + 1) for kind in ("p", ""))]
    ),
)
# PostgreSQL: an audit line's detail per (kind, severity, level), built once, copied to each line (building
# and parsing the JSON per line cost 0.1 s per 100,000 lines)
DETAIL = _temp(
    "_rule_detail",
    Column("kind", String(32), primary_key=True),
    Column("severity", String(10), primary_key=True),
    Column("level", Integer, primary_key=True),
    Column("detail", JSON),
)
TEMP_TABLES = (SCOPE, CAND, DESIRED, CHANGE, ACTION, COURIER, ACTION_TEXT, DETAIL)
# SQLite settings of the evaluating connection, restored afterwards: temporary tables in memory, the
# database file memory-mapped (the rules look parcels up by rowid: a read() per page costs more than
# the lookup), a larger page cache. Tuning sizes, not thresholds.
SQLITE_TUNING = {"temp_store": "2", "mmap_size": str(1 << 31), "cache_size": str(-64 * 1024)}


@dataclass
class EvaluationSummary:
    """What one evaluation changed, counted by action and flag kind."""

    now: datetime
    opened: Counter[str] = field(default_factory=Counter)
    reopened: Counter[str] = field(default_factory=Counter)
    escalated: Counter[str] = field(default_factory=Counter)
    resolved: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    steps: dict[str, float] = field(default_factory=dict)  # seconds per step, for tuning

    def rows(self) -> list[dict[str, object]]:
        kinds = sorted(set(self.opened) | set(self.reopened) | set(self.escalated) | set(self.resolved))
        return [
            {
                "kind": k,
                "opened": self.opened[k],
                "reopened": self.reopened[k],
                "escalated": self.escalated[k],
                "resolved": self.resolved[k],
            }
            for k in kinds
        ]

    @property
    def changes(self) -> int:
        return sum(sum(c.values()) for c in (self.opened, self.reopened, self.escalated, self.resolved))


def evaluate_all(
    engine: Engine, *, now: datetime, settings: Settings, parcel_ids: Iterable[int] | None = None
) -> EvaluationSummary:
    """Evaluate every rule as of `now` over all parcels (or only `parcel_ids`, e.g. the ones a poll
    cycle touched) and apply the flag changes in one transaction. Returns the counts by kind."""
    started = time.perf_counter()
    summary = EvaluationSummary(now=now)
    with engine.connect() as conn, _sqlite_tuned(conn), conn.begin():
        if conn.dialect.name == "sqlite" and not conn.connection.driver_connection.in_transaction:
            # the write lock first (waiting up to the busy timeout for a poller's commit): a deferred
            # transaction that read before another connection's commit is refused its first write
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        if conn.dialect.name == "postgresql":
            # the temp tables have no statistics: cost estimates run high enough to JIT-compile
            # statements that touch no row (0.2-0.3 s each, measured); plain execution is faster here
            conn.execute(text("SET LOCAL jit = off"))
            # evaluations take turns (the poll cycle's, a worker's, the CLI's): each one's diff sees the
            # flags the one before opened, so its INSERT needs no conflict check (ON CONFLICT DO NOTHING
            # cost 0.25 s per 100,000 flags). SQLite: the evaluation holds the one write lock (above).
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": EVALUATION_LOCK})
            # no parcel lookup per opened flag (migration 0008's trigger; 0.14 s per 100,000 flags): every
            # parcel_id written comes from a parcel read in this transaction, and the tracker deletes no
            # parcel (a trigger refuses deleting one that has flags). SQLite: _sqlite_tuned.
            conn.execute(text(f"SET LOCAL {PARCELS_CHECKED} = on"))
        _create_temp(conn)  # drops what a failed evaluation left on this connection first
        scoped = parcel_ids is not None
        if scoped:
            ids = [{"parcel_id": int(i)} for i in set(parcel_ids or ())]
            if ids:
                conn.execute(SCOPE.insert(), ids)
        ctx = queries.Context(now=now, config=settings.rules, scope=SCOPE if scoped else None)
        if conn.dialect.name == "sqlite" and queries.text_regex(ctx):
            register_text_match(conn.connection.driver_connection, queries.text_regex(ctx))
        _fill_lookups(conn, settings)
        _desired(conn, ctx, summary.steps)
        _diff(conn, ctx, summary.steps)
        for kind, action, count in conn.execute(
            select(CHANGE.c.kind, CHANGE.c.action, func.count()).group_by(CHANGE.c.kind, CHANGE.c.action)
        ):
            getattr(summary, _COUNTERS[action])[kind] += count
        if summary.reopened or summary.escalated or summary.resolved:
            # the updates look flags up in CHANGE (a first evaluation, which only opens, needs none)
            pg_only = [CHANGE_KEY, DESIRED_KEY] if conn.dialect.name == "postgresql" else []
            for index in (*CHANGE_INDEXES, *pg_only):
                index.create(conn)
        _apply(conn, ctx, summary)
        _ladder_positions(conn, ctx, settings)
        _late_shipment_exposure(conn, ctx, settings)
        # not in a `finally`: after an error PostgreSQL refuses any statement until the rollback,
        # and the DROP's error would hide the first one
        _drop_temp(conn)
    summary.seconds = time.perf_counter() - started
    return summary


_COUNTERS = {"open": "opened", "reopen": "reopened", "escalate": "escalated", "resolve": "resolved"}


@contextmanager
def _sqlite_tuned(conn: Connection) -> Iterator[None]:
    """SQLITE_TUNING on the connection, and no foreign-key checks, for one evaluation (nothing on
    PostgreSQL). The checks are redundant here: every parcel_id written comes from a parcel read in
    the same transaction, which holds the write lock from its start (BEGIN IMMEDIATE), so the parcel
    still exists. They cost a parcel lookup per opened flag. PRAGMA foreign_keys only takes effect
    outside a transaction: called before BEGIN."""
    if conn.dialect.name != "sqlite":
        yield
        return
    raw = conn.connection.driver_connection
    pragmas = dict(SQLITE_TUNING)
    if not raw.in_transaction:
        pragmas["foreign_keys"] = "0"
    saved = {name: raw.execute(f"PRAGMA {name}").fetchone()[0] for name in pragmas}
    for name, value in pragmas.items():
        raw.execute(f"PRAGMA {name} = {value}")
    try:
        yield
    finally:
        for name, value in saved.items():
            raw.execute(f"PRAGMA {name} = {int(value)}")


def _create_temp(conn: Connection) -> None:
    _drop_temp(conn)
    for table in TEMP_TABLES:
        conn.execute(CreateTable(table))  # without the indexes: CHANGE's come after its bulk fill


def _drop_temp(conn: Connection) -> None:
    for table in TEMP_TABLES:
        conn.execute(text(f"DROP TABLE IF EXISTS {table.name}"))


def _fill_lookups(conn: Connection, settings: Settings) -> None:
    if settings.next_actions:
        conn.execute(ACTION.insert(), [{"key": k, "zh": v.zh, "en": v.en} for k, v in settings.next_actions.items()])
    texts = [
        {
            "key": key,
            "courier": slug,
            **_segments("zh", text.zh, courier.name, courier.name_en),
            **_segments("en", text.en, courier.name, courier.name_en),
        }
        for key, text in settings.next_actions.items()
        for slug, courier in settings.couriers.items()
    ]
    if texts:
        conn.execute(ACTION_TEXT.insert(), texts)
    if settings.couriers:
        conn.execute(
            COURIER.insert(),
            [{"slug": k, "name": v.name, "name_en": v.name_en} for k, v in settings.couriers.items()],
        )


class _Clock:
    def __init__(self, steps: dict[str, float]) -> None:
        self.steps, self.last = steps, time.perf_counter()

    def __call__(self, name: str) -> None:
        now = time.perf_counter()
        self.steps[name] = self.steps.get(name, 0.0) + now - self.last
        self.last = now


def _desired(conn: Connection, ctx: queries.Context, steps: dict[str, float]) -> None:
    tick = _Clock(steps)
    pg = conn.dialect.name == "postgresql"
    candidates = queries.status_candidates(
        ctx, by_distinct_text=True, indexed_text_bytes=OPEN_TEXT_INDEX_BYTES if pg else None
    )
    for stmt in candidates:
        conn.execute(CAND.insert().from_select([c.name for c in CAND.c], stmt))
    tick("status candidates")
    names = list(queries.COLUMNS)
    for stmt in queries.selects(ctx):
        conn.execute(DESIRED.insert().from_select(names, stmt))
    for stmt in queries.status_rule_rows(ctx, CAND):
        conn.execute(DESIRED.insert().from_select(names, stmt))
    tick("rules")


def _same(a: Table, b: Table) -> object:
    return and_(a.c.parcel_id == b.c.parcel_id, a.c.kind == b.c.kind)


def _now(ctx: queries.Context) -> object:
    return literal(ctx.now, FLAG.c.opened_at.type)


def _diff(conn: Connection, ctx: queries.Context, steps: dict[str, float]) -> None:
    """CHANGE: the desired rows that open, reopen or escalate a flag, then the unresolved flags no rule
    raises any more (resolve), both against the flags as they were. Texts are filled later, only
    for the rows that need them."""
    tick = _Clock(steps)
    d, f, c = DESIRED, FLAG, CHANGE
    resolved = f.c.state == str(FlagState.resolved)
    by_rules = func.coalesce(f.c.resolved_by, RULES_ACTOR) == RULES_ACTOR
    # a flag raised by a person's fact follows the newest fact: a newer one (another signature, a new weighing)
    # rewrites its next action and details (docs/domain.md "What people record")
    newer_fact = and_(d.c.kind.in_([str(k) for k in FACT_FLAG_KINDS]), d.c.anchor != func.coalesce(f.c.anchor, CLEARED))
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
        "waybill",
        "value",
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
            d.c.waybill,
            d.c.value,
        )
        .select_from(d.outerjoin(f, _same(f, d)))
        .where(changed)
    )
    if conn.dialect.name == "postgresql":
        # the flags to open get their ids here: the flag and its audit line are then written from CHANGE
        # alone (finding the ids after the INSERT, by a join or a RETURNING, cost 0.25 s per 100,000 flags)
        sequence = conn.execute(text("SELECT pg_get_serial_sequence('flag', 'id')")).scalar_one()
        new_id = literal_column(f"nextval('{sequence}'::regclass)")
        rows = rows.with_only_columns(func.coalesce(f.c.id, new_id), *rows.selected_columns[1:])
    conn.execute(c.insert().from_select(names, rows))
    tick("diff")
    # unresolved flags no rule raises any more resolve themselves (the flags this evaluation opens
    # are all desired: looking before they exist spares the check)
    conn.execute(
        c.insert().from_select(
            ["flag_id", "parcel_id", "kind", "action", "severity", "level"],
            select(f.c.id, f.c.parcel_id, f.c.kind, literal("resolve"), f.c.severity, f.c.level).where(
                ~resolved, _not_desired(), *_in_scope(ctx)
            ),
        )
    )
    tick("resolve")


def _not_desired() -> Any:
    return ~exists().where(_same(DESIRED, FLAG))


def _in_scope(ctx: queries.Context) -> list[Any]:
    return [FLAG.c.parcel_id.in_(select(SCOPE.c.parcel_id))] if ctx.scope is not None else []


@dataclass(frozen=True)
class _Facts:
    """The columns a next action is filled from: a desired row's, or a change row's."""

    key: Any
    courier: Any
    waybill: Any
    value: Any

    @classmethod
    def of(cls, t: Table) -> _Facts:
        return cls(t.c.action_key if t is CHANGE else t.c.action, t.c.courier, t.c.waybill, t.c.value)


def _text_of(row: _Facts) -> Any:
    return and_(ACTION_TEXT.c.key == row.key, ACTION_TEXT.c.courier == row.courier)


def _apply(conn: Connection, ctx: queries.Context, summary: EvaluationSummary) -> None:
    """Write CHANGE: open, reopen, escalate, resolve (a statement only for an action that has rows),
    then one audit line per change."""
    tick = _Clock(summary.steps)
    pg = conn.dialect.name == "postgresql"
    f, c = FLAG, CHANGE
    now = _now(ctx)
    escalated = c.c.severity == str(Severity.escalate)
    texted = c.outerjoin(ACTION_TEXT, _text_of(_Facts.of(c)))
    columns = {
        "parcel_id": c.c.parcel_id,
        "courier": c.c.courier,
        "kind": c.c.kind,
        "severity": c.c.severity,
        "level": c.c.level,
        "state": literal(str(FlagState.open)),
        "opened_at": now,
        "escalated_at": case((escalated, now)),
        "anchor": c.c.anchor,
        "next_action_zh": _text(_Facts.of(c), "zh"),
        "next_action_en": _text(_Facts.of(c), "en"),
        "last_update": rollups.last_update_of(c.c.parcel_id),  # the board's ageing reads it on the flag
    }
    if pg:
        columns["id"] = c.c.flag_id  # numbered by the diff
    # no ANALYZE after a large opening: the planner scales the flag table's last statistics to its
    # current size in pages, and autovacuum re-samples it (ANALYZE here cost 0.17 s per 100,000 flags)
    if summary.opened:
        conn.execute(
            f.insert().from_select(
                list(columns), select(*columns.values()).select_from(texted).where(c.c.action == "open")
            )
        )
    tick("open")
    if summary.reopened or summary.escalated:
        _reopen_escalate(conn, now)
    # flags raised by a person's fact carry that fact (signer, weights, counts) as their details
    fact_kinds = [str(k) for k in FACT_FLAG_KINDS]
    if any(counter[k] for counter in (summary.opened, summary.reopened, summary.escalated) for k in fact_kinds):
        facts = FACT
        raised = select(c.c.parcel_id, c.c.kind).where(c.c.kind.in_(fact_kinds), c.c.action != "resolve")
        conn.execute(
            update(f)
            .where(tuple_(f.c.parcel_id, f.c.kind).in_(raised))
            .values(details=select(facts.c.data).where(facts.c.id == f.c.anchor).scalar_subquery())
        )
    tick("reopen, escalate")
    if summary.resolved:
        conn.execute(
            update(f)
            .where(_changing("resolve"))
            .values(state=str(FlagState.resolved), resolved_at=now, resolved_by=RULES_ACTOR)
        )
    # a person's resolution holds while the same occurrence lasts; once seen clear, a new one reopens it
    # (the predicate as text: ix_flag_resolved_by_person's, so that both databases read that index)
    conn.execute(
        update(f).where(text(PERSON_RESOLVED_UNCLEARED), _not_desired(), *_in_scope(ctx)).values(anchor=CLEARED)
    )
    tick("resolve")
    # one audit line per change: the flag's id (PostgreSQL: in CHANGE; SQLite: the opened flags' from the
    # unique index), and the kind, severity and level it changed to (the flag names the parcel)
    if pg:
        triples = select(c.c.kind, c.c.severity, c.c.level).distinct().subquery()
        details = select(*triples.c, _detail(triples))
        conn.execute(DETAIL.insert().from_select(["kind", "severity", "level", "detail"], details))
        same = and_(*(DETAIL.c[n] == c.c[n] for n in ("kind", "severity", "level")))
        conn.execute(_audit(now, c.c.flag_id, c.c.action, DETAIL.c.detail, c.join(DETAIL, same)))
    else:
        conn.execute(_audit(now, f.c.id, c.c.action, _detail(c), c.join(f, _same(f, c))))
    tick("audit")


def _changing(action: str) -> Any:
    return FLAG.c.id.in_(select(CHANGE.c.flag_id).where(CHANGE.c.action == action))


def _reopen_escalate(conn: Connection, now: object) -> None:
    """The flags that reopen or escalate (few): their next actions, then the flag rows."""
    d, f, c = DESIRED, FLAG, CHANGE
    lookups = d.outerjoin(ACTION_TEXT, _text_of(_Facts.of(d)))
    conn.execute(
        update(c)
        .where(c.c.action.in_(["reopen", "escalate"]))
        .values(
            zh=select(_text(_Facts.of(d), "zh")).select_from(lookups).where(_same(d, c)).scalar_subquery(),
            en=select(_text(_Facts.of(d), "en")).select_from(lookups).where(_same(d, c)).scalar_subquery(),
        )
    )

    def new(column: str) -> object:
        return select(c.c[column]).where(c.c.flag_id == f.c.id).scalar_subquery()

    common = {
        "severity": new("severity"),
        "level": new("level"),
        "anchor": new("anchor"),
        "next_action_zh": new("zh"),
        "next_action_en": new("en"),
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
    return json_object("kind", row.c.kind, "severity", row.c.severity, "level", row.c.level)


def _audit(now: object, flag_id: Any, action: Any, detail: Any, source: Any) -> Any:
    """INSERT of one audit line per row of `source`, actor "rules"."""
    return AUDIT.insert().from_select(
        ["at", "actor", "action", "entity", "entity_id", "detail"],
        select(now, literal(RULES_ACTOR), literal("flag.") + action, literal("flag"), flag_id, detail).select_from(
            source
        ),
    )


_PLACEHOLDER = re.compile(r"(\{waybill\}|\{hours\}|\{days\})")
_CODE = {"{waybill}": "w", "{hours}": "n", "{days}": "n"}


def _segments(lang: str, template: str, name: str, name_en: str) -> dict[str, str | None]:
    """ACTION_TEXT columns of one template for one courier. The courier's names go in as
    tracker.rules.actions.fill puts them ({courier_en} first). The cut is only taken when concatenating
    gives exactly what the remaining replace() calls would: at most SEGMENTS placeholders and no brace
    left in the literal parts (the SQL also checks the waybill has none); else lit0 is NULL."""
    parts: list[str | None] = list(
        _PLACEHOLDER.split(template.replace("{courier_en}", name_en).replace("{courier}", name))
    )
    literals = parts[::2]
    if len(parts) > 2 * SEGMENTS + 1 or any("{" in p or "}" in p for p in literals):  # type: ignore[operator]
        return {c.name: None for c in ACTION_TEXT.c if c.name.startswith(f"{lang}_")}
    parts += [None, ""] * (SEGMENTS - len(parts) // 2)
    out: dict[str, str | None] = {f"{lang}_0": parts[0]}
    for i in range(1, SEGMENTS + 1):
        out[f"{lang}_p{i}"] = _CODE.get(parts[2 * i - 1] or "")
        out[f"{lang}_{i}"] = parts[2 * i]
    return out


def _text(row: _Facts, lang: str) -> Any:
    """The next action of a row in `lang`: the courier's cut template concatenated (needs ACTION_TEXT
    joined), or the replace() chain for what the cut does not cover (an unknown courier, a template
    that does not fit, a waybill with a brace)."""
    t = ACTION_TEXT.c
    number = func.coalesce(cast(row.value, String), "")
    text_: Any = t[f"{lang}_0"]
    for i in range(1, SEGMENTS + 1):
        code = t[f"{lang}_p{i}"]
        text_ = text_ + case((code == "w", row.waybill), (code == "n", number), else_="") + t[f"{lang}_{i}"]
    fits = and_(t[f"{lang}_0"].is_not(None), ~contains_text(row.waybill, "{"))
    replaced = (
        select(_fill(row, ACTION.c[lang]))
        .select_from(ACTION.outerjoin(COURIER, COURIER.c.slug == row.courier))
        .where(ACTION.c.key == row.key)
        .scalar_subquery()
    )
    return case((fits, text_), else_=replaced)


def _fill(row: _Facts, template: Column) -> object:
    """The next action of a row: the template with {courier}, {waybill}, {hours}/{days} filled (the
    same replacements as tracker.rules.actions.fill). Needs ACTION and COURIER joined."""
    number = func.coalesce(cast(row.value, String), "")
    text_ = template
    for key, value in (
        ("{courier_en}", func.coalesce(COURIER.c.name_en, row.courier)),
        ("{courier}", func.coalesce(COURIER.c.name, row.courier)),
        ("{waybill}", row.waybill),
        ("{hours}", number),
        ("{days}", number),
    ):
        text_ = func.replace(text_, key, value)
    return text_


def _ladder_positions(conn: Connection, ctx: queries.Context, settings: Settings) -> None:
    """Every unresolved refund_deadline flag (in scope) gets its ladder position as details (the contract alert
    planning reads, tracker.rules.ladder) and its next action with today's days left: the text counts down
    with each evaluation instead of keeping the days of the moment the step was reached. Few rows: one
    read, and an update only for the flags whose position or days changed (docs/domain.md)."""
    p = queries.PARCEL
    rows = conn.execute(
        select(
            FLAG.c.id,
            FLAG.c.details,
            FLAG.c.next_action_zh,
            FLAG.c.next_action_en,
            p.c.courier,
            p.c.waybill,
            p.c.refund_deadline,
            p.c.refund_express,
        )
        .join(p, p.c.id == FLAG.c.parcel_id)
        .where(
            FLAG.c.kind == str(FlagKind.refund_deadline),
            FLAG.c.state != str(FlagState.resolved),  # open or acknowledged: still on the board
            p.c.refund_deadline.is_not(None),
            *_in_scope(ctx),
        )
    ).all()
    changes = []
    for row in rows:
        deadline = row.refund_deadline if row.refund_deadline.tzinfo else row.refund_deadline.replace(tzinfo=UTC)
        at = position(ctx.config.refund_ladder, express=bool(row.refund_express), deadline=deadline, now=ctx.now)
        if at is None:
            continue
        details = at.to_details()
        zh, en = row.next_action_zh, row.next_action_en
        text = settings.next_actions.get(at.action_key)
        if text is not None:
            courier = settings.couriers.get(row.courier)
            names = (courier.name, courier.name_en) if courier else (row.courier, row.courier)
            values = {"courier": names[0], "courier_en": names[1], "waybill": row.waybill, "value": at.days_left}
            zh, en = next_actions.fill(text.zh, **values), next_actions.fill(text.en, **values)
        if details != row.details or (zh, en) != (row.next_action_zh, row.next_action_en):
            changes.append({"fid": row.id, "new_details": details, "zh": zh, "en": en})
    if changes:
        conn.execute(
            update(FLAG)
            .where(FLAG.c.id == bindparam("fid"))
            .values(details=bindparam("new_details"), next_action_zh=bindparam("zh"), next_action_en=bindparam("en")),
            changes,
        )


def exposure_extra(exposure: Any) -> dict[str, str]:
    """The placeholders of `late_shipment.exposure` (tracker.rules.actions.fill_extra)."""
    return {"exposure_cny": f"{exposure.cny:,.2f}", "exposure_points": f"{exposure.points:,}"}


def _late_shipment_exposure(conn: Connection, ctx: queries.Context, settings: Settings) -> None:
    """Every unresolved late_shipment flag (in scope) on a parcel with a price gets the shop's exposure as
    details and in its next action: percent of the price, capped, in CNY and Tmall points, from
    config/claims/tmall.toml (docs/domain.md "Tmall's timers"). Few rows: one read, updates where changed."""
    p = queries.PARCEL
    rows = conn.execute(
        select(
            FLAG.c.id,
            FLAG.c.details,
            FLAG.c.next_action_zh,
            FLAG.c.next_action_en,
            p.c.courier,
            p.c.waybill,
            p.c.goods_value,
            p.c.paid_at,
        )
        .join(p, p.c.id == FLAG.c.parcel_id)
        .where(
            FLAG.c.kind == str(FlagKind.late_shipment),
            FLAG.c.state != str(FlagState.resolved),
            p.c.goods_value.is_not(None),
            p.c.paid_at.is_not(None),
            *_in_scope(ctx),
        )
    ).all()
    if not rows:
        return
    rules = settings.tmall.late_shipment_compensation
    text = settings.next_actions.get(WITH_EXPOSURE)
    changes = []
    for row in rows:
        exposure = late_shipment_exposure(row.goods_value, rules)
        details = exposure.to_details()
        zh, en = row.next_action_zh, row.next_action_en
        if text is not None:
            paid = row.paid_at if row.paid_at.tzinfo else row.paid_at.replace(tzinfo=UTC)
            courier = settings.couriers.get(row.courier)
            names = (courier.name, courier.name_en) if courier else (row.courier, row.courier)
            values = {
                "courier": names[0],
                "courier_en": names[1],
                "waybill": row.waybill,
                "value": whole_hours(ctx.now, paid),
            }
            extra = exposure_extra(exposure)
            zh = next_actions.fill_extra(next_actions.fill(text.zh, **values), extra)
            en = next_actions.fill_extra(next_actions.fill(text.en, **values), extra)
        if details != row.details or (zh, en) != (row.next_action_zh, row.next_action_en):
            changes.append({"fid": row.id, "new_details": details, "zh": zh, "en": en})
    if changes:
        conn.execute(
            update(FLAG)
            .where(FLAG.c.id == bindparam("fid"))
            .values(details=bindparam("new_details"), next_action_zh=bindparam("zh"), next_action_en=bindparam("en")),
            changes,
        )
