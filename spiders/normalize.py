"""Scraped page rows -> ParsedWaybill (pure). A courier's page shows the courier's own words; some pages
also tag a row with a Kuaidi100-style status code, which the Kuaidi100 code table reads. Who wins between
them is the one rule of tracker/providers/evidence.py; times are local (config zone)."""

from __future__ import annotations

from datetime import tzinfo

from tracker.phrases import PhraseBook, default_phrasebook
from tracker.providers import evidence
from tracker.providers.base import ParsedWaybill, ParseProblem
from tracker.values import ValueProblem, parse_local_time


def to_parsed(
    courier: str, waybill: str, rows: list[dict[str, str]], *, tz: tzinfo, phrases: PhraseBook | None = None
) -> tuple[ParsedWaybill, list[ParseProblem]]:
    from tracker.providers.kuaidi100 import codes

    book = phrases or default_phrasebook()
    readings, problems = [], []
    for i, row in enumerate(rows):
        try:
            at = parse_local_time(row.get("time", ""), tz)
        except ValueProblem as exc:
            problems.append(ParseProblem(waybill, f"{courier} page row {i + 1}: time: expected {exc}"))
            continue
        code = evidence.read_code(row.get("code") or None, codes.STATE, codes.GENERIC)
        readings.append(evidence.read_event(at, (code,), row.get("text", ""), row.get("location") or None, book))
    events = evidence.finish(readings, None)
    return ParsedWaybill("spider", waybill, None, courier, events), problems
