"""`tracker worker` (poll as one of N workers over PostgreSQL) and `tracker workers` (what they are doing)."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

import typer

from tracker.commands.context import NOW_HELP, Format, ctx_app, emit, resolve_now
from tracker.commands.online import SANDBOX_HELP, guard_secrets


def register(app: typer.Typer) -> None:
    app.command("worker", help="Poll as one of any number of workers sharing a PostgreSQL database (Procrastinate).")(
        worker
    )
    app.command("workers", help="Show the workers' jobs, leased parcels, due parcels and paused providers.")(workers)


def worker(
    ctx: typer.Context,
    name: str | None = typer.Option(None, help="Worker name in logs and leases (default: host:pid)."),
    concurrency: int | None = typer.Option(
        None, min=1, help="Poll jobs at once (default: [workers] concurrency); dispatch and rules have 2 more slots."
    ),
    queue: list[str] = typer.Option([], help="Only these queues: poll, control (repeatable; default: both)."),
    base_url: str | None = typer.Option(None, help="Send every provider request to this URL (a sandbox)."),
    for_sandbox: bool = typer.Option(False, "--sandbox", help=SANDBOX_HELP),
) -> None:
    """Run until SIGINT/SIGTERM. Each worker runs the periodic dispatch and rules jobs when its turn comes
    (the database makes sure each tick runs once) and polls the parcels it leases. SIGUSR1 prints every
    thread's stack to stderr (what a stuck worker is waiting for) and the worker carries on."""
    from tracker.jobs import DB_THREADS, conninfo, ensure_job_schema, make_runtime, run_worker
    from tracker.public_secrets import polled_providers

    app = ctx_app(ctx)
    settings = app.settings
    from tracker.storage.db import parse_database_url

    parse_database_url(settings.database_url, source=app.database_source)
    conninfo(settings.database_url)  # PostgreSQL only: a clear error before anything starts
    guard_secrets(settings, polled_providers(settings), command="tracker worker", sandbox=for_sandbox)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("procrastinate").setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    engine = app.open_engine(pool_size=DB_THREADS, max_overflow=4)  # a connection per DB thread
    if ensure_job_schema(engine):
        typer.echo("job queue schema applied (procrastinate_*)")
    rt = make_runtime(engine, settings, name=name, base_url=base_url)
    cfg = settings.providers.workers
    typer.echo(
        f"worker {rt.name}: concurrency {concurrency or cfg.concurrency}, dispatch every {cfg.dispatch_seconds} s, "
        f"{cfg.parcels_per_job} parcels per job, lease {cfg.lease_seconds} s"
    )
    asyncio.run(run_worker(rt, concurrency=concurrency, queues=list(queue) or None))


def workers(
    ctx: typer.Context,
    fmt: Format = typer.Option(Format.table, "--format", help="table, json or csv."),
    now: str | None = typer.Option(None, help=NOW_HELP),
) -> None:
    from sqlalchemy import text

    from tracker import labels
    from tracker.leases import count_due, count_leased
    from tracker.shared_limits import paused_providers
    from tracker.subscriptions import provider_name

    app = ctx_app(ctx)
    engine = app.engine
    now_at = resolve_now(now, app.settings) if now else datetime.now(UTC)
    rows: list[dict[str, object]] = []
    for courier, n in sorted(count_due(engine, now=now_at).items()):
        rows.append({"what": "due", "name": courier, "count": n, "detail": ""})
    for owner, n in sorted(count_leased(engine, now=now_at).items()):
        rows.append({"what": "leased", "name": owner, "count": n, "detail": ""})
    for provider, until in sorted(paused_providers(engine, now=now_at).items()):
        rows.append(
            {
                "what": "paused",
                "name": provider,
                "count": 0,
                "detail": f"until {until.astimezone(app.settings.tz):%Y-%m-%d %H:%M}",
            }
        )
    rows.extend(_push_rows(engine, app.settings, now=now_at))
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            if conn.execute(text("SELECT to_regclass('procrastinate_jobs')")).scalar() is not None:
                jobs = conn.execute(
                    text("SELECT task_name, status::text, count(*) FROM procrastinate_jobs GROUP BY 1, 2 ORDER BY 1, 2")
                ).all()
                for task, status, n in jobs:
                    rows.append({"what": "jobs", "name": task, "count": int(n), "detail": status})
                alive = "SELECT count(*) FROM procrastinate_workers WHERE last_heartbeat > now() - interval '1 minute'"
                live = conn.execute(text(alive)).scalar()
                detail = "Procrastinate workers: a poll one and a control one per `tracker worker` process"
                rows.append({"what": "workers", "name": "alive", "count": int(live or 0), "detail": detail})
    couriers = app.settings.couriers

    def named(name: str, lang: str) -> str:  # a courier or a provider by name; a worker, task or word as it is
        return labels.courier_name(couriers, name, lang) if name in couriers else provider_name(name, lang)

    words = {"what": lambda what, lang: labels.pick(labels.WORKER_ROWS, what, lang), "name": named}
    emit(rows, ["what", "name", "count", "detail"], fmt, tz=app.settings.tz, words=words)


def _push_rows(engine, settings, *, now: datetime) -> list[dict[str, object]]:  # type: ignore[no-untyped-def]
    """Today's provider quota (queries, subscriptions, registers) and the push subscriptions by state."""
    from tracker.subscriptions import (
        STATE_WORDS,
        State,
        provider_name,
        quota_on,
        quota_text,
        silent_active,
        state_counts,
    )

    rows: list[dict[str, object]] = []
    for provider, kinds in sorted(quota_on(engine, now=now, tz=settings.tz).items()):
        rows.append(
            {"what": "quota", "name": provider, "count": sum(kinds.values()), "detail": quota_text({provider: kinds})}
        )
    for (provider, state), n in sorted(state_counts(engine).items()):
        name = provider_name(provider)
        rows.append({"what": "pushes", "name": provider, "count": n, "detail": f"{name} {STATE_WORDS[State(state)]}"})
    silent_hours = settings.providers.subscriptions.silent_hours
    silent = silent_active(engine, now=now, silent_hours=silent_hours)
    if silent:
        rows.append(
            {
                "what": "pushes",
                "name": "silent",
                "count": silent,
                "detail": f"推送中但超过 {silent_hours:g} 小时没有推送：按保底查询",
            }
        )
    return rows
