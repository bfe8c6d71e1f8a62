"""A flag's history: its audit lines, with its opening read from the flag's own row until a line holds it.

The rules do not write an audit line when they open a flag: the flag's row says when it opened (opened_at), by
whom (the rules: only they open flags) and what it opened as (kind, severity, level). Those columns keep the
opening until the rules next change the flag: before a reopen (a new opened_at) or an escalation (a new
severity and level) the evaluation writes the opening's line from the row as it still is, with the time it
opened (tracker/flags/writes.py). A person's acknowledgement, assignment, note or resolution changes none of
them. So a flag has its opening either as a stored line or in its row, never both and never lost; flags
opened before this (every opening a line) have theirs stored.

Why: a first evaluation at a million parcels opens about 115,000 flags, and their 115,000 audit lines (and
the audit index's entries) were a fifth of its time on both databases (issue 18: the first run's write
volume)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

OPENED = "flag.open"  # the audit action of a flag's opening
ENTITY = "flag"  # the audit log's entity of a flag's lines
# the audit log's actor of the rules' changes (every opening among them), and resolved_by of what they resolve
RULES_ACTOR = "rules"
DETAIL_KEYS = ("kind", "severity", "level")  # what a rules' line says the flag became


def opening_line(flag: Mapping[str, Any]) -> dict[str, Any]:
    """The audit line of `flag`'s opening, from its row (a dict of the flag table's columns), as a stored line
    reads (id None: no line is stored)."""
    return {
        "id": None,
        "at": flag["opened_at"],
        "actor": RULES_ACTOR,
        "action": OPENED,
        "entity": ENTITY,
        "entity_id": flag["id"],
        "detail": {key: flag[key] for key in DETAIL_KEYS},
    }


def with_openings(lines: Iterable[Mapping[str, Any]], flags: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """`lines` (audit rows as dicts, any entities) with the opening of each of `flags` that no line holds,
    newest first (by time, then by line: an opening read from its row before the lines of its instant)."""
    merged = [dict(line) for line in lines]
    recorded = {line["entity_id"] for line in merged if line["entity"] == ENTITY and line["action"] == OPENED}
    merged += [opening_line(flag) for flag in flags if flag["id"] not in recorded]
    merged.sort(key=lambda line: (line["at"], -1 if line["id"] is None else line["id"]), reverse=True)
    return merged
