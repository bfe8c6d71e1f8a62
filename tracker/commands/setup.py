"""`tracker init-config`: write a copy of the default configuration to edit (an installed wheel carries it)."""

from __future__ import annotations

import shutil
from pathlib import Path

import typer

from tracker.errors import TrackerError
from tracker.settings import shipped_config_dir


def write_config_copy(target: Path) -> list[Path]:
    """Copy the shipped configuration files into `target`; refuse to overwrite any file already there."""
    source = shipped_config_dir()
    files = sorted(p.relative_to(source) for p in source.rglob("*.toml"))
    clashes = [name for name in files if (target / name).exists()]
    if clashes:
        raise TrackerError(f"{target / clashes[0]}: already exists; choose an empty folder or remove it first")
    for name in files:
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / name, target / name)
    return [target / name for name in files]


def register(app: typer.Typer) -> None:
    @app.command("init-config")
    def init_config(
        folder: Path = typer.Argument(Path("config"), help="Where to write the configuration (default: ./config)."),
    ) -> None:
        """Write a copy of the default configuration to FOLDER to edit (the tracker reads ./config)."""
        written = write_config_copy(folder)
        typer.echo(f"wrote {len(written)} configuration files to {folder}")
        typer.echo(f"run the tracker from {folder.resolve().parent}, or pass --config {folder}")
