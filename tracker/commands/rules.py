"""`tracker evaluate`, `tracker flags`, `tracker flag ack|assign|resolve`, `tracker fact ...`."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import typer

from tracker import labels
from tracker.commands.context import (
    BY_HELP,
    NOW_HELP,
    Format,
    ctx_app,
    emit,
    known_courier,
    resolve_actor,
    resolve_now,
)
from tracker.errors import TrackerError
from tracker.values import ValueProblem, parse_local_time

# The flag services (tracker.flags: the evaluation, the ORM tables) are imported inside the commands that use
# them, so that `tracker --help` and the other commands start without loading them.

flag_app = typer.Typer(help="Act on one flag: acknowledge, assign, resolve.", no_args_is_help=True)
fact_app = typer.Typer(help="Record what a person learned about a parcel (audited).", no_args_is_help=True)

FLAG_COLUMNS = [
    "id",
    "waybill",
    "courier",
    "kind",
    "severity",
    "state",
    "opened_at",
    "escalated_at",
    "assignee",
    "next_action_zh",
    "next_action_en",
]
COURIER_HELP = "Courier slug, needed only when two couriers share the waybill number."


def register(app: typer.Typer) -> None:
    app.command("evaluate", help="Run the exception rules over all parcels and update the flags.")(evaluate)
    app.command("flags", help="List exception flags.")(flags)
    app.add_typer(flag_app, name="flag")
    flag_app.command("ack", help="Acknowledge a flag (someone is on it).")(ack)
    flag_app.command("assign", help="Assign a flag to a person (--to).")(assign)
    flag_app.command("resolve", help="Resolve a flag by hand, with a note.")(resolve)
    app.add_typer(fact_app, name="fact")
    fact_app.command("lost", help="The courier confirmed the loss (opens `lost`).")(fact_lost)
    fact_app.command("not-received", help="The buyer says a delivered parcel never arrived or was short.")(
        fact_not_received
    )
    fact_app.command("return-agreed", help="A return was agreed, with the refund deadline.")(fact_return_agreed)
    fact_app.command("unreachable", help="One failed attempt to reach the buyer about a return.")(fact_unreachable)
    fact_app.command("return-short", help="Fewer items received than the return claims.")(fact_return_short)
    fact_app.command("waybill-invalid", help="The return waybill finds nothing or shows wrong logistics.")(
        fact_waybill_invalid
    )
    # issue 16 (docs/domain.md)
    fact_app.command("reached", help="The buyer answered: earlier unreachable attempts no longer count.")(fact_reached)
    fact_app.command("signed", help="A third party or a locker signed; --consent if the buyer asked for it.")(
        fact_signed
    )
    fact_app.command("return-weight", help="The return's weight against the weight shipped, kg.")(fact_return_weight)
    fact_app.command("trade-succeeded", help="The order showed 交易成功 on the platform (--at).")(fact_trade_succeeded)
    fact_app.command("complaint", help="The buyer opened a 未收到货 complaint (--at).")(fact_complaint)
    fact_app.command("complaint-change", help="The buyer changed the complaint's amount (--at).")(fact_complaint_change)
    app.command("timers", help="The Tmall timers of a parcel as dated deadlines, and a late shipment's exposure.")(
        timers
    )


def _weight(value: str | None, option: str) -> Decimal | None:
    if value is None:
        return None
    try:
        weight = Decimal(value.strip().lower().removesuffix("kg"))
    except InvalidOperation:
        raise TrackerError(f"{option}: expected a weight in kg such as 1.25, got {value!r}") from None
    if weight < 0:
        raise TrackerError(f"{option}: expected a weight of 0 kg or more, got {value!r}")
    return weight


def evaluate(
    ctx: typer.Context,
    now: str | None = typer.Option(None, help=NOW_HELP),
    full: bool = typer.Option(
        False, "--full", help="Read every parcel, not only the ones changed or due since the last evaluation."
    ),
) -> None:
    from tracker.flags.evaluate import evaluate_all

    app = ctx_app(ctx)
    at = resolve_now(now, app.settings)
    _warn_if_earlier(app.engine, at, app.settings.tz)
    summary = evaluate_all(app.engine, now=at, settings=app.settings, full=full)
    read = "every parcel" if summary.parcels is None else f"{summary.parcels:,} parcels changed or due"
    typer.echo(
        f"evaluated {read} in {summary.seconds:.2f} s: {sum(summary.opened.values())} opened, "
        f"{sum(summary.reopened.values())} reopened, {sum(summary.escalated.values())} escalated, "
        f"{sum(summary.resolved.values())} resolved"
    )
    if summary.changes:
        emit(summary.rows(), ["kind", "opened", "reopened", "escalated", "resolved"], Format.table)


def _warn_if_earlier(engine: Any, at: Any, tz: Any) -> None:
    """A --now before the last evaluation's (a replay, or a typo in the year): said in one line before it runs.
    The flags whose condition did not hold then resolve, and when a later evaluation opens them again they are
    new: a person's acknowledgement is not carried over. Not refused: a replay does this on purpose."""
    from tracker.flags import marks
    from tracker.sheets import local_time

    with engine.connect() as conn:
        stored = marks.read_state(conn).get(marks.EVALUATED_KEY)
    if not stored:
        return
    last = datetime.fromisoformat(stored)
    last = last if last.tzinfo else last.replace(tzinfo=UTC)
    if at < last:
        typer.echo(
            f"note: --now {local_time(at, tz)} is before the last evaluation ({local_time(last, tz)}): flags whose "
            "condition did not hold then are resolved, and reopen later without their acknowledgement",
            err=True,
        )


def flags(
    ctx: typer.Context,
    kind: str | None = typer.Option(None, help="Flag kind, e.g. stale, no_first_scan, refund_deadline."),
    courier: str | None = typer.Option(None, help="Courier slug, e.g. sf, zto, yto; 未发货 (or -): not shipped yet."),
    state: str | None = typer.Option(None, help="open, acknowledged or resolved."),
    waybill: str | None = typer.Option(None, help="One waybill number."),
    limit: int = typer.Option(100, min=1, help="Rows to show."),
    offset: int = typer.Option(0, min=0, help="Rows to skip."),
    fmt: Format = typer.Option(Format.table, "--format", help="table, json, csv or xlsx (> file.xlsx)."),
    now: str | None = typer.Option(None, help=NOW_HELP),
) -> None:
    from tracker.flags import lifecycle

    app = ctx_app(ctx)
    courier = known_courier(app, courier)
    rows = lifecycle.list_flags(
        app.engine,
        kind=kind,
        courier=courier,
        state=state,
        waybill=waybill,
        limit=limit,
        offset=offset,
        settings=app.settings,
        now=resolve_now(now, app.settings),
    )
    columns = FLAG_COLUMNS if fmt in (Format.table, Format.xlsx) else [*FLAG_COLUMNS, "details"]
    emit(rows, columns, fmt, tz=app.settings.tz, couriers=app.settings.couriers)


def _show(row: dict) -> None:  # type: ignore[type-arg]
    kind, state = labels.kind_label(row["kind"], "en"), labels.state_label(row["state"], "en")  # words, not codes
    typer.echo(f"flag {row['id']} ({kind}): {state}, assignee {row['assignee'] or '-'}")


def ack(
    ctx: typer.Context,
    flag_id: int = typer.Argument(..., metavar="ID"),
    note: str | None = typer.Option(None, help="A note kept on the flag."),
    by: str | None = typer.Option(None, help=BY_HELP),
    now: str | None = typer.Option(None, help=NOW_HELP),
) -> None:
    from tracker.flags import lifecycle

    app = ctx_app(ctx)
    when = resolve_now(now, app.settings)
    _show(lifecycle.acknowledge(app.engine, flag_id=flag_id, actor=resolve_actor(by), now=when, note=note))


def assign(
    ctx: typer.Context,
    flag_id: int = typer.Argument(..., metavar="ID"),
    to: str = typer.Option(..., "--to", help="The person who takes the flag."),
    note: str | None = typer.Option(None, help="A note kept on the flag."),
    by: str | None = typer.Option(None, help=BY_HELP),
    now: str | None = typer.Option(None, help=NOW_HELP),
) -> None:
    from tracker.flags import lifecycle

    app = ctx_app(ctx)
    _show(
        lifecycle.assign(
            app.engine, flag_id=flag_id, to=to, actor=resolve_actor(by), now=resolve_now(now, app.settings), note=note
        )
    )


def resolve(
    ctx: typer.Context,
    flag_id: int = typer.Argument(..., metavar="ID"),
    note: str | None = typer.Option(None, help="What was done (kept on the flag and in the audit log)."),
    by: str | None = typer.Option(None, help=BY_HELP),
    now: str | None = typer.Option(None, help=NOW_HELP),
) -> None:
    from tracker.flags import lifecycle

    app = ctx_app(ctx)
    when = resolve_now(now, app.settings)
    _show(lifecycle.resolve(app.engine, flag_id=flag_id, actor=resolve_actor(by), now=when, note=note))


def _record(
    ctx: typer.Context, record: Any, what: str, *, waybill: str, by: str | None, now: str | None, **facts: Any
) -> None:
    """Record one fact through `record` (a tracker.flags.facts service) as the actor, at --now."""
    app = ctx_app(ctx)
    fact_id = record(app.engine, waybill=waybill, actor=resolve_actor(by), now=resolve_now(now, app.settings), **facts)
    typer.echo(f"recorded {what} for {waybill} (fact {fact_id}); run `tracker evaluate` to update flags")


def fact_lost(
    ctx: typer.Context,
    waybill: str = typer.Argument(...),
    courier: str | None = typer.Option(None, help=COURIER_HELP),
    note: str | None = typer.Option(None, help="E.g. who at the courier confirmed it."),
    by: str | None = typer.Option(None, help=BY_HELP),
    now: str | None = typer.Option(None, help=NOW_HELP),
) -> None:
    from tracker.flags import facts as fact_service

    _record(
        ctx, fact_service.confirm_loss, "loss confirmed", waybill=waybill, by=by, now=now, courier=courier, note=note
    )


def fact_not_received(
    ctx: typer.Context,
    waybill: str = typer.Argument(...),
    short: bool = typer.Option(False, "--short", help="Arrived, but short (少件) rather than never arrived."),
    signer: str | None = typer.Option(None, help="Who signed for it, as the courier shows."),
    warehouse_weight: str | None = typer.Option(None, help="Weight at the warehouse, kg."),
    courier_weight: str | None = typer.Option(None, help="Weight the courier recorded, kg."),
    courier: str | None = typer.Option(None, help=COURIER_HELP),
    note: str | None = typer.Option(None, help="A note."),
    by: str | None = typer.Option(None, help=BY_HELP),
    now: str | None = typer.Option(None, help=NOW_HELP),
) -> None:
    from tracker.flags import facts as fact_service

    _record(
        ctx,
        fact_service.buyer_not_received,
        "buyer says short" if short else "buyer says not received",
        waybill=waybill,
        by=by,
        now=now,
        courier=courier,
        short=short,
        signer=signer,
        warehouse_weight_kg=_weight(warehouse_weight, "--warehouse-weight"),
        courier_weight_kg=_weight(courier_weight, "--courier-weight"),
        note=note,
    )


def fact_return_agreed(
    ctx: typer.Context,
    waybill: str = typer.Argument(..., help="The order's outbound waybill (or its return waybill)."),
    deadline: str = typer.Option(..., help="Refund deadline (platform countdown); no offset = configured zone."),
    express: bool = typer.Option(False, "--express/--ordinary", help="Express refund 极速退款, or ordinary."),
    agreed_at: str | None = typer.Option(None, help="When the return was agreed (default: now)."),
    courier: str | None = typer.Option(None, help=COURIER_HELP),
    note: str | None = typer.Option(None, help="A note."),
    by: str | None = typer.Option(None, help=BY_HELP),
    now: str | None = typer.Option(None, help=NOW_HELP),
) -> None:
    from tracker.flags import facts as fact_service

    app = ctx_app(ctx)
    tz = app.settings.tz
    try:
        deadline_at = parse_local_time(deadline, tz)
        agreed = parse_local_time(agreed_at, tz) if agreed_at else None
    except ValueProblem as exc:
        raise TrackerError(f"--deadline/--agreed-at: expected {exc}") from None
    _record(
        ctx,
        fact_service.return_agreed,
        f"{'express' if express else 'ordinary'} return agreed",
        waybill=waybill,
        by=by,
        now=now,
        courier=courier,
        refund_deadline=deadline_at,
        express=express,
        agreed_at=agreed,
        note=note,
    )


def fact_unreachable(
    ctx: typer.Context,
    waybill: str = typer.Argument(...),
    courier: str | None = typer.Option(None, help=COURIER_HELP),
    note: str | None = typer.Option(None, help="E.g. how the buyer was tried (phone, message)."),
    by: str | None = typer.Option(None, help=BY_HELP),
    now: str | None = typer.Option(None, help=NOW_HELP),
) -> None:
    from tracker.flags import facts as fact_service

    _record(
        ctx,
        fact_service.buyer_unreachable,
        "buyer unreachable",
        waybill=waybill,
        by=by,
        now=now,
        courier=courier,
        note=note,
    )


def fact_return_short(
    ctx: typer.Context,
    waybill: str = typer.Argument(...),
    claimed: int = typer.Option(..., min=1, help="Items the return claims."),
    received: int = typer.Option(..., min=0, help="Items received at the warehouse."),
    warehouse_weight: str | None = typer.Option(None, help="Weight at the warehouse, kg."),
    courier_weight: str | None = typer.Option(None, help="Weight the courier recorded, kg."),
    courier: str | None = typer.Option(None, help=COURIER_HELP),
    note: str | None = typer.Option(None, help="A note."),
    by: str | None = typer.Option(None, help=BY_HELP),
    now: str | None = typer.Option(None, help=NOW_HELP),
) -> None:
    from tracker.flags import facts as fact_service

    _record(
        ctx,
        fact_service.return_short,
        "short return",
        waybill=waybill,
        by=by,
        now=now,
        courier=courier,
        items_claimed=claimed,
        items_received=received,
        warehouse_weight_kg=_weight(warehouse_weight, "--warehouse-weight"),
        courier_weight_kg=_weight(courier_weight, "--courier-weight"),
        note=note,
    )


def fact_waybill_invalid(
    ctx: typer.Context,
    waybill: str = typer.Argument(..., help="The return waybill."),
    courier: str | None = typer.Option(None, help=COURIER_HELP),
    note: str | None = typer.Option(None, help="What the courier shows."),
    by: str | None = typer.Option(None, help=BY_HELP),
    now: str | None = typer.Option(None, help=NOW_HELP),
) -> None:
    from tracker.flags import facts as fact_service

    _record(
        ctx,
        fact_service.waybill_invalid,
        "invalid return waybill",
        waybill=waybill,
        by=by,
        now=now,
        courier=courier,
        note=note,
    )


# --- issue 16 (docs/domain.md) -------------------------------------------------------------------------------


def fact_reached(
    ctx: typer.Context,
    waybill: str = typer.Argument(...),
    courier: str | None = typer.Option(None, help=COURIER_HELP),
    note: str | None = typer.Option(None, help="E.g. what the buyer said."),
    by: str | None = typer.Option(None, help=BY_HELP),
    now: str | None = typer.Option(None, help=NOW_HELP),
) -> None:
    from tracker.flags import facts as fact_service

    _record(
        ctx, fact_service.buyer_reached, "buyer reached", waybill=waybill, by=by, now=now, courier=courier, note=note
    )


def fact_signed(
    ctx: typer.Context,
    waybill: str = typer.Argument(...),
    consent: bool = typer.Option(
        ..., "--consent/--no-consent", help='Whether the buyer asked for it ("你帮我放在某某地方吧").'
    ),
    signer: str | None = typer.Option(None, help="Who signed, as the slip or the courier shows (e.g. 门卫)."),
    locker: bool = typer.Option(False, "--locker", help="Put in a parcel locker or a station, not handed over."),
    courier: str | None = typer.Option(None, help=COURIER_HELP),
    note: str | None = typer.Option(None, help="A note."),
    by: str | None = typer.Option(None, help=BY_HELP),
    now: str | None = typer.Option(None, help=NOW_HELP),
) -> None:
    from tracker.flags import facts as fact_service

    what = "signature the buyer asked for" if consent else "signature without the buyer's consent"
    _record(
        ctx,
        fact_service.signed_by_other,
        what,
        waybill=waybill,
        by=by,
        now=now,
        courier=courier,
        consent=consent,
        signer=signer,
        locker=locker,
        note=note,
    )


def fact_return_weight(
    ctx: typer.Context,
    waybill: str = typer.Argument(..., help="The return waybill (or the order's outbound one)."),
    shipped: str = typer.Option(..., help="What the warehouse shipped weighs, kg (its own scale)."),
    returned: str = typer.Option(..., help="What the return weighs, kg (the courier's record)."),
    courier: str | None = typer.Option(None, help=COURIER_HELP),
    note: str | None = typer.Option(None, help="A note."),
    by: str | None = typer.Option(None, help=BY_HELP),
    now: str | None = typer.Option(None, help=NOW_HELP),
) -> None:
    from tracker.flags import facts as fact_service

    shipped_kg, returned_kg = _weight(shipped, "--shipped"), _weight(returned, "--returned")
    _record(
        ctx,
        fact_service.return_weighed,
        "return weight",
        waybill=waybill,
        by=by,
        now=now,
        courier=courier,
        shipped_kg=shipped_kg,
        returned_kg=returned_kg,
        note=note,
    )


def _event_fact(
    ctx: typer.Context,
    record: Any,
    what: str,
    *,
    waybill: str,
    at: str | None,
    courier: str | None,
    note: str | None,
    by: str | None,
    now: str | None,
) -> None:
    tz = ctx_app(ctx).settings.tz
    try:
        when = parse_local_time(at, tz) if at else None
    except ValueProblem as exc:
        raise TrackerError(f"--at: expected {exc}") from None
    _record(ctx, record, what, waybill=waybill, by=by, now=now, courier=courier, at=when, note=note, tz=tz)


AT_HELP = "When it happened on the platform (default: now); no offset = configured zone."


def fact_trade_succeeded(
    ctx: typer.Context,
    waybill: str = typer.Argument(...),
    at: str | None = typer.Option(None, help=AT_HELP),
    courier: str | None = typer.Option(None, help=COURIER_HELP),
    note: str | None = typer.Option(None, help="A note."),
    by: str | None = typer.Option(None, help=BY_HELP),
    now: str | None = typer.Option(None, help=NOW_HELP),
) -> None:
    from tracker.flags import facts as fact_service

    _event_fact(
        ctx,
        fact_service.trade_succeeded,
        "交易成功",
        waybill=waybill,
        at=at,
        courier=courier,
        note=note,
        by=by,
        now=now,
    )


def fact_complaint(
    ctx: typer.Context,
    waybill: str = typer.Argument(...),
    at: str | None = typer.Option(None, help=AT_HELP),
    courier: str | None = typer.Option(None, help=COURIER_HELP),
    note: str | None = typer.Option(None, help="A note, e.g. the amount asked."),
    by: str | None = typer.Option(None, help=BY_HELP),
    now: str | None = typer.Option(None, help=NOW_HELP),
) -> None:
    from tracker.flags import facts as fact_service

    _event_fact(
        ctx,
        fact_service.complaint_opened,
        "未收到货 complaint",
        waybill=waybill,
        at=at,
        courier=courier,
        note=note,
        by=by,
        now=now,
    )


def fact_complaint_change(
    ctx: typer.Context,
    waybill: str = typer.Argument(...),
    at: str | None = typer.Option(None, help=AT_HELP),
    courier: str | None = typer.Option(None, help=COURIER_HELP),
    note: str | None = typer.Option(None, help="A note, e.g. the new amount."),
    by: str | None = typer.Option(None, help=BY_HELP),
    now: str | None = typer.Option(None, help=NOW_HELP),
) -> None:
    from tracker.flags import facts as fact_service

    _event_fact(
        ctx,
        fact_service.complaint_amount_changed,
        "complaint amount change",
        waybill=waybill,
        at=at,
        courier=courier,
        note=note,
        by=by,
        now=now,
    )


def timers(
    ctx: typer.Context,
    waybill: str = typer.Argument(...),
    courier: str | None = typer.Option(None, help=COURIER_HELP),
    now: str | None = typer.Option(None, help=NOW_HELP),
    fmt: Format = typer.Option(Format.table, "--format", help="table, json or csv."),
) -> None:
    from tracker.flags import facts as fact_service
    from tracker.flags.views import load_views
    from tracker.rules.tmall_timers import late_shipment_exposure, parcel_timers

    app = ctx_app(ctx)
    when = resolve_now(now, app.settings)
    parcel = fact_service.find_parcel(app.engine, waybill=waybill, courier=courier)
    view = load_views(app.engine, [parcel["id"]])[parcel["id"]]
    rules = app.settings.tmall
    rows = [
        {
            "timer": str(d.kind),
            "from": d.starts_at,
            "until": d.due_at,
            "state": "open" if d.is_open(when) else "closed",
            "hours_left": d.seconds_left(when) // 3600,
            "extended": d.extended,
        }
        for d in parcel_timers(view, rules)
    ]
    if not rows:
        typer.echo(f"{parcel['waybill']}: no Tmall timer yet (needs the signing time, 交易成功 or a complaint)")
    else:
        # JSON and CSV keep the codes; a table and a sheet name them (a timer's state is not a flag's)
        words = {
            "timer": labels.timer_label,
            "state": labels.timer_state_label,
            "extended": lambda moved, lang: labels.timer_state_label("extended", lang) if moved else "",
            # 4天10小时, as the flags' next actions say it (JSON: the hours); a closed timer has no time left
            "hours_left": lambda hours, lang: labels.hours_in_words(hours, lang) if hours >= 0 else "",
        }
        columns = ["timer", "from", "until", "state", "hours_left", "extended"]
        emit(rows, columns, fmt, tz=app.settings.tz, words=words)
    if view.goods_value is not None and view.shipped_at is None and view.direction == "outbound":
        exposure = late_shipment_exposure(view.goods_value, rules.late_shipment_compensation)
        if fmt is Format.csv:
            return
        if fmt is Format.json:  # one more JSON line, its own shape
            typer.echo(
                json.dumps(
                    {
                        "late_shipment_exposure_cny": str(exposure.cny),
                        "tmall_points": exposure.points,
                        "price": str(exposure.price),
                        "capped": exposure.capped,
                    }
                )
            )
            return
        capped = f", capped at {exposure.cap:,.2f}" if exposure.capped else ""
        typer.echo(
            f"late-shipment exposure: {exposure.percent}% x {exposure.price:,.2f}{capped} = {exposure.cny:,.2f} CNY "
            f"({exposure.points:,} Tmall points)"
        )
