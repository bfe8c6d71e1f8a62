"""`tracker evaluate`, `tracker flags`, `tracker flag ack|assign|resolve`, `tracker fact ...`."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

import typer

from tracker.commands.context import BY_HELP, NOW_HELP, Format, ctx_app, emit, resolve_actor, resolve_now
from tracker.errors import TrackerError
from tracker.flags import facts as fact_service
from tracker.flags import lifecycle
from tracker.flags.evaluate import evaluate_all
from tracker.values import ValueProblem, parse_local_time

flag_app = typer.Typer(help="Act on one flag: acknowledge, assign, resolve.", no_args_is_help=True)
fact_app = typer.Typer(help="Record what a person learned about a parcel (audited).", no_args_is_help=True)

FLAG_COLUMNS = [
    "id", "waybill", "courier", "kind", "severity", "state", "opened_at", "escalated_at", "assignee",
    "next_action_zh", "next_action_en",
]  # fmt: skip
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


def evaluate(ctx: typer.Context, now: str | None = typer.Option(None, help=NOW_HELP)) -> None:
    app = ctx_app(ctx)
    summary = evaluate_all(app.engine, now=resolve_now(now, app.settings), settings=app.settings)
    typer.echo(
        f"evaluated in {summary.seconds:.2f} s: {sum(summary.opened.values())} opened, "
        f"{sum(summary.reopened.values())} reopened, {sum(summary.escalated.values())} escalated, "
        f"{sum(summary.resolved.values())} resolved"
    )
    if summary.changes:
        emit(summary.rows(), ["kind", "opened", "reopened", "escalated", "resolved"], Format.table)


def flags(
    ctx: typer.Context,
    kind: str | None = typer.Option(None, help="Flag kind, e.g. stale, no_first_scan, refund_deadline."),
    courier: str | None = typer.Option(None, help="Courier slug, e.g. sf, zto, yto."),
    state: str | None = typer.Option(None, help="open, acknowledged or resolved."),
    waybill: str | None = typer.Option(None, help="One waybill number."),
    limit: int = typer.Option(100, min=1, help="Rows to show."),
    offset: int = typer.Option(0, min=0, help="Rows to skip."),
    fmt: Format = typer.Option(Format.table, "--format", help="table, json or csv."),
) -> None:
    app = ctx_app(ctx)
    rows = lifecycle.list_flags(
        app.engine, kind=kind, courier=courier, state=state, waybill=waybill, limit=limit, offset=offset
    )
    columns = FLAG_COLUMNS if fmt is Format.table else [*FLAG_COLUMNS, "details"]
    emit(rows, columns, fmt, tz=app.settings.tz)


def _show(row: dict) -> None:  # type: ignore[type-arg]
    typer.echo(f"flag {row['id']} ({row['kind']}): {row['state']}, assignee {row['assignee'] or '-'}")


def ack(
    ctx: typer.Context,
    flag_id: int = typer.Argument(..., metavar="ID"),
    note: str | None = typer.Option(None, help="A note kept on the flag."),
    by: str | None = typer.Option(None, help=BY_HELP),
    now: str | None = typer.Option(None, help=NOW_HELP),
) -> None:
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
    app = ctx_app(ctx)
    _show(lifecycle.assign(app.engine, flag_id=flag_id, to=to, actor=resolve_actor(by),
                           now=resolve_now(now, app.settings), note=note))  # fmt: skip


def resolve(
    ctx: typer.Context,
    flag_id: int = typer.Argument(..., metavar="ID"),
    note: str | None = typer.Option(None, help="What was done (kept on the flag and in the audit log)."),
    by: str | None = typer.Option(None, help=BY_HELP),
    now: str | None = typer.Option(None, help=NOW_HELP),
) -> None:
    app = ctx_app(ctx)
    when = resolve_now(now, app.settings)
    _show(lifecycle.resolve(app.engine, flag_id=flag_id, actor=resolve_actor(by), now=when, note=note))


def _record(ctx: typer.Context, record: Any, what: str, *, waybill: str, by: str | None, now: str | None,
            **facts: Any) -> None:  # fmt: skip
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
    _record(
        ctx, fact_service.buyer_not_received, "buyer says short" if short else "buyer says not received",
        waybill=waybill, by=by, now=now, courier=courier, short=short, signer=signer,
        warehouse_weight_kg=_weight(warehouse_weight, "--warehouse-weight"),
        courier_weight_kg=_weight(courier_weight, "--courier-weight"), note=note,
    )  # fmt: skip


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
    app = ctx_app(ctx)
    tz = app.settings.tz
    try:
        deadline_at = parse_local_time(deadline, tz)
        agreed = parse_local_time(agreed_at, tz) if agreed_at else None
    except ValueProblem as exc:
        raise TrackerError(f"--deadline/--agreed-at: expected {exc}") from None
    _record(
        ctx, fact_service.return_agreed, f"{'express' if express else 'ordinary'} return agreed",
        waybill=waybill, by=by, now=now, courier=courier, refund_deadline=deadline_at, express=express,
        agreed_at=agreed, note=note,
    )  # fmt: skip


def fact_unreachable(
    ctx: typer.Context,
    waybill: str = typer.Argument(...),
    courier: str | None = typer.Option(None, help=COURIER_HELP),
    note: str | None = typer.Option(None, help="E.g. how the buyer was tried (phone, message)."),
    by: str | None = typer.Option(None, help=BY_HELP),
    now: str | None = typer.Option(None, help=NOW_HELP),
) -> None:
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
    _record(
        ctx, fact_service.return_short, "short return", waybill=waybill, by=by, now=now, courier=courier,
        items_claimed=claimed, items_received=received,
        warehouse_weight_kg=_weight(warehouse_weight, "--warehouse-weight"),
        courier_weight_kg=_weight(courier_weight, "--courier-weight"), note=note,
    )  # fmt: skip


def fact_waybill_invalid(
    ctx: typer.Context,
    waybill: str = typer.Argument(..., help="The return waybill."),
    courier: str | None = typer.Option(None, help=COURIER_HELP),
    note: str | None = typer.Option(None, help="What the courier shows."),
    by: str | None = typer.Option(None, help=BY_HELP),
    now: str | None = typer.Option(None, help=NOW_HELP),
) -> None:
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
