"""What the CLI prints when a command fails for a reason that is not the user's input: one line, never a
traceback (tracker.cli.main). A database that refuses midway names the database and its own words; a
failure nobody foresaw (a bug) writes its traceback, redacted, to a report file and names that file."""

from __future__ import annotations

import os
import tempfile
import traceback
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from sqlalchemy.exc import DBAPIError

from tracker.redact import redact, secret_values

# The database's own words when the tables or columns this version reads are not there (SQLite,
# PostgreSQL): the schema was changed by hand, or made by another build of the tracker.
_SCHEMA_WORDS = ("no such table", "no such column", "does not exist", "has no column")
SCHEMA_HINT = "its tables are not the ones this version of the tracker reads (`tracker init` upgrades an older schema)"


def database_line(exc: DBAPIError, where: str | None) -> str:
    """`error: the database (<where>) refused the command: <its first line>`, with a hint when the schema
    does not match; secrets (a password in a URL) are masked."""
    said = str(exc.orig if exc.orig is not None else exc).strip().splitlines()
    words = said[0] if said else type(exc).__name__
    line = f"error: the database{f' ({where})' if where else ''} refused the command: {words}"
    if any(w in words.lower() for w in _SCHEMA_WORDS):
        line += f"; {SCHEMA_HINT}"
    return redact(line, secret_values(os.environ))


def write_report(exc: BaseException, argv: Sequence[str]) -> Path | None:
    """The failure's traceback and command line, redacted, in a new file under the temporary folder
    (TMPDIR); None when even that cannot be written."""
    text = "".join(
        [f"tracker crash report, {datetime.now().astimezone().isoformat(timespec='seconds')}\n"]
        + [f"command: {' '.join(argv)}\n\n"]
        + traceback.format_exception(exc)
    )
    try:
        fd, name = tempfile.mkstemp(prefix="tracker-crash-", suffix=".txt")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(redact(text, secret_values(os.environ)))
    except OSError:
        return None
    return Path(name)


def unexpected_line(exc: BaseException, report: Path | None) -> str:
    """`error: unexpected failure (<type>: <first line>); ...` naming the report file."""
    said = str(exc).strip().splitlines()
    what = f"{type(exc).__name__}: {said[0]}" if said else type(exc).__name__
    where = f"the details are in {report}" if report else "no report could be written"
    return redact(f"error: unexpected failure ({what}); {where}; please pass it on", secret_values(os.environ))
