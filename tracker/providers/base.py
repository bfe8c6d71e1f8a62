"""The parse interface shared by pollers, push intake and spiders. Pure: no I/O, no clock."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import tzinfo
from enum import StrEnum
from typing import Any

from tracker.domain import TrackingEvent
from tracker.phrases import PhraseBook, default_phrasebook
from tracker.providers import registry
from tracker.providers.registry import names
from tracker.settings import CourierConfig

PROVIDERS = names()  # tracker/providers/registry.py
KINDS = ("query", "push")


# The provider stopped tracking a waybill and will send nothing more unless asked again: Kuaidi100 push
# status=abort (3天查询无记录, 60天无变化), 17TRACK TRACKING_STOPPED. Not an error: the notice is acknowledged
# and recorded on the parcel, which is then subscribed again or polled.
@dataclass(frozen=True, slots=True)
class TrackingStop:
    kind: str  # "abort" (Kuaidi100) | "stopped" (17TRACK) | the provider's own word
    reason: str  # the provider's words, e.g. "3天查询无记录"; "" when it gave none


# One waybill as a provider reported it, normalized.
@dataclass(frozen=True, slots=True)
class ParsedWaybill:
    provider: str  # a registered provider (tracker/providers/registry.py) or "spider"
    waybill: str
    company: str | None  # the provider's company code as sent (com / ShipperCode / carrier key)
    courier: str | None  # our courier slug when `company` maps to one (config/couriers.toml)
    events: tuple[TrackingEvent, ...]  # normalized, sorted oldest first, times UTC-aware
    # provider error as a clear message (bad key, no balance, signature, unknown company)
    error: str | None = None
    stop: TrackingStop | None = None  # the provider stopped tracking it (a notice, not an error)


# Something in a reply that could not be read; the rest of the reply is still parsed.
@dataclass(frozen=True, slots=True)
class ParseProblem:
    waybill: str | None  # when known
    message: str  # what was wrong, e.g. "data[2].ftime: expected a time, got '2024-13-01'"


@dataclass(frozen=True, slots=True)
class ParseResult:
    waybills: tuple[ParsedWaybill, ...]
    problems: tuple[ParseProblem, ...]


# --- subscriptions: what each provider's subscribe call is asked and answers (tracker/subscriptions.py) ---


class Outcome(StrEnum):
    ok = "ok"  # subscribed
    duplicate = "duplicate"  # already subscribed (Kuaidi100 501, 17TRACK -18019901): pushes come, so active
    retry = "retry"  # a passing failure (server error, time-out, unreadable answer): ask again later
    refused = "refused"  # for good (bad key, bad data, company refused): poll instead


@dataclass(frozen=True, slots=True)
class SubscribeAnswer:
    """A provider's answer to subscribing one waybill (tracker/providers/*/subscribe.py build these)."""

    waybill: str
    outcome: Outcome
    code: str  # the provider's code as sent ("200", "501", "-18019901", ...); "" when none
    message: str  # the provider's words, as one clear line; "" on plain success


@dataclass(frozen=True, slots=True)
class DueSubscription:
    """A parcel to subscribe now, with what its provider's subscribe call needs."""

    parcel_id: int
    provider: str
    courier: str
    waybill: str
    phone_last4: str | None
    attempts: int


# What a parser needs besides the body: the zone of times without an offset, the couriers (provider company
# codes -> slugs) and the courier phrases that read an event's text.
@dataclass(frozen=True, slots=True)
class ParseContext:
    tz: tzinfo
    couriers: Mapping[str, CourierConfig]
    phrases: PhraseBook


Parser = Callable[[Any, ParseContext], ParseResult]


def decode_body(body: str | bytes | Mapping[str, Any]) -> tuple[Any, ParseProblem | None]:
    """bytes/str JSON or an already decoded mapping -> the decoded value, or a problem saying why not."""
    if isinstance(body, Mapping):
        return body, None
    if isinstance(body, bytes):
        try:
            body = body.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            return None, ParseProblem(None, f"reply is not UTF-8 text ({exc.reason} at byte {exc.start})")
    try:
        return json.loads(body), None
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno} column {exc.colno}"
        return None, ParseProblem(None, f"reply is not JSON: {exc.msg} at {where}")


def company_to_courier(field: str, company: object, couriers: Mapping[str, CourierConfig]) -> str | None:
    """The provider's company code -> our courier slug via `field` (kuaidi100|kdniao|track17): the first
    courier in `couriers` with that code (17TRACK's numbers exactly, the others' codes in any case)."""
    if company is None or company == "":
        return None
    key = str(company).strip()
    return _slugs_by_code(field, couriers).get(key if field == "track17" else key.lower())


def _slugs_by_code(field: str, couriers: Mapping[str, CourierConfig]) -> dict[str, str]:
    """`couriers`' slugs by their `field` code, as company_to_courier compares it; built once per couriers
    table and field (every reply names its company), the table held so that its id stays its own."""
    cached = _BY_CODE.get((field, id(couriers)))
    if cached is not None and cached[0] is couriers:
        return cached[1]
    slugs: dict[str, str] = {}
    for slug, cfg in couriers.items():
        code = getattr(cfg, field)
        if code is not None:
            slugs.setdefault(str(code) if field == "track17" else str(code).lower(), slug)
    if len(_BY_CODE) >= 64:  # tests build many tables; the tracker has one
        _BY_CODE.clear()
    _BY_CODE[(field, id(couriers))] = (couriers, slugs)
    return slugs


_BY_CODE: dict[tuple[str, int], tuple[Mapping[str, CourierConfig], dict[str, str]]] = {}


def _parsers() -> dict[tuple[str, str], Parser]:
    return {(name, kind): parser for name, spec in registry.specs().items() for kind, parser in spec.parsers.items()}


def _parser(provider: str, kind: str) -> Parser | None:
    """One entry of _parsers(), looked up in the registry without building the table (once per reply); read
    through the module, where a test may put another registry."""
    spec = registry.specs().get(provider)
    return None if spec is None else spec.parsers.get(kind)


def parse_reply(
    provider: str,
    body: str | bytes | Mapping[str, Any],
    *,
    kind: str = "query",
    tz: tzinfo,
    couriers: Mapping[str, CourierConfig],
    phrases: PhraseBook | None = None,
) -> ParseResult:
    """Parse one provider reply or decoded push body. Never raises for bad data: problems are returned.

    kind: "query" (real-time query / gettrackinfo reply) or "push" (Kuaidi100 `param` JSON, Kdniao
    RequestData JSON, 17TRACK webhook JSON). A wrong provider or kind is a programming error (ValueError).
    A reply-level error that names no waybill (Kuaidi100 `result: false`, 17TRACK `code != 0`) comes back
    as one ParsedWaybill with waybill "" and `error` set: the caller knows what it asked for and attaches it
    (dataclasses.replace); ingest skips waybills without a number. `phrases` reads the couriers' texts
    (default: the project's config/phrases.toml; pass settings.phrasebook).
    """
    parser = _parser(provider, kind)
    if parser is None:
        raise ValueError(f"provider must be {'|'.join(PROVIDERS)}, kind query|push; got {provider}/{kind}")
    data, problem = decode_body(body)
    if problem is not None:
        return ParseResult((), (problem,))
    return parser(data, ParseContext(tz, couriers, phrases or default_phrasebook()))
