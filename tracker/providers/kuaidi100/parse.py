"""Kuaidi100 replies -> ParsedWaybill (spec digest in docs/providers.md §Kuaidi100). Pure.

Query reply (poll/query.do): {message, nu, com, state, ischeck, data[...]}, newest first. What each `data` item
carries depends on the `resultv2` asked for: empty/0 -> only time, ftime, context (location on some products);
1 -> plus `status`, a status NAME (在途, 揽收, 签收...); 4/8 -> plus `statusCode` and the advanced name. So the
courier's `context` is the main evidence, read by the who-wins rule (tracker/providers/evidence.py).
Failures are {result: false, returnCode, message}; replies relayed through the Java SDK's beans carry
`"result": false` on success too (a boolean's default) next to `"message": "ok"` and full data: a success.
Push: the decoded `param` form field {status: polling|shutdown|abort|updateall, message, autoCheck, comOld,
comNew, lastResult: <query reply>}; `abort` (3天查询无记录, 60天无变化) is a stop notice, not an error.
Times have no offset and are in the configured zone (Asia/Shanghai); `ftime` is preferred over `time`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

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
from tracker.providers.kuaidi100 import codes

PROVIDER = "kuaidi100"


def parse_query(data: Any, ctx: ParseContext) -> ParseResult:
    try:
        reply = rd.mapping(data, "reply")
    except rd.BadField as exc:
        return ParseResult((), (rd.problem(None, exc),))
    if _looks_like_push(reply):  # a push body handed over as a reply: read it as what it is
        return parse_push(reply, ctx)
    return _parse_result(reply, ctx, where="", stop=None)


def parse_push(data: Any, ctx: ParseContext) -> ParseResult:
    try:
        push = rd.mapping(data, "param")
        if "lastResult" not in push and ("nu" in push or "data" in push):
            return _parse_result(push, ctx, where="", stop=None)  # a bare query reply saved as a push
        last = rd.mapping(push.get("lastResult"), "lastResult")
    except rd.BadField as exc:
        return ParseResult((), (rd.problem(None, exc),))
    stop = None
    if rd.plain(push.get("status")) == codes.PUSH_ABORT:
        stop = TrackingStop("abort", rd.plain(push.get("message")) or "")
    result = _parse_result(last, ctx, where="lastResult.", stop=stop)
    com_new = rd.plain(push.get("comNew"))
    if com_new and result.waybills:  # Kuaidi100 corrected the company code (autoCheck=1)
        fixed = tuple(_with_company(w, com_new, ctx) for w in result.waybills)
        result = ParseResult(fixed, result.problems)
    return result


def _looks_like_push(reply: Mapping[str, Any]) -> bool:
    return isinstance(reply.get("lastResult"), Mapping)


def _failed(reply: Mapping[str, Any]) -> bool:
    """A failure names a returnCode other than 200, or says result false with no tracking in it."""
    code = rd.plain(reply.get("returnCode"))
    if code is not None and code != "200":
        return True
    result = reply.get("result")
    if result is False or str(result).strip().lower() == "false":
        has_tracking = bool(reply.get("data")) or bool(rd.plain(reply.get("nu")))
        said_ok = (rd.plain(reply.get("message")) or "").lower() == "ok"
        return not (has_tracking or said_ok)
    return False


def _parse_result(reply: Mapping[str, Any], ctx: ParseContext, *, where: str, stop: TrackingStop | None) -> ParseResult:
    waybill = rd.plain(reply.get("nu"))
    company = rd.plain(reply.get("com"))
    courier = company_to_courier(PROVIDER, company, ctx.couriers)
    if _failed(reply):
        error = codes.query_error(rd.plain(reply.get("returnCode")), rd.plain(reply.get("message")))
        return ParseResult((ParsedWaybill(PROVIDER, waybill or "", company, courier, (), error, stop),), ())
    if not waybill:
        return ParseResult((), (ParseProblem(None, f"{where}nu: missing (no waybill number in the reply)"),))
    try:
        rows = rd.items(reply.get("data"), f"{where}data")
    except rd.BadField as exc:
        return ParseResult((), (rd.problem(waybill, exc),))
    readings, problems = rd.each(rows, f"{where}data", _event, ctx, waybill)
    readings.reverse()  # newest first -> oldest first, so equal times keep the provider's order
    package = evidence.read_code(rd.plain(reply.get("state")), codes.STATE, codes.GENERIC)
    events = evidence.finish(readings, package)
    parsed = ParsedWaybill(PROVIDER, waybill, company, courier, events, None, stop)
    return ParseResult((parsed,), tuple(problems))


def _event(row: Mapping[str, Any], ctx: ParseContext) -> evidence.Reading:
    """One `data` row (its fields named relative to it in a problem: rd.each)."""
    raw_time = row.get("ftime") or row.get("time")
    when = rd.time(raw_time, ctx.tz, "ftime")
    context = rd.text(row, "context", "", required=False) or ""
    code = name = location = None
    # resultv2=0 rows carry only time, ftime and context: the optional fields are read when present
    if "statusCode" in row:
        code = evidence.read_code(rd.text(row, "statusCode", "", required=False), codes.STATE, codes.GENERIC)
    if "status" in row:
        name = evidence.read_code(rd.text(row, "status", "", required=False), codes.STATUS_NAMES, codes.GENERIC)
    if "location" in row or "areaName" in row:
        location = rd.text(row, "location", "", required=False) or rd.text(row, "areaName", "", required=False)
    return evidence.read_event(when, (code, name), context, location, ctx.phrases)


def _with_company(w: ParsedWaybill, company: str, ctx: ParseContext) -> ParsedWaybill:
    return replace(w, company=company, courier=company_to_courier(PROVIDER, company, ctx.couriers) or w.courier)
