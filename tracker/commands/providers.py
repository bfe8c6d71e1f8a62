"""`tracker parse`, `tracker ingest` (saved provider replies) and `tracker couriers [detect]`."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

import typer

from tracker.commands.context import NOW_HELP, Format, ctx_app, emit, resolve_now
from tracker.couriers.detect import CourierIndex, UnknownCourier, normalize_waybill
from tracker.errors import TrackerError
from tracker.providers import registry

if TYPE_CHECKING:
    from tracker.providers.base import ParsedWaybill, ParseResult

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
PROVIDER_HELP += " (default: told by the body's shape)."
PUSH_HELP = (
    "FILE is a push body (Kuaidi100 `param`, Kdniao `RequestData`, 17TRACK webhook), not a query reply; "
    "a push is also recognised without it."
)


def register(app: typer.Typer) -> None:
    app.command("parse", help="Parse a saved provider reply and print normalized events as JSON lines.")(parse)
    app.command("ingest", help="Store a saved provider reply as if it had been polled (matched by waybill).")(
        ingest_cmd
    )
    app.add_typer(couriers_app, name="couriers")


def _read(ctx: typer.Context, provider: Provider | None, push: bool, file: Path) -> tuple[str, ParseResult]:
    from tracker.providers.base import parse_reply

    settings = ctx_app(ctx).settings
    try:
        body = _unwrap_form(file.read_bytes())
    except OSError as exc:
        raise TrackerError(f"{file}: cannot read ({exc.strerror})") from None
    name = str(provider) if provider is not None else _guess_provider(body, file)
    kind = "push" if push else "query"
    result = parse_reply(name, body, kind=kind, tz=settings.tz, couriers=settings.couriers, phrases=settings.phrasebook)
    return name, result


def _unwrap_form(body: bytes) -> bytes:
    """A push saved as the raw form body (param=...&sign=...) -> the JSON field; JSON is returned as is."""
    text = body.decode("utf-8-sig", errors="replace").strip()
    if text.startswith(("{", "[")) or "=" not in text:
        return body
    form = parse_qs(text)
    for name in _PUSH_FIELDS:
        if form.get(name):
            return form[name][0].encode("utf-8")
    return body


def _guess_provider(body: bytes, file: Path) -> str:
    """Which provider a saved body comes from, by the keys only its shape has; an error naming the file."""
    try:
        data = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError):
        data = None
    if isinstance(data, dict):
        for name, spec in registry.specs().items():
            if any(key in data for key in spec.shape_keys):
                return name
    raise TrackerError(
        f"{file}: cannot tell which provider this comes from; pass --provider " + "|".join(registry.names())
    )


def _stop_line(provider: str, waybill: ParsedWaybill) -> str:
    """A stop notice in words: who stopped tracking which waybill, why, and what follows."""
    assert waybill.stop is not None
    from tracker.subscriptions import provider_name

    why = f" ({waybill.stop.reason})" if waybill.stop.reason else ""
    return (
        f"waybill {waybill.waybill}: {provider_name(provider, 'en')} stopped tracking it{why}; "
        "it is subscribed again with a corrected courier, or polled"
    )


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
    provider: Provider | None = typer.Option(None, "--provider", help=PROVIDER_HELP),
    push: bool = typer.Option(False, "--push", help=PUSH_HELP),
) -> None:
    name, result = _read(ctx, provider, push, file)
    failures = _report_problems(result, file)
    for waybill in result.waybills:
        if waybill.error:
            who = f"waybill {waybill.waybill}: " if waybill.waybill else ""
            sys.stderr.write(f"{file}: {who}{waybill.error}\n")
            failures += 1
        if waybill.stop is not None:  # a notice, not a failure: one JSON line and one line in words
            notice = {
                "waybill": waybill.waybill,
                "courier": waybill.courier,
                "notice": "tracking_stopped",
                "kind": waybill.stop.kind,
                "reason": waybill.stop.reason,
            }
            sys.stdout.write(json.dumps(notice, ensure_ascii=False) + "\n")
            sys.stderr.write(f"{file}: {_stop_line(name, waybill)}\n")
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
    provider: Provider | None = typer.Option(None, "--provider", help=PROVIDER_HELP),
    push: bool = typer.Option(False, "--push", help=PUSH_HELP),
    now: str | None = typer.Option(None, help=NOW_HELP),
) -> None:
    from tracker.ingest import ingest

    app = ctx_app(ctx)
    name, result = _read(ctx, provider, push, file)
    failures = _report_problems(result, file)
    for waybill in result.waybills:
        if waybill.error and not waybill.waybill:
            sys.stderr.write(f"{file}: {waybill.error} (names no waybill; nothing stored)\n")
            failures += 1
    stored = ingest(
        app.engine,
        result.waybills,
        now=resolve_now(now, app.settings),
        source=name,
        phrases=app.settings.phrasebook,
    )
    counts = f"{stored.matched} matched, {stored.new_events} new events, {len(stored.unknown)} unknown"
    typer.echo(f"{file.name}: {counts}")
    for number in stored.unknown:
        typer.echo(f"  unknown waybill {number}: no parcel (or several couriers) with this number; nothing stored")
    unknown = set(stored.unknown)
    for waybill in result.waybills:
        if waybill.error and waybill.waybill and waybill.waybill not in unknown:
            typer.echo(f"  waybill {waybill.waybill}: provider error stored: {waybill.error}")
        if waybill.stop is not None and waybill.waybill not in unknown:
            typer.echo(f"  {_stop_line(name, waybill)}")
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
            "patterns": " ".join(p.regex for p in cfg.patterns),
        }
        for slug, cfg in settings.couriers.items()
    ]
    emit(rows, COURIER_COLUMNS, fmt)


@couriers_app.command(
    "detect", help="Rank the couriers a waybill number could belong to (config/couriers.toml patterns)."
)
def detect(
    ctx: typer.Context,
    number: str = typer.Argument(..., help="Waybill number (case, spaces and No:/' guards do not matter)."),
    ask: bool = typer.Option(
        True, "--ask-kuaidi100/--offline", help="Ask Kuaidi100 autonumber when the patterns cannot decide."
    ),
) -> None:
    settings = ctx_app(ctx).settings
    index = CourierIndex(settings.couriers, settings.detection)
    waybill = normalize_waybill(number)
    candidates = index.candidates(waybill)
    source = "patterns"
    found, undecided = None, None
    try:
        found = index.decide(waybill, candidates)
    except UnknownCourier as exc:
        undecided = exc
    if found is None and ask:
        from tracker.providers.kuaidi100.client import ask_autonumber  # httpx: only when Kuaidi100 is asked

        reply = ask_autonumber(settings.providers.of("kuaidi100"), waybill, url=settings.detection.autonumber_url)
        suggested = index.from_autonumber(reply.codes)
        if reply.error:
            typer.echo(f"asked Kuaidi100 autonumber: {reply.error}")
        elif not suggested:
            typer.echo("asked Kuaidi100 autonumber: no suggestion among the configured couriers")
        else:
            typer.echo("the patterns could not decide: asked Kuaidi100 autonumber")
            candidates, source = suggested, "Kuaidi100 autonumber"
            try:
                found = index.decide(waybill, candidates)
            except UnknownCourier as exc:
                undecided = exc
    typer.echo(f"{waybill}: candidates from {source}, best first")
    for c in candidates:
        typer.echo(f"  {c.name}\t{c.slug}\t{c.percent}\t{c.pattern}")
    if found is None:
        raise TrackerError(f"{undecided}: fill in the courier (patterns are in config/couriers.toml)")
    typer.echo(f"courier: {index.name(found.slug)} ({found.slug}), {round(found.confidence * 100)}%")
