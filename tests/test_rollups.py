"""The board's rollups (tracker/storage/rollups.py, tracker/storage/scorecard_days.py) equal the queries they
replace, after an import, an ingest, an evaluation, a person's change to a flag and a re-import, on SQLite
and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import Engine, select

from dashboard import data
from dashboard.data import QueueFilter
from tracker.domain import ParcelFacts, TrackingEvent
from tracker.flags import evaluate_all, lifecycle
from tracker.ingest import ingest
from tracker.providers.base import ParsedWaybill
from tracker.settings import Settings
from tracker.status import TrackingStatus as S
from tracker.storage import rollups, scorecard_days
from tracker.storage.repo import upsert_parcels
from tracker.storage.tables import CLAIM, FLAG, PARCEL, ROLLUP_STATE

T0 = datetime(2026, 11, 10, 1, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 18, 4, 0, tzinfo=UTC)
# scorecard periods: whole Shanghai days (16:00 UTC), hours around them, no whole day, an empty one
PERIODS = (
    (datetime(2026, 11, 1, 16, tzinfo=UTC), datetime(2026, 11, 30, 16, tzinfo=UTC)),
    (T0 - timedelta(days=3, minutes=7), NOW + timedelta(minutes=1)),
    (T0 + timedelta(minutes=30), T0 + timedelta(hours=5)),
    (T0 - timedelta(days=40), T0 - timedelta(days=30)),
)


def _facts(waybill: str, courier: str, shop: str | None, province: str | None, shipped: datetime) -> ParcelFacts:
    return ParcelFacts(courier=courier, waybill=waybill, shop=shop, province=province, shipped_at=shipped)


def _events(waybill: str, courier: str, *hours: int) -> ParsedWaybill:
    events = tuple(
        TrackingEvent(T0 + timedelta(hours=h), S.in_transit, "1002", f"【杭州转运中心】已发出 {h}", "浙江,杭州市")
        for h in hours
    )
    return ParsedWaybill("kuaidi100", waybill, "yuantong", courier, events, None)


def _delivered(waybill: str, courier: str, hour: int) -> ParsedWaybill:
    event = TrackingEvent(T0 + timedelta(hours=hour), S.delivered, "3", "【杭州市】已签收，签收人：本人", "浙江,杭州市")
    return ParsedWaybill("kuaidi100", waybill, "yuantong", courier, (event,), None)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _same_as_direct(engine: Engine, *, now: datetime) -> None:
    """Each rollup against the direct query over parcels and flags."""
    with engine.connect() as conn:
        parcels = [dict(r) for r in conn.execute(select(PARCEL)).mappings()]
        flags = [dict(r) for r in conn.execute(select(FLAG)).mappings()]
    for name in rollups.CHOICE_FIELDS:  # the filters offer exactly the values the parcels have
        assert data.distinct_values(engine, name) == sorted({p[name] for p in parcels if p[name]})
    last = {p["id"]: _aware(p["last_event_at"] or p["shipped_at"] or p["created_at"]) for p in parcels}
    assert {f["id"]: _aware(f["last_update"]) for f in flags} == {f["id"]: last[f["parcel_id"]] for f in flags}
    unresolved = [f for f in flags if f["state"] != "resolved"]
    edges = [*data.AGE_BUCKETS[1:], None]
    expected = []
    for h, below in zip(data.AGE_BUCKETS, edges, strict=True):
        inside = [
            f
            for f in unresolved
            if last[f["parcel_id"]] <= now - timedelta(hours=h)
            and (below is None or last[f["parcel_id"]] > now - timedelta(hours=below))
        ]
        expected.append(
            {"hours": h, "below": below, "n": len(inside), "parcels": len({f["parcel_id"] for f in inside})}
        )
    assert data.ageing(engine, now=now) == expected
    assert data.open_parcels(engine) == len({f["parcel_id"] for f in unresolved})
    for bucket in expected:  # every bar equals the list it opens
        f = QueueFilter(min_age_hours=bucket["hours"] or None, max_age_hours=bucket["below"])
        assert data.queue_count(engine, f, now=now) == bucket["n"]
    _scorecard_days_as_direct(engine)


def _scorecard_days_as_direct(engine: Engine) -> None:
    """The scorecards' days (the rollup, with the hours around them) against the parcels they sum."""
    for start, end in PERIODS:
        with engine.connect() as conn:
            direct = scorecard_days.tally(conn, start, end)
        assert scorecard_days.tallies(engine, start=start, end=end, tz="Asia/Shanghai") == direct, (start, end)


def test_rollups_follow_import_ingest_evaluation_and_people(engine: Engine, settings: Settings) -> None:
    upsert_parcels(
        engine,
        [
            _facts("ZT1000000000001", "zto", "旗舰店", "浙江省", T0),
            _facts("YT1000000000002", "yto", "专营店", "上海市", T0),
            _facts("SF1000000000003", "sf", None, None, T0 + timedelta(hours=1)),  # never scanned
            _facts("ZT1000000000004", "zto", "旗舰店", "广东省", T0),
        ],
        now=T0,
    )
    _same_as_direct(engine, now=NOW)
    ingest(engine, [_events("ZT1000000000001", "zto", 2, 5), _events("YT1000000000002", "yto", 3)], now=T0, source="t")
    _same_as_direct(engine, now=NOW)

    evaluate_all(engine, now=NOW, settings=settings)
    with engine.connect() as conn:
        opened = conn.execute(select(FLAG.c.id, FLAG.c.parcel_id).where(FLAG.c.state != "resolved")).all()
    assert len({pid for _, pid in opened}) >= 3  # stale parcels and the unscanned one: something to age
    _same_as_direct(engine, now=NOW)

    # a new scan moves a flagged parcel's last update before the next evaluation runs
    ingest(engine, [_events("ZT1000000000001", "zto", 180)], now=NOW, source="t")
    _same_as_direct(engine, now=NOW)
    ingest(engine, [_delivered("YT1000000000002", "yto", 47)], now=NOW, source="t")  # a transit time
    _same_as_direct(engine, now=NOW)

    lifecycle.acknowledge(engine, flag_id=opened[0][0], actor="lead.wang", now=NOW)
    lifecycle.resolve(engine, flag_id=opened[1][0], actor="lead.wang", now=NOW)
    _same_as_direct(engine, now=NOW)

    # a re-import with a later shipping time (the unscanned parcel's last update) and a new shop
    upsert_parcels(engine, [_facts("SF1000000000003", "sf", "海外店", "四川省", T0 + timedelta(hours=30))], now=NOW)
    _same_as_direct(engine, now=NOW)

    evaluate_all(engine, now=NOW + timedelta(hours=30), settings=settings)
    _same_as_direct(engine, now=NOW + timedelta(hours=30))


def test_rebuild_recomputes_rollups_written_around_the_tracker(engine: Engine, settings: Settings) -> None:
    upsert_parcels(engine, [_facts("ZT1000000000001", "zto", "旗舰店", "浙江省", T0)], now=T0)
    evaluate_all(engine, now=NOW, settings=settings)
    with engine.begin() as conn:  # a restore or a raw bulk load: rows the tracker did not write
        conn.execute(PARCEL.update().values(shop="二店", province=None))
        conn.execute(FLAG.update().values(last_update=None))
        rollups.rebuild(conn)
    _same_as_direct(engine, now=NOW)


def test_scorecard_days_follow_rows_written_around_the_tracker_and_a_new_zone(engine: Engine) -> None:
    """PostgreSQL's triggers mark a raw UPDATE of parcels too (SQLite's writers mark their own: a rebuild
    brings such rows in); a flag loaded around the tracker is counted after a rebuild; claims are marked by
    triggers on both; another zone rebuilds the days."""
    upsert_parcels(
        engine,
        [_facts(f"ZT10000000000{i:02d}", "zto", None, None, T0 + timedelta(hours=7 * i)) for i in range(12)],
        now=T0,
    )
    _scorecard_days_as_direct(engine)
    with engine.begin() as conn:  # a courier corrected, a parcel delivered, a shipping day moved: by hand
        conn.execute(PARCEL.update().where(PARCEL.c.waybill == "ZT1000000000001").values(courier="yto"))
        conn.execute(
            PARCEL.update().where(PARCEL.c.waybill == "ZT1000000000002").values(delivered_at=T0 + timedelta(hours=40))
        )
        conn.execute(
            PARCEL.update().where(PARCEL.c.waybill == "ZT1000000000003").values(shipped_at=T0 - timedelta(days=2))
        )
        if engine.dialect.name == "sqlite":  # no parcel triggers there (the import's speed): a rebuild
            rollups.rebuild(conn)
    _scorecard_days_as_direct(engine)
    with engine.begin() as conn:  # a flag loaded around the tracker (no flag-insert trigger), rebuilt
        conn.execute(FLAG.insert().values(
            parcel_id=select(PARCEL.c.id).where(PARCEL.c.waybill == "ZT1000000000004").scalar_subquery(),
            courier="zto", kind="stale", severity="warn", level=0, state="open", opened_at=NOW,
        ))  # fmt: skip
        rollups.rebuild(conn)
    _scorecard_days_as_direct(engine)
    assert (
        scorecard_days.tallies(engine, start=PERIODS[0][0], end=PERIODS[0][1], tz="Asia/Shanghai")["zto"].flagged == 1
    )
    # a claim drafted, filed, paid, then moved to another parcel: each marks the days it touches
    parcel = select(PARCEL.c.id).where(PARCEL.c.waybill == "ZT1000000000005").scalar_subquery()
    with engine.begin() as conn:
        conn.execute(CLAIM.insert().values(
            parcel_id=parcel, courier="zto", claim_type="loss", state="draft", amount=Decimal("128.00"), formula="",
            table_version="test", filing_closes_at=NOW + timedelta(days=7), created_at=NOW, updated_at=NOW,
        ))  # fmt: skip
    _scorecard_days_as_direct(engine)
    for values in (
        {"state": "filed", "filed_at": NOW},
        {"state": "paid", "paid_amount": Decimal("99.50")},
        {"parcel_id": select(PARCEL.c.id).where(PARCEL.c.waybill == "ZT1000000000009").scalar_subquery()},
    ):
        with engine.begin() as conn:
            conn.execute(CLAIM.update().values(**values))
        _scorecard_days_as_direct(engine)
    cards = scorecard_days.tallies(engine, start=PERIODS[0][0], end=PERIODS[0][1], tz="Asia/Shanghai")
    assert (cards["zto"].claims_filed, cards["zto"].recovered) == (1, Decimal("99.50"))
    # India's half-hour offset: its midnights are not UTC hours, the days are rebuilt in that zone
    start, end = datetime(2026, 11, 9, 18, 30, tzinfo=UTC), datetime(2026, 11, 12, 18, 30, tzinfo=UTC)
    with engine.connect() as conn:
        direct = scorecard_days.tally(conn, start, end)
    assert scorecard_days.tallies(engine, start=start, end=end, tz="Asia/Kolkata") == direct
    with engine.connect() as conn:
        assert conn.execute(select(ROLLUP_STATE.c.value)).scalar() == "Asia/Kolkata"
        assert set(conn.execute(select(scorecard_days.SCORECARD_DAY.c.day)).scalars()) >= {"2026-11-10", "2026-11-11"}


def test_the_evaluation_after_a_poll_cycle_leaves_the_scorecards_days_ready(engine: Engine, settings: Settings) -> None:
    """The board's read finds nothing to recompute after the rules ran (tracker.poller.evaluate_rules)."""
    from tracker.poller import evaluate_rules

    upsert_parcels(engine, [_facts("ZT1000000000001", "zto", None, None, T0)], now=T0)
    with engine.connect() as conn:
        assert scorecard_days.stale(conn, settings.timezone)  # an import marked its hour
    assert evaluate_rules(engine, settings, now=NOW, parcel_ids=[]) is True
    with engine.connect() as conn:
        assert not scorecard_days.stale(conn, settings.timezone)
        assert conn.execute(select(scorecard_days.SCORECARD_DAY.c.parcels)).scalars().all() == [1]


def test_a_writer_marks_the_same_shipping_hours_as_the_triggers(engine: Engine) -> None:
    """scorecard_days.mark_shipping (the evaluation's opened flags) writes each hour as migration 0016's
    triggers do (the parcel insert's), on SQLite and PostgreSQL."""
    dirty = scorecard_days.SCORECARD_DIRTY
    shipped = [T0 + timedelta(minutes=59, seconds=59), T0 + timedelta(minutes=5), T0 + timedelta(hours=22, minutes=58)]
    upsert_parcels(engine, [_facts(f"ZT20000000000{i}", "zto", None, None, at) for i, at in enumerate(shipped)], now=T0)
    with engine.begin() as conn:
        by_trigger = set(conn.execute(select(dirty.c.hour)).scalars())
        conn.execute(dirty.delete())
        scorecard_days.mark_shipping(conn, select(PARCEL.c.shipped_at))
        marked = conn.execute(select(dirty.c.hour).order_by(dirty.c.hour)).scalars().all()
    assert marked == ["2026-11-10 01", "2026-11-10 23"]
    assert set(marked) == by_trigger
