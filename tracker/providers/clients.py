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
from tracker.providers.track17.client import Track17Client
from tracker.settings import CourierConfig, Settings

PROVIDERS = ("kuaidi100", "kdniao", "track17")


@dataclass(frozen=True, slots=True)
class DueParcel:
    id: int
    courier: str
    waybill: str
    phone_last4: str | None


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
            phone = p.phone_last4 if cfg.needs_phone else None
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
            name = p.phone_last4 if cfg.needs_phone else None
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
    cfgs = {}
    for name in PROVIDERS:
        cfg = getattr(settings.providers, name)
        update = dict((overrides or {}).get(name, {}))
        if base_url:
            update["base_url"] = base_url
        cfgs[name] = cfg.model_copy(update=update) if update else cfg
    kw: dict[str, Any] = {"transport": transport, "clock": clock, "sleep": sleep}
    shared = limiters or {}
    couriers = settings.couriers
    return {
        "kuaidi100": _Kuaidi100(Kuaidi100Client(cfgs["kuaidi100"], limiter=shared.get("kuaidi100"), **kw), couriers),
        "kdniao": _Kdniao(KdniaoClient(cfgs["kdniao"], limiter=shared.get("kdniao"), **kw), couriers),
        "track17": _Track17(Track17Client(cfgs["track17"], limiter=shared.get("track17"), **kw), couriers),
    }


def breaker_of(fetcher: BatchFetcher) -> CircuitBreaker:
    """The circuit breaker guarding a fetcher's provider."""
    return fetcher.client.guard.breaker
