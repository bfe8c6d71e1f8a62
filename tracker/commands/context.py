"""What every command shares: settings and engine built once per invocation, the clock, output."""

from __future__ import annotations

import csv
import json
import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from tracker.errors import TrackerError
from tracker.exports import safe_row
from tracker.settings import Settings, load_settings
from tracker.values import ValueProblem, parse_local_time

if TYPE_CHECKING:
    from rich.text import Text
    from sqlalchemy import Engine


class Format(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"
    xlsx = "xlsx"  # a spreadsheet on stdout: `> file.xlsx` (tracker/sheets.py)


# The database this process opened last, for a person (tracker.storage.db.describe_database; empty before
# one is opened): the CLI names it in the one line it prints when it refuses a command midway (tracker.cli.main).
OPENED: list[str] = []


@dataclass
class AppContext:
    config_dir: Path | None = None
    _settings: Settings | None = field(default=None, repr=False)
    _engine: Engine | None = field(default=None, repr=False)

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.config_dir)
        return self._settings

    @property
    def engine(self) -> Engine:
        """The database, migrated to the newest schema (a no-op when it already is). A SQLite file that is
        not there is an error (`tracker init` creates it): see `open_engine`."""
        return self.open_engine()

    def open_engine(self, *, create: bool = False, **kw: Any) -> Engine:
        """The database engine, built once; `create` makes a missing SQLite file (init, demo)."""
        if self._engine is None:
            from tracker.storage.db import describe_database, open_database

            self._engine = open_database(self.settings.database_url, source=self.database_source, create=create, **kw)
            OPENED[:] = [describe_database(self._engine.url)]
        return self._engine

    @property
    def database_source(self) -> str:
        """Where the database URL was set, for error messages."""
        import os

        if os.environ.get("TRACKER_DATABASE_URL"):
            return "TRACKER_DATABASE_URL"
        return f"database_url in {self.settings.config_dir / 'tracker.toml'}"


def ctx_app(ctx: typer.Context) -> AppContext:
    obj = ctx.find_root().obj
    if not isinstance(obj, AppContext):
        obj = AppContext()
        ctx.find_root().obj = obj
    return obj


# The options whose name is not the service's argument with dashes (TrackerError.field -> option).
OPTION_OF_FIELD = {
    "actor": "--by",
    "assignee": "--to",
    "refund_deadline": "--deadline",
    "items_received": "--received",
    "shipped_kg": "--shipped",
    "returned_kg": "--returned",
}


def error_line(exc: TrackerError) -> str:
    """The line the CLI prints for an error: a service names the input at fault in its own words (`field`), and
    the CLI puts the option that gives it in front (`--to: the assignee's name is required`)."""
    if exc.field is None:
        return f"error: {exc}"
    option = OPTION_OF_FIELD.get(exc.field, "--" + exc.field.replace("_", "-"))
    return f"error: {option}: {exc}"


def known(value: str | None, choices: Iterable[str], option: str, what: str) -> str | None:
    """An option's value, when it is one of `choices` (a courier slug, a state): a typo used to filter a listing
    down to nothing, silently, as if there were nothing to do."""
    allowed = [str(c) for c in choices]
    if value is None or value in allowed:
        return value
    raise TrackerError(f"{option}: expected {what} ({', '.join(allowed)}), got {value!r}")


def known_courier(app: AppContext, courier: str | None) -> str | None:
    """--courier of a listing: a configured courier, by its slug or any name an export calls it (顺丰, 中通快递:
    the importer's reading, CourierIndex.resolve), or one stored parcels still name (a courier since removed
    from config/couriers.toml is still listed by it); 未发货 (or -) for the orders awaiting their parcel, which have
    no courier yet (domain.AWAITING_COURIER)."""
    if courier is None or courier in app.settings.couriers:
        return courier
    from tracker.domain import AWAITING_COURIER, NO_COURIER_FILTER
    from tracker.labels import NO_COURIER_YET

    if courier in (NO_COURIER_FILTER, NO_COURIER_YET[0]):
        return AWAITING_COURIER
    from tracker.couriers.detect import CourierIndex, UnknownCourier
    from tracker.storage import rollups

    try:
        return CourierIndex(app.settings.couriers, app.settings.detection).resolve(courier)
    except UnknownCourier:
        pass

    stored = [slug for slug in rollups.choices(app.engine, "courier") if slug not in app.settings.couriers]
    return known(courier, [*app.settings.couriers, *stored], "--courier", "a courier")


BY_HELP = "Who makes the change, for the audit log (default: $TRACKER_USER, else the login name)."


def resolve_actor(by: str | None) -> str:
    """The --by option, else $TRACKER_USER, else the login name; never a name the tracker acts under itself."""
    import getpass
    import os

    from tracker.auth import reserved_actor

    actor = by or os.environ.get("TRACKER_USER") or getpass.getuser()
    if reserved_actor(actor):
        raise TrackerError(
            f"--by: {actor!r} is the tracker's own name (the rules, the claims job, the import); give a person's name"
        )
    return actor


NOW_HELP = "Evaluate as of this time (ISO-8601; no offset = the configured zone). Default: the real clock."


def resolve_now(value: str | None, settings: Settings) -> datetime:
    """The --now option, or the real clock (entrypoints are the only place that reads it)."""
    if not value:
        return datetime.now(UTC)
    try:
        return parse_local_time(value, settings.tz)
    except ValueProblem as exc:
        raise TrackerError(f"--now: expected {exc}") from None


def _plain(value: Any, tz: Any = None) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _csv_value(value: Any) -> Any:
    """Numbers stay numbers (safe_row leaves them alone), times as UTC ISO text."""
    return value if isinstance(value, int | float | Decimal) else _plain(value)


def emit(
    rows: Sequence[dict[str, Any]],
    columns: Sequence[str],
    fmt: Format,
    *,
    tz: Any = None,
    couriers: Any = None,
    words: Mapping[str, Callable[[Any, str], str]] | None = None,
) -> None:
    """Print rows as a table (English headers, codes in words, times in the configured zone), JSON lines or
    CSV (the codes, times in UTC), or XLSX (Chinese headers, codes in words, times in the zone). Couriers
    are named when `couriers` is given; `words` names a listing's own codes (tracker.sheets.cli_columns)."""
    if fmt is Format.json:
        for row in rows:
            sys.stdout.write(json.dumps({c: _plain(row.get(c)) for c in columns}, ensure_ascii=False) + "\n")
        return
    if fmt is Format.xlsx:
        _emit_xlsx(rows, columns, tz=tz, couriers=couriers, words=words)
        return
    if fmt is Format.csv:
        writer = csv.writer(sys.stdout)
        writer.writerow(safe_row(columns))
        for row in rows:
            writer.writerow(safe_row([_csv_value(row.get(c)) for c in columns]))
        return
    from rich.console import Console
    from rich.table import Table

    from tracker.sheets import cli_columns

    shown = cli_columns(columns, lang="en", couriers=couriers, words=words)
    table = Table(show_lines=False)
    for column in shown:
        # a number a person copies (waybill, order, claim reference) is never cut or wrapped
        whole = column.key in _WHOLE_KEYS
        widest = max((len(str(row.get(column.key) or "")) for row in rows), default=0) if whole else None
        table.add_column(column.header, no_wrap=whole, min_width=widest)
    for row in rows:
        table.add_row(*[_cell(_words(column.words, row.get(column.key)), tz) for column in shown])
    console = Console()
    if not console.is_terminal:  # a file or a pipe: as wide as the table, nothing cut
        natural = Console(width=_PIPE_MAX_WIDTH).measure(table).maximum
        console = Console(width=min(max(160, natural), _PIPE_MAX_WIDTH))
    console.print(table)


_WHOLE_KEYS = frozenset({"id", "waybill", "order_id", "reference_no"})
_PIPE_MAX_WIDTH = 1000  # characters: a table sent to a file or pipe is at most this wide


def _emit_xlsx(
    rows: Sequence[dict[str, Any]],
    columns: Sequence[str],
    *,
    tz: Any,
    couriers: Any,
    words: Mapping[str, Callable[[Any, str], str]] | None,
) -> None:
    import io
    from zoneinfo import ZoneInfo

    from tracker.errors import TrackerError
    from tracker.sheets import cli_columns, write_table

    if sys.stdout.isatty():
        raise TrackerError("--format xlsx writes a spreadsheet: send it to a file, e.g. `> list.xlsx`")
    out = io.BytesIO()
    write_table(
        out,
        title="列表",
        columns=cli_columns(columns, couriers=couriers, words=words),
        rows=rows,
        tz=tz or ZoneInfo("Asia/Shanghai"),
    )
    sys.stdout.flush()
    sys.stdout.buffer.write(out.getvalue())
    sys.stdout.buffer.flush()


def _words(words: Any, value: Any) -> Any:
    """A code in the words a person reads (a courier's name, a kind, a state); anything else as it is."""
    return words(value) if words is not None and value is not None else value


def _cell(value: Any, tz: Any) -> Text:
    """One table cell, as rich Text: a courier's, buyer's or shop's words are shown as written, never read as
    rich markup (a `[link=…]` would become a terminal hyperlink, a stray `[/b]` an error), and a control
    character is shown as U+FFFD, never sent to the terminal (ESC starts colours, hyperlinks, titles)."""
    from rich.text import Text

    if value is None:
        return Text("-")
    if isinstance(value, datetime):
        return Text(value.astimezone(tz).strftime("%Y-%m-%d %H:%M") if tz else value.isoformat())
    if isinstance(value, Decimal):
        return Text(f"{value:,.2f}")
    return Text(terminal_text(str(value)))


def terminal_text(text: str) -> str:
    """Words from outside (a courier's, a provider's error message) made safe to print: each control
    character becomes U+FFFD."""
    return _TERMINAL_CONTROL.sub("\ufffd", text)


# C0 controls but tab and newline (a carriage return too: it writes over the line), DEL, and C1 (0x9b is
# a CSI on some terminals)
_TERMINAL_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
