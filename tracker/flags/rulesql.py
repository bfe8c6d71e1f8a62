"""The building blocks of the rules' SQL forms (tracker/flags/queries.py, candidates.py): the evaluation's
context, the row every form yields, the override groups, and the SQL twins of the tests the pure rules
share (tracker/rules/common.py). Time thresholds are bound parameters compared with the stored columns, so
the partial indexes of tracker/storage/rows.py carry the scans (docs/architecture.md, "Storage")."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    String,
    and_,
    case,
    exists,
    false,
    func,
    literal,
    literal_column,
    or_,
    select,
    true,
)
from sqlalchemy.sql import FromClause, Select

from tracker.flags.sqlfuncs import contains_text, epoch
from tracker.regions import region_prefix
from tracker.rules.common import DAY, HOUR
from tracker.rules.common import epoch as py_epoch
from tracker.rules.policy import override_groups
from tracker.settings import RuleOverride, RulesConfig
from tracker.status import FINAL_STATUSES, Direction, FactKind, FlagKind, Severity, TrackingStatus
from tracker.storage.repo import PARCEL
from tracker.storage.rollups import parcel_last_update
from tracker.storage.tables import FACT

FINAL = sorted(str(s) for s in FINAL_STATUSES)
RETURN: Any = literal_column("'return'")  # a literal, so the planner matches the partial index predicate
# last_update and shipped_at: what an opened flag copies from its parcel (the board's ageing, the scorecards' hours
# to recount), read here with the row the rule reads instead of by a parcel lookup per opened flag
COLUMNS = (
    "parcel_id", "kind", "severity", "level", "anchor", "value", "since", "action", "courier", "last_update",
    "shipped_at",
)  # fmt: skip


@dataclass(frozen=True)
class Context:
    now: datetime
    config: RulesConfig
    scope: FromClause | None = None  # a table of parcel_id to evaluate; None = all parcels
    since: datetime | None = None  # the last evaluation's `now`, while finding what crossed since (marks.py)

    @property
    def now_epoch(self) -> int:
        return py_epoch(self.now)

    def ago(self, **delta: float) -> datetime:
        return self.now - timedelta(**delta)


def parcel_ids(*where: Any) -> Select:
    """The ids of the parcels that meet `where`, as a crossing form yields them (tracker/flags/queries.py)."""
    return select(PARCEL.c.id.label("parcel_id")).where(*where)


def thresholds(ctx: Context, section: str, *fields: str) -> list[Any]:
    """The values of these threshold fields of a section across its override groups, each once: a crossing
    form reads every group's over every parcel (a superset of the parcels the rule reads)."""
    return sorted({getattr(limits, name) for limits, _ in groups(ctx, section) for name in fields})


def crossed(ctx: Context, column: Any, **delta: float) -> Any:
    """The values of `column` for which `column <= now - delta` (or `<`) answered otherwise at the last
    evaluation's `now` (ctx.since) than at this one's: both ends in, so either comparison is covered. A
    negative delta is a time ahead (`column < now + days`)."""
    if ctx.since is None:
        raise ValueError("crossed() needs the last evaluation's now (Context.since)")
    shift = timedelta(**delta)
    return column.between(ctx.since - shift, ctx.now - shift)


def flag_row(
    src: Any,
    kind: FlagKind,
    *,
    severity: Any = None,
    level: Any = 0,
    anchor: Any = 0,
    value: Any = None,
    since: Any = None,
    action: Any = None,
    last_update: Any = None,
) -> list[Any]:
    """The DESIRED columns (COLUMNS) of a row of `src` (the parcel table, or a table with its columns) raising
    `kind`. `since`: the time column the value counts whole hours or days from (stored as epoch seconds:
    tracker.rules.model.Flag.since). `last_update`: the parcel's last update when the rule knows it is a
    plainer column (the stale scan's last event, never NULL there, is in its covering index;
    rollups.parcel_last_update also reads created_at)."""
    return [
        src.c.id.label("parcel_id"),
        literal(str(kind), String).label("kind"),
        (severity if severity is not None else literal(str(Severity.warn), String)).label("severity"),
        (level if isinstance(level, ColumnElement) else literal(level)).label("level"),
        (anchor if isinstance(anchor, ColumnElement) else literal(anchor)).label("anchor"),
        (value if value is not None else literal(None)).label("value"),
        (epoch(since) if since is not None else literal(None)).label("since"),
        (action if action is not None else literal(str(kind), String)).label("action"),
        src.c.courier.label("courier"),
        (last_update if last_update is not None else parcel_last_update(src)).label("last_update"),
        src.c.shipped_at.label("shipped_at"),
    ]


def return_action(src: Any, kind: FlagKind, key: str) -> Any:
    """A flag's next action key: `key` on a buyer's return parcel, the kind's own on any other (the pure rules'
    RETURN / return_action: tracker.rules.lost_suspected, damaged, lost)."""
    on_return = src.c.direction == str(Direction.ret)
    return case((on_return, literal(key, String)), else_=literal(str(kind), String))


def severity_literal(severity: Severity) -> Any:
    return literal(str(severity), String)


def scoped(ctx: Context, src: Any, *where: Any) -> list[Any]:
    conds = list(where)
    if ctx.scope is not None:
        conds.append(src.c.id.in_(select(ctx.scope.c.parcel_id)))
    return conds


def _applies(o: RuleOverride, src: Any = PARCEL) -> Any:
    conds = []
    if o.courier:
        conds.append(src.c.courier == o.courier)
    # as tracker.regions.region_matches: the region's prefix whatever the spelling the setting uses
    if o.province:
        conds.append(func.coalesce(src.c.province, "").startswith(region_prefix(o.province), autoescape=True))
    if o.city:
        conds.append(func.coalesce(src.c.city, "").startswith(region_prefix(o.city), autoescape=True))
    return and_(*conds)


def groups(ctx: Context, section: str) -> Iterator[tuple[Any, list[Any]]]:
    """(thresholds, extra WHERE terms) per override group of a section (tracker.rules.policy)."""
    for override, beaten_by in override_groups(ctx.config.overrides, section):
        terms = [_applies(override)] if override else []
        terms += [~_applies(o) for o in beaten_by]
        yield getattr(override if override else ctx.config, section), terms


def is_open(src: Any = PARCEL) -> Any:
    return src.c.is_open == true()  # renders `is_open = 1` on SQLite: the partial indexes' predicate


def not_final(src: Any = PARCEL, *, also: frozenset[TrackingStatus] = frozenset()) -> Any:
    """Not in a final status, nor in `also`: one status list (an index holding the status covers it)."""
    return src.c.status.not_in(sorted({*FINAL, *(str(s) for s in also)}))


LOSS_CONFIRMED = FACT.c.kind == str(FactKind.loss_confirmed)  # a person recorded that the courier confirmed it


def no_loss(src: Any = PARCEL) -> Any:
    return ~exists().where(FACT.c.parcel_id == src.c.id, LOSS_CONFIRMED)


def hours_since(ctx: Context, column: Any) -> Any:
    return (literal(ctx.now_epoch) - epoch(column)) // HOUR


def days_since(ctx: Context, column: Any) -> Any:
    return (literal(ctx.now_epoch) - epoch(column)) // DAY


def text_any(column: Any, patterns: Any) -> Any:
    return and_(column.is_not(None), or_(false(), *(contains_text(column, p) for p in patterns)))
