"""`tracker parse`, `tracker ingest` (saved provider replies) and `tracker couriers [detect]`."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from urllib.parse import parse_qs

import typer

from tracker.commands.context import NOW_HELP, Format, ctx_app, emit, resolve_now
from tracker.couriers.detect import CourierIndex, UnknownCourier
from tracker.errors import TrackerError
from tracker.providers import registry
from tracker.providers.base import ParseResult, parse_reply

couriers_app = typer.Typer(help="Configured couriers: list them, detect one from a waybill number.")

COURIER_COLUMNS = ["slug", "name", "name_en", "provider", "kuaidi100", "kdniao", "track17", "patterns"]
# Form fields holding the push JSON when a push is saved as the raw form body (each spec's PushSpec.field:
# Kuaidi100 `param`, Kdniao `RequestData`).
_PUSH_FIELDS = tuple(s.push.field for s in registry.specs().values() if s.push is not None and s.push.field)

# The --provider choices: every registered provider (tracker/providers/registry.py).
Provider = StrEnum("Provider", {name: name for name in registry.names()})  # type: ignore[misc]

PROVIDER_HELP = "Which provider the reply comes from: " + ", ".join(
    f"{s.name} ({s.label})" for s in registry.specs().values()
)
PUSH_HELP = "FILE is a push body (Kuaidi100 `param`, Kdniao `RequestData`, 17TRACK webhook), not a query reply."


def register(app: typer.Typer) -> None:
    app.command("parse", help="Parse a saved provider reply and print normalized events as JSON lines.")(parse)
    app.command("ingest", help="Store a saved provider reply as if it had been polled (matched by waybill).")(
        ingest_cmd
    )
    app.add_typer(couriers_app, name="couriers")


def _read(ctx: typer.Context, provider: Provider, push: bool, file: Path) -> ParseResult:
    settings = ctx_app(ctx).settings
    try:
        body = file.read_bytes()
    except OSError as exc:
        raise TrackerError(f"{file}: cannot read ({exc.strerror})") from None
    if push:
        body = _unwrap_form(body)
    kind = "push" if push else "query"
    return parse_reply(
        str(provider), body, kind=kind, tz=settings.tz, couriers=settings.couriers, phrases=settings.phrasebook
    )


def _unwrap_form(body: bytes) -> bytes:
    """A push saved as the raw form body (param=...&sign=...) -> the JSON field; JSON is returned as is."""
    text = body.decode("utf-8-sig", errors="replace").strip()
    if text.startswith("{"):
        return body
    form = parse_qs(text)
    for name in _PUSH_FIELDS:
        if form.get(name):
            return form[name][0].encode("utf-8")
    return body


def _report_problems(result: ParseResult, file: Path) -> int:
    """Print problems and unattached reply errors to stderr; return how many."""
    count = 0
    for problem in result.problems:
        who = f"waybill {problem.waybill}: " if problem.waybill else ""
        sys.stderr.write(f"{file}: {who}{problem.message}\n")
        count += 1
    return count


def parse(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="Saved reply (JSON)."),
    provider: Provider = typer.Option(..., "--provider", help=PROVIDER_HELP),
    push: bool = typer.Option(False, "--push", help=PUSH_HELP),
) -> None:
    result = _read(ctx, provider, push, file)
    failures = _report_problems(result, file)
    for waybill in result.waybills:
        if waybill.error:
            who = f"waybill {waybill.waybill}: " if waybill.waybill else ""
            sys.stderr.write(f"{file}: {who}{waybill.error}\n")
            failures += 1
        for event in waybill.events:
            line = {
                "waybill": waybill.waybill,
                "courier": waybill.courier,
                "time": event.time.isoformat().replace("+00:00", "Z"),
                "status": str(event.status),
                "raw_code": event.raw_code,
                "text": event.text,
                "location": event.location,
            }
            sys.stdout.write(json.dumps(line, ensure_ascii=False) + "\n")
    if failures:
        raise typer.Exit(1)


def ingest_cmd(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="Saved reply (JSON)."),
    provider: Provider = typer.Option(..., "--provider", help=PROVIDER_HELP),
    push: bool = typer.Option(False, "--push", help=PUSH_HELP),
    now: str | None = typer.Option(None, help=NOW_HELP),
) -> None:
    from tracker.ingest import ingest

    app = ctx_app(ctx)
    result = _read(ctx, provider, push, file)
    failures = _report_problems(result, file)
    for waybill in result.waybills:
        if waybill.error and not waybill.waybill:
            sys.stderr.write(f"{file}: {waybill.error} (names no waybill; nothing stored)\n")
            failures += 1
    stored = ingest(app.engine, result.waybills, now=resolve_now(now, app.settings), source=str(provider))
    counts = f"{stored.matched} matched, {stored.new_events} new events, {len(stored.unknown)} unknown"
    typer.echo(f"{file.name}: {counts}")
    for waybill in stored.unknown:
        typer.echo(f"  unknown waybill {waybill}: no parcel (or several couriers) with this number; nothing stored")
    unknown = set(stored.unknown)
    for waybill in result.waybills:
        if waybill.error and waybill.waybill and waybill.waybill not in unknown:
            typer.echo(f"  waybill {waybill.waybill}: provider error stored: {waybill.error}")
    if failures:
        raise typer.Exit(1)


@couriers_app.callback(invoke_without_command=True)
def couriers(
    ctx: typer.Context,
    fmt: Format = typer.Option(Format.table, "--format", help="table, json or csv."),
) -> None:
    """List configured couriers with their provider and provider codes."""
    if ctx.invoked_subcommand is not None:
        return
    settings = ctx_app(ctx).settings
    rows = [
        {
            "slug": slug,
            "name": cfg.name,
            "name_en": cfg.name_en,
            "provider": cfg.provider,
            "kuaidi100": cfg.kuaidi100,
            "kdniao": cfg.kdniao,
            "track17": cfg.track17,
            "patterns": " ".join(cfg.patterns),
        }
        for slug, cfg in settings.couriers.items()
    ]
    emit(rows, COURIER_COLUMNS, fmt)


@couriers_app.command("detect", help="Detect the courier of a waybill number from the configured patterns.")
def detect(ctx: typer.Context, number: str = typer.Argument(..., help="Waybill number.")) -> None:
    settings = ctx_app(ctx).settings
    try:
        found = CourierIndex(settings.couriers).detect(number.strip())
    except UnknownCourier as exc:
        message = str(exc).replace("courier is blank and ", "")
        raise TrackerError(f"{message} (patterns are in config/couriers.toml)") from None
    cfg = settings.couriers[found.slug]
    typer.echo(f"{found.slug}\t{cfg.name}\t{found.pattern}")
