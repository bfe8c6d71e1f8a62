"""`tracker db rebuild-rollups`: the board's rollups recomputed from the rows (tracker/storage/rollups.py).
`tracker db reread`: stored events read again with the current phrase book (tracker/reread.py)."""

from __future__ import annotations

from collections import Counter

import typer

from tracker.commands.context import NOW_HELP, Format, ctx_app, emit, resolve_now

db_app = typer.Typer(help="Database upkeep.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")
    db_app.command(
        "rebuild-rollups",
        help="Recompute the board's rollups (filter choices, each flag's parcel update time; the scorecards' days on "
        "the next read) from the parcels "
        "and flags: after rows were restored or loaded around the tracker.",
    )(rebuild_rollups)
    db_app.command(
        "reread",
        help="Read again with the current phrase book (config/phrases.toml) the stored events nothing explained "
        "(unknown), and a buyer's return parcel's for its direction, for the open parcels and the closed ones whose "
        "last event is within --days; run the rules over the parcels whose status changed. After adding a "
        "courier's wording.",
    )(reread_cmd)


def rebuild_rollups(ctx: typer.Context) -> None:
    from tracker.storage import rollups  # the ORM tables: loaded only by this command

    rollups.rebuild_all(ctx_app(ctx).engine)
    typer.echo("rollups rebuilt")


def reread_cmd(
    ctx: typer.Context,
    days: int = typer.Option(30, min=0, help="Also read the closed parcels whose last event is this recent (days)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Say what would change; store nothing."),
    now: str | None = typer.Option(None, help=NOW_HELP),
) -> None:
    from tracker.flags.evaluate import evaluate_all
    from tracker.reread import reread

    app = ctx_app(ctx)
    when = resolve_now(now, app.settings)
    evaluated: Counter[str] = Counter()

    def rules(parcel_ids: list[int]) -> None:  # after each batch's commit: a stop keeps the rules of those done
        summary = evaluate_all(app.engine, now=when, settings=app.settings, parcel_ids=parcel_ids)
        for action in ("opened", "reopened", "escalated", "resolved"):
            evaluated[action] += sum(getattr(summary, action).values())

    result = reread(app.engine, app.settings.phrasebook, now=when, days=days, dry_run=dry_run, after_batch=rules)
    verb = "would change" if dry_run else "changed"
    typer.echo(
        f"read {result.events_read:,} events of {result.parcels_read:,} parcels again: {verb} "
        f"{result.events_changed:,} events"
        + ("" if dry_run else f", {len(result.changed_parcel_ids):,} parcels' status")
    )
    if result.moves:
        rows = [
            {"direction": direction, "stored_status": was, "read_status": read, "events": count}
            for (direction, was, read), count in result.moves.most_common()
        ]
        emit(rows, ["direction", "stored_status", "read_status", "events"], Format.table)
    if result.changed_parcel_ids:
        typer.echo(
            f"rules over those parcels: {evaluated['opened']} opened, {evaluated['reopened']} reopened, "
            f"{evaluated['escalated']} escalated, {evaluated['resolved']} resolved"
        )
