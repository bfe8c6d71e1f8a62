"""The rules of tracker/rules/ as set-based SQL: one SELECT per rule (and per override group) giving
the rows (rulesql.COLUMNS: parcel_id, kind, severity, level, anchor, value, action, ...) the rule raises.

Each is the SQL form of the pure rule of the same kind, registered with `@sql_form(kind)`; `selects` runs
them in the order of the registry (tracker/rules/registry.py). A rule whose answer changes with time alone
also has a crossing form (`@crossing_form(kind)`): the ids of the parcels whose thresholds fell between the
last evaluation's `now` and this one's (tracker/flags/marks.py); the others are declared TIMELESS: only a
write (a mark) changes their answer. The status rules have none: they are
evaluated over a candidate table (tracker/flags/candidates.py). Tests check that every kind has
exactly one of the two and that both forms agree (tests/rules/). The building blocks they share:
tracker/flags/rulesql.py."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import timedelta
from typing import Any

from sqlalchemy import (
    Select,
    String,
    and_,
    case,
    exists,
    false,
    func,
    literal,
    or_,
    select,
    text,
    true,
)

from tracker.flags.candidates import status_crossed
from tracker.flags.rulesql import (
    RETURN,
    Context,
    crossed,
    days_since,
    flag_row,
    groups,
    hours_since,
    is_open,
    no_loss,
    not_final,
    parcel_ids,
    return_action,
    scoped,
    severity_literal,
    text_any,
    thresholds,
)
from tracker.flags.sqlfuncs import epoch
from tracker.rules import lost as lost_rule
from tracker.rules import lost_suspected as lost_suspected_rule
from tracker.rules.common import DAY
from tracker.rules.ladder import action_key as ladder_action_key
from tracker.rules.registry import RULES
from tracker.status import PRE_SCAN_STATUSES, FactKind, FlagKind, Severity, TrackingStatus
from tracker.storage.repo import PARCEL, RETURN_BUYER
from tracker.storage.rows import OPEN_RETURN
from tracker.storage.tables import FACT

# The SQL form of a rule: its SELECTs over the parcel table. Its crossing form: SELECTs of parcel ids.
SqlForm = Callable[[Context], Iterable[Select]]
SQL_FORMS: dict[FlagKind, SqlForm] = {}
CROSSING_FORMS: dict[FlagKind, SqlForm] = {}
# rules that read no time: facts, waybills, provider errors, buyers (a status rule's window is candidates.py's)
TIMELESS = frozenset(
    {
        FlagKind.lost,
        FlagKind.delivered_disputed,
        FlagKind.return_partial,
        FlagKind.return_waybill_invalid,
        FlagKind.return_surface_mail,
        FlagKind.return_waybill_shared,
    }
)


def sql_form(kind: FlagKind) -> Callable[[SqlForm], SqlForm]:
    """Register the decorated function as the SQL form of `kind` (one per kind)."""

    def register(form: SqlForm) -> SqlForm:
        if kind in SQL_FORMS:
            raise ValueError(f"two SQL forms for {kind}")
        SQL_FORMS[kind] = form
        return form

    return register


def crossing_form(kind: FlagKind) -> Callable[[SqlForm], SqlForm]:
    """Register the decorated function as the crossing form of `kind` (one per kind)."""

    def register(form: SqlForm) -> SqlForm:
        if kind in CROSSING_FORMS or kind in TIMELESS:
            raise ValueError(f"two crossing forms for {kind}")
        CROSSING_FORMS[kind] = form
        return form

    return register


def _warn_escalate_crossed(ctx: Context, column: Any, section: str, *where: Any) -> Iterator[Select]:
    """_warn_escalate's crossings: each group's warn and escalate thresholds."""
    for h in thresholds(ctx, section, "warn_hours", "escalate_hours"):
        yield parcel_ids(*where, crossed(ctx, column, hours=h))


def _warn_escalate(
    ctx: Context, kind: FlagKind, column: Any, section: str, *where: Any, last_update: Any = None
) -> Iterator[Select]:
    for limits, terms in groups(ctx, section):
        escalated = column <= ctx.ago(hours=limits.escalate_hours)
        yield select(
            *flag_row(
                PARCEL,
                kind,
                severity=case((escalated, severity_literal(Severity.escalate)), else_=severity_literal(Severity.warn)),
                level=case((escalated, 1), else_=0),
                anchor=epoch(column),
                value=hours_since(ctx, column),
                since=column,
                last_update=last_update,
            )
        ).where(*scoped(ctx, PARCEL, *where, column <= ctx.ago(hours=limits.warn_hours), *terms))


@sql_form(FlagKind.no_first_scan)
def no_first_scan(ctx: Context) -> Iterator[Select]:
    yield from _warn_escalate(
        ctx,
        FlagKind.no_first_scan,
        PARCEL.c.shipped_at,
        "no_first_scan",
        is_open(),
        PARCEL.c.first_scan_at.is_(None),
        PARCEL.c.direction != RETURN,
        not_final(),
        no_loss(),
    )


@sql_form(FlagKind.stale)
def stale(ctx: Context) -> Iterator[Select]:
    last = PARCEL.c.last_event_at  # never NULL here (older than the threshold): the parcel's last update
    # past the first carrier scan (tracker.rules.stale), read from the status, which ix_parcel_open_last_event
    # covers (first_scan_at would cost a parcel row per stale parcel)
    scanned = not_final(also=PRE_SCAN_STATUSES)
    yield from _warn_escalate(ctx, FlagKind.stale, last, "stale", is_open(), scanned, no_loss(), last_update=last)


@crossing_form(FlagKind.no_first_scan)
def no_first_scan_crossed(ctx: Context) -> Iterator[Select]:
    yield from _warn_escalate_crossed(
        ctx, PARCEL.c.shipped_at, "no_first_scan", is_open(), PARCEL.c.first_scan_at.is_(None)
    )


@crossing_form(FlagKind.stale)
def stale_crossed(ctx: Context) -> Iterator[Select]:
    yield from _warn_escalate_crossed(ctx, PARCEL.c.last_event_at, "stale", is_open())


@sql_form(FlagKind.lost_suspected)
def lost_suspected(ctx: Context) -> Iterator[Select]:
    row = flag_row(
        PARCEL,
        FlagKind.lost_suspected,
        severity=severity_literal(Severity.escalate),
        anchor=epoch(PARCEL.c.last_event_at),
        value=hours_since(ctx, PARCEL.c.last_event_at),
        since=PARCEL.c.last_event_at,
        action=return_action(PARCEL, FlagKind.lost_suspected, lost_suspected_rule.RETURN),
    )
    for limits, terms in groups(ctx, "lost_suspected"):
        yield select(*row).where(
            *scoped(
                ctx,
                PARCEL,
                is_open(),
                PARCEL.c.last_event_at <= ctx.ago(hours=limits.hours),
                # a loss the provider reported: the statement below, whatever its age
                not_final(also=PRE_SCAN_STATUSES | lost_suspected_rule.WAITING | {TrackingStatus.lost}),
                no_loss(),
                *terms,
            )
        )
    yield select(*row).where(
        *scoped(
            ctx,
            PARCEL,
            PARCEL.c.status == str(TrackingStatus.lost),
            PARCEL.c.last_event_at.is_not(None),
            no_loss(),
        )
    )


@crossing_form(FlagKind.lost_suspected)
def lost_suspected_crossed(ctx: Context) -> Iterator[Select]:
    for h in thresholds(ctx, "lost_suspected", "hours"):
        yield parcel_ids(is_open(), crossed(ctx, PARCEL.c.last_event_at, hours=h))


@sql_form(FlagKind.late_shipment)
def late_shipment(ctx: Context) -> Iterator[Select]:
    p = PARCEL.c
    for limits, terms in groups(ctx, "late_shipment"):
        due = or_(
            and_(p.promised_ship_by.is_not(None), p.promised_ship_by < ctx.now),  # 超过: strictly after
            and_(p.promised_ship_by.is_(None), p.paid_at <= ctx.ago(hours=limits.hours_after_payment)),
        )
        action = case(
            (p.goods_value.is_not(None), literal(f"{FlagKind.late_shipment}.exposure", String)),
            else_=literal(str(FlagKind.late_shipment), String),
        )
        yield select(
            *flag_row(PARCEL, FlagKind.late_shipment, value=hours_since(ctx, p.paid_at), since=p.paid_at, action=action)
        ).where(
            *scoped(
                ctx,
                PARCEL,
                is_open(),
                p.shipped_at.is_(None),
                p.paid_at.is_not(None),
                p.direction != RETURN,
                due,
                *terms,
            )
        )


@crossing_form(FlagKind.late_shipment)
def late_shipment_crossed(ctx: Context) -> Iterator[Select]:
    p = PARCEL.c
    unshipped = [is_open(), p.shipped_at.is_(None)]
    yield parcel_ids(*unshipped, crossed(ctx, p.promised_ship_by))
    for h in thresholds(ctx, "late_shipment", "hours_after_payment"):
        yield parcel_ids(*unshipped, crossed(ctx, p.paid_at, hours=h))


# --- rules raised by manual facts ---------------------------------------------------------------------


def _fact_rule(
    ctx: Context, kind: FlagKind, fact: FactKind, severity: Severity, *where: Any, action: Any = None
) -> Select:
    newest = (
        select(FACT.c.parcel_id, func.max(FACT.c.id).label("fid"))
        .where(FACT.c.kind == str(fact))
        .group_by(FACT.c.parcel_id)
        .subquery()
    )
    return (
        select(*flag_row(PARCEL, kind, severity=severity_literal(severity), anchor=newest.c.fid, action=action))
        .select_from(PARCEL.join(newest, newest.c.parcel_id == PARCEL.c.id))
        .where(*scoped(ctx, PARCEL, *where))
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
    yield _fact_rule(
        ctx,
        FlagKind.lost,
        FactKind.loss_confirmed,
        Severity.escalate,
        action=return_action(PARCEL, FlagKind.lost, lost_rule.RETURN),
    )


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
    row = flag_row(
        PARCEL, FlagKind.delivered_disputed, severity=severity_literal(Severity.escalate), anchor=anchor, action=action
    )
    # driven from the facts (few), not a probe per parcel: the parcels holding such a fact
    with_fact = p.id.in_(
        select(FACT.c.parcel_id).where(
            FACT.c.kind.in_([str(FactKind.not_received), str(FactKind.signed_without_consent)])
        )
    )
    yield select(*row).where(*scoped(ctx, PARCEL, p.direction != RETURN, with_fact, or_(third_party, complaint > 0)))


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
        row = flag_row(
            PARCEL,
            FlagKind.return_partial,
            severity=severity_literal(Severity.escalate),
            anchor=case((by_weight, short_id), else_=counted),
            action=case(
                (by_weight, literal(f"{FlagKind.return_partial}.weight", String)),
                else_=literal(str(FlagKind.return_partial), String),
            ),
        )
        yield select(*row).where(*scoped(ctx, PARCEL, with_fact, or_(by_weight, counted > 0), *terms))


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
        yield select(*flag_row(PARCEL, FlagKind.return_waybill_invalid)).where(
            *scoped(ctx, PARCEL, _case_branches()[0], text_any(p.provider_error, invalid), ~has_fact)
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
        and_(p.direction == RETURN, p.first_scan_at.is_(None), not_final()),
        and_(p.return_agreed_at.is_not(None), p.direction != RETURN, ~_return_recorded()),
    ]


def _prefix(column: Any, prefix: str) -> Any:
    """column starts with prefix (case-sensitive, like str.startswith), as an index range."""
    if not prefix:
        return true()
    return and_(column >= prefix, column < prefix[:-1] + chr(ord(prefix[-1]) + 1))


def _since() -> Any:
    return func.coalesce(PARCEL.c.return_agreed_at, case((PARCEL.c.direction == RETURN, PARCEL.c.created_at)))


def _case_parcels() -> list[Any]:
    """_case_branches without their costlier terms (a superset): return parcels never scanned, and
    outbound parcels with an agreed return."""
    p = PARCEL.c
    return [
        and_(p.direction == RETURN, p.first_scan_at.is_(None)),
        and_(p.return_agreed_at.is_not(None), p.direction != RETURN),
    ]


@sql_form(FlagKind.return_no_waybill)
def return_no_waybill(ctx: Context) -> Iterator[Select]:
    p = PARCEL.c
    for limits, terms in groups(ctx, "returns"):
        yield select(
            *flag_row(
                PARCEL, FlagKind.return_no_waybill, value=days_since(ctx, p.return_agreed_at), since=p.return_agreed_at
            )
        ).where(
            *scoped(
                ctx,
                PARCEL,
                p.return_agreed_at < ctx.ago(days=limits.no_waybill_days),  # 超过: strictly (docs/domain.md)
                p.direction != RETURN,
                ~_return_recorded(),
                *terms,
            )
        )


@crossing_form(FlagKind.return_no_waybill)
def return_no_waybill_crossed(ctx: Context) -> Iterator[Select]:
    for days in thresholds(ctx, "returns", "no_waybill_days"):
        yield parcel_ids(_case_parcels()[1], crossed(ctx, PARCEL.c.return_agreed_at, days=days))


@sql_form(FlagKind.return_no_movement)
def return_no_movement(ctx: Context) -> Iterator[Select]:
    since = _since()
    for limits, terms in groups(ctx, "returns"):
        yield select(*flag_row(PARCEL, FlagKind.return_no_movement, value=days_since(ctx, since), since=since)).where(
            *scoped(ctx, PARCEL, _case_branches()[0], since < ctx.ago(days=limits.no_movement_days), *terms)
        )


def _case_crossed(ctx: Context, field: str) -> Iterator[Select]:
    for days in thresholds(ctx, "returns", field):
        for branch in _case_parcels():
            yield parcel_ids(branch, crossed(ctx, _since(), days=days))


@crossing_form(FlagKind.return_no_movement)
def return_no_movement_crossed(ctx: Context) -> Iterator[Select]:
    yield from _case_crossed(ctx, "no_movement_days")


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
    row = flag_row(
        PARCEL,
        FlagKind.return_abandoned,
        severity=severity_literal(Severity.escalate),
        value=days_since(ctx, since),
        since=since,
    )
    for limits, terms in groups(ctx, "returns"):
        for branch in _case_branches():
            yield select(*row).where(
                *scoped(
                    ctx,
                    PARCEL,
                    branch,
                    since <= ctx.ago(days=limits.abandoned_days),
                    attempts >= limits.abandoned_min_attempts,
                    *terms,
                )
            )


@crossing_form(FlagKind.return_abandoned)
def return_abandoned_crossed(ctx: Context) -> Iterator[Select]:
    yield from _case_crossed(ctx, "abandoned_days")


@sql_form(FlagKind.return_surface_mail)
def return_surface_mail(ctx: Context) -> Iterator[Select]:
    p = PARCEL.c
    for limits, terms in groups(ctx, "returns"):
        yield select(*flag_row(PARCEL, FlagKind.return_surface_mail)).where(
            *scoped(
                ctx,
                PARCEL,
                text(OPEN_RETURN),  # as ix_parcel_open_return_waybill's predicate (the parcel table alone)
                or_(*(p.waybill.startswith(x, autoescape=True) for x in limits.surface_mail_prefixes)),
                no_loss(),  # a confirmed loss is final (tracker.rules.common.is_final): few rows get here
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
        row = flag_row(
            PARCEL, FlagKind.return_waybill_shared, severity=severity_literal(Severity.escalate), value=shared.c.buyers
        )
        yield (
            select(*row)
            .select_from(PARCEL.join(shared, shared.c.waybill == p.waybill))
            .where(*scoped(ctx, PARCEL, p.direction == RETURN, *terms))
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
            case((reached[1], severity_literal(Severity.escalate)), else_=severity_literal(Severity.warn))
            if last
            else (severity_literal(Severity.warn))
        )
        row = flag_row(
            PARCEL,
            FlagKind.refund_deadline,
            severity=severity,
            level=level,
            anchor=epoch(p.refund_deadline),
            value=case((left < 0, 0), else_=left),
            action=action,
        )
        for branch in _case_branches():
            yield select(*row).where(*scoped(ctx, PARCEL, branch, which, p.refund_deadline.is_not(None), reached[0]))


@crossing_form(FlagKind.refund_deadline)
def refund_ladder_crossed(ctx: Context) -> Iterator[Select]:
    """Each step of either ladder: `refund_deadline < now + (days_left + 1) days`."""
    ladder = ctx.config.refund_ladder
    for days in sorted({s.days_left for s in (*ladder.ordinary, *ladder.express)}):
        for branch in _case_parcels():
            yield parcel_ids(branch, crossed(ctx, PARCEL.c.refund_deadline, days=-(days + 1)))


def selects(ctx: Context) -> Iterator[Select]:
    """Every rule's SELECTs over the parcel table, in registry order (the status rules read the candidate
    table instead: status_rule_rows)."""
    for rule in RULES:
        if rule.status is None:
            yield from SQL_FORMS[rule.kind](ctx)


def crossings(ctx: Context) -> Iterator[Select]:
    """Every rule's crossing SELECTs (parcel ids), the status rules' too (candidates.status_crossed)."""
    for rule in RULES:
        if rule.status is None and rule.kind not in TIMELESS:
            yield from CROSSING_FORMS[rule.kind](ctx)
    yield from status_crossed(ctx)
