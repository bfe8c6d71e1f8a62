"""Kdniao replies -> ParsedWaybill (spec/providers.md §3). Pure.

Query (RequestType 1002/8001): {LogisticCode, ShipperCode, Success, Reason, State, StateEx,
Traces[{AcceptTime, AcceptStation, Location, Action, Remark}]}, oldest first. Push (RequestType 101/102):
the decoded RequestData {EBusinessID, PushTime, Count, Data[<one query object per waybill>]}, full history.
AcceptTime has no offset and is in `tz` (Asia/Shanghai).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import tzinfo
from typing import Any

from tracker.domain import TrackingEvent
from tracker.providers import reading as rd
from tracker.providers.base import ParseContext, ParsedWaybill, ParseProblem, ParseResult, company_to_courier
from tracker.providers.kdniao import codes
from tracker.settings import CourierConfig
from tracker.status import TrackingStatus

PROVIDER = "kdniao"


def parse_query(data: Any, ctx: ParseContext) -> ParseResult:
    tz, couriers = ctx.tz, ctx.couriers
    try:
        reply = rd.mapping(data, "reply")
    except rd.BadField as exc:
        return ParseResult((), (rd.problem(None, exc),))
    waybill, problems = _waybill(reply, tz, couriers, where="")
    return ParseResult(() if waybill is None else (waybill,), tuple(problems))


def parse_push(data: Any, ctx: ParseContext) -> ParseResult:
    tz, couriers = ctx.tz, ctx.couriers
    try:
        body = rd.mapping(data, "RequestData")
        rows = rd.items(body.get("Data"), "Data")
    except rd.BadField as exc:
        return ParseResult((), (rd.problem(None, exc),))
    waybills: list[ParsedWaybill] = []
    problems: list[ParseProblem] = []
    for index, row in enumerate(rows):
        where = f"Data[{index}]."
        if not isinstance(row, Mapping):
            problems.append(ParseProblem(None, f"Data[{index}]: expected an object, got {row!r}"))
            continue
        waybill, found = _waybill(row, tz, couriers, where=where)
        problems.extend(found)
        if waybill is not None:
            waybills.append(waybill)
    return ParseResult(tuple(waybills), tuple(problems))


def _waybill(
    obj: Mapping[str, Any], tz: tzinfo, couriers: Mapping[str, CourierConfig], *, where: str
) -> tuple[ParsedWaybill | None, list[ParseProblem]]:
    number = _plain(obj.get("LogisticCode"))
    company = _plain(obj.get("ShipperCode"))
    courier = company_to_courier(PROVIDER, company, couriers)
    success = obj.get("Success")
    if success is False or str(success).lower() == "false":
        error = codes.error_message(_plain(obj.get("ResultCode")), _plain(obj.get("Reason")))
        return ParsedWaybill(PROVIDER, number or "", company, courier, (), error), []
    if not number:
        return None, [ParseProblem(None, f"{where}LogisticCode: missing (no waybill number)")]
    try:
        traces = rd.items(obj.get("Traces"), f"{where}Traces")
    except rd.BadField as exc:
        return None, [rd.problem(number, exc)]
    problems: list[ParseProblem] = []
    events: list[TrackingEvent] = []
    for index, trace in enumerate(traces):
        at = f"{where}Traces[{index}]"
        try:
            events.append(_event(rd.mapping(trace, at), tz, at))
        except rd.BadField as exc:
            problems.append(rd.problem(number, exc))
    ordered = rd.oldest_first(events)
    state = _plain(obj.get("StateEx")) or _plain(obj.get("State"))
    if ordered and not ordered[-1].raw_code and state:  # 1002 traces carry no Action: State is the newest's
        last = ordered[-1]
        ordered = (
            *ordered[:-1],
            TrackingEvent(last.time, rd.status_of(state, codes.CODES), state, last.text, last.location),
        )
    return ParsedWaybill(PROVIDER, number, company, courier, ordered), problems


def _event(trace: Mapping[str, Any], tz: tzinfo, at: str) -> TrackingEvent:
    when = rd.time(trace.get("AcceptTime"), tz, f"{at}.AcceptTime")
    station = rd.text(trace, "AcceptStation", f"{at}.") or ""
    action = rd.text(trace, "Action", f"{at}.", required=False)
    status = rd.status_of(action, codes.CODES) if action else TrackingStatus.unknown
    location = rd.text(trace, "Location", f"{at}.", required=False)
    return TrackingEvent(when, status, action or "", station, location)


def _plain(value: object) -> str | None:
    if value is None:
        return None
    shown = str(value).strip()
    return shown or None
