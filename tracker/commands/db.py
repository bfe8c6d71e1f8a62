"""`tracker db rebuild-rollups`: the board's rollups recomputed from the rows (tracker/storage/rollups.py)."""

from __future__ import annotations

import typer

from tracker.commands.context import ctx_app

db_app = typer.Typer(help="Database upkeep.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")
    db_app.command(
        "rebuild-rollups",
        help="Recompute the board's rollups (filter choices, each flag's parcel update time; the scorecards' days on "
        "the next read) from the parcels "
        "and flags: after rows were restored or loaded around the tracker.",
    )(rebuild_rollups)


def rebuild_rollups(ctx: typer.Context) -> None:
    from tracker.storage import rollups  # the ORM tables: loaded only by this command

    rollups.rebuild_all(ctx_app(ctx).engine)
    typer.echo("rollups rebuilt")
