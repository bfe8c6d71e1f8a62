"""What the bulk-open path of the evaluation relies on (migration 0008), on SQLite and PostgreSQL:
long courier texts still match, flag.parcel_id still names a parcel, evaluations take turns, and the
audit line's JSON is built right. PostgreSQL plans: the text scan can use its partial indexes."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, Integer, String, event, func, literal, select, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import IntegrityError

from tests.rules.conftest import DB, evaluate_meeting
from tracker.flags import candidates, evaluate_all, rulesql
from tracker.flags.dialect import PARCELS_CHECKED
from tracker.flags.diff import CLEARED, RULES_ACTOR
from tracker.flags.sqlfuncs import json_object
from tracker.storage.db import make_engine
from tracker.storage.repo import AUDIT, PARCEL
from tracker.storage.rows import FLAG_INDEXES_NO_OPENING_ENTERS, OPEN_TEXT_INDEX_BYTES, PERSON_RESOLVED_UNCLEARED
from tracker.storage.tables import FLAG

T0 = datetime.fromisoformat("2026-11-20T04:00:00+00:00")
NOW = T0 + timedelta(hours=2)


def _moving(db, waybill: str, text_: str) -> int:  # type: ignore[no-untyped-def]
    return db.parcel(
        created=T0, waybill=waybill, status="in_transit", status_text=text_, first_scan_at=T0, last_event_at=T0
    )


def _kinds(engine: Engine, parcel_id: int) -> set[str]:
    with engine.connect() as conn:
        return set(conn.execute(select(FLAG.c.kind).where(FLAG.c.parcel_id == parcel_id)).scalars())


def test_courier_texts_longer_than_the_text_index_are_stored_and_matched(db, settings) -> None:  # type: ignore[no-untyped-def]
    """PostgreSQL indexes texts up to OPEN_TEXT_INDEX_BYTES and matches the longer ones one by one:
    a long text is stored (no index-size error) and raises its flag; the same words in a short text
    too; a long text without them raises nothing."""
    filler = "【杭州转运中心】已发出,下一站【上海转运中心】" * (2 * OPEN_TEXT_INDEX_BYTES // 60 + 10)
    assert len(filler.encode()) > 2 * OPEN_TEXT_INDEX_BYTES
    long_refused = _moving(db, "YT1000000000001", filler + "收件人拒收")
    long_plain = _moving(db, "YT1000000000002", filler)
    short_refused = _moving(db, "YT1000000000003", "【上海】收件人拒收,快件退回中")
    at_the_limit = _moving(db, "YT1000000000004", "拒" + "收" * ((OPEN_TEXT_INDEX_BYTES - 3) // 3))
    evaluate_all(db.engine, now=NOW, settings=settings)
    assert "refused" in _kinds(db.engine, long_refused)
    assert "refused" in _kinds(db.engine, short_refused)
    assert "refused" in _kinds(db.engine, at_the_limit)
    assert _kinds(db.engine, long_plain) == set()


def test_each_change_but_an_opening_has_one_audit_line_with_what_the_flag_became(db, settings) -> None:  # type: ignore[no-untyped-def]
    """An opening is the flag's row until the rules next change the flag, which writes it first, as it opened
    (tracker/flags/history.py)."""
    refused = _moving(db, "YT1000000000031", "【上海】收件人拒收")
    silent = _moving(db, "YT1000000000032", "【上海】已发出")
    evaluate_all(db.engine, now=T0 + timedelta(hours=80), settings=settings)  # refused; silent 80 h: stale
    evaluate_all(db.engine, now=T0 + timedelta(hours=100), settings=settings)  # stale escalates at 96 h
    with db.engine.connect() as conn:
        flags = {(r.parcel_id, r.kind): r.id for r in conn.execute(select(FLAG.c.id, FLAG.c.parcel_id, FLAG.c.kind))}
        lines = conn.execute(
            select(AUDIT.c.entity_id, AUDIT.c.action, AUDIT.c.detail)
            .where(AUDIT.c.actor == "rules")
            .order_by(AUDIT.c.id)
        ).all()
    by_flag = {}
    for entity_id, action, detail in lines:
        by_flag.setdefault(entity_id, []).append((action, detail))
    assert flags[(refused, "refused")] not in by_flag  # opened, not changed since
    assert by_flag[flags[(silent, "stale")]] == [
        ("flag.open", {"kind": "stale", "severity": "warn", "level": 0}),
        ("flag.escalate", {"kind": "stale", "severity": "escalate", "level": 1}),
    ]


def _flag_row(parcel_id: int) -> dict[str, object]:
    return {
        "parcel_id": parcel_id,
        "courier": "yto",
        "kind": "stale",
        "severity": "warn",
        "level": 0,
        "state": "open",
        "opened_at": NOW,
    }


def test_a_flag_must_name_a_parcel_and_a_flagged_parcel_stays(db, settings) -> None:  # type: ignore[no-untyped-def]
    """The foreign key on SQLite, the triggers of migration 0008 on PostgreSQL: same answers."""
    flagged = _moving(db, "YT1000000000011", "【上海】收件人拒收")
    spare = _moving(db, "YT1000000000012", "【上海】已签收")
    evaluate_all(db.engine, now=NOW, settings=settings)
    with pytest.raises(IntegrityError, match="flag_parcel_id_fkey|FOREIGN KEY"), db.engine.begin() as conn:
        conn.execute(FLAG.insert(), _flag_row(10_000_000))
    with pytest.raises(IntegrityError, match="flag_parcel_id_fkey|FOREIGN KEY"), db.engine.begin() as conn:
        conn.execute(PARCEL.delete().where(PARCEL.c.id == flagged))
    with pytest.raises(IntegrityError, match="flag_parcel_id_fkey|FOREIGN KEY"), db.engine.begin() as conn:
        conn.execute(FLAG.update().where(FLAG.c.parcel_id == flagged).values(parcel_id=10_000_000))
    with db.engine.begin() as conn:  # a parcel without flags may go; nothing else was lost
        conn.execute(PARCEL.delete().where(PARCEL.c.id == spare))
        assert conn.execute(select(func.count()).select_from(FLAG)).scalar_one() == 1
        assert conn.execute(select(func.count()).select_from(PARCEL)).scalar_one() == 1


@pytest.mark.postgres
def test_the_evaluations_skip_of_the_parcel_check_ends_with_its_transaction(pg_engine, settings) -> None:  # type: ignore[no-untyped-def]
    db = DB(pg_engine)
    flagged = _moving(db, "YT1000000000021", "【上海】收件人拒收")
    evaluate_all(pg_engine, now=NOW, settings=settings)
    assert _kinds(pg_engine, flagged) == {"refused"}
    with pg_engine.connect() as conn:
        assert conn.execute(text(f"SELECT current_setting('{PARCELS_CHECKED}', true)")).scalar() in (None, "")
    with pytest.raises(IntegrityError, match="flag_parcel_id_fkey"), pg_engine.begin() as conn:
        conn.execute(FLAG.insert(), _flag_row(10_000_000))
    # truncating parcels alone would leave flags naming nothing: refused (CASCADE reaches no flag)
    with pytest.raises(IntegrityError, match="cannot truncate"), pg_engine.begin() as conn:
        conn.execute(text("TRUNCATE parcel CASCADE"))
    with pg_engine.begin() as conn:
        conn.execute(text("TRUNCATE flag, parcel CASCADE"))


@pytest.mark.postgres
def test_evaluations_at_the_same_time_take_turns(pg_engine, settings) -> None:  # type: ignore[no-untyped-def]
    """Two evaluations started together (a worker's and the CLI's): both finish, each flag is opened
    once and has one opening line in the audit log."""
    db = DB(pg_engine)
    ids = [_moving(db, f"YT20000000000{i:02d}", "【上海】收件人拒收") for i in range(40)]
    results, errors = [], []

    def run() -> None:
        try:
            results.append(evaluate_all(pg_engine, now=NOW, settings=settings))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(sum(r.opened.values()) for r in results) == [0, len(ids)]
    with pg_engine.connect() as conn:
        flags = conn.execute(select(FLAG.c.id, FLAG.c.kind)).all()
        lines = conn.execute(select(AUDIT.c.entity_id).where(AUDIT.c.entity == "flag")).scalars().all()
    assert {k for _, k in flags} == {"refused"} and len(flags) == len(ids)
    assert lines == []  # each opening is its flag's row (tracker/flags/history.py), once


def test_audit_json_keeps_quotes_backslashes_unicode_and_nulls(engine) -> None:  # type: ignore[no-untyped-def]
    """json_object as the evaluation writes audit lines with it (INSERT ... SELECT), read back."""
    value = 'a "quoted" \\ back\tslash, 中文 %s'
    detail = json_object(
        "kind",
        literal(value, String),
        "level",
        literal(7, Integer),
        "none",
        literal(None, String),
        'key "q" %',
        literal(None, Integer),
    )
    line = select(literal(NOW, AUDIT.c.at.type), literal("rules"), literal("test"), literal("flag"), detail)
    with engine.begin() as conn:
        conn.execute(AUDIT.insert().from_select(["at", "actor", "action", "entity", "detail"], line))
        got = conn.execute(select(AUDIT.c.detail).where(AUDIT.c.action == "test")).scalar_one()
    assert got == {"kind": value, "level": 7, "none": None, 'key "q" %': None}


@pytest.mark.postgres
def test_postgresql_text_scan_can_use_its_partial_indexes(pg_engine, settings) -> None:  # type: ignore[no-untyped-def]
    """The statements carry the indexes' predicates as literals: a generic plan proves them too."""
    ctx = rulesql.Context(now=NOW, config=settings.rules)
    by_text, longer = candidates.text_hits_all(ctx, indexed_text_bytes=OPEN_TEXT_INDEX_BYTES)
    with pg_engine.connect() as conn:
        conn.execute(text("SET enable_seqscan = off"))

        def plan(stmt) -> str:  # type: ignore[no-untyped-def]
            sql = str(stmt.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
            return "\n".join(r[0] for r in conn.execute(text(f"EXPLAIN {sql}")))

        assert "ix_parcel_open_short_text" in plan(by_text)
        assert "ix_parcel_open_long_text" in plan(longer)


def test_person_resolved_flags_are_read_through_their_index(engine) -> None:  # type: ignore[no-untyped-def]
    """The evaluation's "seen clear" pass reads ix_flag_resolved_by_person (SQLite and PostgreSQL), and the
    predicate it shares with the index names the same actor and anchor as the evaluation."""
    assert f"'{RULES_ACTOR}'" in PERSON_RESOLVED_UNCLEARED and f"<> {CLEARED}" in PERSON_RESOLVED_UNCLEARED
    sql = f"SELECT id FROM flag WHERE {PERSON_RESOLVED_UNCLEARED}"
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            plan = " ".join(str(r[-1]) for r in conn.execute(text(f"EXPLAIN QUERY PLAN {sql}")))
        else:
            conn.execute(text("SET enable_seqscan = off"))
            plan = " ".join(r[0] for r in conn.execute(text(f"EXPLAIN {sql}")))
    assert "ix_flag_resolved_by_person" in plan


@pytest.mark.sqlite_only
def test_a_write_committed_during_a_sqlite_evaluation_waits_for_it(sqlite_db, settings) -> None:  # type: ignore[no-untyped-def]
    """A poller's commit while the evaluation reads used to make the evaluation's first write fail
    (its snapshot was stale); the evaluation now takes the write lock first and the other writer waits."""
    refused = _moving(sqlite_db, "YT1000000000041", "【上海】收件人拒收")
    other = _moving(sqlite_db, "YT1000000000042", "【上海】已发出")
    engine = sqlite_db.engine
    writer = make_engine(str(engine.url))
    done: list[bool] = []

    def poller_commit() -> None:
        with writer.begin() as conn:
            conn.execute(PARCEL.update().where(PARCEL.c.id == other).values(status_text="【上海】派送中"))
        done.append(True)

    thread = threading.Thread(target=poller_commit)

    @event.listens_for(engine, "before_cursor_execute")
    def mid_evaluation(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        if statement.startswith("INSERT INTO _rule_desired") and not thread.is_alive() and not done:
            thread.start()
            thread.join(timeout=1.0)  # without the lock held, the commit lands here, mid-evaluation

    summary = evaluate_all(engine, now=NOW, settings=settings)
    thread.join(timeout=15)
    event.remove(engine, "before_cursor_execute", mid_evaluation)
    assert summary.opened["refused"] == 1 and "refused" in _kinds(engine, refused)
    assert done == [True]
    with engine.connect() as conn:
        assert conn.execute(select(PARCEL.c.status_text).where(PARCEL.c.id == other)).scalar_one() == "【上海】派送中"
    writer.dispose()


@pytest.mark.postgres
def test_a_text_written_while_an_evaluation_takes_the_marks_is_read_after_its_commit(pg_engine, settings) -> None:  # type: ignore[no-untyped-def]
    """A parcel already marked for the kept text scan (tracker/flags/text_hits.py) whose text a writer changes
    again in a transaction still open: the evaluation taking the marks waits for that commit and reads the
    new text (the trigger locks the mark), instead of taking the mark and reading the old text."""
    db = DB(pg_engine)
    parcel = _moving(db, "YT3000000000001", "【上海】已发出")
    evaluate_all(pg_engine, now=NOW, settings=settings)  # every text read, the fingerprint kept
    db.set(parcel, status_text="【上海】派送中")  # committed: the parcel is marked
    writer = pg_engine.connect()
    writing = writer.begin()
    writer.execute(PARCEL.update().where(PARCEL.c.id == parcel).values(status_text="【上海】收件人拒收"))
    results: list[object] = []
    thread = threading.Thread(target=lambda: results.append(evaluate_all(pg_engine, now=NOW, settings=settings)))
    thread.start()
    thread.join(timeout=1.5)
    assert thread.is_alive()  # waiting for the writer's lock on the mark
    writing.commit()
    writer.close()
    thread.join(timeout=30)
    assert len(results) == 1 and "refused" in _kinds(pg_engine, parcel)


def _flag_schema(engine: Engine) -> list[tuple[str, str]]:
    """The flag table's indexes and constraints as the catalog spells them, in a total order (the primary key is
    both an index and a constraint of one name)."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'flag'"
                " UNION ALL SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
                " WHERE conrelid = 'flag'::regclass ORDER BY 1, 2"
            )
        ).all()
    return [(str(a), str(b)) for a, b in rows]


def _evaluate_seeing(engine: Engine, settings, at: datetime) -> tuple[Any, list[str]]:  # type: ignore[no-untyped-def]
    """evaluate_all at `at`, and the statements it sent."""
    statements: list[str] = []

    def seen(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        return evaluate_all(engine, now=at, settings=settings), statements
    finally:
        event.remove(engine, "before_cursor_execute", seen)


def _rebuilt(statements: list[str]) -> bool:
    return any(s.startswith("DROP INDEX") and "ix_flag_unresolved_parcel_kind" in s for s in statements)


def _dropped(statements: list[str]) -> set[str]:
    """The indexes the DROP INDEX statements sent name (quoted or not, with or without their schema)."""
    return {s.split()[-1].split(".")[-1].strip('"') for s in statements if s.startswith("DROP INDEX")}


def _entering_kept(engine: Engine) -> dict[str, int]:
    """For each index a large opening keeps, the flags its predicate takes in (as its dialect states it)."""
    dialect = engine.dialect.name
    counts = {}
    with engine.connect() as conn:
        for index in FLAG.indexes:
            if index.name in FLAG_INDEXES_NO_OPENING_ENTERS:
                predicate = index.dialect_options[dialect]["where"]
                counts[index.name] = conn.execute(select(func.count()).select_from(FLAG).where(predicate)).scalar_one()
    return counts


def _sqlite_flag_schema(engine: Engine) -> list[tuple[str, str, str]]:
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT type, name, coalesce(sql, '') FROM sqlite_master WHERE tbl_name = 'flag' ORDER BY type, name"
        ).all()
    return [(str(a), str(b), str(c)) for a, b, c in rows]


@pytest.mark.sqlite_only
def test_sqlite_a_large_opening_builds_the_flag_indexes_after_the_rows(sqlite_db, settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """SQLite: an evaluation that opens more flags than the table holds (at least BULK_MIN_FLAGS) drops the
    flag table's secondary indexes and builds them again from their own definitions after the INSERT (the
    unique key's own index stays): the schema after is the schema before, the flags are the ones the rules
    raise, and a reader in the middle of it reads the flags as they were, through the indexes it knew."""
    from tracker.flags import bulk

    db = sqlite_db
    first = _refused(db, "YT250000000", 12)
    plain = _moving(db, "YT2500000000999", "【上海】已发出")
    before = _sqlite_flag_schema(db.engine)
    assert sum(1 for kind, _, _ in before if kind == "index") >= 8
    monkeypatch.setattr(bulk, "BULK_MIN_FLAGS", 10)
    reader = make_engine(str(db.engine.url))
    seen: list[int] = []

    @event.listens_for(db.engine, "before_cursor_execute")
    def mid_opening(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        if statement.startswith("INSERT INTO flag") and not seen:  # the indexes are dropped by now
            with reader.connect() as other:
                seen.append(
                    other.execute(select(func.count()).select_from(FLAG).where(FLAG.c.state == "open")).scalar_one()
                )

    try:
        summary, statements = _evaluate_seeing(db.engine, settings, NOW)
    finally:
        event.remove(db.engine, "before_cursor_execute", mid_opening)
        reader.dispose()
    assert seen == [0]
    assert summary.opened["refused"] == 12 and _rebuilt(statements)
    # the partial indexes no opened flag enters are kept as they are, not built again; none of the 12 is in them
    assert _dropped(statements) == {i.name for i in FLAG.indexes} - FLAG_INDEXES_NO_OPENING_ENTERS
    assert _entering_kept(db.engine) == dict.fromkeys(FLAG_INDEXES_NO_OPENING_ENTERS, 0)
    assert _sqlite_flag_schema(db.engine) == before
    assert all(_kinds(db.engine, p) == {"refused"} for p in first) and _kinds(db.engine, plain) == set()
    # 11: at least BULK_MIN_FLAGS, but no more than the 12 the table holds: the indexes are kept
    second = _refused(db, "YT260000000", 11)
    summary, statements = _evaluate_seeing(db.engine, settings, NOW + timedelta(minutes=10))
    assert summary.opened["refused"] == 11 and not _rebuilt(statements)
    assert all(_kinds(db.engine, p) == {"refused"} for p in second)
    assert _sqlite_flag_schema(db.engine) == before


def _refused(db: DB, prefix: str, n: int) -> list[int]:
    return [_moving(db, f"{prefix}{i:03d}", "【上海】收件人拒收") for i in range(n)]


@pytest.mark.postgres
def test_a_large_opening_builds_the_flag_indexes_after_the_rows(pg_engine, settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """PostgreSQL: an evaluation that opens more flags than the table holds (at least BULK_MIN_FLAGS) drops
    the flag table's secondary indexes and unique key and builds them again after the INSERT: the schema
    after is the schema before and the flags are the ones the rules raise. Fewer than BULK_MIN_FLAGS, or no
    more than the table holds, keep the indexes."""
    from tracker.flags import bulk

    db = DB(pg_engine)
    first = _refused(db, "YT200000000", 12)
    plain = _moving(db, "YT2000000000999", "【上海】已发出")
    before = _flag_schema(pg_engine)
    assert any(name == "uq_flag_parcel_kind" for name, _ in before)
    monkeypatch.setattr(bulk, "BULK_MIN_FLAGS", 10)
    summary, statements = _evaluate_seeing(pg_engine, settings, NOW)  # a table never analyzed: counted
    assert summary.opened["refused"] == 12
    assert _rebuilt(statements) and any("ADD CONSTRAINT uq_flag_parcel_kind" in s for s in statements)
    assert _dropped(statements) == {i.name for i in FLAG.indexes} - FLAG_INDEXES_NO_OPENING_ENTERS
    assert _entering_kept(pg_engine) == dict.fromkeys(FLAG_INDEXES_NO_OPENING_ENTERS, 0)
    assert _flag_schema(pg_engine) == before
    assert all(_kinds(pg_engine, p) == {"refused"} for p in first) and _kinds(pg_engine, plain) == set()
    # one flag: fewer than BULK_MIN_FLAGS
    db.set(plain, status_text="【上海】收件人拒收")
    summary, statements = _evaluate_seeing(pg_engine, settings, NOW + timedelta(minutes=5))
    assert summary.opened["refused"] == 1 and not _rebuilt(statements)
    # 11: at least BULK_MIN_FLAGS, but no more than the 12 the table held when its indexes were built
    second = _refused(db, "YT210000000", 11)
    summary, statements = _evaluate_seeing(pg_engine, settings, NOW + timedelta(minutes=10))
    assert summary.opened["refused"] == 11 and not _rebuilt(statements)
    assert all(_kinds(pg_engine, p) == {"refused"} for p in second)
    assert _flag_schema(pg_engine) == before


@pytest.mark.postgres
def test_a_large_opening_never_waits_for_the_flag_tables_lock(pg_engine, settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """While another transaction holds a lock on the flag table (a board's read in progress, a person's
    change), the evaluation does not wait for the table's exclusive lock: it opens its flags with the indexes
    kept, and the other transaction goes on."""
    from tracker.flags import bulk

    db = DB(pg_engine)
    parcels = _refused(db, "YT220000000", 12)
    monkeypatch.setattr(bulk, "BULK_MIN_FLAGS", 10)
    with pg_engine.connect() as reader:
        reader.execute(text("SELECT count(*) FROM flag")).scalar_one()  # its transaction stays open
        summary, statements = _evaluate_seeing(pg_engine, settings, NOW)
        assert summary.opened["refused"] == 12 and not _rebuilt(statements)
        assert any("NOWAIT" in s for s in statements)
        # the reader's transaction goes on (read committed: it sees the flags committed meanwhile)
        assert reader.execute(text("SELECT count(*) FROM flag")).scalar_one() == 12
        reader.rollback()
    assert all(_kinds(pg_engine, p) == {"refused"} for p in parcels)


@pytest.mark.postgres
def test_a_scorecard_refresh_during_a_large_opening_waits_and_finishes(pg_engine, settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The board's scorecard refresh starting while the evaluation holds the flag table: it waits for the
    evaluation and then both finish (the evaluation marks the scorecards' hours before it locks the table:
    marking them after, it deadlocked with the refresh, which deletes those hours and then reads flags)."""
    from tracker.flags import bulk
    from tracker.storage import scorecard_days

    db = DB(pg_engine)
    for i in range(12):
        db.parcel(
            created=T0,
            waybill=f"YT230000000{i:03d}",
            shipped_at=T0,
            status="in_transit",
            status_text="【上海】收件人拒收",
            first_scan_at=T0,
            last_event_at=T0,
        )
    monkeypatch.setattr(bulk, "BULK_MIN_FLAGS", 10)
    outcome: dict[str, object] = {}

    def board() -> None:
        try:
            with pg_engine.begin() as conn:
                outcome["days"] = scorecard_days.refresh(conn, settings.timezone)
        except Exception as exc:  # reported below
            outcome["error"] = exc

    summary, waited = evaluate_meeting(pg_engine, settings, NOW, board, at=lambda s: s.startswith("INSERT INTO flag"))
    assert waited  # the refresh met the evaluation's lock
    assert summary.opened["refused"] == 12
    assert "error" not in outcome, outcome.get("error")
    assert "days" in outcome


@pytest.mark.postgres
def test_a_flag_index_with_a_comment_is_kept(pg_engine, settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """An index the catalog's definition would not build again as it is (here: one with a comment) keeps the
    table's indexes as they are."""
    from tracker.flags import bulk

    db = DB(pg_engine)
    _refused(db, "YT240000000", 12)
    with pg_engine.begin() as conn:
        conn.execute(text("COMMENT ON INDEX ix_flag_opened_at IS 'exceptions per day'"))
    monkeypatch.setattr(bulk, "BULK_MIN_FLAGS", 10)
    summary, statements = _evaluate_seeing(pg_engine, settings, NOW)
    assert summary.opened["refused"] == 12 and not _rebuilt(statements)
    with pg_engine.connect() as conn:
        kept = conn.execute(text("SELECT obj_description('ix_flag_opened_at'::regclass)")).scalar_one()
    assert kept == "exceptions per day"


@pytest.mark.postgres
def test_a_duplicate_written_without_the_unique_key_fails_its_rebuild(pg_engine, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The unique key built again refuses what the kept one would have: the transaction rolls back, the
    indexes and the rows as they were."""
    from tracker.flags import bulk

    db = DB(pg_engine)
    parcel = _moving(db, "YT2000000000100", "【上海】已发出")
    before = _flag_schema(pg_engine)
    row = _flag_row(parcel)
    monkeypatch.setattr(bulk, "BULK_MIN_FLAGS", 1)
    with pytest.raises(IntegrityError, match="could not create unique index"), pg_engine.begin() as conn:
        with bulk.indexes_built_after(conn, "flag", 2) as rebuilt:
            assert rebuilt
            conn.execute(FLAG.insert(), [row, row])
    assert _flag_schema(pg_engine) == before
    with pg_engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(FLAG)).scalar_one() == 0


@pytest.mark.postgres
def test_a_role_that_does_not_own_the_flag_table_keeps_its_indexes(pg_engine, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A database role granted only reading and writing (not the table's owner, so not allowed to drop its
    indexes) opens its flags with the indexes kept, instead of failing the evaluation."""
    from tracker.flags import bulk

    role = "tracker_dml_only"
    with pg_engine.begin() as conn:
        conn.execute(text(f"DROP ROLE IF EXISTS {role}"))
        conn.execute(text(f"CREATE ROLE {role} LOGIN"))
        conn.execute(text(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}"))
        conn.execute(text(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {role}"))
    limited = make_engine(pg_engine.url.set(username=role).render_as_string(hide_password=False))
    monkeypatch.setattr(bulk, "BULK_MIN_FLAGS", 1)
    try:
        with limited.begin() as conn, bulk.indexes_built_after(conn, "flag", 5) as rebuilt:
            assert not rebuilt
    finally:
        limited.dispose()
        with pg_engine.begin() as conn:
            conn.execute(text(f"DROP OWNED BY {role}"))
            conn.execute(text(f"DROP ROLE {role}"))


@pytest.mark.sqlite_only
def test_sqlite_flag_indexes_built_again_keep_their_statistics(sqlite_db, settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """An operator's ANALYZE left statistics for the flag indexes: dropping an index drops its sqlite_stat1 row,
    so the rebuild puts them back as they were (the planner would weigh unmeasured indexes by its defaults)."""
    from tracker.flags import bulk

    db = sqlite_db
    _refused(db, "YT270000000", 3)
    evaluate_all(db.engine, now=NOW, settings=settings)  # three flags, the indexes kept (fewer than 10)
    with db.engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")

    def stats() -> list[tuple[str, str, str]]:
        with db.engine.connect() as conn:
            rows = conn.exec_driver_sql("SELECT tbl, idx, stat FROM sqlite_stat1 WHERE tbl = 'flag' ORDER BY idx")
            return [(str(a), str(b), str(c)) for a, b, c in rows]

    before = stats()
    assert any(idx == "ix_flag_unresolved_parcel_kind" for _, idx, _ in before)
    _refused(db, "YT280000000", 12)
    monkeypatch.setattr(bulk, "BULK_MIN_FLAGS", 10)
    summary, statements = _evaluate_seeing(db.engine, settings, NOW + timedelta(minutes=5))
    assert summary.opened["refused"] == 12 and _rebuilt(statements)
    assert stats() == before


@pytest.mark.sqlite_only
def test_sqlite_the_evaluating_connection_plans_with_the_statistics_put_back(sqlite_db, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The connection that built the indexes again plans as a new one does: it reads the statistics put back,
    not the planner's defaults (measured statistics that make another index than the defaults' the better one)."""
    from tracker.flags import bulk

    engine = sqlite_db.engine
    with engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")
        conn.exec_driver_sql("DELETE FROM sqlite_stat1 WHERE tbl = 'flag'")
        conn.exec_driver_sql(
            "INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES ('flag', 'ix_flag_opened_at', '1000000 500000'), "
            "('flag', 'ix_flag_unresolved_kind_courier', '1000000 2 1'), ('flag', NULL, '1000000')"
        )
    engine.dispose()  # every connection reads them
    query = (
        "EXPLAIN QUERY PLAN SELECT id FROM flag WHERE opened_at = '2026-11-20 04:00:00.000000' "
        "AND kind = 'refused' AND courier = 'yto' AND state != 'resolved'"
    )

    def plan(conn) -> str:  # type: ignore[no-untyped-def]
        return " ".join(str(row[-1]) for row in conn.exec_driver_sql(query))

    with engine.connect() as fresh:
        measured = plan(fresh)
    assert "ix_flag_unresolved_kind_courier" in measured  # the defaults take ix_flag_opened_at
    monkeypatch.setattr(bulk, "BULK_MIN_FLAGS", 1)
    with engine.connect() as conn:
        with conn.begin():
            with bulk.indexes_built_after(conn, "flag", 5) as rebuilt:
                assert rebuilt
            assert plan(conn) == measured
        assert plan(conn) == measured
