"""Small pure helpers the provider parsers share: field reading with located messages, event sorting."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, tzinfo
from typing import Any, TypeVar

from tracker.domain import TrackingEvent
from tracker.providers.base import ParseProblem
from tracker.status import TrackingStatus
from tracker.values import ValueProblem, parse_local_time

T = TypeVar("T")
C = TypeVar("C")


class BadField(ValueError):
    """One field of a reply could not be read; the message names the field and what was expected."""


def text(obj: Mapping[str, Any], key: str, where: str, *, required: bool = True) -> str | None:
    """A string-ish field (providers send numbers as strings or numbers) -> stripped str, or None."""
    value = obj.get(key)
    if type(value) is str and (stripped := value.strip()):
        return stripped  # the usual case, first
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise BadField(f"{where}{key}: missing")
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise BadField(f"{where}{key}: expected text, got {value!r}")
    return str(value).strip()


def time(value: object, tz: tzinfo, where: str) -> datetime:
    """'2024-05-21 10:02:11' (zone tz) or ISO-8601 with offset -> UTC-aware datetime."""
    if not isinstance(value, str):  # (a blank text is refused by parse_local_time, in the same words)
        raise BadField(f"{where}: expected a time, got {value!r}")
    try:
        return parse_local_time(value, tz)
    except ValueProblem:
        raise BadField(f"{where}: expected a time, got {value!r}") from None


def plain(value: object) -> str | None:
    """A code, number or word as text, stripped; None for nothing, an empty text or a boolean (providers send
    numbers as strings or numbers, and `true`/`false` is never a code)."""
    if value is None or isinstance(value, bool):
        return None
    shown = str(value).strip()
    return shown or None


def mapping(value: object, where: str) -> Mapping[str, Any]:
    if type(value) is dict:  # what json.loads gives: no ABC check
        return value
    if not isinstance(value, Mapping):
        raise BadField(f"{where}: expected an object, got {_short(value)}")
    return value


def items(value: object, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise BadField(f"{where}: expected a list, got {_short(value)}")
    return value


def each(
    rows: Iterable[Any], where: str, read: Callable[[Mapping[str, Any], C], T], ctx: C, waybill: str | None
) -> tuple[list[T], list[ParseProblem]]:
    """`read(row, ctx)` for every row of a list; a row that cannot be read is a problem naming it and the
    waybill, and the rest are still read. `read` names the field it could not read relative to its row
    ("ftime: expected a time"); the row's place is put in front ("data[3].ftime: ...") only then: a reply's
    hundreds of rows are read without building a location text for each."""
    out: list[T] = []
    problems: list[ParseProblem] = []
    for index, row in enumerate(rows):
        try:
            if type(row) is not dict:  # what json.loads gives is read as it is
                row = mapping(row, f"{where}[{index}]")
        except BadField as exc:
            problems.append(problem(waybill, exc))
            continue
        try:
            out.append(read(row, ctx))
        except BadField as exc:
            problems.append(ParseProblem(waybill, f"{where}[{index}].{exc}"))
    return out, problems


def status_of(code: str | None, table: Mapping[str, TrackingStatus]) -> TrackingStatus:
    if code is None:
        return TrackingStatus.unknown
    return table.get(code, TrackingStatus.unknown)


def oldest_first(events: Iterable[TrackingEvent]) -> tuple[TrackingEvent, ...]:
    """Sort by time; events at the same time keep the (oldest-first) order they were given in."""
    return tuple(sorted(events, key=lambda e: e.time))


def problem(waybill: str | None, exc: Exception) -> ParseProblem:
    return ParseProblem(waybill, str(exc))


def _short(value: object) -> str:
    shown = repr(value)
    return shown if len(shown) <= 60 else shown[:57] + "..."
