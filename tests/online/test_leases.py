"""Parcel leases (both databases) and the shared rate window and provider pause (PostgreSQL)."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from tracker.cli import app
from tracker.domain import ParcelFacts
from tracker.leases import count_due, count_leased, lease_due, release, renew
from tracker.poller import schedule, select_due
from tracker.shared_limits import SharedPacer, SharedRateLimiter, pause_provider, paused_providers
from tracker.storage.repo import upsert_parcels

NOW = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)


def _seed(engine: Engine, n: int = 10) -> None:
    facts = [ParcelFacts(courier="yto", waybill=f"YT{i:013d}", shipped_at=NOW - timedelta(days=2)) for i in range(n)]
    facts += [ParcelFacts(courier="yunda", waybill=f"43{i:011d}", shipped_at=NOW - timedelta(days=2)) for i in range(n)]
    upsert_parcels(engine, facts, now=NOW - timedelta(days=2))


def test_leased_parcels_are_not_due_for_anyone_else_until_the_lease_lapses(engine: Engine) -> None:
    _seed(engine)
    first = lease_due(engine, couriers=["yto"], now=NOW, limit=6, owner="w1", lease_seconds=60)
    second = lease_due(engine, couriers=["yto"], now=NOW, limit=6, owner="w2", lease_seconds=60)
    assert len(first) == 6 and len(second) == 4
    assert {p.courier for p in first + second} == {"yto"}
    assert not {p.id for p in first} & {p.id for p in second}
    assert lease_due(engine, couriers=["yto"], now=NOW, limit=6, owner="w3", lease_seconds=60) == []
    assert count_due(engine, now=NOW) == {"yunda": 10}
    assert count_leased(engine, now=NOW) == {"w1": 6, "w2": 4}
    assert {p.courier for p in select_due(engine, now=NOW, limit=100)} == {"yunda"}  # `tracker poll` skips them too
    # w1 dies: after its lease lapses its parcels are due again; w2 renewed and keeps its own
    later = NOW + timedelta(seconds=61)
    assert renew(engine, [p.id for p in second], owner="w2", until=later + timedelta(seconds=60)) == 4
    assert renew(engine, [p.id for p in second], owner="w1", until=later) == 0  # not w1's to renew
    again = lease_due(engine, couriers=["yto"], now=later, limit=10, owner="w3", lease_seconds=60)
    assert {p.id for p in again} == {p.id for p in first}


def test_a_leased_return_is_asked_with_its_orders_phone_and_only_its_own_shops(engine: Engine) -> None:
    """The worker's lease reads the phone the provider is asked with as `tracker poll` does (asked_phone): a
    buyer's return without one borrows its order's outbound parcel's, from the same shop only."""
    from tracker.status import Direction

    shipped = NOW - timedelta(days=2)
    facts = [
        ParcelFacts(courier="sf", waybill="SF0000000000101", order_id="1001", shop="天猫旗舰店", phone_last4="1234",
                    shipped_at=shipped),
        ParcelFacts(courier="sf", waybill="SF0000000000102", order_id="1001", shop="抖音小店", phone_last4="9999",
                    shipped_at=shipped),
        ParcelFacts(courier="sf", waybill="SF0000000000103", order_id="1001", shop="天猫旗舰店", direction=Direction.ret),
        ParcelFacts(courier="sf", waybill="SF0000000000104", order_id="", shop="天猫旗舰店", direction=Direction.ret),
    ]  # fmt: skip
    upsert_parcels(engine, facts, now=shipped)
    leased = lease_due(engine, couriers=["sf"], now=NOW, limit=10, owner="w1", lease_seconds=60)
    phones = {p.waybill: p.phone_last4 for p in leased}
    assert phones["SF0000000000103"] == "1234" and phones["SF0000000000104"] is None
    assert {p.waybill: p.phone_last4 for p in select_due(engine, now=NOW + timedelta(seconds=61), limit=10)} == phones


def test_storing_the_next_poll_time_frees_the_lease_and_release_gives_parcels_back(engine: Engine, settings) -> None:
    _seed(engine)
    leased = lease_due(engine, couriers=["yto"], now=NOW, limit=10, owner="w1", lease_seconds=60)
    schedule(engine, [p.id for p in leased[:5]], now=NOW, settings=settings, provider="kuaidi100")
    assert release(engine, [p.id for p in leased[5:]], owner="w1") == 5
    assert count_leased(engine, now=NOW) == {}
    assert count_due(engine, now=NOW) == {"yunda": 10, "yto": 5}  # released ones stay due, polled ones not


@pytest.mark.postgres
def test_shared_window_holds_the_rate_across_limiters_and_counts_from_completion(pg_engine: Engine) -> None:
    limiters = [SharedRateLimiter(pg_engine, "kdniao", 5) for _ in range(3)]  # three workers' limiters
    limiters[0].ensure_slots()
    started: list[float] = []

    async def request(limiter: SharedRateLimiter) -> None:
        ticket = await limiter.acquire()
        started.append(time.monotonic())
        await asyncio.sleep(0.05)  # on the wire
        await limiter.release(ticket)

    async def main() -> None:
        await asyncio.gather(*(request(limiters[i % 3]) for i in range(15)))

    t0 = time.monotonic()
    asyncio.run(main())
    started.sort()
    # 15 requests at 5 per second: three waves, each starting a second after the previous wave finished
    assert all(started[i + 5] - started[i] >= 1.0 for i in range(10))
    assert time.monotonic() - t0 >= 2.0


@pytest.mark.postgres
def test_shared_pacer_spaces_every_workers_requests_at_the_limit_minus_the_margin(pg_engine: Engine) -> None:
    # when each turn falls due, as the database granted it: its wait counted from our clock read just before
    # and just after the round trip (the database's own "now" lies between the two)
    granted: list[tuple[float, float]] = []

    class Recording(SharedPacer):
        def take_turn(self) -> float:
            asked = time.monotonic()
            wait = super().take_turn()
            granted.append((asked + wait, time.monotonic() + wait))
            return wait

    pacers = [Recording(pg_engine, "kdniao", 5, margin=0.04) for _ in range(3)]  # three workers' pacers
    pacers[0].ensure_slots()
    pacers[1].ensure_slots()  # idempotent
    started: list[float] = []

    async def request(pacer: SharedPacer) -> None:
        await pacer.acquire()
        started.append(time.monotonic())
        await asyncio.sleep(0.05)  # on the wire: nothing is held meanwhile
        await pacer.release(None)

    async def main() -> None:
        await asyncio.gather(*(request(pacers[i % 3]) for i in range(11)))

    asyncio.run(main())
    granted.sort()
    started.sort()
    gap = 1 / (5 * 0.96)
    # the turns: no second holds more than 5 (5 gaps are 1.042 s; the 4% margin absorbs the ms between the
    # database's clock and ours), each turn taken at its earliest and the fifth after it at its latest: a loaded
    # machine may hold a round trip up. The starts themselves wake up late by however long a loaded machine
    # takes, so they are held only to the whole run: 11 starts take 10 gaps, not more
    assert len(granted) == 11
    assert all(granted[i + 5][1] - granted[i][0] >= 1.0 for i in range(len(granted) - 5))
    assert started[-1] - started[0] == pytest.approx(10 * gap, abs=0.15)


@pytest.mark.postgres
def test_lowering_the_rate_drops_slots_and_a_pause_is_seen_by_everyone(pg_engine: Engine) -> None:
    SharedRateLimiter(pg_engine, "track17", 10).ensure_slots()
    SharedRateLimiter(pg_engine, "track17", 3).ensure_slots()
    with pg_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM provider_slot WHERE provider = 'track17'")).scalar() == 3
    pause_provider(pg_engine, "kdniao", until=NOW + timedelta(minutes=5), reason="HTTP 502", by="w1")
    pause_provider(pg_engine, "kdniao", until=NOW + timedelta(minutes=1), reason="later, shorter", by="w2")
    assert paused_providers(pg_engine, now=NOW) == {"kdniao": NOW + timedelta(minutes=5)}  # the longer pause wins
    assert paused_providers(pg_engine, now=NOW + timedelta(minutes=6)) == {}


@pytest.mark.sqlite_only
def test_worker_needs_postgresql(settings) -> None:
    result = CliRunner().invoke(app, ["worker"])
    assert result.exit_code != 0
    assert "tracker worker needs PostgreSQL" in str(result.exception)


@pytest.mark.postgres
def test_workers_status_lists_due_leased_and_paused(pg_engine: Engine, pg_url: str, monkeypatch) -> None:
    monkeypatch.setenv("TRACKER_DATABASE_URL", pg_url)
    _seed(pg_engine)
    now = datetime.now(UTC)
    lease_due(pg_engine, couriers=["yto"], now=now, limit=4, owner="host-a:12", lease_seconds=600)
    pause_provider(pg_engine, "kdniao", until=now + timedelta(minutes=5), reason="HTTP 502", by="host-a:12")
    result = CliRunner().invoke(app, ["workers", "--format", "csv"])
    assert result.exit_code == 0, result.output
    lines = set(result.output.splitlines())
    assert {"due,yto,6,", "due,yunda,10,", "leased,host-a:12,4,"} <= lines
    assert any(line.startswith("paused,kdniao,0,until ") for line in lines)
