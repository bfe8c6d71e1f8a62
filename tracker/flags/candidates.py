"""The status rules as SQL (tracker/rules/status_rule.py): one scan of the parcels whose status or courier
text may raise one (CAND), then each status rule of the registry over that table."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from sqlalchemy import (
    Select,
    and_,
    bindparam,
    false,
    func,
    literal_column,
    or_,
    select,
    true,
    tuple_,
)
from sqlalchemy.sql import FromClause

from tracker.flags.rulesql import (
    FINAL,
    Context,
    crossed,
    flag_row,
    is_open,
    not_final,
    parcel_ids,
    return_action,
    scoped,
    severity_literal,
    text_any,
)
from tracker.flags.sqlfuncs import text_match
from tracker.rules.registry import STATUS_RULES
from tracker.storage.repo import PARCEL


def text_regex(ctx: Context) -> str:
    """All status-rule text patterns as one regular expression (empty when there are none)."""
    patterns = sorted({p for r in STATUS_RULES if r.patterns for p in ctx.config.text_patterns.get(r.patterns, [])})
    return "|".join(re.escape(p) for p in patterns)


def _statuses() -> list[str]:
    return sorted({str(s) for r in STATUS_RULES for s in r.statuses})


_COLUMNS = (
    "id", "courier", "status", "status_text", "is_open", "last_event_at", "shipped_at", "created_at", "direction",
)  # fmt: skip


def _text_terms() -> list[Any]:
    """A parcel whose text may raise a status rule: open, with a text, not final, not already one by status."""
    return [is_open(), PARCEL.c.status_text.is_not(None), PARCEL.c.status.not_in(_statuses()), not_final()]


def status_candidates(ctx: Context, *, hits: FromClause | None = None) -> list[Select]:
    """Parcels that may raise a status rule, in index-friendly parts: watched parcels with an exception
    status (ix_parcel_status), and open, not final parcels whose text matches.

    hits (all parcels): the parcels whose text matched when last read (tracker/flags/text_hits.py, kept
    up to date before this runs) instead of a match per parcel. Without it, or with a scope, each parcel's
    text is matched."""
    statuses = _statuses()
    watched = or_(is_open(), PARCEL.c.last_event_at >= ctx.ago(days=ctx.config.watch.days_after_success))
    cols = [PARCEL.c[n] for n in _COLUMNS]
    by_status = select(*cols).where(*scoped(ctx, PARCEL, PARCEL.c.status.in_(statuses), watched))
    # one regular expression instead of one instr() per pattern: twice as fast on this scan
    pattern = text_regex(ctx)
    if not pattern:
        return [by_status, select(*cols).where(false())]
    texts = _text_terms()
    if hits is None or ctx.scope is not None:
        matched = text_match(PARCEL.c.status_text, pattern)
        return [by_status, select(*cols).where(*scoped(ctx, PARCEL, *texts, matched))]
    # the conditions again: a hit is kept until the parcel's status, text or open state changes, which
    # marks it for the next evaluation, not this one's reading of the parcel
    # (IN, not a join: SQLite would scan the open parcels and probe the hits, knowing neither's size)
    by_text = select(*cols).where(PARCEL.c.id.in_(select(hits.c.parcel_id)), *texts)
    return [by_status, by_text]


def status_crossed(ctx: Context) -> list[Select]:
    """The parcels with an exception status that left the watch window (closed, delivered or returned more
    than watch.days_after_success ago) between the last evaluation and this one: their status flags resolve."""
    left = crossed(ctx, PARCEL.c.last_event_at, days=ctx.config.watch.days_after_success)
    return [parcel_ids(PARCEL.c.status.in_(_statuses()), left)]


def text_hits_of(ctx: Context, ids: FromClause) -> Select:
    """The ids of the parcels among `ids` (a parcel_id column) whose text matches: open, not final, not
    already a candidate by status. One match per parcel: for the few marked since the last evaluation."""
    cond = _text_terms()
    matched = text_match(PARCEL.c.status_text, text_regex(ctx))
    return select(PARCEL.c.id).where(PARCEL.c.id.in_(select(ids.c.parcel_id)), *cond, matched)


def not_raised_by_text() -> list[str]:
    """The statuses whose parcels no text raises a status rule for: already one by status, or final."""
    return sorted(set(_statuses()) | set(FINAL))


def open_text_pairs() -> Select:
    """SQLite's text scan of every parcel (text_hits_all's there): each distinct (status, text) of the open
    parcels once, one pass over ix_parcel_open_text. The caller matches them in Python (tracker/flags/
    text_hits.py): a call of the SQL match function per distinct text cost more than fetching them all
    (bench/rules.py, the first evaluation's "text hits" step)."""
    return select(PARCEL.c.status, PARCEL.c.status_text).where(is_open(), PARCEL.c.status_text.is_not(None)).distinct()


def open_parcels_with_text() -> Select:
    """The ids of the open parcels with one (status, text), given as the parameters `status` and `text`
    (looked up in ix_parcel_open_text): a matching pair of open_text_pairs."""
    p = PARCEL.c
    return select(p.id).where(
        is_open(), p.status_text.is_not(None), p.status == bindparam("status"), p.status_text == bindparam("text")
    )


def text_hits_all(ctx: Context, *, indexed_text_bytes: int) -> list[Select]:
    """PostgreSQL: the ids of every parcel whose text matches (as text_hits_of), by distinct text: the match
    runs once per distinct (status, text) of an index scan, not once per parcel: courier texts repeat (about
    one in ten is new), and a match costs more than reading an index entry. The matching pairs are then
    looked up in the same index. SQLite: open_text_pairs.

    indexed_text_bytes: the size limit of ix_parcel_open_short_text. The distinct scan reads the texts
    within it; the longer ones (ix_parcel_open_long_text) are matched one by one."""
    pattern = text_regex(ctx)

    def size(src: Any, longer: bool) -> Any:
        # a literal, not a parameter: a generic plan could not prove the partial index's predicate
        octets = func.octet_length(src.c.status_text)
        limit: Any = literal_column(str(int(indexed_text_bytes)))
        return octets > limit if longer else octets <= limit

    seen = PARCEL.alias("seen")
    where = [is_open(seen), seen.c.status_text.is_not(None), size(seen, longer=False)]
    # the distinct pairs (one pass over the index), then the match; OFFSET 0 keeps the match out of the scan
    # (an aggregate costs a text comparison per row: 25% more)
    pairs = select(seen.c.status, seen.c.status_text).where(*where).distinct().offset(0).subquery("pairs")
    matching = select(pairs.c.status, pairs.c.status_text).where(
        pairs.c.status.not_in(not_raised_by_text()), text_match(pairs.c.status_text, pattern)
    )
    hit = tuple_(PARCEL.c.status, PARCEL.c.status_text).in_(matching)
    by_text = select(PARCEL.c.id).where(is_open(), PARCEL.c.status_text.is_not(None), size(PARCEL, False), hit)
    longer = select(PARCEL.c.id).where(*_text_terms(), size(PARCEL, True), text_match(PARCEL.c.status_text, pattern))
    return [by_text, longer]


def status_rule_rows(ctx: Context, cand: FromClause) -> Iterator[Select]:
    for rule in STATUS_RULES:
        hit: Any = cand.c.status.in_(sorted(str(s) for s in rule.statuses))
        if rule.patterns:
            patterns = ctx.config.text_patterns.get(rule.patterns, [])
            text_hit = and_(cand.c.is_open == true(), not_final(cand), text_any(cand.c.status_text, patterns))
            negations = ctx.config.text_negations.get(rule.patterns, "")
            if negations:  # the phrase book's negations of that status (tracker.rules.status_rule)
                text_hit = and_(text_hit, ~text_match(cand.c.status_text, negations))
            hit = or_(hit, text_hit)
        action = return_action(cand, rule.kind, rule.return_action) if rule.return_action else None
        yield select(*flag_row(cand, rule.kind, severity=severity_literal(rule.severity), action=action)).where(hit)
