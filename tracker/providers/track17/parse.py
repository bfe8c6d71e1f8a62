"""17TRACK v2.2 and v2.4 replies -> ParsedWaybill (docs/providers.md §17TRACK). Pure.

gettrackinfo: {code, data{accepted[{number, carrier, track_info}], rejected[{number, error{code, message}}]}}.
Webhook: {event: TRACKING_UPDATED|TRACKING_STOPPED, data{number, carrier, param, tag, track_info?}}. Events live
in track_info.tracking.providers[].events[{time_iso, time_utc, time_raw, description, location, stage,
sub_status?}]: real events carry a `stage` and usually no `sub_status`, so the description is read too (the
who-wins rule, tracker/providers/evidence.py). `latest_status` describes the package and may disagree with the
newest event (Exception next to an AvailableForPickup event): it speaks only for an event that has nothing
better. TRACKING_STOPPED bodies and minimal TRACKING_UPDATED bodies have no track_info: a stop notice, and an
update with nothing in it, never an error. time_iso carries an offset (one without is read in the zone).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from tracker.domain import TrackingEvent
from tracker.providers import evidence
from tracker.providers import reading as rd
from tracker.providers.base import (
    ParseContext,
    ParsedWaybill,
    ParseProblem,
    ParseResult,
    TrackingStop,
    company_to_courier,
)
from tracker.providers.track17 import codes

PROVIDER = "track17"


def parse_query(data: Any, ctx: ParseContext) -> ParseResult:
    try:
        reply = rd.mapping(data, "reply")
        if "event" in reply and "code" not in reply:  # a webhook body handed over as a reply
            return parse_push(reply, ctx)
        if "code" not in reply:
            raise rd.BadField("code: missing (not a 17TRACK v2 reply)")
        if str(reply.get("code")).strip() != "0":
            return ParseResult((_reply_error(reply),), ())
        body = rd.mapping(reply.get("data"), "data")
        accepted = rd.items(body.get("accepted"), "data.accepted")
        rejected = rd.items(body.get("rejected"), "data.rejected")
    except rd.BadField as exc:
        return ParseResult((), (rd.problem(None, exc),))
    waybills: list[ParsedWaybill] = []
    problems: list[ParseProblem] = []
    for index, item in enumerate(accepted):
        waybill, found = _accepted(item, ctx, where=f"data.accepted[{index}]")
        problems.extend(found)
        if waybill is not None:
            waybills.append(waybill)
    for index, item in enumerate(rejected):
        where = f"data.rejected[{index}]"
        number = rd.plain(item.get("number")) if isinstance(item, Mapping) else None
        if not number:
            problems.append(ParseProblem(None, f"{where}.number: missing"))
            continue
        error = item.get("error") if isinstance(item.get("error"), Mapping) else {}
        message = codes.error_message(error.get("code"), error.get("message"))
        waybills.append(ParsedWaybill(PROVIDER, number, None, None, (), message))
    return ParseResult(tuple(waybills), tuple(problems))


def parse_push(data: Any, ctx: ParseContext) -> ParseResult:
    try:
        body = rd.mapping(data, "webhook")
        if "code" in body and "event" not in body:  # a gettrackinfo reply saved as a push
            return parse_query(body, ctx)
        event = rd.plain(body.get("event")) or codes.EVENT_UPDATED
        item = rd.mapping(body.get("data"), "data")
    except rd.BadField as exc:
        return ParseResult((), (rd.problem(None, exc),))
    waybill, problems = _accepted(item, ctx, where="data")
    if waybill is not None and event == codes.EVENT_STOPPED:
        waybill = replace(waybill, stop=TrackingStop("stopped", _stop_reason(item)))
    return ParseResult(() if waybill is None else (waybill,), tuple(problems))


def _stop_reason(item: Mapping[str, Any]) -> str:
    """What the stop body says of why, when it says anything (tracking_status / stop reason fields)."""
    for key in ("stop_reason", "reason", "tracking_status", "package_status"):
        said = rd.plain(item.get(key))
        if said:
            return said
    return ""


def _reply_error(reply: Mapping[str, Any]) -> ParsedWaybill:
    errors = reply.get("data", {}).get("errors") if isinstance(reply.get("data"), Mapping) else None
    first = errors[0] if isinstance(errors, list) and errors and isinstance(errors[0], Mapping) else {}
    message = codes.error_message(first.get("code", reply.get("code")), first.get("message"))
    return ParsedWaybill(PROVIDER, "", None, None, (), message)


def _accepted(item: object, ctx: ParseContext, *, where: str) -> tuple[ParsedWaybill | None, list[ParseProblem]]:
    try:
        obj = rd.mapping(item, where)
    except rd.BadField as exc:
        return None, [rd.problem(None, exc)]
    number = rd.plain(obj.get("number"))
    if not number:
        return None, [ParseProblem(None, f"{where}.number: missing (no waybill number)")]
    company = rd.plain(obj.get("carrier"))
    courier = company_to_courier(PROVIDER, company, ctx.couriers)
    if obj.get("track_info") is None:  # a stop notice or a minimal update: nothing to read, nothing wrong
        return ParsedWaybill(PROVIDER, number, company, courier, ()), []
    problems: list[ParseProblem] = []
    readings: list[evidence.Reading] = []
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
        read, found = rd.each(rows, f"{p_where}.events", _event, ctx, number)
        readings.extend(read)
        problems.extend(found)
    if not readings:  # no provider events: the latest_event is all there is
        latest_event = info.get("latest_event")
        if isinstance(latest_event, Mapping) and (latest_event.get("time_iso") or latest_event.get("time_utc")):
            try:
                readings.append(_event(latest_event, ctx))
            except rd.BadField as exc:
                problems.append(ParseProblem(number, f"{where}.track_info.latest_event.{exc}"))
    readings.reverse()  # 17TRACK lists newest first
    status = info.get("latest_status")
    latest: Mapping[str, Any] = status if isinstance(status, Mapping) else {}
    package = evidence.read_code(
        rd.plain(latest.get("sub_status")) or rd.plain(latest.get("status")), codes.CODES, codes.GENERIC
    )
    events = evidence.finish(_unique(readings), package)
    return ParsedWaybill(PROVIDER, number, company, courier, events), problems


def _event(row: Mapping[str, Any], ctx: ParseContext) -> evidence.Reading:
    """One event (its fields named relative to it in a problem: rd.each)."""
    if row.get("time_iso"):
        when = rd.time(row.get("time_iso"), ctx.tz, "time_iso")
    elif row.get("time_utc"):
        when = rd.time(row.get("time_utc"), ctx.tz, "time_utc")
    else:
        when = rd.time(_raw_time(row.get("time_raw")), ctx.tz, "time_iso")
    description = rd.text(row, "description", "", required=False) or ""
    sub_status = evidence.read_code(rd.text(row, "sub_status", "", required=False), codes.CODES, codes.GENERIC)
    stage = evidence.read_code(rd.text(row, "stage", "", required=False), codes.STAGE, codes.GENERIC)
    location = rd.text(row, "location", "", required=False)
    return evidence.read_event(when, (sub_status, stage), description, location, ctx.phrases)


def _raw_time(raw: object) -> str | None:
    """time_raw {date, time, timezone} -> '2024-05-22 09:10:00+08:00' (or without the zone)."""
    if not isinstance(raw, Mapping) or not raw.get("date"):
        return None
    moment = f"{raw.get('date')} {raw.get('time') or '00:00:00'}"
    zone = str(raw.get("timezone") or "").strip()
    return f"{moment}{zone}" if zone else moment


def _unique(readings: list[evidence.Reading]) -> list[evidence.Reading]:
    """Two upstream providers (origin and last-mile carrier) may report the same scan."""
    seen: set[tuple[object, str]] = set()
    kept = []
    for reading in readings:
        key = (reading.event.time, reading.event.text)
        if key not in seen:
            seen.add(key)
            kept.append(reading)
    return kept


__all__ = ["TrackingEvent", "parse_push", "parse_query"]
