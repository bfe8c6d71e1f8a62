"""The data providers, in one place (docs/adding-a-provider.md).

Each provider is one package under tracker/providers/ whose __init__.py exports one `SPEC`, a
`ProviderSpec`. `PACKAGES` below is the registry: the CLI's `--provider` choices, the push routes
(/push/<name>), the provider sections of config/providers.toml and their secret variables, the poller's
fetchers, the push subscriptions and the sandbox's routes are all read from it, in this order.

The specs are imported on first use, not when this module is: tracker/settings/ asks the registry for
names and defaults while tracker/providers/base.py (which every parser imports) still imports
tracker/settings/, so an eager import here would be a cycle. A spec reaches its client, fetcher and
sandbox handlers through functions that import them when called, for the same reason.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from starlette.routing import Route

    from tracker.providers.base import Parser, SubscribeAnswer
    from tracker.providers.clients import BatchFetcher
    from tracker.providers.http import ProviderClient
    from tracker.providers.messages import CodedAnswers, OlderLines
    from tracker.settings import CourierConfig, ProviderConfig

# The registry: one line per provider package, in the order the CLI, config and sandbox list them.
PACKAGES: tuple[str, ...] = ("kuaidi100", "kdniao", "track17", "taobao")

# Couriers may also be read by the spiders (tracker/spiders), which are not a provider package.
NON_PROVIDER_SOURCES: tuple[str, ...] = ("spider",)


@dataclass(frozen=True, slots=True)
class PushSpec:
    """How a provider's signed push callback is read, checked and answered (POST /push/<name>).

    `field`: the form field holding the push JSON (Kuaidi100 `param`, Kdniao `RequestData`), or None when
    the body itself is the JSON (17TRACK). `sign_field`: the form field holding the signature, or the
    header when `field` is None. `verify(config, payload, sign)`: the signature check over the payload as
    received (str for a form field, bytes for a raw body). `ok(config, now, tz)` is the acknowledgement
    body (None: an empty HTTP 200); `nack(config, now, tz, reason)` the refusal body."""

    field: str | None
    sign_field: str
    verify: Callable[[ProviderConfig, Any, str], bool]
    ok: Callable[[ProviderConfig, datetime, tzinfo], dict[str, Any] | None]
    nack: Callable[[ProviderConfig, datetime, tzinfo, str], dict[str, Any]]
    describe: str = ""  # the signature rule in words, for the log line of a rejected push
    # the ProviderConfig fields the signature is checked with (`serve-push` refuses their public sandbox
    # values, tracker/public_secrets.py); empty: every field of the spec's `secrets`
    signed_with: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ProviderSpec:
    """Everything the rest of the tracker needs to know about one provider."""

    name: str  # the slug: config section, CLI choice, /push/<name>, CourierConfig.provider
    label: str  # for people, e.g. "快递100"
    config: Mapping[str, Any]  # ProviderConfig defaults: the sandbox's demo account and the provider's limits
    secrets: Mapping[str, str]  # ProviderConfig field -> environment variable that overrides it
    parsers: Mapping[str, Parser]  # "query" (and "push" when the provider pushes): (data, ctx) -> ParseResult
    make_client: Callable[..., ProviderClient]  # (config, *, transport, clock, sleep, limiter) -> client
    make_fetcher: Callable[[Any, Mapping[str, CourierConfig]], BatchFetcher]  # (client, couriers) -> fetcher
    sandbox_routes: Callable[[], list[Route]]  # the sandbox's imitation of the provider's endpoints
    push: PushSpec | None = None  # None: the provider has no push callback
    # the CourierConfig field holding this provider's company code, when it has one (company_to_courier)
    courier_field: str | None = None
    # push subscriptions (tracker/subscriptions.py): (client, due subscriptions, couriers, callback URL) ->
    # parcel id -> SubscribeAnswer; None: the provider has no subscription and is polled
    subscribe: Callable[..., Awaitable[dict[int, SubscribeAnswer]]] | None = None
    label_en: str = ""  # for people reading English; the name when empty
    # top-level keys only this provider's replies and pushes carry: how `tracker parse` tells a saved body's
    # provider when none is named
    shape_keys: tuple[str, ...] = ()
    # the kinds of coded answers (failed queries, refused subscriptions) this provider's lines are stored as:
    # how the board reads a parcel's provider error or a subscription's message back in words
    answers: tuple[CodedAnswers | OlderLines, ...] = ()


def lazy(target: str) -> Callable[..., Any]:
    """'package.module:name' -> a function that imports it when first called and calls it with the same
    arguments: how a spec points at its client, fetcher and subscribe call without importing them (the
    cycle this module's docstring names)."""
    module, _, attr = target.partition(":")

    def call(*args: Any, **kwargs: Any) -> Any:
        return getattr(importlib.import_module(module), attr)(*args, **kwargs)

    call.__qualname__ = call.__name__ = f"lazy({target})"
    return call


def names() -> tuple[str, ...]:
    """The provider names, in registry order, without importing any provider package."""
    return PACKAGES


@cache
def specs() -> dict[str, ProviderSpec]:
    """name -> spec for every registered provider (imports the packages on first call)."""
    out: dict[str, ProviderSpec] = {}
    for name in PACKAGES:
        module = importlib.import_module(f"tracker.providers.{name}")
        spec = getattr(module, "SPEC", None)
        if not isinstance(spec, ProviderSpec):
            raise TypeError(f"tracker/providers/{name}/__init__.py: SPEC must be a ProviderSpec, got {spec!r}")
        if spec.name != name:
            raise ValueError(f"tracker/providers/{name}/__init__.py: SPEC.name is {spec.name!r}, expected {name!r}")
        out[name] = spec
    return out


def get(name: str) -> ProviderSpec:
    """The spec of `name`; an unknown name is a KeyError naming the known ones."""
    try:
        return specs()[name]
    except KeyError:
        raise KeyError(f"unknown provider {name!r}; known: {', '.join(PACKAGES)}") from None


def default_config(name: str) -> dict[str, Any]:
    return dict(get(name).config)


def secret_variables() -> dict[tuple[str, str], str]:
    """(provider, ProviderConfig field) -> environment variable, over every provider."""
    return {(spec.name, fld): var for spec in specs().values() for fld, var in spec.secrets.items()}
