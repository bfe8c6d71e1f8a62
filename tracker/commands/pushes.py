"""`tracker pushes`: the signed pushes kept as dead letters (tracker/deadletter.py), and replaying them."""

from __future__ import annotations

from datetime import UTC, datetime

import typer

from tracker.commands.context import ctx_app
from tracker.errors import TrackerError

STATE_WORDS = {"failed": "未读入", "replayed": "已重放"}


def register(app: typer.Typer) -> None:
    app.command(
        "pushes",
        help="Signed pushes that could not be read whole (dead letters): list them, replay one after a fix.",
    )(pushes)


def pushes(
    ctx: typer.Context,
    failed: bool = typer.Option(False, "--failed", help="Only the ones not read whole yet."),
    replay: int | None = typer.Option(None, "--replay", metavar="ID", help="Read dead letter ID again and store it."),
    limit: int = typer.Option(200, min=1, help="List at most this many, newest first."),
) -> None:
    from tracker import deadletter
    from tracker.push_store import read_payload, store_push

    app = ctx_app(ctx)
    engine, settings = app.engine, app.settings
    if replay is not None:
        now = datetime.now(UTC)
        result = deadletter.replay(
            engine,
            replay,
            lambda provider, payload: read_payload(settings, provider, payload),
            lambda provider, body: store_push(engine, settings, provider, body, now),
            now=now,
        )
        if result is None:
            raise TrackerError(f"--replay {replay}: no dead letter with this id (see `tracker pushes`)")
        if not result.whole:
            raise TrackerError(
                f"dead letter {replay} ({result.provider}) still not read whole: {'; '.join(result.problems)[:300]}"
            )
        typer.echo(
            f"dead letter {replay} ({result.provider}) replayed: {result.waybills} waybills, "
            f"{result.new_events} new events"
        )
        return
    letters = deadletter.listing(engine, failed_only=failed, limit=limit)
    if not letters:
        typer.echo("no failed pushes" if failed else "no dead letters: every signed push was read whole")
        return
    for d in letters:
        when = d.last_received_at.astimezone(settings.tz).strftime("%Y-%m-%d %H:%M")
        error = " ".join(d.error.split())
        typer.echo(
            f"{d.id:>6}  {d.provider:<9} {STATE_WORDS.get(d.state, d.state)}  {when}  "
            f"x{d.attempts}  {d.size} bytes  {error[:160]}"
        )
