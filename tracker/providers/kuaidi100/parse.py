"""Kuaidi100 replies -> ParsedWaybill (spec/providers.md §2). Pure.

Query reply (poll/query.do): {nu, com, state, data[{time, ftime, context, location, areaName, status,
statusCode}]}, newest first; failures are {result: false, returnCode, message}. Push: the decoded
`param` form field {status, message, comOld, comNew, lastResult: <query reply>}.
Times have no offset and are in `tz` (Asia/Shanghai); `ftime` is preferred over `time`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import tzinfo
from typing import Any

from tracker.domain import TrackingEvent
from tracker.providers import reading as rd
from tracker.providers.base import ParseContext, ParsedWaybill, ParseProblem, ParseResult, company_to_courier
from tracker.providers.kuaidi100 import codes
from tracker.settings import CourierConfig
from tracker.status import TrackingStatus

PROVIDER = "kuaidi100"


def parse_query(data: Any, ctx: ParseContext) -> ParseResult:
    tz, couriers = ctx.tz, ctx.couriers
    try:
        reply = rd.mapping(data, "reply")
    except rd.BadField as exc:
        return ParseResult((), (rd.problem(None, exc),))
    return _parse_result(reply, tz, couriers, where="", abort=None)


def parse_push(data: Any, ctx: ParseContext) -> ParseResult:
    tz, couriers = ctx.tz, ctx.couriers
    try:
        push = rd.mapping(data, "param")
        last = rd.mapping(push.get("lastResult"), "lastResult")
    except rd.BadField as exc:
        return ParseResult((), (rd.problem(None, exc),))
    abort = None
    if str(push.get("status", "")).strip() == codes.PUSH_ABORT:
        said = str(push.get("message") or "").strip() or "no reason given"
        abort = f"kuaidi100 stopped tracking this waybill (status=abort: {said}); check company and number"
    result = _parse_result(last, tz, couriers, where="lastResult.", abort=abort)
    com_new = str(push.get("comNew") or "").strip()
    if com_new and result.waybills:  # Kuaidi100 corrected the company code (autoCheck=1)
        fixed = tuple(_with_company(w, com_new, couriers) for w in result.waybills)
        result = ParseResult(fixed, result.problems)
    return result


def _parse_result(
    reply: Mapping[str, Any],
    tz: tzinfo,
    couriers: Mapping[str, CourierConfig],
    *,
    where: str,
    abort: str | None,
) -> ParseResult:
    waybill = _plain(reply.get("nu"))
    company = _plain(reply.get("com"))
    courier = company_to_courier(PROVIDER, company, couriers)
    if reply.get("result") is False or str(reply.get("result")).lower() == "false":
        code = _plain(reply.get("returnCode")) or "?"
        error = codes.query_error(code, _plain(reply.get("message")))
        return ParseResult((ParsedWaybill(PROVIDER, waybill or "", company, courier, (), error),), ())
    if not waybill:
        return ParseResult((), (ParseProblem(None, f"{where}nu: missing (no waybill number in the reply)"),))
    problems: list[ParseProblem] = []
    try:
        rows = rd.items(reply.get("data"), f"{where}data")
    except rd.BadField as exc:
        return ParseResult((), (rd.problem(waybill, exc),))
    state = _plain(reply.get("state"))
    events: list[TrackingEvent] = []
    for index, row in enumerate(rows):
        at = f"{where}data[{index}]"
        try:
            events.append(_event(rd.mapping(row, at), tz, at))
        except rd.BadField as exc:
            problems.append(rd.problem(waybill, exc))
    events.reverse()  # newest first -> oldest first, so equal times keep the provider's order
    ordered = rd.oldest_first(events)
    if ordered and not ordered[-1].raw_code and state:  # no per-event codes: `state` is the newest one's
        last = ordered[-1]
        newest = TrackingEvent(last.time, rd.status_of(state, codes.STATE), state, last.text, last.location)
        ordered = (*ordered[:-1], newest)
    parsed = ParsedWaybill(PROVIDER, waybill, company, courier, ordered, abort)
    return ParseResult((parsed,), tuple(problems))


def _event(row: Mapping[str, Any], tz: tzinfo, at: str) -> TrackingEvent:
    raw_time = row.get("ftime") or row.get("time")
    when = rd.time(raw_time, tz, f"{at}.ftime")
    context = rd.text(row, "context", f"{at}.") or ""
    code = rd.text(row, "statusCode", f"{at}.", required=False)
    name = rd.text(row, "status", f"{at}.", required=False)
    if code is not None:
        status = rd.status_of(code, codes.STATE)
    elif name is not None and name in codes.STATUS_NAMES:
        status, code = codes.STATUS_NAMES[name], name
    else:
        status, code = TrackingStatus.unknown, ""
    location = rd.text(row, "location", f"{at}.", required=False) or rd.text(row, "areaName", f"{at}.", required=False)
    return TrackingEvent(when, status, code or "", context, location)


def _with_company(w: ParsedWaybill, company: str, couriers: Mapping[str, CourierConfig]) -> ParsedWaybill:
    courier = company_to_courier(PROVIDER, company, couriers) or w.courier
    return ParsedWaybill(w.provider, w.waybill, company, courier, w.events, w.error)


def _plain(value: object) -> str | None:
    if value is None:
        return None
    shown = str(value).strip()
    return shown or None
