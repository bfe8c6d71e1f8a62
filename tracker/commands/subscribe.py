"""`tracker subscribe`: ask the providers to push the new waybills (tracker/subscriptions.py)."""

from __future__ import annotations

import asyncio
from datetime import datetime

import typer

from tracker.commands.context import NOW_HELP, ctx_app, resolve_now
from tracker.commands.online import SANDBOX_HELP, guard_secrets
from tracker.settings import Settings

OUTCOME_WORDS = {"ok": "订阅成功", "duplicate": "已在推送", "retry": "稍后重试", "refused": "被拒绝"}


def register(app: typer.Typer) -> None:
    app.command(
        "subscribe",
        help="Subscribe new waybills for pushes with the provider serving their courier (Kuaidi100, Kdniao, 17TRACK).",
    )(subscribe)


def run_subscribe(app, now: datetime, *, base_url: str | None = None, limit: int | None = None, overrides=None):  # type: ignore[no-untyped-def]
    """One subscribe run with the configured clients; returns the SubscribeSummary."""
    from tracker.providers.clients import make_fetchers
    from tracker.subscriptions import subscribe_due

    settings: Settings = app.settings

    async def go():  # type: ignore[no-untyped-def]
        fetchers = make_fetchers(settings, base_url=base_url, overrides=overrides)
        try:
            clients = {name: f.client for name, f in fetchers.items()}
            return await subscribe_due(app.engine, settings, clients, now=now, limit=limit)
        finally:
            for fetcher in fetchers.values():
                await fetcher.aclose()

    return asyncio.run(go())


def print_subscribe(summary, engine, *, errors: int = 5) -> None:  # type: ignore[no-untyped-def]
    from tracker.subscriptions import STATE_WORDS, State, provider_name, state_counts

    asked = sum(sum(c.values()) for c in summary.outcomes.values())
    typer.echo(f"subscribe: {asked} waybills asked ({summary.created} new parcels to subscribe)")
    for provider, counts in sorted(summary.outcomes.items()):
        said = ", ".join(f"{OUTCOME_WORDS[k]} {n}" for k, n in counts.items() if n)
        typer.echo(f"  {provider_name(provider)}: {said}")
    for line in summary.errors[:errors]:
        typer.echo(f"    {line}")
    counts = state_counts(engine)
    if counts:
        typer.echo("subscriptions now:")
        for provider in sorted({p for p, _ in counts}):
            said = ", ".join(
                f"{STATE_WORDS[s]} {counts[(provider, s.value)]}" for s in State if (provider, s.value) in counts
            )
            typer.echo(f"  {provider_name(provider)}: {said}")


def subscribe(
    ctx: typer.Context,
    now: str | None = typer.Option(None, help=NOW_HELP),
    base_url: str | None = typer.Option(None, help="Send every provider request to this URL (a sandbox)."),
    limit: int | None = typer.Option(
        None, min=1, help="Waybills to subscribe at most (default: subscriptions.per_cycle in providers.toml)."
    ),
    for_sandbox: bool = typer.Option(False, "--sandbox", help=SANDBOX_HELP),
) -> None:
    from tracker.public_secrets import polled_providers

    app = ctx_app(ctx)
    settings: Settings = app.settings
    if not settings.providers.subscriptions.enabled:
        typer.echo(f"subscriptions are off ({settings.config_dir / 'providers.toml'}: subscriptions.enabled = false)")
        raise typer.Exit(1)
    # a subscription tells the provider where to push: with the public demo keys, to anyone who has them
    guard_secrets(settings, polled_providers(settings), command="tracker subscribe", sandbox=for_sandbox)
    summary = run_subscribe(app, resolve_now(now, settings), base_url=base_url, limit=limit)
    print_subscribe(summary, app.engine)
