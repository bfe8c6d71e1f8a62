"""The `tracker` command. The only batch-side place that builds Settings and the engine (in AppContext)."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from claims import cli as claims_cli  # the CLI is the one entrypoint that joins tracker and claims
from tracker.commands import alerts, board, core, db, online, providers, pushes, rules, setup, subscribe, worker
from tracker.commands.context import OPENED, AppContext, error_line
from tracker.errors import TrackerError

app = typer.Typer(
    name="tracker",
    help="Logistics exception and courier-claims tracker for Taobao/Tmall warehouses.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

# Each command group registers itself; add new groups here.
for group in (core, providers, online, pushes, subscribe, worker, rules, alerts, board, setup, db, claims_cli):
    group.register(app)


@app.callback()
def _root(
    ctx: typer.Context,
    config: Path | None = typer.Option(
        None, "--config", envvar="TRACKER_CONFIG_DIR", help="Configuration folder (default: ./config)."
    ),
) -> None:
    from tracker.redact import install

    install()  # every log record from here on is redacted (webhook tokens, keys, signatures)
    ctx.obj = AppContext(config_dir=config)


def main() -> None:
    """Run the CLI; a user mistake prints one line to stderr and exits 2, never a traceback. A database that
    refuses a command midway, and a failure nobody foresaw (a bug), print one line too and exit 1; the bug's
    traceback goes to a report file that the line names (tracker.crash)."""
    from sqlalchemy.exc import DBAPIError

    from tracker import crash
    from tracker.runtime import tune_gc

    tune_gc()  # the program's own process (not a test's): tracker/runtime.py
    try:
        # not standalone: a usage mistake (a missing option, `abc` for an id) comes here as UsageError, to be
        # said in one line like every other mistake, not in Click's boxed usage text
        code = app(standalone_mode=False)
    except USAGE_ERROR as exc:
        message = exc.format_message()  # type: ignore[attr-defined]
        if message:  # a group run without its command has printed its help already, with nothing to add
            sys.stderr.write(usage_line(exc) + "\n")
        sys.exit(2)
    except typer.Abort:  # Ctrl-C at a prompt, or end of input
        sys.stderr.write("aborted\n")
        sys.exit(130)
    except TrackerError as exc:
        sys.stderr.write(error_line(exc) + "\n")
        sys.exit(exc.exit_status)
    except DBAPIError as exc:
        sys.stderr.write(crash.database_line(exc, OPENED[-1] if OPENED else None) + "\n")
        sys.exit(1)
    except Exception as exc:  # noqa: BLE001 - the last resort: one line and a report, never a traceback
        sys.stderr.write(crash.unexpected_line(exc, crash.write_report(exc, sys.argv)) + "\n")
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)  # typer.Exit(n) comes back as n; a command returns None


# Click's UsageError (a missing option, a bad value, an unknown command), as the Click that Typer runs on
# defines it (Typer exports only BadParameter, one of its kinds)
USAGE_ERROR: type[Exception] = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "UsageError")


def usage_line(exc: Exception) -> str:
    """A usage mistake in one line: what is wrong, and where to read how the command is used."""
    message = " ".join(exc.format_message().split())  # type: ignore[attr-defined]
    ctx = getattr(exc, "ctx", None)
    where = ctx.command_path if ctx is not None else "tracker"
    return f"error: {message} (see: {where} --help)"


if __name__ == "__main__":
    main()
