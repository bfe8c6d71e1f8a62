"""Taobao `taobao.logistics.trace.search` replies -> ParsedWaybill (docs/adding-a-provider.md). Pure.

    {"logistics_trace_search_response": {"out_sid": "<waybill>", "company_name": "中通快递", "tid": 123,
        "status": "<order logistics status, words>",
        "trace_list": {"transit_step_info": [{"status_time": "2024-05-20 10:00:00",
                                              "status_desc": "<courier text>", "action": "GOT"}]}}}
    {"error_response": {"code": 27, "msg": "Invalid session", "sub_code": "...", "sub_msg": "..."}}

Sparse shapes read here: no `action` on a step; no `trace_list` (or an empty one) before the first scan;
`transit_step_info` as one object instead of a list; no `out_sid` when the order has no waybill yet (an
error naming no waybill: the poller attaches it to the parcel asked about). `status_time` has no offset
and is Beijing time (`tz`). The order's own `status` is not read: the API reference warns it says 对方已签收
for offline-shipped orders as soon as they ship. Taobao has no push for this API (parsers: query only).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tracker.providers import evidence
from tracker.providers import reading as rd
from tracker.providers.base import ParseContext, ParsedWaybill, ParseResult
from tracker.providers.taobao import codes
from tracker.settings import CourierConfig

PROVIDER = "taobao"
ROOT = "logistics_trace_search_response"


def parse_query(data: Any, ctx: ParseContext) -> ParseResult:
    try:
        reply = rd.mapping(data, "reply")
        if "error_response" in reply:
            return ParseResult((_error(rd.mapping(reply["error_response"], "error_response")),), ())
        body = rd.mapping(reply.get(ROOT), ROOT)
    except rd.BadField as exc:
        return ParseResult((), (rd.problem(None, exc),))
    company = rd.plain(body.get("company_name"))
    courier = courier_by_name(company, ctx.couriers)
    number = rd.plain(body.get("out_sid"))
    if not number:
        error = codes.no_waybill(rd.plain(body.get("tid")))
        return ParseResult((ParsedWaybill(PROVIDER, "", company, courier, (), error),), ())
    try:
        steps = _steps(body.get("trace_list"))
    except rd.BadField as exc:
        return ParseResult((), (rd.problem(number, exc),))
    where = f"{ROOT}.trace_list.transit_step_info"
    readings, problems = rd.each(steps, where, _event, ctx, number)
    waybill = ParsedWaybill(PROVIDER, number, company, courier, evidence.finish(readings, None))
    return ParseResult((waybill,), tuple(problems))


def _steps(trace_list: object) -> list[Any]:
    """trace_list -> its steps: absent/empty -> [], one step as an object -> [it]."""
    if trace_list is None or trace_list == "" or trace_list == []:
        return []
    where = f"{ROOT}.trace_list"
    container = rd.mapping(trace_list, where)
    steps = container.get("transit_step_info")
    if isinstance(steps, Mapping):
        return [steps]
    return rd.items(steps, f"{where}.transit_step_info")


def _event(step: Mapping[str, Any], ctx: ParseContext) -> evidence.Reading:
    """One step by the who-wins rule (docs/tracking-status.md): a milestone action (揽收, 派件, 签收) decides;
    a coarse one (到件, 发件, 失败) gives way to words naming something more specific; no action: the words."""
    when = rd.time(step.get("status_time"), ctx.tz, "status_time")  # named relative to the step: rd.each
    text = rd.text(step, "status_desc", "", required=False) or ""
    action = rd.text(step, "action", "", required=False)
    code = evidence.read_code(action.upper() if action else None, codes.ACTIONS, codes.GENERIC_ACTIONS)
    reading = evidence.read_event(when, (code,), text, None, ctx.phrases)
    if action and reading.event.raw_code != action:  # keep the action as sent
        reading = evidence.Reading(reading.event._replace(raw_code=action), reading.source)
    return reading


def _error(err: Mapping[str, Any]) -> ParsedWaybill:
    message = codes.error_message(
        rd.plain(err.get("code")), rd.plain(err.get("msg")), rd.plain(err.get("sub_code")), rd.plain(err.get("sub_msg"))
    )
    return ParsedWaybill(PROVIDER, "", None, None, (), message)


def courier_by_name(company: str | None, couriers: Mapping[str, CourierConfig]) -> str | None:
    """Taobao names the company in words (中通快递, 韵达快递): match name, English name or an alias,
    ignoring case and spaces (config/couriers.toml)."""
    if not company:
        return None
    wanted = _key(company)
    for slug, cfg in couriers.items():
        if wanted in {_key(name) for name in (cfg.name, cfg.name_en, *cfg.aliases)}:
            return slug
    return None


def _key(name: str) -> str:
    return "".join(name.split()).lower()
