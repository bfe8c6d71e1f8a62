"""`tracker alert` (plan, send due, retry failed) and `tracker alerts` (the alert log)."""

from __future__ import annotations

import typer

from tracker.commands.context import NOW_HELP, Format, ctx_app, emit, resolve_now
from tracker.errors import TrackerError
from tracker.status import AlertState

ALERT_COLUMNS = [
    "id",
    "created_at",
    "state",
    "level",
    "recipient",
    "channel",
    "waybill",
    "subject",
    "attempts",
    "due_at",
    "sent_at",
    "error",
]


def register(app: typer.Typer) -> None:
    app.command("alert", help="Plan alerts for open flags, send the due ones and retry failed ones.")(alert)
    app.command("alerts", help="List the alert log (sent, held, pending, failed).")(alerts)


def alert(
    ctx: typer.Context,
    now: str | None = typer.Option(None, "--now", help=NOW_HELP),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print what would be sent; store and send nothing."),
) -> None:
    from tracker.alerts.service import run_alerts

    app = ctx_app(ctx)
    settings = app.settings
    moment = resolve_now(now, settings)
    report = run_alerts(app.engine, settings, now=moment, dry_run=dry_run)
    tz = settings.tz
    if dry_run:
        typer.echo(f"dry run: {len(report.planned)} new alert(s) would be stored, nothing stored or sent")
        for planned in report.planned:
            when = planned.due_at.astimezone(tz).strftime("%Y-%m-%d %H:%M")
            typer.echo(
                f"  plan  {planned.state:<7} due {when}  {planned.recipient}/{planned.channel}  {planned.subject}"
            )
        for delivery, payload in report.would_send:
            typer.echo(f"  would send to {delivery.recipient}/{delivery.channel}: {delivery.subject}")
            typer.echo(f"    {payload}")
        typer.echo(f"held for the next working window: {report.held}; scheduled calls: {report.scheduled}")
        return
    for delivery in report.sent:
        typer.echo(
            f"sent    {delivery.recipient}/{delivery.channel}: {delivery.subject} ({len(delivery.ids)} alert(s))"
        )
    for delivery, error in report.failed:
        typer.echo(f"FAILED  {delivery.recipient}/{delivery.channel}: {delivery.subject}: {error} (will retry)")
    for planned in report.planned:
        if planned.due_at > moment:
            what = "held   " if planned.state == "held" else "later  "
            when = planned.due_at.astimezone(tz).strftime("%Y-%m-%d %H:%M")
            typer.echo(f"{what} {planned.recipient}/{planned.channel}: {planned.subject} (due {when})")
    for row in report.stuck:
        typer.echo(f"GAVE UP {row['recipient']}/{row['channel']}: {row['subject']}: {row['error']}")
    typer.echo(report.summary())
    if report.failed or report.stuck:
        raise typer.Exit(1)


def alerts(
    ctx: typer.Context,
    state: str | None = typer.Option(
        None,
        "--state",
        help="pending | held | sent | failed | cancelled (held: also the failed ones still held for the morning)",
    ),
    limit: int = typer.Option(200, "--limit", min=1),
    fmt: Format = typer.Option(Format.table, "--format"),
) -> None:
    from tracker.alerts.store import list_alerts

    if state and state not in AlertState.__members__:
        raise TrackerError(f"--state: expected one of {', '.join(AlertState)}, got {state!r}")
    app = ctx_app(ctx)
    rows = list_alerts(app.engine, state=state, limit=limit, max_attempts=app.settings.alerts.max_attempts)
    emit(rows, ALERT_COLUMNS, fmt, tz=app.settings.tz)
