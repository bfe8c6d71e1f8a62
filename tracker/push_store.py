"""Storing pushes: parse a push payload and store what it carries, through the same parse + ingest path as
polling (docs/operations-pushes.md). No web here: the receiver (tracker/push.py) checks signatures and answers,
the group commit (tracker/push_writer.py) calls `write_group`, `tracker pushes --replay` calls `store_push`."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Engine
from sqlalchemy.engine import Connection

from tracker.providers.base import ParsedWaybill
from tracker.push_guard import PushBodyError, decode_json
from tracker.settings import Settings

log = logging.getLogger("tracker.push")


@dataclass(frozen=True)
class Outcome:
    """What became of one push. count: the waybills stored (acknowledged when no problems); problems: why the
    push is not acknowledged (read, not stored whole); failed: the database refused the write (the provider
    should resend); not_json: the payload itself is not a JSON object within the limits."""

    count: int = 0
    problems: tuple[str, ...] = ()
    failed: str = ""
    not_json: bool = False


@dataclass(frozen=True)
class Received:
    """One signed push for the writer: the provider, its payload as received, and the payload's field (for
    the error line)."""

    provider: str
    payload: str | bytes
    what: str


def read_payload(settings: Settings, provider: str, payload: str | bytes) -> dict[str, Any]:
    """A push payload as its JSON object; PushBodyError (a ValueError) when too deep, not JSON or no object."""
    return decode_json(payload, max_depth=settings.providers.push.max_json_depth)


class SharedTransaction:
    """Stands in for the Engine inside a group: every begin()/connect() is the group's one connection, within
    its one transaction (ingest and subscriptions open their own transactions when given an Engine)."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self.dialect = conn.dialect

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        yield self._conn

    connect = begin


def _corrected_company(provider: str, body: dict[str, Any]) -> str | None:
    """Kuaidi100's own company correction on a push (comNew, with autoCheck=1)."""
    if provider != "kuaidi100":
        return None
    return str(body.get("comNew") or "").strip() or None


def prepare_push(settings: Settings, provider: str, body: dict[str, Any]) -> tuple[list[ParsedWaybill], int, list[str]]:
    """Parse a push (pure): (waybills with a number, waybills acknowledged, problems)."""
    from tracker.providers.base import parse_reply

    try:
        result = parse_reply(
            provider, body, kind="push", tz=settings.tz, couriers=settings.couriers, phrases=settings.phrasebook
        )
    except Exception as exc:  # a parser fault must not lose the push: it is kept as a dead letter instead
        log.exception("push %s: the parser failed", provider)
        return [], 0, [f"the parser failed: {type(exc).__name__}: {exc}"[:500]]
    problems = [p.message for p in result.problems]
    waybills = [w for w in result.waybills if w.waybill]
    count = len({w.waybill for w in waybills})
    if not count:
        return [], 0, problems or ["no waybill in the push"]
    return waybills, count, problems


def store_parsed(
    engine: Engine | SharedTransaction,
    settings: Settings,
    pushes: list[tuple[str, dict[str, Any], list[ParsedWaybill]]],
    at: datetime,
) -> int:
    """Store parsed pushes (provider, body, waybills): their events in one ingest, then the subscriptions each
    feeds (heard from now; stop notices recorded). Returns the new events."""
    from tracker import subscriptions
    from tracker.ingest import ingest

    every = [w for _, _, waybills in pushes for w in waybills]
    if not every:
        return 0
    new_events = ingest(cast(Engine, engine), every, now=at, source="push", phrases=settings.phrasebook).new_events
    by_provider: dict[str, list[tuple[str, str | None]]] = {}
    for provider, _, waybills in pushes:
        by_provider.setdefault(provider, []).extend((w.waybill, w.courier) for w in waybills)
    for provider, named in by_provider.items():
        subscriptions.record_push(cast(Engine, engine), settings, provider, named, now=at)
    for provider, body, waybills in pushes:
        # the parsers read stop notices (ParsedWaybill.stop): Kuaidi100 status=abort, 17TRACK TRACKING_STOPPED
        stops = {w.waybill: (w.courier, w.stop) for w in waybills if w.stop is not None}
        corrected = subscriptions.courier_of_company(settings, provider, _corrected_company(provider, body))
        for number, (courier, stop) in stops.items():
            subscriptions.record_stop(
                cast(Engine, engine), settings, provider, number, courier, stop, corrected=corrected, now=at
            )
    return new_events


def store_push(
    engine: Engine, settings: Settings, provider: str, body: Any, at: datetime
) -> tuple[int, int, list[str]]:
    """Parse a push, ingest it, feed the subscriptions, in one transaction; (waybills acknowledged, new events,
    problems). The receiver groups pushes (write_group); this is the one-push path (`tracker pushes --replay`)."""
    waybills, count, problems = prepare_push(settings, provider, body)
    if not count:
        return 0, 0, problems
    with engine.begin() as conn:
        new_events = store_parsed(SharedTransaction(conn), settings, [(provider, body, waybills)], at)
    return count, new_events, problems


@dataclass
class _Parsed:
    received: Received
    body: dict[str, Any]
    waybills: list[ParsedWaybill]
    count: int
    problems: list[str]


def write_group(engine: Engine, settings: Settings, group: Sequence[Received], at: datetime) -> list[Outcome]:
    """Decode and parse every push of a group, store those read in ONE transaction, and say what became of
    each (in the group's order). When that transaction fails, each push is stored again alone; a push whose
    own transaction fails is `failed` (answered with the provider's refusal, so it resends)."""
    outcomes: list[Outcome | None] = [None] * len(group)
    parsed: list[tuple[int, _Parsed]] = []
    for i, push in enumerate(group):
        try:
            body = read_payload(settings, push.provider, push.payload)
        except PushBodyError as exc:
            outcomes[i] = Outcome(problems=(f"{push.what} {exc}",), not_json=True)
            continue
        waybills, count, problems = prepare_push(settings, push.provider, body)
        if count:
            parsed.append((i, _Parsed(push, body, waybills, count, problems)))
        else:
            outcomes[i] = Outcome(problems=tuple(problems))
    failed: dict[int, str] = {}  # group index -> why its own transaction failed too
    try:
        with engine.begin() as conn:
            new = store_parsed(SharedTransaction(conn), settings, [_stored(p) for _, p in parsed], at)
        log.info("push group: %d pushes, %d waybills, %d new events", len(parsed), sum(p.count for _, p in parsed), new)
    except Exception as exc:
        log.warning("push group of %d: the transaction failed (%s); storing each alone", len(parsed), exc)
        for i, p in parsed:
            try:
                with engine.begin() as conn:
                    store_parsed(SharedTransaction(conn), settings, [_stored(p)], at)
            except Exception as alone:
                provider = p.received.provider
                log.error("push %s not stored (%s): answered as failed, the provider resends", provider, alone)
                failed[i] = f"the database refused the write: {type(alone).__name__}"
    for i, p in parsed:
        outcomes[i] = Outcome(failed=failed[i]) if i in failed else Outcome(p.count, tuple(p.problems))
    return [o if o is not None else Outcome(failed="not written") for o in outcomes]


def _stored(p: _Parsed) -> tuple[str, dict[str, Any], list[ParsedWaybill]]:
    return p.received.provider, p.body, p.waybills
