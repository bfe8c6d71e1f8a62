"""The rules of tracker/rules/ as set-based SQL: one SELECT per rule (and per override group) giving
the rows (parcel_id, kind, severity, level, anchor, value, action, courier, waybill) the rule raises.

Each is the SQL form of the pure rule of the same kind, registered with `@sql_form(kind)`; `selects` runs
them in the order of the registry (tracker/rules/registry.py). The status rules have none: they are
evaluated over a candidate table (`status_candidates`, `status_rule_rows`). Tests check that every kind has
exactly one of the two and that both forms agree (tests/rules/). Time thresholds are bound
parameters compared with the stored columns, so the partial indexes of tracker/storage/rows.py carry
the scans (docs/architecture.md, "Storage"): open parcels by last event, open unscanned parcels by shipping
time, open unshipped parcels, return parcels, agreed returns."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
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
    tuple_,
)
from sqlalchemy.sql import FromClause

from tracker.flags.sqlfuncs import contains_text, epoch, text_match
from tracker.rules.common import DAY, HOUR
from tracker.rules.common import epoch as py_epoch
from tracker.rules.ladder import action_key as ladder_action_key
from tracker.rules.policy import override_groups
from tracker.rules.registry import RULES, STATUS_RULES
from tracker.settings import RuleOverride, RulesConfig
from tracker.status import FINAL_STATUSES, FactKind, FlagKind, Severity, TrackingStatus
from tracker.storage.repo import PARCEL, RETURN_BUYER
from tracker.storage.tables import FACT

FINAL = sorted(str(s) for s in FINAL_STATUSES)
RETURN = literal_column("'return'")  # a literal, so the planner matches the partial index predicate
COLUMNS = ("parcel_id", "kind", "severity", "level", "anchor", "value", "action", "courier", "waybill")


@dataclass(frozen=True)
class Context:
    now: datetime
    config: RulesConfig
    scope: FromClause | None = None  # a table of parcel_id to evaluate; None = all parcels

    @property
    def now_epoch(self) -> int:
        return py_epoch(self.now)

    def ago(self, **delta: float) -> datetime:
        return self.now - timedelta(**delta)


# The SQL form of a rule: its SELECTs over the parcel table.
SqlForm = Callable[[Context], Iterable[Select]]
SQL_FORMS: dict[FlagKind, SqlForm] = {}


def sql_form(kind: FlagKind) -> Callable[[SqlForm], SqlForm]:
    """Register the decorated function as the SQL form of `kind` (one per kind)."""

    def register(form: SqlForm) -> SqlForm:
        if kind in SQL_FORMS:
            raise ValueError(f"two SQL forms for {kind}")
        SQL_FORMS[kind] = form
        return form

    return register


def _row(
    src: Any,
    kind: FlagKind,
    *,
    severity: Any = None,
    level: Any = 0,
    anchor: Any = 0,
    value: Any = None,
    action: Any = None,
) -> list[Any]:
    return [
        src.c.id.label("parcel_id"),
        literal(str(kind), String).label("kind"),
        (severity if severity is not None else literal(str(Severity.warn), String)).label("severity"),
        (level if isinstance(level, ColumnElement) else literal(level)).label("level"),
        (anchor if isinstance(anchor, ColumnElement) else literal(anchor)).label("anchor"),
        (value if value is not None else literal(None)).label("value"),
        (action if action is not None else literal(str(kind), String)).label("action"),
        src.c.courier.label("courier"),
        src.c.waybill.label("waybill"),
    ]


def _const(severity: Severity) -> Any:
    return literal(str(severity), String)


def _scoped(ctx: Context, src: Any, *where: Any) -> list[Any]:
    conds = list(where)
    if ctx.scope is not None:
        conds.append(src.c.id.in_(select(ctx.scope.c.parcel_id)))
    return conds


def _applies(o: RuleOverride, src: Any = PARCEL) -> Any:
    conds = []
    if o.courier:
        conds.append(src.c.courier == o.courier)
    if o.province:
        conds.append(func.coalesce(src.c.province, "").startswith(o.province, autoescape=True))
    if o.city:
        conds.append(func.coalesce(src.c.city, "").startswith(o.city, autoescape=True))
    return and_(*conds)


def groups(ctx: Context, section: str) -> Iterator[tuple[Any, list[Any]]]:
    """(thresholds, extra WHERE terms) per override group of a section (tracker.rules.policy)."""
    for override, beaten_by in override_groups(ctx.config.overrides, section):
        terms = [_applies(override)] if override else []
        terms += [~_applies(o) for o in beaten_by]
        yield getattr(override if override else ctx.config, section), terms


def _open(src: Any = PARCEL) -> Any:
    return src.c.is_open == true()  # renders `is_open = 1` on SQLite: the partial indexes' predicate


def _not_final(src: Any = PARCEL) -> Any:
    return src.c.status.not_in(FINAL)


def _no_loss(src: Any = PARCEL) -> Any:
    return ~exists().where(FACT.c.parcel_id == src.c.id, FACT.c.kind == str(FactKind.loss_confirmed))


def _hours_since(ctx: Context, column: Any) -> Any:
    return (literal(ctx.now_epoch) - epoch(column)) // HOUR


def _days_since(ctx: Context, column: Any) -> Any:
    return (literal(ctx.now_epoch) - epoch(column)) // DAY


def _warn_escalate(ctx: Context, kind: FlagKind, column: Any, section: str, *where: Any) -> Iterator[Select]:
    for limits, terms in groups(ctx, section):
        escalated = column <= ctx.ago(hours=limits.escalate_hours)
        yield select(
            *_row(
                PARCEL,
                kind,
                severity=case((escalated, _const(Severity.escalate)), else_=_const(Severity.warn)),
                level=case((escalated, 1), else_=0),
                anchor=epoch(column),
                value=_hours_since(ctx, column),
            )
        ).where(*_scoped(ctx, PARCEL, *where, column <= ctx.ago(hours=limits.warn_hours), *terms))


@sql_form(FlagKind.no_first_scan)
def no_first_scan(ctx: Context) -> Iterator[Select]:
    yield from _warn_escalate(
        ctx,
        FlagKind.no_first_scan,
        PARCEL.c.shipped_at,
        "no_first_scan",
        _open(),
        PARCEL.c.first_scan_at.is_(None),
        PARCEL.c.direction != RETURN,
        _not_final(),
        _no_loss(),
    )


@sql_form(FlagKind.stale)
def stale(ctx: Context) -> Iterator[Select]:
    yield from _warn_escalate(ctx, FlagKind.stale, PARCEL.c.last_event_at, "stale", _open(), _not_final(), _no_loss())


@sql_form(FlagKind.lost_suspected)
def lost_suspected(ctx: Context) -> Iterator[Select]:
    row = _row(
        PARCEL,
        FlagKind.lost_suspected,
        severity=_const(Severity.escalate),
        anchor=epoch(PARCEL.c.last_event_at),
        value=_hours_since(ctx, PARCEL.c.last_event_at),
    )
    for limits, terms in groups(ctx, "lost_suspected"):
        yield select(*row).where(
            *_scoped(
                ctx,
                PARCEL,
                _open(),
                PARCEL.c.last_event_at <= ctx.ago(hours=limits.hours),
                _not_final(),
                _no_loss(),
                *terms,
            )
        )
    yield select(*row).where(
        *_scoped(
            ctx,
            PARCEL,
            PARCEL.c.status == str(TrackingStatus.lost),
            PARCEL.c.last_event_at.is_not(None),
            _no_loss(),
        )
    )


@sql_form(FlagKind.late_shipment)
def late_shipment(ctx: Context) -> Iterator[Select]:
    p = PARCEL.c
    for limits, terms in groups(ctx, "late_shipment"):
        due = or_(
            and_(p.promised_ship_by.is_not(None), p.promised_ship_by <= ctx.now),
            and_(p.promised_ship_by.is_(None), p.paid_at <= ctx.ago(hours=limits.hours_after_payment)),
        )
        action = case(
            (p.goods_value.is_not(None), literal(f"{FlagKind.late_shipment}.exposure", String)),
            else_=literal(str(FlagKind.late_shipment), String),
        )
        yield select(*_row(PARCEL, FlagKind.late_shipment, value=_hours_since(ctx, p.paid_at), action=action)).where(
            *_scoped(
                ctx,
                PARCEL,
                _open(),
                p.shipped_at.is_(None),
                p.paid_at.is_not(None),
                p.direction != RETURN,
                due,
                *terms,
            )
        )


# --- status rules, over a candidate table built by one scan -----------------------------------------


def _text_any(column: Any, patterns: Any) -> Any:
    return and_(column.is_not(None), or_(false(), *(contains_text(column, p) for p in patterns)))


def text_regex(ctx: Context) -> str:
    """All status-rule text patterns as one regular expression (empty when there are none)."""
    patterns = sorted({p for r in STATUS_RULES if r.patterns for p in ctx.config.text_patterns.get(r.patterns, [])})
    return "|".join(re.escape(p) for p in patterns)


def status_candidates(
    ctx: Context, *, by_distinct_text: bool = False, indexed_text_bytes: int | None = None
) -> list[Select]:
    """Parcels that may raise a status rule, in index-friendly parts: watched parcels with an exception
    status (ix_parcel_status), and open, not final parcels whose text matches.

    by_distinct_text (all parcels): the text match runs once per distinct (status, text) of an index
    scan, not once per parcel: courier texts repeat (about one in ten is new), and a match costs more
    than reading an index entry (SQLite: a Python call; PostgreSQL: 1 us per row, 0.7 s at 1M). The
    matching pairs are then looked up in the same index. SQLite: ix_parcel_open_text.

    indexed_text_bytes (PostgreSQL): the size limit of ix_parcel_open_short_text. The distinct scan
    reads the texts within it; the longer ones (ix_parcel_open_long_text) are matched one by one."""
    statuses = sorted({str(s) for r in STATUS_RULES for s in r.statuses})
    watched = or_(_open(), PARCEL.c.last_event_at >= ctx.ago(days=ctx.config.watch.days_after_success))
    cols = [PARCEL.c[n] for n in ("id", "courier", "waybill", "status", "status_text", "is_open")]
    by_status = select(*cols).where(*_scoped(ctx, PARCEL, PARCEL.c.status.in_(statuses), watched))
    # one regular expression instead of one instr() per pattern: twice as fast on this scan
    pattern = text_regex(ctx)
    if not pattern:
        return [by_status, select(*cols).where(false())]

    def texts(src: Any) -> list[Any]:
        return [_open(src), src.c.status_text.is_not(None), src.c.status.not_in(statuses), _not_final(src)]

    if not by_distinct_text or ctx.scope is not None:
        matched = text_match(PARCEL.c.status_text, pattern)
        return [by_status, select(*cols).where(*_scoped(ctx, PARCEL, *texts(PARCEL), matched))]

    def size(src: Any, longer: bool) -> list[Any]:
        if indexed_text_bytes is None:
            return []
        # a literal, not a parameter: a generic plan could not prove the partial index's predicate
        octets = func.octet_length(src.c.status_text)
        limit = literal_column(str(int(indexed_text_bytes)))
        return [octets > limit if longer else octets <= limit]

    seen = PARCEL.alias("seen")
    excluded = sorted(set(statuses) | set(FINAL))
    where = [_open(seen), seen.c.status_text.is_not(None), *size(seen, longer=False)]
    if indexed_text_bytes is None:
        matching: Any = (
            select(seen.c.status, seen.c.status_text)
            .where(*where)
            .group_by(seen.c.status, seen.c.status_text)
            # per group, not per row: the status test (one list), then the match, on an aggregate so
            # that SQLite does not move it into WHERE
            .having(seen.c.status.not_in(excluded), text_match(func.max(seen.c.status_text), pattern))
        )
    else:
        # PostgreSQL: the distinct pairs (one pass over the index), then the match; OFFSET 0 keeps the
        # match out of the scan (an aggregate as on SQLite costs a text comparison per row: 25% more)
        pairs = select(seen.c.status, seen.c.status_text).where(*where).distinct().offset(0).subquery("pairs")
        matching = select(pairs.c.status, pairs.c.status_text).where(
            pairs.c.status.not_in(excluded), text_match(pairs.c.status_text, pattern)
        )
    hit = tuple_(PARCEL.c.status, PARCEL.c.status_text).in_(matching)
    by_text = select(*cols).where(_open(), PARCEL.c.status_text.is_not(None), *size(PARCEL, longer=False), hit)
    if indexed_text_bytes is None:
        return [by_status, by_text]
    longer = select(*cols).where(*texts(PARCEL), *size(PARCEL, longer=True), text_match(PARCEL.c.status_text, pattern))
    return [by_status, by_text, longer]


def status_rule_rows(ctx: Context, cand: FromClause) -> Iterator[Select]:
    for rule in STATUS_RULES:
        hit = cand.c.status.in_(sorted(str(s) for s in rule.statuses))
        if rule.patterns:
            patterns = ctx.config.text_patterns.get(rule.patterns, [])
            text_hit = and_(cand.c.is_open == true(), _not_final(cand), _text_any(cand.c.status_text, patterns))
            hit = or_(hit, text_hit)
        yield select(*_row(cand, rule.kind, severity=_const(rule.severity))).where(hit)


# --- rules raised by manual facts ---------------------------------------------------------------------


def _fact_rule(ctx: Context, kind: FlagKind, fact: FactKind, severity: Severity, *where: Any) -> Select:
    newest = (
        select(FACT.c.parcel_id, func.max(FACT.c.id).label("fid"))
        .where(FACT.c.kind == str(fact))
        .group_by(FACT.c.parcel_id)
        .subquery()
    )
    return (
        select(*_row(PARCEL, kind, severity=_const(severity), anchor=newest.c.fid))
        .select_from(PARCEL.join(newest, newest.c.parcel_id == PARCEL.c.id))
        .where(*_scoped(ctx, PARCEL, *where))
    )


def _newest(parcel_id: Any, *kinds: FactKind) -> Any:
    """The id of the newest fact of these kinds on the parcel (NULL when none)."""
    f = FACT.alias("f_" + "_".join(str(k)[:8] for k in kinds))
    return (
        select(func.max(f.c.id))
        .where(f.c.parcel_id == parcel_id, f.c.kind.in_([str(k) for k in kinds]))
        .correlate(PARCEL)
        .scalar_subquery()
    )


@sql_form(FlagKind.lost)
def lost(ctx: Context) -> Iterator[Select]:
    yield _fact_rule(ctx, FlagKind.lost, FactKind.loss_confirmed, Severity.escalate)


@sql_form(FlagKind.delivered_disputed)
def delivered_disputed(ctx: Context) -> Iterator[Select]:
    """tracker.rules.delivered_disputed: a not-received complaint, or the newest signature fact a third
    party's without the buyer's consent (next action `.third_party`); `.consented` when the buyer asked."""
    p = PARCEL.c
    complaint = func.coalesce(_newest(p.id, FactKind.not_received), 0)
    signature = _newest(p.id, FactKind.signed_without_consent, FactKind.signed_with_consent)
    unconsented = _newest(p.id, FactKind.signed_without_consent)
    third_party = and_(signature.is_not(None), signature == unconsented)
    anchor = case((and_(third_party, signature > complaint), signature), else_=complaint)
    action = case(
        (third_party, literal(f"{FlagKind.delivered_disputed}.third_party", String)),
        (signature.is_not(None), literal(f"{FlagKind.delivered_disputed}.consented", String)),
        else_=literal(str(FlagKind.delivered_disputed), String),
    )
    row = _row(PARCEL, FlagKind.delivered_disputed, severity=_const(Severity.escalate), anchor=anchor, action=action)
    # driven from the facts (few), not a probe per parcel: the parcels holding such a fact
    with_fact = p.id.in_(
        select(FACT.c.parcel_id).where(
            FACT.c.kind.in_([str(FactKind.not_received), str(FactKind.signed_without_consent)])
        )
    )
    yield select(*row).where(*_scoped(ctx, PARCEL, p.direction != RETURN, with_fact, or_(third_party, complaint > 0)))


@sql_form(FlagKind.return_partial)
def return_partial(ctx: Context) -> Iterator[Select]:
    """tracker.rules.return_partial: a short-return fact, or the newest weighing lighter than shipped by more
    than the tolerance (per override group); the newer of the two anchors the flag."""
    p = PARCEL.c
    counted = func.coalesce(_newest(p.id, FactKind.return_short), 0)
    weighing = FACT.alias("w")
    newest_weighing = _newest(p.id, FactKind.return_weighed)
    shipped = weighing.c.data["shipped_g"].as_integer()
    returned = weighing.c.data["returned_g"].as_integer()
    with_fact = p.id.in_(
        select(FACT.c.parcel_id).where(FACT.c.kind.in_([str(FactKind.return_short), str(FactKind.return_weighed)]))
    )
    for limits, terms in groups(ctx, "returns"):
        short_id = (
            select(weighing.c.id)
            .where(
                weighing.c.id == newest_weighing,
                shipped.is_not(None),
                returned.is_not(None),
                shipped - returned > limits.short_weight_tolerance_grams,
            )
            .scalar_subquery()
        )
        by_weight = and_(short_id.is_not(None), short_id > counted)
        row = _row(
            PARCEL,
            FlagKind.return_partial,
            severity=_const(Severity.escalate),
            anchor=case((by_weight, short_id), else_=counted),
            action=case(
                (by_weight, literal(f"{FlagKind.return_partial}.weight", String)),
                else_=literal(str(FlagKind.return_partial), String),
            ),
        )
        yield select(*row).where(*_scoped(ctx, PARCEL, with_fact, or_(by_weight, counted > 0), *terms))


@sql_form(FlagKind.return_waybill_invalid)
def return_waybill_invalid(ctx: Context) -> Iterator[Select]:
    """tracker.rules.return_waybill_invalid: a return parcel with a `waybill_invalid` fact, or without one,
    never scanned and not final, whose provider error matches the waybill_invalid patterns."""
    p = PARCEL.c
    yield _fact_rule(
        ctx, FlagKind.return_waybill_invalid, FactKind.waybill_invalid, Severity.warn, p.direction == RETURN
    )
    invalid = ctx.config.text_patterns.get("waybill_invalid", [])
    if invalid:
        has_fact = exists().where(FACT.c.parcel_id == p.id, FACT.c.kind == str(FactKind.waybill_invalid))
        yield select(*_row(PARCEL, FlagKind.return_waybill_invalid)).where(
            *_scoped(ctx, PARCEL, _case_branches()[0], _text_any(p.provider_error, invalid), ~has_fact)
        )


# --- return parcels and return cases ------------------------------------------------------------------


def _return_recorded() -> Any:
    other = PARCEL.alias("r")
    return exists().where(other.c.direction == RETURN, other.c.order_id == PARCEL.c.order_id)


def _case_branches() -> list[Any]:
    """Return cases without logistics (common.return_case_without_logistics), as two index-friendly
    branches: return parcels never scanned, and outbound parcels with an agreed return and no return
    parcel for the order."""
    p = PARCEL.c
    return [
        and_(p.direction == RETURN, p.first_scan_at.is_(None), _not_final()),
        and_(p.return_agreed_at.is_not(None), p.direction != RETURN, ~_return_recorded()),
    ]


def _prefix(column: Any, prefix: str) -> Any:
    """column starts with prefix (case-sensitive, like str.startswith), as an index range."""
    if not prefix:
        return true()
    return and_(column >= prefix, column < prefix[:-1] + chr(ord(prefix[-1]) + 1))


def _since() -> Any:
    return func.coalesce(PARCEL.c.return_agreed_at, case((PARCEL.c.direction == RETURN, PARCEL.c.created_at)))


@sql_form(FlagKind.return_no_waybill)
def return_no_waybill(ctx: Context) -> Iterator[Select]:
    p = PARCEL.c
    for limits, terms in groups(ctx, "returns"):
        yield select(*_row(PARCEL, FlagKind.return_no_waybill, value=_days_since(ctx, p.return_agreed_at))).where(
            *_scoped(
                ctx,
                PARCEL,
                p.return_agreed_at < ctx.ago(days=limits.no_waybill_days),  # 超过: strictly (docs/domain.md)
                p.direction != RETURN,
                ~_return_recorded(),
                *terms,
            )
        )


@sql_form(FlagKind.return_no_movement)
def return_no_movement(ctx: Context) -> Iterator[Select]:
    since = _since()
    for limits, terms in groups(ctx, "returns"):
        yield select(*_row(PARCEL, FlagKind.return_no_movement, value=_days_since(ctx, since))).where(
            *_scoped(ctx, PARCEL, _case_branches()[0], since < ctx.ago(days=limits.no_movement_days), *terms)
        )


@sql_form(FlagKind.return_abandoned)
def return_abandoned(ctx: Context) -> Iterator[Select]:
    p = PARCEL.c
    since = _since()
    # the unreachable attempts since the buyer was last reached (tracker.rules.return_abandoned)
    reached = func.coalesce(_newest(p.id, FactKind.buyer_reached), 0)
    attempts = (
        select(func.count())
        .where(FACT.c.parcel_id == p.id, FACT.c.kind == str(FactKind.buyer_unreachable), FACT.c.id > reached)
        .scalar_subquery()
    )
    row = _row(PARCEL, FlagKind.return_abandoned, severity=_const(Severity.escalate), value=_days_since(ctx, since))
    for limits, terms in groups(ctx, "returns"):
        for branch in _case_branches():
            yield select(*row).where(
                *_scoped(
                    ctx,
                    PARCEL,
                    branch,
                    since <= ctx.ago(days=limits.abandoned_days),
                    attempts >= limits.abandoned_min_attempts,
                    *terms,
                )
            )


@sql_form(FlagKind.return_surface_mail)
def return_surface_mail(ctx: Context) -> Iterator[Select]:
    p = PARCEL.c
    for limits, terms in groups(ctx, "returns"):
        yield select(*_row(PARCEL, FlagKind.return_surface_mail)).where(
            *_scoped(
                ctx,
                PARCEL,
                p.direction == RETURN,
                _not_final(),
                or_(*(p.waybill.startswith(x, autoescape=True) for x in limits.surface_mail_prefixes)),
                *terms,
            )
        )


@sql_form(FlagKind.return_waybill_shared)
def return_waybill_shared(ctx: Context) -> Iterator[Select]:
    p = PARCEL.c
    # every buyer recorded with a return parcel of this waybill (return_buyer: the parcel row keeps one)
    buyers = func.count(RETURN_BUYER.c.buyer_id.distinct())
    for limits, terms in groups(ctx, "returns"):
        shared = (
            select(RETURN_BUYER.c.waybill, buyers.label("buyers"))
            .group_by(RETURN_BUYER.c.waybill)
            .having(buyers >= limits.shared_waybill_buyers)
            .subquery()
        )
        row = _row(PARCEL, FlagKind.return_waybill_shared, severity=_const(Severity.escalate), value=shared.c.buyers)
        yield (
            select(*row)
            .select_from(PARCEL.join(shared, shared.c.waybill == p.waybill))
            .where(*_scoped(ctx, PARCEL, p.direction == RETURN, *terms))
        )


@sql_form(FlagKind.refund_deadline)
def refund_ladder(ctx: Context) -> Iterator[Select]:
    """One SELECT per ladder (ordinary, express) and case branch; level = the last step reached
    (tracker.rules.ladder.position: whole days left <= the step's days_left; the flag's details, the
    LadderPosition, are written by tracker/flags/details.py after the flags change)."""
    p = PARCEL.c
    express_col = p.refund_express == true()
    ordinary_col = or_(p.refund_express.is_(None), p.refund_express == false())
    left = (epoch(p.refund_deadline) - literal(ctx.now_epoch)) // DAY
    for steps, which in (
        (ctx.config.refund_ladder.ordinary, ordinary_col),
        (ctx.config.refund_ladder.express, express_col),
    ):
        if not steps:
            continue
        reached = [p.refund_deadline < ctx.now + timedelta(days=s.days_left + 1) for s in steps]
        last = len(steps) - 1
        level = case(*((reached[i], i) for i in range(last, -1, -1)))
        action = case(*((reached[i], literal(ladder_action_key(steps[i].action), String)) for i in range(last, -1, -1)))
        severity = (
            case((reached[1], _const(Severity.escalate)), else_=_const(Severity.warn))
            if last
            else (_const(Severity.warn))
        )
        row = _row(
            PARCEL,
            FlagKind.refund_deadline,
            severity=severity,
            level=level,
            anchor=epoch(p.refund_deadline),
            value=case((left < 0, 0), else_=left),
            action=action,
        )
        for branch in _case_branches():
            yield select(*row).where(*_scoped(ctx, PARCEL, branch, which, p.refund_deadline.is_not(None), reached[0]))


def selects(ctx: Context) -> Iterator[Select]:
    """Every rule's SELECTs over the parcel table, in registry order (the status rules read the candidate
    table instead: status_rule_rows)."""
    for rule in RULES:
        if rule.status is None:
            yield from SQL_FORMS[rule.kind](ctx)
