"""A courier scorecard's parcels, exception rate (in all and per kind) and stale share as lists of parcels: the
list each number opens holds exactly as many parcels as the number counts (they opened nothing), on SQLite and
PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, select, update

from dashboard import data
from dashboard.data import ShippedFilter
from tests.dashboard.seed import seed, seed_ageing
from tests.dashboard.test_data import rules
from tracker.domain import ParcelFacts
from tracker.storage import scorecard_days
from tracker.storage.repo import PARCEL, upsert_parcels
from tracker.storage.tables import FLAG, ROLLUP_STATE, SCORECARD_DAY

CN = ZoneInfo("Asia/Shanghai")


def _period(now: datetime) -> tuple[str, str, datetime, datetime]:
    """The scorecards' default period (the last 30 days up to today, local days) as the page passes it: the
    days for the link, the UTC bounds for data.scorecards."""
    today = now.astimezone(CN).date()
    first = today - timedelta(days=30)
    start = datetime.combine(first, datetime.min.time(), tzinfo=CN).astimezone(UTC)
    end = datetime.combine(today + timedelta(days=1), datetime.min.time(), tzinfo=CN).astimezone(UTC)
    return first.isoformat(), today.isoformat(), start, end


def test_each_scorecard_number_is_the_length_of_the_list_it_opens(engine, now):
    seed(engine, now)
    seed_ageing(engine, now)
    first, last, start, end = _period(now)
    limits = rules(72)
    cards = data.scorecards(engine, start=start, end=end, rules=limits, now=now, tz="Asia/Shanghai")
    assert cards, "the seed ships parcels in the period"

    def listed(**kw: str | None) -> tuple[int, list[dict]]:
        f = ShippedFilter(shipped_from=first, shipped_to=last, zone="Asia/Shanghai", **kw)  # type: ignore[arg-type]
        count = data.shipped_count(engine, f, now=now, rules=limits)
        rows = data.shipped_page(engine, f, now=now, rules=limits, limit=1000)
        assert len(rows) == count, kw
        return count, rows

    for card in cards:
        courier, parcels = card["courier"], card["parcels"]
        count, rows = listed(shipped="all", courier=courier)
        assert count == parcels and {r["courier"] for r in rows} == {courier}
        # the counts the rates are of (the page links them), and the rates are of those counts
        assert (
            listed(shipped="flagged", courier=courier)[0]
            == card["flagged"]
            == pytest.approx(card["exception_rate"] * parcels)
        )
        assert (
            listed(shipped="stale", courier=courier)[0] == card["stale"] == pytest.approx(card["stale_rate"] * parcels)
        )
        for kind, n in card["kinds"].items():
            count, rows = listed(shipped="flagged", courier=courier, kind=kind)
            assert count == n == pytest.approx(card["kind_rates"][kind] * parcels), (courier, kind)
            assert all(kind in r["kinds"] for r in rows)
    ems = {c["courier"]: c for c in cards}["ems"]
    assert ems["parcels"] == 8 and ems["exception_rate"] == 7 / 8  # the seed's EMS parcels (test_data)
    # a flag resolved since counts: EMS07's exception is among the flagged, its kind said
    _, rows = listed(shipped="flagged", courier="ems")
    assert "EMS07" in {r["waybill"] for r in rows}
    assert all(r["kinds"] for r in rows)


def test_the_list_takes_the_periods_local_days_whole(engine, now):
    """Both days included, on the board's clock: shipped at 23:59 on the last day is in, at midnight after is
    not, as the scorecards' days count them."""
    last_day = now.astimezone(CN).date() - timedelta(days=1)
    midnight = datetime.combine(last_day + timedelta(days=1), datetime.min.time(), tzinfo=CN)
    upsert_parcels(
        engine,
        [
            ParcelFacts(courier="jt", waybill="JT01", shipped_at=midnight - timedelta(minutes=1)),
            ParcelFacts(courier="jt", waybill="JT02", shipped_at=midnight),
            ParcelFacts(courier="jt", waybill="JT03", shipped_at=midnight - timedelta(days=3, seconds=1)),
        ],
        now=now,
    )
    day = last_day.isoformat()
    f = ShippedFilter(shipped_from=(last_day - timedelta(days=2)).isoformat(), shipped_to=day, courier="jt")
    f = ShippedFilter(**{**f.params(), "zone": "Asia/Shanghai"})
    rows = data.shipped_page(engine, f, now=now, rules=rules(72))
    assert [r["waybill"] for r in rows] == ["JT01"]
    open_end = ShippedFilter(shipped_from=day, courier="jt", zone="Asia/Shanghai")
    assert data.shipped_count(engine, open_end, now=now, rules=rules(72)) == 2


def test_the_shops_and_the_buyers_exceptions_do_not_count_against_the_courier(engine, now):
    """A late shipment (the warehouse's), a refund deadline (the shop's), a missing return waybill and a refusal
    (the buyer's) and the return after it are not the courier's exceptions: its rate, its rates by kind and the list the rate opens leave
    them out (Rule.against_courier); a courier's own exception on the same parcel counts it once. A rollup
    computed when every kind counted is recomputed on the next read."""
    shipped = now - timedelta(days=2)
    waybills = ["JT11", "JT12", "JT13", "JT14", "JT15"]
    upsert_parcels(engine, [ParcelFacts(courier="jt", waybill=w, shipped_at=shipped) for w in waybills], now=now)
    with engine.begin() as conn:
        ids = dict(conn.execute(select(PARCEL.c.waybill, PARCEL.c.id).where(PARCEL.c.waybill.in_(waybills))).all())
        flags = [
            ("JT11", "late_shipment"),
            ("JT12", "refund_deadline"),
            ("JT13", "return_no_waybill"),
            ("JT14", "late_shipment"),
            ("JT14", "stale"),  # the courier's, on a parcel the warehouse also shipped late
            ("JT15", "refused"),  # the buyer's
            ("JT15", "returning"),  # going back after the refusal: counted by its cause, not for itself
        ]
        conn.execute(
            FLAG.insert(),
            [{"parcel_id": ids[w], "courier": "jt", "kind": k, "state": "open", "opened_at": now} for w, k in flags],
        )
    first, last, start, end = _period(now)

    def card() -> dict:
        cards = data.scorecards(engine, start=start, end=end, rules=rules(72), now=now, tz="Asia/Shanghai")
        return {c["courier"]: c for c in cards}["jt"]

    jt = card()
    assert (jt["parcels"], jt["flagged"], jt["kinds"]) == (5, 1, {"stale": 1})
    f = ShippedFilter(shipped="flagged", courier="jt", shipped_from=first, shipped_to=last, zone="Asia/Shanghai")
    assert data.shipped_count(engine, f, now=now, rules=rules(72)) == 1
    assert [r["waybill"] for r in data.shipped_page(engine, f, now=now, rules=rules(72))] == ["JT14"]

    # a rollup kept before the scorecards left those kinds out: no record of the kinds it counted
    with engine.begin() as conn:
        conn.execute(delete(ROLLUP_STATE).where(ROLLUP_STATE.c.name == scorecard_days.KINDS_KEY))
        conn.execute(update(SCORECARD_DAY).where(SCORECARD_DAY.c.courier == "jt").values(flagged=4))
    assert card()["flagged"] == 1


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        ({"shipped": "everything"}, ("shipped", "param_choice")),
        ({"shipped": "all", "kind": "lost"}, ("kind", "param_not_here")),
        ({"shipped": "flagged", "kind": "misplaced"}, ("kind", "param_choice")),
        ({"shipped": "flagged", "kind": "late_shipment"}, ("kind", "param_choice")),  # not the courier's
        ({"shipped": "all", "courier": "nosuch"}, ("courier", "param_choice")),
        ({"shipped": "all", "shipped_from": "2026-02-30"}, ("shipped_from", "param_day")),
        ({"shipped": "all", "shipped_to": "9999-12-31"}, ("shipped_to", "param_day")),
        (
            {"shipped": "all", "shipped_from": "2026-11-30", "shipped_to": "2026-11-01"},
            ("shipped_to", "param_day_order"),
        ),
    ],
)
def test_a_wrong_value_is_named_and_dropped(params, problem):
    f, problems = ShippedFilter.parse(params, couriers={"sf", "ems"}, zone="Asia/Shanghai")
    assert [(p.param, p.reason) for p in problems] == [problem]
    assert f.params().get(problem[0]) != params[problem[0]]  # dropped (a wrong list: the default, all)
    assert f.zone == "Asia/Shanghai"
