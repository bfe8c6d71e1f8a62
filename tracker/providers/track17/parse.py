"""17TRACK v2.2 replies -> ParsedWaybill (spec/providers.md §4). Pure.

gettrackinfo: {code, data{accepted[{number, carrier, track_info}], rejected[{number, error{code, message}}]}}.
Webhook: {event, data{number, carrier, track_info}}. Events live in
track_info.tracking.providers[].events[{time_iso, time_utc, description, location, sub_status}]; time_iso
carries an offset (one without is read in `tz`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import tzinfo
from typing import Any

from tracker.domain import TrackingEvent
from tracker.providers import reading as rd
from tracker.providers.base import ParseContext, ParsedWaybill, ParseProblem, ParseResult, company_to_courier
from tracker.providers.track17 import codes
from tracker.settings import CourierConfig
from tracker.status import TrackingStatus

PROVIDER = "track17"


def parse_query(data: Any, ctx: ParseContext) -> ParseResult:
    tz, couriers = ctx.tz, ctx.couriers
    try:
        reply = rd.mapping(data, "reply")
        if "code" not in reply:
            raise rd.BadField("code: missing (not a 17TRACK v2 reply)")
        if reply.get("code") not in (0, "0"):
            return ParseResult((_reply_error(reply),), ())
        body = rd.mapping(reply.get("data"), "data")
        accepted = rd.items(body.get("accepted"), "data.accepted")
        rejected = rd.items(body.get("rejected"), "data.rejected")
    except rd.BadField as exc:
        return ParseResult((), (rd.problem(None, exc),))
    waybills: list[ParsedWaybill] = []
    problems: list[ParseProblem] = []
    for index, item in enumerate(accepted):
        waybill, found = _accepted(item, tz, couriers, where=f"data.accepted[{index}]")
        problems.extend(found)
        if waybill is not None:
            waybills.append(waybill)
    for index, item in enumerate(rejected):
        where = f"data.rejected[{index}]"
        number = _plain(item.get("number")) if isinstance(item, Mapping) else None
        if not number:
            problems.append(ParseProblem(None, f"{where}.number: missing"))
            continue
        error = item.get("error") if isinstance(item.get("error"), Mapping) else {}
        message = codes.error_message(error.get("code"), error.get("message"))
        waybills.append(ParsedWaybill(PROVIDER, number, None, None, (), message))
    return ParseResult(tuple(waybills), tuple(problems))


def parse_push(data: Any, ctx: ParseContext) -> ParseResult:
    tz, couriers = ctx.tz, ctx.couriers
    try:
        body = rd.mapping(data, "webhook")
    except rd.BadField as exc:
        return ParseResult((), (rd.problem(None, exc),))
    waybill, problems = _accepted(body.get("data"), tz, couriers, where="data")
    return ParseResult(() if waybill is None else (waybill,), tuple(problems))


def _reply_error(reply: Mapping[str, Any]) -> ParsedWaybill:
    errors = reply.get("data", {}).get("errors") if isinstance(reply.get("data"), Mapping) else None
    first = errors[0] if isinstance(errors, list) and errors and isinstance(errors[0], Mapping) else {}
    message = codes.error_message(first.get("code", reply.get("code")), first.get("message"))
    return ParsedWaybill(PROVIDER, "", None, None, (), message)


def _accepted(
    item: object, tz: tzinfo, couriers: Mapping[str, CourierConfig], *, where: str
) -> tuple[ParsedWaybill | None, list[ParseProblem]]:
    try:
        obj = rd.mapping(item, where)
    except rd.BadField as exc:
        return None, [rd.problem(None, exc)]
    number = _plain(obj.get("number"))
    if not number:
        return None, [ParseProblem(None, f"{where}.number: missing (no waybill number)")]
    company = _plain(obj.get("carrier"))
    courier = company_to_courier(PROVIDER, company, couriers)
    problems: list[ParseProblem] = []
    events: list[TrackingEvent] = []
    try:
        info = rd.mapping(obj.get("track_info"), f"{where}.track_info")
        tracking = info.get("tracking") or {}
        providers = rd.items(rd.mapping(tracking, f"{where}.track_info.tracking").get("providers"), "providers")
    except rd.BadField as exc:
        return None, [rd.problem(number, exc)]
    for p_index, provider in enumerate(providers):
        p_where = f"{where}.track_info.tracking.providers[{p_index}]"
        try:
            rows = rd.items(rd.mapping(provider, p_where).get("events"), f"{p_where}.events")
        except rd.BadField as exc:
            problems.append(rd.problem(number, exc))
            continue
        for index, row in enumerate(rows):
            at = f"{p_where}.events[{index}]"
            try:
                events.append(_event(rd.mapping(row, at), tz, at))
            except rd.BadField as exc:
                problems.append(rd.problem(number, exc))
    events.reverse()  # 17TRACK lists newest first
    ordered = rd.oldest_first(_unique(events))
    latest = info.get("latest_status") if isinstance(info.get("latest_status"), Mapping) else {}
    code = _plain(latest.get("sub_status")) or _plain(latest.get("status"))
    if ordered and not ordered[-1].raw_code and code:  # events without sub_status: latest_status is the newest's
        last = ordered[-1]
        ordered = (
            *ordered[:-1],
            TrackingEvent(last.time, rd.status_of(code, codes.CODES), code, last.text, last.location),
        )
    return ParsedWaybill(PROVIDER, number, company, courier, ordered), problems


def _event(row: Mapping[str, Any], tz: tzinfo, at: str) -> TrackingEvent:
    if row.get("time_iso"):
        when = rd.time(row.get("time_iso"), tz, f"{at}.time_iso")
    else:
        when = rd.time(row.get("time_utc"), tz, f"{at}.time_iso")
    description = rd.text(row, "description", f"{at}.") or ""
    code = rd.text(row, "sub_status", f"{at}.", required=False)
    status = rd.status_of(code, codes.CODES) if code else TrackingStatus.unknown
    location = rd.text(row, "location", f"{at}.", required=False)
    return TrackingEvent(when, status, code or "", description, location)


def _unique(events: list[TrackingEvent]) -> list[TrackingEvent]:
    """Two upstream providers (origin and last-mile carrier) may report the same scan."""
    seen: set[tuple[object, str]] = set()
    kept = []
    for event in events:
        key = (event.time, event.text)
        if key not in seen:
            seen.add(key)
            kept.append(event)
    return kept


def _plain(value: object) -> str | None:
    if value is None:
        return None
    shown = str(value).strip()
    return shown or None
