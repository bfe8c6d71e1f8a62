"""`tracker poll`, `tracker sandbox`, `tracker serve-push`, `tracker crawl`: the online side."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Iterable
from datetime import datetime

import typer
from rich.console import Console

from tracker.commands.context import NOW_HELP, AppContext, ctx_app, resolve_now, terminal_text
from tracker.errors import TrackerError
from tracker.settings import Settings

err = Console(stderr=True)
SANDBOX_HELP = (
    "Run for the local sandbox: accept the sandbox's public demo accounts (config/providers.toml defaults). "
    "Without it the command refuses to start while a provider secret still has its public sandbox value."
)


def guard_secrets(settings: Settings, names: Iterable[str], *, command: str, sandbox: bool, push: bool = False) -> None:
    """Refuse public sandbox secrets unless `sandbox` (tracker/public_secrets.py); warn on stderr when used."""
    from tracker.public_secrets import require_private_secrets

    public = require_private_secrets(settings, names, command=command, sandbox=sandbox, push=push)
    if public:
        err.print(
            f"{command}: --sandbox: using the sandbox's public demo accounts ({', '.join(public)} not set); "
            "not for production",
            markup=False,
            soft_wrap=True,
        )


def register(app: typer.Typer) -> None:
    app.command("poll", help="Poll the providers for parcels that are due, store events, schedule the next poll.")(poll)
    app.command("sandbox", help="Run the local courier sandbox (Kuaidi100, Kdniao, 17TRACK, courier pages).")(sandbox)
    app.command("serve-push", help="Receive signed provider pushes (Kuaidi100, Kdniao, 17TRACK).")(serve_push)
    app.command("crawl", help="Crawl courier tracking pages with a Scrapy spider (in this process).")(crawl)


def poll_cycle(app, now: datetime, *, base_url: str | None = None, show_progress: bool = True, subscribe=None):  # type: ignore[no-untyped-def]
    """Run one poll cycle with the configured clients; returns the PollSummary. `subscribe` (default:
    [subscriptions] enabled) first subscribes new waybills for pushes."""
    from tracker.poller import run_once
    from tracker.providers.clients import make_fetchers

    settings: Settings = app.settings
    engine = app.engine
    if subscribe is None:
        subscribe = settings.providers.subscriptions.enabled

    async def go():  # type: ignore[no-untyped-def]
        fetchers = make_fetchers(settings, base_url=base_url)
        try:
            if show_progress and sys.stderr.isatty():
                from rich.progress import Progress

                with Progress(console=err, transient=True) as bar:
                    tasks: dict[str, int] = {}

                    def advance(provider: str, n: int) -> None:
                        if provider not in tasks:
                            tasks[provider] = bar.add_task(f"polling {provider}", total=None)
                        bar.advance(tasks[provider], n)

                    return await run_once(engine, settings, fetchers, now=now, progress=advance, subscribe=subscribe)
            return await run_once(engine, settings, fetchers, now=now, subscribe=subscribe)
        finally:
            for fetcher in fetchers.values():
                await fetcher.aclose()

    return asyncio.run(go())


def print_subscribed(sub) -> None:  # type: ignore[no-untyped-def]
    asked = sum(sum(c.values()) for c in sub.outcomes.values())
    typer.echo(
        f"subscribed for pushes: {asked} asked, {sub.active} active, {sub.count('retry')} to retry, "
        f"{sub.count('refused')} refused (those are polled)"
    )
    if sub.no_phone:
        typer.echo(f"  not asked: {sub.no_phone} parcels without the phone's last 4 digits their courier needs")


def print_summary(summary) -> None:  # type: ignore[no-untyped-def]
    if summary.subscribed is not None:
        print_subscribed(summary.subscribed)
    typer.echo(f"poll at {summary.now.isoformat()}: {summary.due} due, {summary.retired} retired")
    for name, count in sorted(summary.skipped.items()):
        typer.echo(f"  skipped {count} parcels ({name})")
    for provider, s in sorted(summary.providers.items()):
        rate = s.polled / s.seconds if s.seconds else 0.0
        typer.echo(
            f"  {provider:<9} polled {s.polled:>6}  changed {s.changed:>6}  failed {s.failed:>5}  "
            f"new events {s.new_events:>7}  provider errors {s.provider_errors:>5}  "
            f"batches {s.batches:>6}  {s.seconds:6.2f} s  "
            f"({rate:,.0f} parcels/s)"
        )
        if s.no_phone:
            typer.echo(f"    not asked: {s.no_phone} parcels without the phone's last 4 digits their courier needs")
        if s.failed:
            for error in s.errors[:3]:
                err.print(f"    {terminal_text(error)}", markup=False, soft_wrap=True)


def poll(
    ctx: typer.Context,
    once: bool = typer.Option(False, "--once", help="Run one cycle and exit."),
    now: str | None = typer.Option(None, help=NOW_HELP),
    interval: float = typer.Option(60.0, help="Seconds between cycles when running continuously."),
    base_url: str | None = typer.Option(None, help="Send every provider request to this URL (a sandbox)."),
    subscribe: bool | None = typer.Option(
        None, "--subscribe/--no-subscribe", help="Subscribe new waybills for pushes first (default: config)."
    ),
    for_sandbox: bool = typer.Option(False, "--sandbox", help=SANDBOX_HELP),
) -> None:
    from tracker.public_secrets import polled_providers

    app = ctx_app(ctx)
    guard_secrets(app.settings, polled_providers(app.settings), command="tracker poll", sandbox=for_sandbox)
    while True:
        summary = poll_cycle(app, resolve_now(now, app.settings), base_url=base_url, subscribe=subscribe)
        print_summary(summary)
        if once or now:
            return
        time.sleep(interval)


def sandbox(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8765, help="Port to listen on."),
    now: str | None = typer.Option(None, help="Sandbox clock start (ISO-8601). Default: the real clock."),
    speed: float = typer.Option(1.0, help="Sandbox seconds per real second (0 freezes the clock)."),
    fault: list[str] = typer.Option(
        [], help="Fault rate KIND=RATE, e.g. 5xx=0.05 (5xx, timeout, 429, malformed, bad_sign); repeatable."
    ),
    latency_ms: float = typer.Option(
        0.0, min=0, help="Delay every provider answer this long (a real API's round trip)."
    ),
    push_to: str | None = typer.Option(
        None,
        help="The Kdniao and 17TRACK consoles' push URL base, e.g. http://127.0.0.1:8766 (`tracker serve-push`); "
        "pushes go out on POST /_sandbox/subscriptions/flush.",
    ),
) -> None:
    import uvicorn

    from tracker.sandbox.app import create_app, make_state

    app = ctx_app(ctx)
    if push_to and not push_to.startswith(("http://", "https://")):
        raise TrackerError(f"--push-to {push_to!r}: expected an http(s) URL, e.g. http://127.0.0.1:8766")
    rates: dict[str, float] = {}
    for item in fault:
        kind, _, rate = item.partition("=")
        try:
            rates[kind] = float(rate)
        except ValueError:
            raise TrackerError(f"--fault {item!r}: expected KIND=RATE, e.g. 5xx=0.05") from None
    try:
        state = make_state(
            app.settings.couriers,
            now=resolve_now(now, app.settings),
            speed=speed,
            faults=rates,
            latency=latency_ms / 1000,
        )
    except ValueError as exc:
        raise TrackerError(f"--fault: {exc}") from None
    typer.echo(f"sandbox on http://{host}:{port} (clock {state.clock.now().isoformat()}, speed {speed})")
    sandbox_app = create_app(state)
    if push_to:
        from tracker.subscriptions import push_path

        base = push_to.rstrip("/")
        sandbox_app.state.subscriptions.console.update({p: base + push_path(p) for p in ("kdniao", "track17")})
        typer.echo(f"consoles: Kdniao and 17TRACK push to {base}/push/...")
    uvicorn.run(sandbox_app, host=host, port=port, log_level="warning")


def serve_push(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8766, help="Port to listen on."),
    provider: list[str] = typer.Option(
        [],
        help="Receive only this provider's pushes (repeatable; default: every provider that pushes and has its "
        "secret set).",
    ),
    for_sandbox: bool = typer.Option(False, "--sandbox", help=SANDBOX_HELP),
    workers: int = typer.Option(
        1, min=1, help="Receiver processes sharing the port (PostgreSQL only: SQLite takes one writer at a time)."
    ),
) -> None:
    """Receive signed pushes at /push/<provider>, within the [push] bounds of config/providers.toml
    (docs/operations-pushes.md): body size, header and body time-outs, connections, JSON depth. A provider
    whose signing secret is still the sandbox's public one is not served (its pushes are refused, 401);
    with none served, or a --provider named without its secret, the command does not start."""
    import uvicorn

    from tracker.push import WRITER_SWITCH_INTERVAL, create_push_app
    from tracker.push_guard import uvicorn_options

    app = ctx_app(ctx)
    settings = app.settings
    names, unserved = _providers_to_serve(settings, provider, for_sandbox=for_sandbox)
    push_app = create_push_app(app.engine, settings, only=names, unserved=unserved)  # a bad database: one line first
    typer.echo(f"push intake on http://{host}:{port}/push/{{{','.join(names)}}}")
    limits = settings.providers.push
    # the group-commit writer thread parses and writes while the event loop answers: with Python's default 5 ms
    # GIL slices the loop waited up to 5 ms for each turn (bench/push.py: about 1.5x the pushes/s with 0.5 ms)
    sys.setswitchinterval(WRITER_SWITCH_INTERVAL)
    if workers > 1:
        _serve_push_workers(app, names, unserved, host=host, port=port, workers=workers)
        return
    uvicorn.run(
        push_app, host=host, port=port, log_level="info", access_log=limits.access_log, **uvicorn_options(limits)
    )


def _providers_to_serve(settings: Settings, asked: list[str], *, for_sandbox: bool) -> tuple[list[str], dict[str, str]]:
    """The providers whose pushes are received, and those refused because their secret is the sandbox's public
    one (provider -> the secret's variable), each refusal said on stderr. Providers named with --provider (or
    --sandbox) are all served, and a public secret among them stops the command, as does having none to serve."""
    from tracker.public_secrets import public_secrets, push_providers

    pushing = push_providers()
    unknown = [p for p in asked if p not in pushing]
    if unknown:
        raise TrackerError(f"--provider {unknown[0]!r}: providers that push are {', '.join(pushing)}")
    named = list(dict.fromkeys(asked))
    if named or for_sandbox:
        names = named or pushing
        guard_secrets(settings, names, command="tracker serve-push", sandbox=for_sandbox, push=True)
        return names, {}
    public = public_secrets(settings.providers, pushing, push=True)
    unserved = {s.provider: s.variable for s in public}
    names = [p for p in pushing if p not in unserved]
    if not names:  # nothing could be served safely: the one-line refusal naming every variable
        guard_secrets(settings, pushing, command="tracker serve-push", sandbox=False, push=True)
    for name, variable in unserved.items():
        err.print(
            f"tracker serve-push: {name} pushes are refused (401): its secret is the sandbox's public one; "
            f"set {variable} to receive them",
            markup=False,
            soft_wrap=True,
        )
    return names, unserved


def _serve_push_workers(
    app: AppContext, names: list[str], unserved: dict[str, str], *, host: str, port: int, workers: int
) -> None:
    """`workers` receiver processes on one port (PostgreSQL only), each building the same app from the
    environment set here (tracker.push.app_from_environment)."""
    import json
    import os

    import uvicorn

    from tracker.push import PUSH_ONLY_ENV, PUSH_UNSERVED_ENV
    from tracker.push_guard import ENVIRONMENT_PROTOCOL, uvicorn_options

    if app.engine.dialect.name != "postgresql":
        raise TrackerError(
            f"--workers {workers} needs PostgreSQL ({app.database_source} is SQLite, which takes one writer at a "
            "time): run one process (docs/operations-pushes.md)"
        )
    app.engine.dispose()
    os.environ["TRACKER_CONFIG_DIR"] = str(app.settings.config_dir)
    os.environ[PUSH_ONLY_ENV] = json.dumps(names)
    os.environ[PUSH_UNSERVED_ENV] = json.dumps(unserved)
    limits = app.settings.providers.push
    options = {**uvicorn_options(limits), "http": ENVIRONMENT_PROTOCOL}  # imported by name in each worker
    uvicorn.run(
        "tracker.push:app_from_environment",
        factory=True,
        workers=workers,
        host=host,
        port=port,
        log_level="info",
        access_log=limits.access_log,
        **options,
    )


# --- the demo's online part (called by `tracker demo`) ----------------------------------------------------

# The sandbox is local: no provider quota to respect, so the demo lifts the per-second caps it does not serve
# itself (the sandbox still enforces 17TRACK's 3 req/s, docs/providers.md).
DEMO_OVERRIDES = {
    "kuaidi100": {"rate_per_second": 10_000, "concurrency": 32},
    "kdniao": {"rate_per_second": 10_000, "concurrency": 32},
}


def generate_demo_file(app, now: datetime, count: int):  # type: ignore[no-untyped-def]
    """Write `count` generated Taobao-export rows shipped over the 20 days before `now` to var/."""
    import csv
    import importlib.util
    from datetime import timedelta

    settings: Settings = app.settings
    spec = importlib.util.spec_from_file_location(
        "make_parcels", settings.project_root / "examples" / "make_parcels.py"
    )
    if spec is None or spec.loader is None:
        raise TrackerError("examples/make_parcels.py not found")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    start = (now.astimezone(settings.tz) - timedelta(days=22)).replace(tzinfo=None, microsecond=0)
    out = settings.project_root / "var" / "demo_parcels.csv"
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(module.HEADERS)
        until = now.astimezone(settings.tz).replace(tzinfo=None, microsecond=0)
        writer.writerows(module.generate_rows(count, seed=20261123, start=start, until=until))
    return out


# the demo courier bill's charge per parcel (CNY), as a warehouse's contract prices a small parcel: SF more
BILL_CHARGE = {"sf": "13.00", "jd": "11.00", "ems": "9.00"}
BILL_CHARGE_DEFAULT = "4.50"  # 中通, 圆通, 申通, 韵达, 极兔: a warehouse's contract price


def write_courier_bill(app, now: datetime):  # type: ignore[no-untyped-def]
    """Write var/courier_bill.csv: the couriers' monthly bill (快递对账单) for the demo's outbound parcels, each
    waybill with its charge (运费), and a return charge (退货运费) for those that went back, as the bill lists
    them once the parcels are back. Imported, it gives the freight claims what the shop's export lacks."""
    import csv

    from sqlalchemy import select

    from claims.service import CAME_BACK  # the statuses whose freight counts the return leg: charged on the bill
    from tracker.storage.tables import PARCEL

    settings: Settings = app.settings
    with app.engine.connect() as conn:
        rows = conn.execute(
            select(PARCEL.c.waybill, PARCEL.c.courier, PARCEL.c.status)
            .where(PARCEL.c.direction == "outbound", PARCEL.c.shipped_at.is_not(None), PARCEL.c.shipped_at <= now)
            .order_by(PARCEL.c.id)
        ).all()
    out = settings.project_root / "var" / "courier_bill.csv"
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["物流单号", "物流公司", "运费", "退货运费"])
        for waybill, courier, status in rows:
            charge = BILL_CHARGE.get(courier, BILL_CHARGE_DEFAULT)
            name = settings.couriers[courier].name if courier in settings.couriers else courier
            writer.writerow([waybill, name, charge, charge if status in CAME_BACK else ""])
    return out


def run_demo_poll(app, now: datetime) -> None:  # type: ignore[no-untyped-def]
    """The production path against a local sandbox: start the sandbox and the push receiver (`serve-push`'s
    app) on 127.0.0.1, subscribe the parcels, let the sandbox push, poll only the leftovers; print how many
    waybills came by push and how many by poll."""
    import importlib.util

    import httpx

    from tracker.push import create_push_app
    from tracker.push_guard import uvicorn_options
    from tracker.sandbox.app import create_app, make_state
    from tracker.sandbox.server import free_port, start_background
    from tracker.subscriptions import push_path

    settings: Settings = app.settings
    if importlib.util.find_spec("tracker.ingest") is None:
        typer.echo("poll skipped: tracker.ingest is not installed")
        return
    state = make_state(settings.couriers, now=now, speed=0.0)
    _pin_to_shipping(app.engine, state.book)
    server = start_background(create_app(state))
    typer.echo(f"sandbox: {server.url} (clock frozen at {now.isoformat()})")
    port = free_port()
    subs = settings.providers.subscriptions.model_copy(update={"callback_base_url": f"http://127.0.0.1:{port}"})
    demo_settings = settings.model_copy(
        update={"providers": settings.providers.model_copy(update={"subscriptions": subs})}
    )
    receiver = start_background(
        create_push_app(app.engine, demo_settings, clock=lambda: now),
        port=port,
        **uvicorn_options(settings.providers.push),
    )
    typer.echo(f"push receiver: {receiver.url}/push/{{kuaidi100,kdniao,track17}}")
    # the providers' consoles: Kdniao and 17TRACK push to the URL set there, not to one sent per request
    httpx.post(
        f"{server.url}/_sandbox/subscriptions/console",
        json={p: receiver.url + push_path(p) for p in ("kdniao", "track17")},
    ).raise_for_status()
    try:
        subscribed, pushed, summary = asyncio.run(_subscribe_push_poll(app.engine, demo_settings, server.url, now))
        print_subscribed(subscribed)
        failed = sum(1 for r in pushed["results"] if r.get("status") != 200)
        typer.echo(f"sandbox pushed {pushed['sent']} times ({failed} not acknowledged); then the leftovers are polled")
        print_summary(summary)
        print_sources(app.engine)
    finally:
        receiver.stop()
        server.stop()


def _pin_to_shipping(engine, book) -> None:  # type: ignore[no-untyped-def]
    """No demo parcel's sandbox timeline starts before its pickup, an hour or three after it shipped (a buyer's
    return: after the return was agreed): a scan before the shipping or the order reads as nonsense. A timeline
    that starts later stays as the sandbox draws it, and so does each number's scenario."""
    import hashlib
    from datetime import timedelta

    from sqlalchemy import select

    from tracker.storage.tables import PARCEL

    query = select(PARCEL.c.waybill, PARCEL.c.shipped_at, PARCEL.c.return_agreed_at)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    for waybill, shipped, agreed in rows:  # times read back aware (storage.types.UTCDateTime)
        start = shipped or agreed
        if start is None:
            continue
        pickup = start + timedelta(minutes=60 + hashlib.sha1(waybill.encode()).digest()[0] % 120)
        scenario, anchor = book.lookup(waybill)
        if anchor < pickup:
            book.assign(waybill, scenario.name, pickup)


async def _subscribe_push_poll(engine, settings: Settings, sandbox_url: str, now: datetime):  # type: ignore[no-untyped-def]
    """The demo's cycle against the sandbox: subscribe every parcel, let the sandbox push what it has, poll what
    is left; (the subscriptions' summary, the sandbox's push report, the poll summary)."""
    import httpx

    from tracker.poller import run_once
    from tracker.providers.clients import make_fetchers
    from tracker.subscriptions import subscribe_due

    fetchers = make_fetchers(settings, base_url=sandbox_url, overrides=DEMO_OVERRIDES)
    try:
        clients = {name: f.client for name, f in fetchers.items()}
        subscribed = await subscribe_due(engine, settings, clients, now=now, limit=1_000_000)
        async with httpx.AsyncClient(timeout=600) as client:
            pushed = (await client.post(f"{sandbox_url}/_sandbox/subscriptions/flush", json={})).json()
        summary = await run_once(engine, settings, fetchers, now=now)
        return subscribed, pushed, summary
    finally:
        for fetcher in fetchers.values():
            await fetcher.aclose()


def print_sources(engine) -> None:  # type: ignore[no-untyped-def]
    """How the stored waybills came: by push, by poll (a waybill with both counts as pushed)."""
    from sqlalchemy import func, select

    from tracker.storage.tables import EVENT as ev

    pushed = select(ev.c.parcel_id).where(ev.c.source == "push").distinct()
    with engine.connect() as conn:
        by_push = conn.execute(select(func.count()).select_from(pushed.subquery())).scalar_one()
        by_poll = conn.execute(
            select(func.count(func.distinct(ev.c.parcel_id))).where(
                ev.c.source != "push", ev.c.parcel_id.not_in(pushed)
            )
        ).scalar_one()
    typer.echo(f"waybills with tracking: {by_push} came by push, {by_poll} by poll")


def crawl(
    ctx: typer.Context,
    courier: str = typer.Argument(..., help="Courier slug with a spider, e.g. zto, yto, sf."),
    waybill: list[str] = typer.Option([], help="Waybill to crawl (repeatable). Default: the courier's due parcels."),
    base_url: str = typer.Option("http://127.0.0.1:8765", help="Where the courier pages are (the sandbox)."),
    now: str | None = typer.Option(None, help=NOW_HELP),
) -> None:
    """Crawl courier tracking pages with the Scrapy spider, in this process (AsyncCrawlerProcess)."""
    from scrapy.crawler import AsyncCrawlerProcess
    from scrapy.settings import Settings as ScrapySettings
    from scrapy.spiderloader import SpiderLoader

    import spiders.settings as spider_settings

    app = ctx_app(ctx)
    at = resolve_now(now, app.settings)
    scrapy_settings = ScrapySettings()
    scrapy_settings.setmodule(spider_settings, priority="project")
    loader = SpiderLoader.from_settings(scrapy_settings)
    if courier not in loader.list():
        raise TrackerError(f"no spider for courier {courier!r}; spiders: {', '.join(sorted(loader.list()))}")
    waybills = list(waybill)
    if not waybills:
        from tracker.poller import select_due

        waybills = [p.waybill for p in select_due(app.engine, now=at, limit=10_000) if p.courier == courier]
    if not waybills:
        typer.echo(f"{courier}: nothing to crawl")
        return
    scrapy_settings.setdict(
        {
            "TRACKER_CONFIG_DIR": str(app.settings.config_dir),
            "TRACKER_DATABASE_URL": app.settings.database_url,
            "TRACKER_NOW": at.isoformat(),
        },
        priority="cmdline",
    )
    process = AsyncCrawlerProcess(scrapy_settings)
    crawler = process.create_crawler(loader.load(courier))
    process.crawl(crawler, base=base_url, waybills=waybills)
    process.start()
    stats = crawler.stats.get_stats() if crawler.stats else {}
    typer.echo(
        f"{courier}: {stats.get('item_scraped_count', 0)} pages of {len(waybills)} waybills, "
        f"{stats.get('tracker/new_events', 0)} new events, "
        f"{stats.get('downloader/response_status_count/200', 0)} OK responses, "
        f"{stats.get('retry/count', 0)} retries"
    )
