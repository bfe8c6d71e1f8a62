"""Run every rule over the parcels and bring the flag table in line, set-based (no per-parcel loop).

    evaluate_all(engine, now, settings, parcel_ids=None, full=False)
      ├─ marks     ← the parcels whose rule inputs were written since the last evaluation (marks.py)
      ├─ text hits ← the parcels whose text matched, kept since the last evaluation, brought up to date
      │              for the parcels marked since (text_hits.py)
      ├─ scope     ← a delta: the marked parcels and those whose thresholds the time since the last
      │              evaluation crossed (queries.crossings); a full evaluation: every parcel
      ├─ _cand     ← watched parcels whose status, or text hit, may raise a status rule
      ├─ desired  ← INSERT … SELECT per rule (queries.py)
      ├─ _change   ← desired vs flag, before any write: open | reopen | escalate, and unresolved flags
      │              no rule wants: resolve
      ├─ flag      ← INSERT … SELECT (open), UPDATE … (reopen, escalate, resolve); each next action as its
      │              template's key and number (rendered when read: tracker/flags/next_action.py)
      └─ audit_log ← INSERT … SELECT, one line per change but the openings (the flag's row: history.py),
                     actor "rules"

Lifecycle: a flag is opened once per parcel and kind; it escalates when the level rises (warn ->
escalate, ladder steps; an escalation puts an acknowledged flag back to open); it resolves by itself
when no rule raises it any more. A flag resolved by the rules reopens (same row, history in the audit
log) when raised again. A flag a person resolved stays resolved while the same occurrence holds; it
reopens when the rule raises a higher level, a new occurrence (new anchor: new last scan, new deadline,
new fact), or after its condition was seen clear.

A delta reads a few parcels where a full evaluation reads a million, and leaves the same flags (marks.py):
the poller's steady cost. The first evaluation, one after a change of the rules' configuration, or one
asked with `full` reads every parcel."""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import partial

from sqlalchemy import Engine, func, select, text, union
from sqlalchemy.engine import Connection

from tracker.flags import marks, queries
from tracker.flags.details import ladder_positions, late_shipment_exposure_details
from tracker.flags.dialect import begin, register_patterns, sqlite_tuned
from tracker.flags.diff import desired, diff
from tracker.flags.rulesql import Context
from tracker.flags.temp import CHANGE, MARKED, SCOPE, create_temp, drop_temp, index_changes
from tracker.flags.text_hits import refresh_text_hits
from tracker.flags.timing import StepClock
from tracker.flags.writes import apply
from tracker.settings import Settings
from tracker.storage.db import again_if_rolled_back

log = logging.getLogger("tracker.flags")


@dataclass
class EvaluationSummary:
    """What one evaluation changed, counted by action and flag kind."""

    now: datetime
    opened: Counter[str] = field(default_factory=Counter)
    reopened: Counter[str] = field(default_factory=Counter)
    escalated: Counter[str] = field(default_factory=Counter)
    resolved: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    steps: dict[str, float] = field(default_factory=dict)  # seconds per step, for tuning
    mode: str = "full"  # full: every parcel; delta: the marked and crossed ones (marks.py); scope: parcel_ids
    parcels: int | None = None  # how many parcels a delta or a scope read (None: every parcel)

    def rows(self) -> list[dict[str, object]]:
        kinds = sorted(set(self.opened) | set(self.reopened) | set(self.escalated) | set(self.resolved))
        return [
            {
                "kind": k,
                "opened": self.opened[k],
                "reopened": self.reopened[k],
                "escalated": self.escalated[k],
                "resolved": self.resolved[k],
            }
            for k in kinds
        ]

    @property
    def changes(self) -> int:
        return sum(sum(c.values()) for c in (self.opened, self.reopened, self.escalated, self.resolved))


def evaluate_all(
    engine: Engine,
    *,
    now: datetime,
    settings: Settings,
    parcel_ids: Iterable[int] | None = None,
    full: bool = False,
) -> EvaluationSummary:
    """Evaluate every rule as of `now` over all parcels (or only `parcel_ids`, e.g. the ones a person just
    changed) and apply the flag changes in one transaction. Without `parcel_ids` only what can have changed
    since the last evaluation is read, unless `full` (marks.py). Returns the counts by kind.

    Evaluated again, once, when PostgreSQL rolled it back to break a deadlock: the evaluation holds the marks
    it took until it commits, and a writer that wrote a scorecard hour and then waits for one of those marks
    (an ingest) deadlocks with the evaluation marking the same hour for the flags it opens. Nothing of the
    rolled-back attempt is left; the writer goes on, and the second attempt waits for it."""
    ids = None if parcel_ids is None else list(parcel_ids)
    attempt = partial(_evaluate, engine, now=now, settings=settings, parcel_ids=ids, full=full)
    return again_if_rolled_back(attempt, what=f"rules evaluation at {now}:", then="evaluated again", logger=log)


def _evaluate(
    engine: Engine, *, now: datetime, settings: Settings, parcel_ids: list[int] | None, full: bool
) -> EvaluationSummary:
    """One attempt of evaluate_all."""
    started = time.perf_counter()
    summary = EvaluationSummary(now=now)
    steps = summary.steps
    with engine.connect() as conn, sqlite_tuned(conn):
        with conn.begin():
            tick = StepClock(steps)
            begin(conn)
            create_temp(conn)  # drops what a failed evaluation left on this connection first
            ctx = Context(now=now, config=settings.rules)
            register_patterns(conn, ctx)
            tick("setup")
            if parcel_ids is None:
                ctx = _every_parcel(conn, ctx, summary, full=full)
                tick.restart()  # timed its own steps
            else:
                ctx = _parcels(conn, ctx, parcel_ids)
                summary.mode = "scope"
                tick("scope")
            desired(conn, ctx, steps, hits=summary.mode == "full")
            diff(conn, ctx, steps)
            tick.restart()  # the two above timed their own steps
            _count(conn, summary)
            if summary.reopened or summary.escalated or summary.resolved:
                index_changes(conn)  # the updates look flags up in CHANGE (a first evaluation only opens)
            tick("count")
            apply(conn, ctx, summary)
            tick.restart()
            # the ladder's days left and the late shipment's hours count on with time: every such flag,
            # whatever a delta read (a scope: its own)
            shown = ctx if summary.mode == "scope" else replace(ctx, scope=None)
            ladder_positions(conn, shown)
            late_shipment_exposure_details(conn, shown, settings)
            tick("details")
            # not in a `finally`: after an error PostgreSQL refuses any statement until the rollback,
            # and the DROP's error would hide the first one
            drop_temp(conn)
        # the commit: on SQLite the write-ahead log written, and copied into the database file when it has
        # grown past the automatic checkpoint's size (a first evaluation: most of its time here)
        tick("commit")
    summary.seconds = time.perf_counter() - started
    return summary


def _every_parcel(conn: Connection, ctx: Context, summary: EvaluationSummary, *, full: bool) -> Context:
    """The marks taken (with the parcels added since) and the text hits brought up to date; then, for a
    delta, the marked parcels and the ones whose thresholds crossed since the last evaluation in SCOPE and
    the context limited to them (a full evaluation: the context as it is). This evaluation's `now` is kept
    for the next one."""
    tick = StepClock(summary.steps)
    state = marks.read_state(conn)
    marked = marks.take_marks(conn, state)
    refresh_text_hits(conn, ctx, marked=marked)
    tick("text hits")
    wanted = marks.fingerprint(ctx.config)
    last = None if full else marks.last_evaluation(state, wanted)
    marks.record_evaluation(conn, ctx.now, wanted)
    if last is None or last > ctx.now or marked is None:
        tick("scope")
        return ctx
    summary.mode = "delta"
    crossing = replace(ctx, since=last)
    parcels = union(select(MARKED.c.parcel_id), *queries.crossings(crossing))
    conn.execute(SCOPE.insert().from_select(["parcel_id"], parcels))
    # PostgreSQL: its size, for the rules' plans (the scope's parcels by key, not a scan of those a rule reads)
    if conn.dialect.name == "postgresql":
        conn.execute(text(f"ANALYZE {SCOPE.name}"))
    summary.parcels = conn.execute(select(func.count()).select_from(SCOPE)).scalar_one()
    tick("scope")
    return replace(ctx, scope=SCOPE)


def _parcels(conn: Connection, ctx: Context, parcel_ids: Iterable[int]) -> Context:
    """`parcel_ids` in SCOPE and the context limited to them (the marks are left to the next evaluation of
    every parcel)."""
    ids = [{"parcel_id": int(i)} for i in set(parcel_ids)]
    if ids:
        conn.execute(SCOPE.insert(), ids)
    return replace(ctx, scope=SCOPE)


# CHANGE.action: the summary's counter
COUNTERS = {"open": "opened", "reopen": "reopened", "escalate": "escalated", "resolve": "resolved"}


def _count(conn: Connection, summary: EvaluationSummary) -> None:
    """The changes by action and kind, into the summary."""
    for kind, action, count in conn.execute(
        select(CHANGE.c.kind, CHANGE.c.action, func.count()).group_by(CHANGE.c.kind, CHANGE.c.action)
    ):
        getattr(summary, COUNTERS[action])[kind] += count
