"""`tracker init`, `tracker import parcels`, `tracker parcels`, `tracker demo`."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console

from tracker import labels
from tracker.commands.context import NOW_HELP, Format, ctx_app, emit, known, known_courier, resolve_now, terminal_text
from tracker.couriers.detect import CourierIndex
from tracker.errors import TrackerError
from tracker.settings import Settings, read_toml
from tracker.status import Direction, TrackingStatus

if TYPE_CHECKING:
    from tracker.importer import ImportReport

# The importer and the storage (SQLAlchemy, the ORM tables) are imported inside the commands that use them,
# so that `tracker --help` and the other commands start without loading them.

err = Console(stderr=True)
import_app = typer.Typer(help="Import order and return exports.", no_args_is_help=True)

PARCEL_COLUMNS = [
    "courier",
    "waybill",
    "direction",
    "order_id",
    "shop",
    "province",
    "city",
    "goods_value",
    "shipped_at",
    "status",
    "last_event_at",
    "push",
]


def register(app: typer.Typer) -> None:
    app.command("init", help="Create or migrate the database to the newest schema.")(init)
    app.add_typer(import_app, name="import")
    import_app.command("parcels", help="Import a CSV (UTF-8/GBK) or XLSX order or return export.")(import_parcels_cmd)
    app.command("parcels", help="List parcels.")(parcels)
    app.command("demo", help="Set up the embedded demo: database, example parcels, summary.")(demo)


def init(ctx: typer.Context) -> None:
    app = ctx_app(ctx)
    app.open_engine(create=True)  # building the engine migrates the schema
    typer.echo(f"database ready: {_display_url(app.settings.database_url)}")


def _aliases(settings: Settings, mapping: Path | None) -> dict[str, list[str]]:
    aliases = {k: list(v) for k, v in settings.headers.items()}
    if mapping:
        extra = read_toml(mapping).get("headers")
        if not isinstance(extra, dict) or not all(
            isinstance(v, list) and all(isinstance(n, str) for n in v) for v in extra.values()
        ):
            raise TrackerError(f'{mapping}: expected a [headers] table of field = ["header", ...]')
        from tracker.importer import CANONICAL

        unknown = sorted(set(extra) - set(CANONICAL))
        if unknown:  # a misspelt field used to be ignored, its column silently not read
            raise TrackerError(f"{mapping}: no such field {', '.join(unknown)} (fields: {', '.join(CANONICAL)})")
        for field, names in extra.items():
            aliases[field] = [*names, *aliases.get(field, [])]
    return aliases


def run_import(ctx: typer.Context, file: Path, mapping: Path | None, now: datetime) -> ImportReport:
    from tracker.importer import ImportFileError

    app = ctx_app(ctx)
    settings = app.settings
    if not file.is_file():  # before the database: the file is what was typed
        if file.is_dir():
            raise TrackerError(f"{file}: a folder, not a file: name the export file in it")
        raise TrackerError(f"{file}: {'not a regular file' if file.exists() else 'file not found'}")
    total = _estimate_rows(file)
    show_bar = sys.stderr.isatty() and total >= settings.import_.progress_min_rows
    try:
        if show_bar:
            from rich.progress import Progress

            with Progress(console=err, transient=True) as bar:
                task = bar.add_task(f"importing {file.name}", total=total)
                return _do_import(app, file, mapping, now, lambda n: bar.advance(task, n))
        return _do_import(app, file, mapping, now, None)
    except ImportFileError as exc:
        raise TrackerError(f"{file}: {exc}") from None


def _do_import(app, file, mapping, now, progress):  # type: ignore[no-untyped-def]
    from tracker.importer import import_parcels

    settings = app.settings
    return import_parcels(
        file,
        engine=app.engine,
        couriers=CourierIndex(settings.couriers, settings.detection),
        aliases=_aliases(settings, mapping),
        tz=settings.tz,
        now=now,
        currency=settings.currency,
        return_headers=settings.return_waybill_headers,
        batch_size=settings.import_.batch_size,
        progress=progress,
        autonumber=_autonumber(settings) if settings.detection.import_autonumber else None,
        limits=settings.import_.limits,
        second_process=settings.import_.second_process,
        not_shipped=settings.not_shipped_statuses,
        awaiting=settings.awaiting_shipment_statuses,
        closed=settings.closed_order_statuses,
        shipped=settings.shipped_order_statuses,
    )


def _autonumber(settings):  # type: ignore[no-untyped-def]
    """[detection] import_autonumber: ask Kuaidi100 for a blank courier the patterns cannot decide."""
    from tracker.providers.kuaidi100.client import ask_autonumber

    failed: list[str] = []

    def ask(number: str) -> tuple[str, ...]:
        if failed:  # Kuaidi100 failed once: the rest of the file is not slowed by retries
            return ()
        reply = ask_autonumber(settings.providers.of("kuaidi100"), number, url=settings.detection.autonumber_url)
        if reply.error and reply.error.startswith("failed"):
            failed.append(reply.error)
            err.print(
                f"Kuaidi100 autonumber {terminal_text(reply.error)}: ambiguous couriers are rejected", markup=False
            )
        return reply.codes

    return ask


def _estimate_rows(file: Path) -> int:
    """Lines of a CSV, counted in chunks (the file is never held whole), for the progress bar."""
    if file.suffix.lower() != ".csv":
        return 0
    count = 0
    try:
        with file.open("rb") as fh:
            while chunk := fh.read(1 << 20):
                count += chunk.count(b"\n")
    except OSError:
        return 0
    return count


def _warn_kept(lines: list[str], count: int, more: str) -> None:
    """The import's warnings of one kind on stderr, the first ones kept, then how many more there were."""
    for line in lines:
        err.print(f"  {line}", markup=False, soft_wrap=True)
    if count > len(lines):
        err.print(f"  ... {count - len(lines)} more {more}", markup=False)


def print_report(report: ImportReport, couriers: Mapping[str, Any], *, max_errors: int = 20) -> None:
    typer.echo(
        f"{report.path.name}: {report.rows} rows: {report.inserted} new, {report.updated} updated, "
        f"{report.unchanged} unchanged, {report.merged} merged into another row, {report.rejected_rows} rejected"
    )
    if report.trades_succeeded:  # 交易成功 times: the complaint window (docs/domain.md "Tmall's timers")
        typer.echo(f"  {report.trades_succeeded} 交易成功 time(s) recorded")
    if report.awaiting:  # paid, awaiting shipment: kept as the parcel to come (import.toml [orders])
        typer.echo(
            f"  {report.awaiting} order(s) paid and awaiting shipment (订单状态), no waybill yet: kept as orders "
            "awaiting their parcel (among the parcels above), watched for 延迟发货"
        )
    if report.not_shipped:  # a full order export's other orders without a parcel (import.toml [orders])
        typer.echo(f"  {report.not_shipped} order(s) not shipped (unpaid or closed, 订单状态), no waybill: skipped")
    if report.shipped_by_import:  # the classic order export has no 发货时间 (import.toml [orders] shipped)
        typer.echo(
            f"  {report.shipped_by_import} parcel(s) shipped (订单状态) without a 发货时间: shipped by this import at "
            "the latest (a time stored before stays)"
        )
    if report.refunded_before_shipping:  # a returns export's refund on an order not shipped (仅退款)
        typer.echo(
            f"  {report.refunded_before_shipping} refund(s) agreed before the order shipped: the order no longer "
            "awaits its parcel"
        )
    if report.awaiting_closed:
        typer.echo(
            f"  {report.awaiting_closed} order(s) awaiting their parcel closed before shipping: no longer awaited"
        )
    if report.return_cases:  # returns rows without a return waybill yet (docs/importing.md)
        typer.echo(f"  {report.return_cases} return(s) agreed without a return waybill yet, recorded on their orders")
    for row, waybill, note in report.detected[:max_errors]:
        typer.echo(f"  row {row}: courier detected for {waybill}: {note}")
    if report.detected_count > max_errors:
        typer.echo(f"  ... {report.detected_count - max_errors} more detected couriers")

    def name(slug: str) -> str:
        return labels.courier_name(couriers, slug, "en")  # the CLI reads English

    _warn_kept(
        [
            f"row {row}: waybill {waybill} is stored under {name(slug)} as the export says, but its number reads "
            f"as {name(other.slug)}'s ({round(other.confidence * 100)}%, {other.pattern}): check the courier, or "
            "the parcel is never scanned (发货无揽收)"
            for row, waybill, slug, other in report.courier_doubts[:max_errors]
        ],
        report.courier_doubts_count,
        "numbers that read as another courier's",
    )
    _warn_kept(
        [
            f"waybill {waybill} carries orders of two buyers ({', '.join(orders)}): merged shipping joins one "
            "buyer's orders, so one of these waybills is likely mistyped (the parcel keeps the later row's buyer)"
            for waybill, orders in list(report.two_buyers.items())[:max_errors]
        ],
        report.two_buyers_count,
        "waybills with two buyers' orders",
    )
    from tracker.importer import header_of

    _warn_kept(
        [
            f"waybill {waybill}: two rows of the same order give {header_of(name, report.headers)} {was} and {now}; "
            f"{now} is stored (an export of product lines? sum them per order first, or a claim is paid on one "
            "product's value)"
            for waybill, (name, was, now) in list(report.two_values.items())[:max_errors]
        ],
        report.two_values_count,
        "waybills whose rows give one order two values",
    )
    _warn_kept(
        [
            f"waybill {waybill} is now stored under {len(slugs)} couriers ({', '.join(map(name, slugs))}): one is "
            "likely mistyped, and the parcel under the wrong courier will never be scanned (发货无揽收); check the "
            "courier in the export"
            for waybill, slugs in list(report.same_waybill.items())[:max_errors]
        ],
        report.same_waybill_count,
        "waybills under two couriers",
    )
    for error in report.errors[:max_errors]:
        if error.field:  # named as the file names it (买家实际支付金额, not goods_value)
            line = f"  row {error.row}, {header_of(error.field, report.headers)} = {error.value!r}: {error.reason}"
        else:
            line = f"  row {error.row}: {error.reason}" + (f": {error.value!r}" if error.value else "")
        err.print(line, markup=False, soft_wrap=True)
    if report.error_count > max_errors:
        err.print(f"  ... {report.error_count - max_errors} more problems", markup=False)
    if report.rejects_problem:  # the good rows are stored all the same; the problems are the lines above
        err.print(
            f"could not write the rejected rows to {report.rejects_problem} (is the file open in Excel?); "
            "the good rows are stored, import the file again once it can be written",
            markup=False,
            soft_wrap=True,
        )
    elif report.rejects_path:
        err.print(f"rejected rows written to {report.rejects_path}", markup=False, soft_wrap=True)


def import_parcels_cmd(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="CSV or XLSX export (Taobao/Tmall headers or canonical English)."),
    mapping: Path | None = typer.Option(None, help="TOML with a [headers] table adding other header names."),
    now: str | None = typer.Option(None, help=NOW_HELP),
) -> None:
    app = ctx_app(ctx)
    report = run_import(ctx, file, mapping, resolve_now(now, app.settings))
    print_report(report, app.settings.couriers)
    if report.errors:
        raise typer.Exit(1)


def parcels(
    ctx: typer.Context,
    courier: str | None = typer.Option(None, help="Courier slug, e.g. sf, zto, yto; 未发货 (or -): not shipped yet."),
    status: str | None = typer.Option(None, help="Normalized status, e.g. in_transit, delivered."),
    direction: str | None = typer.Option(None, help="outbound or return."),
    waybill: str | None = typer.Option(None, help="One waybill number."),
    order: str | None = typer.Option(None, "--order", help="Order number (also finds merged shipments)."),
    limit: int = typer.Option(50, min=1, help="Rows to show."),
    offset: int = typer.Option(0, min=0, help="Rows to skip."),
    fmt: Format = typer.Option(Format.table, "--format", help="table, json or csv."),
) -> None:
    app = ctx_app(ctx)
    courier = known_courier(app, courier)
    known(status, TrackingStatus, "--status", "a status")
    known(direction, Direction, "--direction", "a direction")
    engine = app.engine  # a missing or unreachable database is reported before the queries are loaded
    from tracker.storage import repo

    rows = repo.list_parcels(
        engine,
        courier=courier,
        status=status,
        direction=direction,
        waybill=waybill,
        order_id=order,
        limit=limit,
        offset=offset,
    )
    from tracker.subscriptions import descriptions

    # a table reads English, as its other columns (the board's English words); JSON and CSV as before
    pushes = descriptions(
        app.engine, [r["id"] for r in rows], tz=app.settings.tz, lang="en" if fmt is Format.table else "zh"
    )
    for row in rows:
        row["push"] = pushes[row["id"]]  # the push subscription in words (推送订阅中 / 已停止推送（…）)
    emit(rows, PARCEL_COLUMNS, fmt, tz=app.settings.tz, couriers=app.settings.couriers)


def demo(
    ctx: typer.Context,
    file: Path = typer.Option(None, help="Parcels file to import. Default: examples/parcels.csv."),
    now: str | None = typer.Option(None, help=NOW_HELP),
    generated: int = typer.Option(3000, help="Also import this many generated parcels and poll the sandbox."),
    board: bool = typer.Option(True, "--board/--no-board", help="End by starting the board (Ctrl-C stops it)."),
    port: int = typer.Option(8501, help="The board's port on 127.0.0.1 (the next free one if taken)."),
) -> None:
    from tracker.storage import repo

    app = ctx_app(ctx)
    settings = app.settings
    file = file or settings.project_root / "examples" / "parcels.csv"
    app.open_engine(create=True)
    typer.echo(f"database: {_display_url(settings.database_url)}")
    at = resolve_now(now, settings)
    print_report(run_import(ctx, file, None, at), settings.couriers)
    returns = file.with_name("returns.csv")
    if returns.is_file():
        print_report(run_import(ctx, returns, None, at), settings.couriers)
    if generated:
        from tracker.commands import online

        print_report(run_import(ctx, online.generate_demo_file(app, at, generated), None, at), settings.couriers)
        online.run_demo_poll(app, at)
    summary = repo.parcel_summary(app.engine)
    typer.echo(f"parcels: {summary['total']} ({summary['open']} open)")
    names = {slug: cfg.name for slug, cfg in settings.couriers.items()}
    for slug, count in sorted(summary["by_courier"].items(), key=lambda kv: -kv[1]):
        typer.echo(f"  {names.get(slug, slug)} ({slug}): {count}")
    for direction, count in sorted(summary["by_direction"].items()):
        typer.echo(f"  {labels.direction_label(direction, settings.board.language)}: {count}")
    _demo_exceptions_and_alerts(ctx, app, at)
    if board:
        _start_board(settings, port, now)


def _start_board(settings: Settings, port: int, now: str | None) -> None:
    """Become the board server on the first free port from `port` (the board's clock pinned to --now)."""
    from tracker.commands.board import _port_free, serve

    while not _port_free(port):
        port += 1
    serve(settings, port, now=resolve_now(now, settings) if now else None)


def _demo_exceptions_and_alerts(ctx, app, at: datetime) -> None:  # type: ignore[no-untyped-def]
    """After the poll: the rules, open exceptions by kind, claim proposals, the couriers' bill imported (the
    freight the claims lack), then one alert run."""
    from sqlalchemy import func, select

    from tracker.alerts.service import run_alerts
    from tracker.flags.evaluate import evaluate_all
    from tracker.storage.tables import FLAG

    evaluate_all(app.engine, now=at, settings=app.settings)
    with app.engine.connect() as conn:
        rows = conn.execute(
            select(FLAG.c.kind, FLAG.c.severity, func.count())
            .where(FLAG.c.state != "resolved")
            .group_by(FLAG.c.kind, FLAG.c.severity)
            .order_by(func.count().desc())
        ).all()
    typer.echo(f"open exceptions: {sum(r[2] for r in rows)}")
    lang = app.settings.board.language  # the words of the board the demo opens (tracker/labels.py)
    for kind, severity, count in rows:
        typer.echo(f"  {labels.kind_label(kind, lang)} ({labels.severity_label(severity, lang)}): {count}")
    from claims.money import claimable
    from claims.service import propose
    from claims.tables import tables_of
    from tracker.values import format_money

    proposed = propose(app.engine, tables=tables_of(app.settings), now=at)
    typer.echo(
        f"claims proposed: {sum(proposed.proposed.values())} ({proposed.needs_config} lack an input); "
        f"claimable now: {format_money(claimable(app.engine, now=at).amount, app.settings.currency)}"
    )
    for claim_type, count in proposed.proposed.most_common():
        typer.echo(f"  {labels.claim_type_label(claim_type, lang)}: {count}")
    # the shop's export has no courier charge: the couriers' bill brings it, and the freight claims are completed
    from tracker.commands import online

    bill = online.write_courier_bill(app, at)
    print_report(run_import(ctx, bill, None, at), app.settings.couriers)
    filled = propose(app.engine, tables=tables_of(app.settings), now=at).inputs_filled
    typer.echo(
        f"claims completed by the courier bill: {filled}; "
        f"claimable now: {format_money(claimable(app.engine, now=at).amount, app.settings.currency)}"
    )
    report = run_alerts(app.engine, app.settings, now=at)
    typer.echo(report.summary())  # the words and counts of `tracker alerts run` and the board's 今日已发提醒


def _display_url(url: str) -> str:
    """The database URL without its password."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
