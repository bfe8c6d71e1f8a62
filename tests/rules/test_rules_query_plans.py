"""The time rules are pushed down to the partial indexes (spec/performance.md §4), on SQLite."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import text

from tracker.flags import candidates, queries, rulesql
from tracker.flags.diff import no_longer_raised
from tracker.flags.sqlfuncs import register_text_match
from tracker.flags.temp import create_temp
from tracker.storage.tables import RULE_MARK, TEXT_HIT

pytestmark = pytest.mark.sqlite_only  # EXPLAIN QUERY PLAN is SQLite's

NOW = datetime.fromisoformat("2026-11-23T04:00:00+00:00")


def _plan(engine, stmt) -> str:  # type: ignore[no-untyped-def]
    sql = str(stmt.compile(engine, compile_kwargs={"literal_binds": True}))
    with engine.connect() as conn:
        return " | ".join(str(r[-1]) for r in conn.execute(text(f"EXPLAIN QUERY PLAN {sql}")))


def _bound_plan(engine, stmt) -> str:  # type: ignore[no-untyped-def]
    """The plan as the evaluation runs the statement: its values as parameters, not written in."""
    compiled = stmt.compile(engine, compile_kwargs={"render_postcompile": True})
    params = compiled.construct_params()
    args = tuple(params[name] for name in compiled.positiontup or ())
    with engine.connect() as conn:
        return " | ".join(str(r[-1]) for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}", args))


@pytest.fixture
def filled(sqlite_db):  # type: ignore[no-untyped-def]
    for i in range(300):
        at = NOW - timedelta(hours=i % 120)
        sqlite_db.parcel(
            created=at,
            waybill=f"YT{i:013d}",
            shipped_at=at,
            status="in_transit",
            first_scan_at=at if i % 5 else None,
            last_event_at=at if i % 5 else None,
            is_open=i % 3 != 0,
        )
    return sqlite_db


@pytest.mark.parametrize(
    ("rule", "index"),
    [
        (queries.stale, "ix_parcel_open_last_event"),
        (queries.lost_suspected, "ix_parcel_open_last_event"),
        (queries.no_first_scan, "ix_parcel_open_no_scan"),
        (queries.late_shipment, "ix_parcel_open_unshipped"),
    ],
)
def test_time_rule_uses_its_partial_index(filled, settings, rule, index) -> None:  # type: ignore[no-untyped-def]
    stmt = next(rule(rulesql.Context(now=NOW, config=settings.rules)))
    plan = _plan(filled.engine, stmt)
    assert index in plan and "SCAN parcel " not in plan + " "


def test_surface_mail_rule_reads_the_open_return_index_and_the_other_return_rules_keep_theirs(filled, settings) -> None:  # type: ignore[no-untyped-def]
    """return_surface_mail reads ix_parcel_open_return_waybill, not every parcel; the other return rules, which
    SQLite without statistics could send to any index of return parcels, keep ix_parcel_return_unscanned."""
    ctx = rulesql.Context(now=NOW, config=settings.rules)
    plan = _bound_plan(filled.engine, next(queries.return_surface_mail(ctx)))
    assert "INDEX ix_parcel_open_return_waybill" in plan and "SCAN parcel |" not in plan + " |", plan
    others = (queries.return_no_waybill, queries.return_no_movement, queries.return_abandoned, queries.refund_ladder,
              queries.return_waybill_invalid, queries.return_waybill_shared, queries.return_partial)  # fmt: skip
    for rule in others:
        for stmt in rule(ctx):
            assert "ix_parcel_open_return_waybill" not in _bound_plan(filled.engine, stmt)


def test_exception_statuses_are_looked_up_not_scanned(filled, settings) -> None:  # type: ignore[no-untyped-def]
    by_status, _ = candidates.status_candidates(rulesql.Context(now=NOW, config=settings.rules))
    assert "ix_parcel_status" in _plan(filled.engine, by_status)


def _text_plan(engine, ctx, stmt) -> str:  # type: ignore[no-untyped-def]
    sql = str(stmt.compile(engine, compile_kwargs={"literal_binds": True}))
    with engine.connect() as conn:
        register_text_match(conn.connection.driver_connection, candidates.text_regex(ctx))
        return " | ".join(str(r[-1]) for r in conn.execute(text(f"EXPLAIN QUERY PLAN {sql}")))


def test_text_scan_reads_the_open_text_index(filled, settings) -> None:  # type: ignore[no-untyped-def]
    """Not ix_parcel_due (open parcels by next poll time: a row lookup per open parcel, in poll order): the
    full scan of the texts, and the match per parcel (a scoped evaluation's)."""
    ctx = rulesql.Context(now=NOW, config=settings.rules)
    _, per_parcel = candidates.status_candidates(ctx)
    for stmt in (candidates.open_text_pairs(), per_parcel):
        plan = _text_plan(filled.engine, ctx, stmt)
        assert "ix_parcel_open_text" in plan and "ix_parcel_due" not in plan, plan
    # the parcels of a matching (status, text) pair: looked up in that index, not scanned
    plan = _text_plan(filled.engine, ctx, candidates.open_parcels_with_text().params(status="refused", text="拒收"))
    assert "SEARCH parcel USING COVERING INDEX ix_parcel_open_text (status=? AND status_text=? AND is_open=?)" in plan


def test_kept_text_hits_are_read_by_key_not_by_scan(filled, settings) -> None:  # type: ignore[no-untyped-def]
    """The steady evaluation reads the kept hits and the marked parcels, each parcel by its key."""
    ctx = rulesql.Context(now=NOW, config=settings.rules)
    _, by_text = candidates.status_candidates(ctx, hits=TEXT_HIT)
    marked = candidates.text_hits_of(ctx, RULE_MARK)
    for stmt in (by_text, marked):
        plan = _text_plan(filled.engine, ctx, stmt)
        assert "SCAN parcel " not in plan + " " and "parcel USING INTEGER PRIMARY KEY" in plan, plan


def test_flags_no_rule_raises_are_found_in_their_index(filled, settings) -> None:  # type: ignore[no-untyped-def]
    """The resolve step reads the unresolved flags' (parcel, kind) index alone, not every flag row."""
    ctx = rulesql.Context(now=NOW, config=settings.rules)
    sql = str(no_longer_raised(ctx).compile(filled.engine, compile_kwargs={"literal_binds": True}))
    with filled.engine.connect() as conn:
        create_temp(conn)
        plan = " | ".join(str(r[-1]) for r in conn.execute(text(f"EXPLAIN QUERY PLAN {sql}")))
    assert "SCAN unresolved USING COVERING INDEX ix_flag_unresolved_parcel_kind" in plan, plan


@pytest.mark.parametrize("rule", ["delivered_disputed", "return_partial"])
def test_fact_rules_start_from_the_facts_not_the_parcels(filled, settings, rule) -> None:  # type: ignore[no-untyped-def]
    """Issue 16's fact rules (signatures, weighings): the parcels holding such a fact are looked up by id, not
    every parcel probed for one."""
    made = getattr(queries, rule)(rulesql.Context(now=NOW, config=settings.rules))
    stmt = next(iter(made))
    plan = _plan(filled.engine, stmt)
    assert "SCAN parcel " not in plan + " " and "parcel USING INTEGER PRIMARY KEY" in plan, plan
