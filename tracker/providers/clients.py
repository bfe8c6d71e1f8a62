"""Builds the provider clients from settings and adapts each one to "fetch a batch of parcels"."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from tracker.providers.http import CircuitBreaker, Clock, Limiter, ProviderClient, Sleep
from tracker.providers.kdniao.client import KdniaoClient
from tracker.providers.kuaidi100.client import Kuaidi100Client
from tracker.providers.registry import names, specs
from tracker.providers.track17.client import Track17Client
from tracker.settings import CourierConfig, Settings

PROVIDERS = names()  # tracker/providers/registry.py


@dataclass(frozen=True, slots=True)
class DueParcel:
    id: int
    courier: str
    waybill: str
    phone_last4: str | None
    order_id: str | None = None  # the shop's order number(s), comma-separated when orders were merged
    shop: str | None = None


class BatchFetcher(Protocol):
    provider: str
    batch_size: int
    client: ProviderClient

    async def fetch(self, batch: list[DueParcel]) -> list[str]: ...

    async def aclose(self) -> None: ...


class _Kuaidi100:
    provider = "kuaidi100"
    batch_size = 1

    def __init__(self, client: Kuaidi100Client, couriers: Mapping[str, CourierConfig]) -> None:
        self.client, self.couriers = client, couriers

    async def fetch(self, batch: list[DueParcel]) -> list[str]:
        out = []
        for p in batch:
            cfg = self.couriers[p.courier]
            phone = p.phone_last4 if cfg.phone_required(self.provider) else None
            out.append(await self.client.fetch_track(cfg.kuaidi100 or p.courier, p.waybill, phone=phone))
        return out

    async def aclose(self) -> None:
        await self.client.aclose()


class _Kdniao:
    provider = "kdniao"
    batch_size = 1

    def __init__(self, client: KdniaoClient, couriers: Mapping[str, CourierConfig]) -> None:
        self.client, self.couriers = client, couriers

    async def fetch(self, batch: list[DueParcel]) -> list[str]:
        out = []
        for p in batch:
            cfg = self.couriers[p.courier]
            name = p.phone_last4 if cfg.phone_required(self.provider) else None
            out.append(await self.client.fetch_track(cfg.kdniao or p.courier, p.waybill, customer_name=name))
        return out

    async def aclose(self) -> None:
        await self.client.aclose()


class _Track17:
    provider = "track17"

    def __init__(self, client: Track17Client, couriers: Mapping[str, CourierConfig]) -> None:
        self.client, self.couriers = client, couriers
        self.batch_size = client.batch

    async def fetch(self, batch: list[DueParcel]) -> list[str]:
        carriers = {p.waybill: self.couriers[p.courier].track17 for p in batch}
        return [await self.client.get_track_info([p.waybill for p in batch], carriers)]

    async def aclose(self) -> None:
        await self.client.aclose()


def make_fetchers(
    settings: Settings,
    *,
    base_url: str | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    clock: Clock = time.monotonic,
    sleep: Sleep | None = None,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
    limiters: Mapping[str, Limiter] | None = None,
) -> dict[str, BatchFetcher]:
    """One fetcher per provider. `base_url` points every provider elsewhere (the demo's sandbox);
    `overrides` replaces config values per provider (e.g. {"track17": {"rate_per_second": 1000}});
    `limiters` replaces a provider's in-process rate window (workers pass the shared one)."""
    kw: dict[str, Any] = {"transport": transport, "clock": clock, "sleep": sleep}
    shared = limiters or {}
    fetchers: dict[str, BatchFetcher] = {}
    for name, spec in specs().items():
        cfg = settings.providers.of(name)
        update = dict((overrides or {}).get(name, {}))
        if base_url:
            update["base_url"] = base_url
        if update:
            cfg = cfg.model_copy(update=update)
        client = spec.make_client(cfg, limiter=shared.get(name), **kw)
        fetchers[name] = spec.make_fetcher(client, settings.couriers)
    return fetchers


def breaker_of(fetcher: BatchFetcher) -> CircuitBreaker:
    """The circuit breaker guarding a fetcher's provider."""
    return fetcher.client.guard.breaker
