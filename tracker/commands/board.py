"""`tracker board` (start the Streamlit board on localhost) and `tracker board add-user`."""

from __future__ import annotations

import getpass
import os
import socket
import sys
from datetime import datetime
from pathlib import Path

import typer

from tracker.commands.context import ctx_app
from tracker.errors import TrackerError
from tracker.settings import PROJECT_ROOT, Settings, default_config_dir

board_app = typer.Typer(help="The board for warehouse leads (Streamlit).", invoke_without_command=True)


def register(app: typer.Typer) -> None:
    app.add_typer(board_app, name="board")


def streamlit_command(port: int, app: Path | None = None) -> list[str]:
    """`streamlit run` of the board (or of `app`, the same way: bench/board.py's reference pages), in the board's
    server process (dashboard/server.py: its modules loaded and frozen before the first page view)."""
    app = app or PROJECT_ROOT / "dashboard" / "app.py"
    return [
        sys.executable, "-m", "dashboard.server", "run", str(app), "--server.headless", "true",
        "--browser.gatherUsageStats", "false", "--server.address", "127.0.0.1", "--server.port", str(port),
        "--client.toolbarMode", "minimal",
        # an unexpected error shows its type only: never a traceback with file paths in the browser
        "--client.showErrorDetails", "type",
        # a served board, not a development session: no watching of source files (polling every module's
        # path took about a quarter of the server's CPU per page view)
        "--server.fileWatcherType", "none", "--server.runOnSave", "false",
        # no Streamlit magic: a bare expression left in a page is never drawn for a lead to read, and a page's
        # script compiles without its rewrite (Streamlit compiles them again once every tab was closed: about
        # 16 ms of the 22 ms compile of the queue page, py-spy)
        "--runner.magicEnabled", "false",
    ]  # fmt: skip


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@board_app.callback()
def board(
    ctx: typer.Context,
    port: int = typer.Option(8501, "--port", min=1, max=65535, help="Port on 127.0.0.1."),
) -> None:
    """Start the board on 127.0.0.1 and print its URL (Ctrl-C stops it)."""
    if ctx.invoked_subcommand is not None:
        return
    settings = ctx_app(ctx).settings  # a configuration mistake stops here, before the server starts
    if settings.board.users:  # the file holds password hashes only once someone was added
        warn_if_readable(settings.config_dir / "board.toml")
    if not settings.board.users and not settings.board.open_localhost:
        typer.echo("note: no users in board.toml yet: run `tracker board add-user NAME --role lead`", err=True)
    if not _port_free(port):
        raise TrackerError(f"--port: 127.0.0.1:{port} is in use; pick another with --port")
    serve(settings, port)


def serve(settings: Settings, port: int, *, now: datetime | None = None) -> None:
    """Become the board server on 127.0.0.1:`port` and print its URL; `now` pins the board's clock."""
    env = {**os.environ, "TRACKER_CONFIG_DIR": str(settings.config_dir)}
    if now is not None:
        env["TRACKER_NOW"] = now.isoformat()
    typer.echo(f"board: http://127.0.0.1:{port}")
    sys.stdout.flush()
    # become the server (no child left behind when the terminal or a supervisor stops us)
    command = streamlit_command(port)
    os.execve(command[0], command, env)


def warn_if_readable(path: Path) -> None:
    """A warning line when board.toml (password hashes) may be read by other users of the machine."""
    from tracker.auth import readable_by_others

    if readable_by_others(path):
        mode = oct(path.stat().st_mode & 0o777)[2:]
        typer.echo(f"warning: {path} (password hashes) has mode {mode}, readable by others: chmod 600 {path}", err=True)


@board_app.command("add-user")
def add_user(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Login name (shown in the audit log)."),
    role: str = typer.Option("agent", "--role", help="lead (every action) or agent (work the queue)."),
    password: str | None = typer.Option(
        None, "--password", envvar="TRACKER_BOARD_PASSWORD", help="Default: asked for on the terminal."
    ),
) -> None:
    """Add a user to board.toml, or replace their role and password; stores a salted scrypt hash and
    writes the file with mode 0600. Passwords shorter than [board.login] min_password_length are refused."""
    from tracker.auth import hash_password, password_problem, readable_by_others, write_user

    if role not in ("lead", "agent"):
        raise TrackerError(f"--role: expected lead or agent, got {role!r}")
    app = ctx_app(ctx)
    config_dir = app.config_dir or default_config_dir()
    if password is None:
        password = getpass.getpass(f"password for {name}: ")
        if password != getpass.getpass("again: "):
            raise TrackerError("the two passwords differ")
    problem = password_problem(password, min_length=app.settings.board.login.min_password_length)
    if problem:
        raise TrackerError(f"--password: {problem} ([board.login] min_password_length in board.toml)")
    path = config_dir / "board.toml"
    was_open = readable_by_others(path)
    try:
        new = write_user(path, name, role=role, password_hash=hash_password(password))
    except ValueError as exc:
        raise TrackerError(str(exc)) from None
    typer.echo(f"{'added' if new else 'updated'} {name} ({role}) in {path}")
    if was_open:
        typer.echo(f"note: {path} was readable by others; it is now mode 600", err=True)
