"""Scraped page rows -> ParsedWaybill (pure). Courier pages carry Kuaidi100-style status codes, so the
Kuaidi100 code table (tracker/providers/kuaidi100/codes.py) maps them; times are local (config zone)."""

from __future__ import annotations

from datetime import tzinfo

from tracker.domain import TrackingEvent
from tracker.providers.base import ParsedWaybill, ParseProblem
from tracker.status import TrackingStatus
from tracker.values import ValueProblem, parse_local_time


def status_for_code(code: str) -> TrackingStatus:
    from tracker.providers.kuaidi100 import codes

    return TrackingStatus(codes.STATE.get(code, TrackingStatus.unknown))


def to_parsed(
    courier: str, waybill: str, rows: list[dict[str, str]], *, tz: tzinfo
) -> tuple[ParsedWaybill, list[ParseProblem]]:
    events, problems = [], []
    for i, row in enumerate(rows):
        try:
            at = parse_local_time(row.get("time", ""), tz)
        except ValueProblem as exc:
            problems.append(ParseProblem(waybill, f"{courier} page row {i + 1}: time: expected {exc}"))
            continue
        code = row.get("code", "")
        status = status_for_code(code)
        events.append(TrackingEvent(at, status, code, row.get("text", ""), row.get("location") or None))
    events.sort(key=lambda e: e.time)
    return ParsedWaybill("spider", waybill, None, courier, tuple(events)), problems
