"""Limits every worker shares, kept in the database: a provider's rate window and its pause.

SharedRateLimiter holds a provider's `rate_per_second` for all `tracker worker` processes together: the
provider never receives more than `limit` requests in any `per`-second window. The window is `limit` rows
in provider_slot. A request takes the oldest slot that no one else is taking (`FOR UPDATE SKIP LOCKED`) if
that slot was last released at least `per` seconds ago, and holds it (used_at = now + hold) while the
request is on the wire; when the answer is back, `release` stamps the slot with the database clock. The
next request on that slot starts `per` after the previous one *finished*, so it reaches the provider at
least `per` after the previous one arrived, however late a busy process sent it or the network carried it
(stamping at the start let bursts of 1.5x the limit through when requests were delayed unevenly).
A worker killed mid-request leaves its slot held until `hold` passes. Two short transactions per request
(PostgreSQL only; the embedded single-process poller keeps RateLimiter).

SharedPacer (what `tracker worker` uses): the same across workers, but evenly spaced at the limit minus a
small margin, so the quota is used to 1 - margin and the provider never answers 429.

pause_provider / paused_providers: when a worker's circuit breaker opens, the provider is paused for every
worker until `paused_until`; the dispatcher hands out no poll jobs for it meanwhile and resumes after.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, delete, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from tracker.providers.http import Sleep
from tracker.storage.tables import PAUSE, SLOT

EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
BUSY_RETRY_SECONDS = 0.005  # every slot is being taken this instant: look again shortly

# The free-slot test sits in the WHERE clause, not after the fetch: when a concurrent taker has just
# claimed the oldest row, PostgreSQL re-checks the WHERE on the new row version and moves on to the next
# row (an ORDER BY alone is not re-checked, and would hand back a slot that is no longer free).
_TAKE = text(
    "SELECT slot FROM provider_slot WHERE provider = :provider AND slot >= 0 "
    "AND used_at <= clock_timestamp() - make_interval(secs => :per) "
    "ORDER BY used_at LIMIT 1 FOR UPDATE SKIP LOCKED"
)
_OLDEST = text(
    "SELECT EXTRACT(EPOCH FROM clock_timestamp() - min(used_at)) FROM provider_slot WHERE provider = :provider "
    "AND slot >= 0"
)
_HOLD = text(
    "UPDATE provider_slot SET used_at = clock_timestamp() + make_interval(secs => :hold) "
    "WHERE provider = :provider AND slot = :slot"
)
_RELEASE = text("UPDATE provider_slot SET used_at = clock_timestamp() WHERE provider = :provider AND slot = :slot")


def _insert(engine: Engine):  # type: ignore[no-untyped-def]
    return pg_insert if engine.dialect.name == "postgresql" else sqlite_insert


@dataclass
class SharedRateLimiter:
    """At most rate*per requests to `provider` in any `per` seconds, across every worker (PostgreSQL)."""

    engine: Engine
    provider: str
    rate: float
    per: float = 1.0
    hold: float = 11.0  # longest a request keeps its slot if its worker dies (the request time-out + 1 s)
    sleep: Sleep = asyncio.sleep

    @property
    def limit(self) -> int:
        return max(1, int(self.rate * self.per))

    def ensure_slots(self) -> None:
        """Create the provider's `limit` slots (idempotent; a lowered rate drops the extra slots)."""
        rows = [{"provider": self.provider, "slot": i, "used_at": EPOCH} for i in range(self.limit)]
        with self.engine.begin() as conn:
            conn.execute(_insert(self.engine)(SLOT).on_conflict_do_nothing(), rows)
            conn.execute(delete(SLOT).where(SLOT.c.provider == self.provider, SLOT.c.slot >= self.limit))

    def try_take(self) -> tuple[int | None, float]:
        """Take a slot now: (slot, 0); or (None, seconds to wait before trying again)."""
        with self.engine.begin() as conn:
            slot = conn.execute(_TAKE, {"provider": self.provider, "per": self.per}).scalar()
            if slot is None:  # every slot was used within the window (or is being taken right now)
                age = conn.execute(_OLDEST, {"provider": self.provider}).scalar()
                return None, max(self.per - float(age or 0), BUSY_RETRY_SECONDS)
            conn.execute(_HOLD, {"hold": self.hold, "provider": self.provider, "slot": slot})
            return int(slot), 0.0

    def give_back(self, slot: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(_RELEASE, {"provider": self.provider, "slot": slot})

    async def acquire(self) -> object:
        while True:
            slot, wait = await asyncio.to_thread(self.try_take)
            if slot is not None:
                return slot
            await self.sleep(wait)

    async def release(self, ticket: object) -> None:
        if isinstance(ticket, int):
            await asyncio.to_thread(self.give_back, ticket)


PACE_SLOT = -1  # the provider_slot row holding a provider's next send time (SharedPacer)
_PACE = text(
    "UPDATE provider_slot SET used_at = GREATEST(used_at, clock_timestamp()) + make_interval(secs => :gap) "
    "WHERE provider = :provider AND slot = :slot "
    "RETURNING EXTRACT(EPOCH FROM used_at - clock_timestamp()) - :gap"
)


@dataclass
class SharedPacer:
    """Every worker's requests to `provider` evenly spaced at its limit minus `margin` (tracker.providers.http.
    Pacer, across processes). One row (provider_slot, slot -1) holds the provider's next send time; taking a
    turn is one UPDATE that moves it one gap on and returns how long to wait for the turn taken (the database
    clock, so the workers' clocks do not matter). Nothing is held while the request is on the wire: a worker
    killed mid-request leaves nothing behind, and the quota is used to 1 - margin (the slot window above
    counted from completion, which left it at limit / (1 + latency))."""

    engine: Engine
    provider: str
    rate: float
    per: float = 1.0
    margin: float = 0.04
    sleep: Sleep = asyncio.sleep

    @property
    def gap(self) -> float:
        return 1.0 / (self.rate * (1.0 - self.margin))

    def ensure_slots(self) -> None:
        row = {"provider": self.provider, "slot": PACE_SLOT, "used_at": EPOCH}
        with self.engine.begin() as conn:
            conn.execute(_insert(self.engine)(SLOT).on_conflict_do_nothing(), [row])

    def take_turn(self) -> float:
        """Seconds until this request's turn (0 or more)."""
        with self.engine.begin() as conn:
            wait = conn.execute(_PACE, {"gap": self.gap, "provider": self.provider, "slot": PACE_SLOT}).scalar()
        return max(float(wait or 0), 0.0)

    async def acquire(self) -> object:
        wait = await asyncio.to_thread(self.take_turn)
        if wait > 0:
            await self.sleep(wait)
        return None

    async def release(self, ticket: object) -> None:
        """Nothing to do: the pace counts requests by when they are sent."""


def pause_provider(engine: Engine, provider: str, *, until: datetime, reason: str, by: str) -> None:
    """Pause `provider` for every worker until `until` (a later pause wins)."""
    values = {"provider": provider, "paused_until": until, "reason": reason[:500], "paused_by": by}
    stmt = _insert(engine)(PAUSE).values(values)
    stmt = stmt.on_conflict_do_update(
        index_elements=[PAUSE.c.provider],
        set_={k: stmt.excluded[k] for k in ("paused_until", "reason", "paused_by")},
        where=PAUSE.c.paused_until < stmt.excluded.paused_until,
    )
    with engine.begin() as conn:
        conn.execute(stmt)


def paused_providers(engine: Engine, *, now: datetime) -> dict[str, datetime]:
    """Providers paused at `now`, with the time each resumes."""
    stmt = select(PAUSE.c.provider, PAUSE.c.paused_until).where(PAUSE.c.paused_until > now)
    with engine.connect() as conn:
        return {row.provider: row.paused_until for row in conn.execute(stmt)}
