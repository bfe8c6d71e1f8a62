"""Kdniao replies -> ParsedWaybill (docs/providers.md §Kdniao). Pure.

Query (RequestType 1002 即时查询 / 8001 增值版): {EBusinessID, LogisticCode, ShipperCode, Success, Reason, State,
StateEx, Traces[...]}, oldest first. 1002 traces carry only AcceptTime and AcceptStation (sometimes Remark): no
Action, so the courier's words decide each event and `State` speaks only for the parcel; 8001 traces add
`Action` (the StateEx code of that event) and Location. Push (RequestType 101/102): the decoded RequestData
{EBusinessID, PushTime, Count, Data[<one query object per waybill, plus CallBack>]}, full history; items of
waybills not yet scanned have State "0" and empty Traces. Numbers come as strings or numbers.
AcceptTime has no offset and is in the configured zone (Asia/Shanghai).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tracker.providers import evidence
from tracker.providers import reading as rd
from tracker.providers.base import ParseContext, ParsedWaybill, ParseProblem, ParseResult, company_to_courier
from tracker.providers.kdniao import codes

PROVIDER = "kdniao"


def parse_query(data: Any, ctx: ParseContext) -> ParseResult:
    try:
        reply = rd.mapping(data, "reply")
    except rd.BadField as exc:
        return ParseResult((), (rd.problem(None, exc),))
    if isinstance(reply.get("Data"), list):  # a push body handed over as a reply
        return parse_push(reply, ctx)
    waybill, problems = _waybill(reply, ctx, where="")
    return ParseResult(() if waybill is None else (waybill,), tuple(problems))


def parse_push(data: Any, ctx: ParseContext) -> ParseResult:
    try:
        body = rd.mapping(data, "RequestData")
        if "Data" not in body and "LogisticCode" in body:  # one reply object saved as a push
            waybill, found = _waybill(body, ctx, where="")
            return ParseResult(() if waybill is None else (waybill,), tuple(found))
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
        waybill, found = _waybill(row, ctx, where=where)
        problems.extend(found)
        if waybill is not None:
            waybills.append(waybill)
    return ParseResult(tuple(waybills), tuple(problems))


def _waybill(
    obj: Mapping[str, Any], ctx: ParseContext, *, where: str
) -> tuple[ParsedWaybill | None, list[ParseProblem]]:
    number = rd.plain(obj.get("LogisticCode"))
    company = rd.plain(obj.get("ShipperCode"))
    courier = company_to_courier(PROVIDER, company, ctx.couriers)
    success = obj.get("Success")
    if success is False or str(success).strip().lower() == "false":
        error = codes.error_message(rd.plain(obj.get("ResultCode")), rd.plain(obj.get("Reason")))
        return ParsedWaybill(PROVIDER, number or "", company, courier, (), error), []
    if not number:
        return None, [ParseProblem(None, f"{where}LogisticCode: missing (no waybill number)")]
    try:
        traces = rd.items(obj.get("Traces"), f"{where}Traces")
    except rd.BadField as exc:
        return None, [rd.problem(number, exc)]
    readings, problems = rd.each(traces, f"{where}Traces", _event, ctx, number)
    state = rd.plain(obj.get("StateEx")) or rd.plain(obj.get("State"))
    package = evidence.read_code(state, codes.CODES, codes.GENERIC)
    events = evidence.finish(readings, package)
    return ParsedWaybill(PROVIDER, number, company, courier, events), problems


def _event(trace: Mapping[str, Any], ctx: ParseContext) -> evidence.Reading:
    """One trace (its fields named relative to it in a problem: rd.each)."""
    when = rd.time(trace.get("AcceptTime"), ctx.tz, "AcceptTime")
    station = rd.text(trace, "AcceptStation", "", required=False) or ""
    remark = rd.text(trace, "Remark", "", required=False)
    action = evidence.read_code(rd.text(trace, "Action", "", required=False), codes.CODES, codes.GENERIC)
    location = rd.text(trace, "Location", "", required=False)
    # The remark sometimes says what the station text does not (拒收, 破损): read both, keep the station text.
    said = f"{station} {remark}" if remark and remark not in station else station
    reading = evidence.read_event(when, (action,), said, location, ctx.phrases)
    if said != station:
        reading = evidence.Reading(reading.event._replace(text=station), reading.source)
    return reading
