"""The board's reads as plain functions over an engine, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from claims.money import claimable
from dashboard import data
from dashboard.data import QueueFilter
from tests.dashboard.seed import seed, seed_ageing
from tracker.settings import PROJECT_ROOT, RuleOverride, RulesConfig, WarnEscalate, load_settings

DEFAULT_RULES = load_settings(PROJECT_ROOT / "config").rules


def rules(stale_hours: int, *overrides: RuleOverride) -> RulesConfig:
    """The project's rules with this stale threshold (escalating a day later) and these overrides."""
    stale = WarnEscalate(warn_hours=stale_hours, escalate_hours=stale_hours + 24)
    return DEFAULT_RULES.model_copy(update={"stale": stale, "overrides": list(overrides)})


@pytest.fixture
def seeded(engine, now):
    return engine, seed(engine, now)


def test_open_exceptions_grouped_by_kind_and_courier(seeded):
    engine, _ = seeded
    assert {r["kind"]: r["n"] for r in data.open_by(engine, "kind")} == {"stale": 1, "refused": 1, "no_first_scan": 1}
    assert data.open_by(engine, "courier") == [{"courier": "sf", "n": 2}, {"courier": "zto", "n": 1}]


def test_ageing_buckets_by_hours_since_last_update(seeded, now):
    engine, _ = seeded
    # SF1001: last event 90 h ago; ZTO2002: 5 h; SF1004: never scanned, shipped 80 h ago
    assert {r["hours"]: r["n"] for r in data.ageing(engine, now=now)} == {0: 1, 24: 0, 48: 0, 72: 2, 96: 0, 168: 0}
    assert [r["below"] for r in data.ageing(engine, now=now)] == [24, 48, 72, 96, 168, None]


def test_ageing_counts_flags_and_says_how_many_parcels_they_are_on(seeded, now):
    engine, _ = seeded
    seed_ageing(engine, now)
    got = {r["hours"]: (r["n"], r["parcels"]) for r in data.ageing(engine, now=now)}
    # flags (parcels): 0-24 ZTO2002, EMS01 | 24-48 EMS02 x2, ZTO13 (no event, shipped 30 h ago) | 48-72 EMS03 (on
    # the edge) | 72-96 SF1001, SF1004, EMS04 x2 | 96-168 EMS05, ZTO11 | >=168 EMS06 x2, ZTO12 x2; EMS07: resolved
    assert got == {0: (2, 2), 24: (3, 2), 48: (1, 1), 72: (4, 3), 96: (2, 2), 168: (4, 2)}
    assert data.open_parcels(engine) == 12
    for r in data.ageing(engine, now=now):  # each bucket is exactly the queue between its edges
        f = QueueFilter(min_age_hours=r["hours"] or None, max_age_hours=r["below"])
        assert data.queue_count(engine, f, now=now) == r["n"]


def test_stale_soon_counts_parcels_crossing_the_threshold_within_a_day(seeded, now):
    engine, _ = seeded
    assert data.stale_soon(engine, now=now, rules=rules(100)) == [{"courier": "sf", "n": 1}]  # 90 h, crosses at 100
    assert data.stale_soon(engine, now=now, rules=rules(72)) == []  # already past


def test_claimable_money_and_deadlines(seeded, now):
    engine, _ = seeded
    assert data.claimable(engine, now=now) == {"amount": Decimal("199.00"), "count": 1}
    seed_ageing(engine, now)  # adds a draft whose filing window closed yesterday: not claimable
    assert data.claimable(engine, now=now) == {"amount": Decimal("199.00"), "count": 1}
    assert claimable(engine, now=now).amount == Decimal("199.00")
    assert [d["waybill"] for d in data.deadlines(engine, now=now, tz="Asia/Shanghai", days=3)] == ["SF1001"]
    assert data.deadlines(engine, now=now, tz="Asia/Shanghai", days=1) == []
    # the soonest deadline under the claimable money is one of the claims it counts: a claim missing an input,
    # closing sooner, is still to file but not claimable
    from sqlalchemy import update

    from tracker.storage.tables import CLAIM

    assert [d["waybill"] for d in data.deadlines(engine, now=now, tz="Asia/Shanghai", claimable=True)] == ["SF1001"]
    with engine.begin() as conn:
        conn.execute(update(CLAIM).where(CLAIM.c.amount.is_not(None)).values(amount=None, state="needs_config"))
    assert [d["waybill"] for d in data.deadlines(engine, now=now, tz="Asia/Shanghai", days=3)] == ["SF1001"]
    assert data.deadlines(engine, now=now, tz="Asia/Shanghai", claimable=True) == []


def test_alerts_today_counts_sent_and_failed_since_local_midnight(seeded, now):
    engine, _ = seeded
    midnight = now.replace(hour=16) - timedelta(days=1)  # 00:00 Asia/Shanghai
    assert data.alerts_today(engine, day_start=midnight) == {"sent": 1, "failed": 1}
    assert data.alerts_today(engine, day_start=now) == {"sent": 0, "failed": 0}


def test_queue_pages_and_counts_in_sql(seeded, now):
    engine, _ = seeded
    f = QueueFilter()
    assert data.queue_count(engine, f, now=now) == 3
    first = data.queue_page(engine, f, now=now, sort="oldest", limit=2)
    second = data.queue_page(engine, f, now=now, sort="oldest", limit=2, offset=2)
    assert [r["waybill"] for r in first + second] == ["SF1001", "SF1004", "ZTO2002"]
    assert data.queue_count(engine, QueueFilter(courier="sf", min_age_hours=72), now=now) == 2


def test_queue_filter_round_trips_through_query_params():
    f = QueueFilter(kind="stale", min_age_hours=48, assignee="-")
    assert QueueFilter.from_params({**f.params(), "unknown": "x"}) == f


def test_parcel_detail_has_timeline_flags_claims_alerts_and_audit(seeded):
    engine, ids = seeded
    found = data.find_parcels(engine, "o-1001") or data.find_parcels(engine, "sf1001")
    detail = data.parcel_detail(engine, found[0]["id"])
    assert [e["text"] for e in detail["events"]] == ["【杭州转运中心】已发出", "【杭州】快件已揽收"]
    assert [f["kind"] for f in detail["flags"]] == ["stale"]
    assert [c["claim_type"] for c in detail["claims"]] == ["loss"]
    assert [a["state"] for a in detail["alerts"]] == ["failed"]
    assert [(a["actor"], a["action"]) for a in detail["audit"]] == [("rules", "flag.open")]
    assert data.parcel_detail(engine, 999_999) is None


def test_parcel_detail_reads_a_claims_state_as_the_ledger_does(seeded, now):
    """A draft whose filing window has closed is expired on the parcel page as in the ledger (it said 草稿)."""
    engine, _ = seeded
    [parcel] = data.find_parcels(engine, "sf1001")
    assert [c["state"] for c in data.parcel_detail(engine, parcel["id"], now)["claims"]] == ["draft"]
    later = now + timedelta(days=3)  # the loss claim's window closed a day before
    assert [c["state"] for c in data.parcel_detail(engine, parcel["id"], later)["claims"]] == ["expired"]


def test_claims_ledger_and_reconciliation(seeded):
    engine, _ = seeded
    assert data.claims_count(engine) == 2
    assert [c["waybill"] for c in data.claims_page(engine, state="draft")] == ["SF1001"]
    assert data.reconciliation(engine)[0]["courier"] == "yto"


def test_scorecards_rates_and_median_transit(seeded, now):
    engine, _ = seeded
    cards = {
        c["courier"]: c
        for c in data.scorecards(
            engine, start=now - timedelta(days=30), end=now, rules=rules(72), now=now, tz="Asia/Shanghai"
        )
    }
    assert cards["sf"]["parcels"] == 2
    assert cards["sf"]["exception_rate"] == 1.0  # both SF parcels have an exception
    assert cards["sf"]["kind_rates"] == {"stale": 0.5, "no_first_scan": 0.5}
    assert cards["sf"]["stale_rate"] == 0.5  # SF1001: open, last event 90 h ago
    assert cards["yto"]["median_transit_hours"] == 50.0  # shipped 70 h ago, delivered 20 h ago
    assert cards["sf"]["median_transit_hours"] is None


@pytest.mark.parametrize(
    ("counts", "median"),
    [
        ([], None),
        ([(5.0, 1)], 5.0),
        ([(1.0, 1), (3.0, 1)], 2.0),
        ([(1.0, 2), (9.0, 1)], 1.0),
        ([(4.0, 1), (2.0, 3)], 2.0),
    ],
)
def test_median_of_histogram(counts, median):
    assert data.median_of_histogram(counts) == median


def test_alerts_log_newest_first(seeded):
    engine, _ = seeded
    assert data.alerts_count(engine, state="failed") == 1
    assert [a["waybill"] for a in data.alerts_page(engine)] == ["SF1001", "ZTO2002"]


def test_scorecard_exception_rate_counts_parcels_not_flags(seeded, now):
    """Issue 15: the rate was flags per parcel (EMS 88.6% where 45.5% of its parcels had any flag)."""
    engine, _ = seeded
    seed_ageing(engine, now)
    cards = {
        c["courier"]: c
        for c in data.scorecards(
            engine, start=now - timedelta(days=30), end=now, rules=rules(72), now=now, tz="Asia/Shanghai"
        )
    }
    ems = cards["ems"]
    # 8 EMS parcels, 10 flags on 7 of them (EMS07's flag is resolved: it was an exception all the same)
    assert ems["parcels"] == 8
    assert ems["exception_rate"] == 7 / 8
    # EMS02's address problem is the buyer's, no rate of the courier's (docs/domain.md "Courier scorecards")
    assert ems["kind_rates"] == {"stale": 6 / 8, "lost_suspected": 2 / 8, "stranded": 1 / 8}


def test_turning_stale_lists_exactly_the_parcels_stale_soon_counts(seeded, now):
    engine, _ = seeded
    seed_ageing(engine, now)
    by_courier = {r["courier"]: r["n"] for r in data.stale_soon(engine, now=now, rules=rules(72))}
    assert by_courier == {"ems": 1}  # EMS03: last update 48 h ago
    assert data.turning_stale_count(engine, now=now, rules=rules(72)) == 1
    assert data.turning_stale_count(engine, now=now, rules=rules(72), courier="zto") == 0
    (row,) = data.turning_stale_page(engine, now=now, rules=rules(72), courier="ems")
    assert row["waybill"] == "EMS03"
    assert row["stale_at"] == now + timedelta(hours=24)


def test_a_parcel_with_an_order_only_event_is_not_turning_stale(seeded, now):
    """已下单，等待揽收 and nothing since: the parcel becomes no_first_scan, never stale (tracker.rules.stale), so
    the overview does not count it as turning stale."""
    from sqlalchemy import update

    from tracker.storage.tables import PARCEL

    engine, _ = seeded
    seed_ageing(engine, now)
    assert data.turning_stale_count(engine, now=now, rules=rules(72)) == 1  # EMS03
    with engine.begin() as conn:
        conn.execute(update(PARCEL).where(PARCEL.c.waybill == "EMS03").values(status="info_received"))
    assert data.turning_stale_count(engine, now=now, rules=rules(72)) == 0
    assert data.stale_soon(engine, now=now, rules=rules(72)) == []
    assert data.turning_stale_page(engine, now=now, rules=rules(72)) == []


def test_turning_stale_reads_each_parcels_own_threshold(seeded, now):
    """A rules.toml [[overrides]] stale threshold for a courier (EMS: 96 h): its parcels turn stale on it, as the
    stale rule reads them; the count, the list and each parcel's time to turn stale agree with it."""
    engine, _ = seeded
    seed_ageing(engine, now)
    ems_later = RuleOverride(courier="ems", stale=WarnEscalate(warn_hours=96, escalate_hours=120))
    with_override = rules(72, ems_later)
    # EMS03 (last update 48 h ago) crosses 72 h within a day, not 96 h; EMS04's (79 h ago) 96 h comes within a day
    got = {r["courier"]: r["n"] for r in data.stale_soon(engine, now=now, rules=with_override)}
    assert got == {"ems": 1}
    (row,) = data.turning_stale_page(engine, now=now, rules=with_override)
    assert row["waybill"] != "EMS03"
    assert row["stale_at"] == data._aware(row["last_update"]) + timedelta(hours=96)
    assert data.turning_stale_count(engine, now=now, rules=with_override, courier="ems") == 1
    # the scorecard's stale share reads the same threshold: EMS parcels 72-96 h old are not stale for it
    cards = {
        c["courier"]: c
        for c in data.scorecards(
            engine, start=now - timedelta(days=30), end=now, rules=with_override, now=now, tz="Asia/Shanghai"
        )
    }
    plain = {
        c["courier"]: c
        for c in data.scorecards(
            engine, start=now - timedelta(days=30), end=now, rules=rules(72), now=now, tz="Asia/Shanghai"
        )
    }
    assert cards["ems"]["stale"] < plain["ems"]["stale"]
    assert cards["sf"]["stale"] == plain["sf"]["stale"]


def test_a_confirmed_loss_is_neither_stale_nor_turning_stale(seeded, now):
    """A person recorded that the courier confirmed the loss: the stale rule leaves the parcel to lost_suspected,
    and so do the overview's turning-stale count and the scorecards' stale rate."""
    from tracker.flags.facts import confirm_loss

    engine, _ = seeded
    seed_ageing(engine, now)
    stale_before = _cards(engine, now)["ems"]["stale"]
    assert data.turning_stale_count(engine, now=now, rules=rules(72)) == 1  # EMS03
    confirm_loss(engine, waybill="EMS03", actor="lily", now=now)
    confirm_loss(engine, waybill="EMS04", actor="lily", now=now)  # stale (80 h)
    assert data.turning_stale_count(engine, now=now, rules=rules(72)) == 0
    assert data.stale_soon(engine, now=now, rules=rules(72)) == []
    assert _cards(engine, now)["ems"]["stale"] == stale_before - 1


def _cards(engine, now):  # type: ignore[no-untyped-def]
    found = data.scorecards(
        engine, start=now - timedelta(days=30), end=now, rules=rules(72), now=now, tz="Asia/Shanghai"
    )
    return {c["courier"]: c for c in found}


@pytest.mark.sqlite_only
def test_stale_counts_with_an_override_read_the_stale_index(engine, now):
    """With a [[overrides]] stale threshold the groups' windows are ORed: the range they all lie in is said
    too, so that the stale counts read ix_parcel_open_last_event (its predicate proved), not every open parcel."""
    from sqlalchemy import func, select, text

    from tracker.storage.tables import PARCEL

    with_override = rules(72, RuleOverride(courier="ems", stale=WarnEscalate(warn_hours=96, escalate_hours=120)))
    for within in (None, 24):
        where, _ = data._stale(now, with_override, within_hours=within)
        query = select(PARCEL.c.courier, func.count()).where(*where).group_by(PARCEL.c.courier)
        sql = str(query.compile(engine, compile_kwargs={"literal_binds": True}))
        with engine.connect() as conn:
            plan = " | ".join(str(r[-1]) for r in conn.execute(text(f"EXPLAIN QUERY PLAN {sql}")))
        assert "ix_parcel_open_last_event (last_event_at" in plan, plan


def test_the_parcels_with_open_exceptions_are_listed_once_each_with_their_kinds(seeded, now):
    """The overview's "涉及 N 个包裹" opens a list of exactly N parcels: a parcel with two unresolved flags is one
    row naming both kinds; pages split the list without a parcel twice or left out."""
    from sqlalchemy import func, select

    from tracker.storage.tables import FLAG

    engine, _ = seeded
    seed_ageing(engine, now)
    total = data.open_parcels(engine)
    rows = data.open_parcels_page(engine, limit=1000)
    assert len(rows) == total == len({r["parcel_id"] for r in rows}) > 0
    with engine.connect() as conn:
        per_parcel = dict(
            conn.execute(
                select(FLAG.c.parcel_id, func.count()).where(FLAG.c.state != "resolved").group_by(FLAG.c.parcel_id)
            ).all()
        )
    assert {r["parcel_id"]: len(r["kinds"]) for r in rows} == per_parcel
    assert any(len(r["kinds"]) > 1 for r in rows)  # the seed has parcels with two exceptions
    paged = [
        r["parcel_id"] for offset in range(0, total, 5) for r in data.open_parcels_page(engine, limit=5, offset=offset)
    ]
    assert paged == [r["parcel_id"] for r in rows]
