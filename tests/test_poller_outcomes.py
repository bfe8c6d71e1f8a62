"""The poller's bookkeeping of one provider's batches (tracker.poller.poll_provider): a failed fetch, an error
reply, an unreadable reply and a tracking reply, each counted and scheduled, and the errors named in the order
the batches came back (the last one is what `tracker worker` names as the reason of a circuit breaker's pause).
Real Kuaidi100 replies (tests/fixtures), the real parser and ingest, a real database; only the fetcher is a
stand-in that answers in a set order."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, select

from tracker.domain import ParcelFacts
from tracker.poller import poll_provider, select_due
from tracker.providers.clients import DueParcel
from tracker.providers.http import ProviderError
from tracker.settings import Settings
from tracker.storage.repo import upsert_parcels
from tracker.storage.tables import PARCEL

FIXTURES = Path(__file__).parent / "fixtures" / "providers" / "kuaidi100"
NOW = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)
DELIVERED = (FIXTURES / "query_resultv2_0_delivered.json").read_text(encoding="utf-8")
NO_RESULT = (FIXTURES / "error_500.json").read_text(encoding="utf-8")  # 查询无结果
# waybill -> (seconds before it comes back, what comes back)
OUTCOMES: dict[str, tuple[float, str | Exception]] = {
    "75312345678901": (0.00, DELIVERED),
    "75312345678902": (0.02, ProviderError("kuaidi100: HTTP 503 (first failure)")),
    "75312345678903": (0.04, NO_RESULT),
    "75312345678904": (0.06, "{not json"),
    "75312345678905": (0.08, ProviderError("kuaidi100: HTTP 502 (last failure)")),
}


class Answers:
    """Kuaidi100's fetcher as poll_provider sees it: one waybill a batch, each answered after its delay."""

    provider = "kuaidi100"
    batch_size = 1
    client = None  # no quota counted

    async def fetch(self, batch: list[DueParcel]) -> list[str]:
        delay, outcome = OUTCOMES[batch[0].waybill]
        await asyncio.sleep(delay)
        if isinstance(outcome, Exception):
            raise outcome
        return [outcome]


def test_each_outcome_is_counted_scheduled_and_named_in_the_order_it_came(
    settings: Settings, db_engine: Engine
) -> None:
    upsert_parcels(
        db_engine,
        [ParcelFacts(courier="zto", waybill=w, phone_last4="1234") for w in OUTCOMES],
        now=NOW - timedelta(days=2),
    )
    due = select_due(db_engine, now=NOW, limit=10)
    stats, changed = asyncio.run(poll_provider(db_engine, settings, Answers(), due, now=NOW))  # type: ignore[arg-type]

    assert (stats.polled, stats.failed, stats.provider_errors) == (2, 3, 1)  # the unreadable reply: failed
    assert stats.errors[0] == "kuaidi100: HTTP 503 (first failure)"
    assert stats.errors[1].startswith("75312345678903: ") and "查询无结果" in stats.errors[1]
    assert stats.errors[-1] == "kuaidi100: HTTP 502 (last failure)"  # the last to come back, named last
    assert len(stats.errors) == 4 and stats.new_events > 0
    with db_engine.connect() as conn:
        rows = {w: (s, n) for w, s, n in conn.execute(select(PARCEL.c.waybill, PARCEL.c.status, PARCEL.c.next_poll_at))}
    assert rows["75312345678901"][0] == "delivered" and changed
    retry = settings.providers.polling.failure_retry_minutes
    for waybill in ("75312345678902", "75312345678903", "75312345678904", "75312345678905"):
        _, next_poll = rows[waybill]
        assert next_poll is not None, waybill  # asked again after failure_retry_minutes
        assert next_poll.replace(tzinfo=UTC) == NOW + timedelta(minutes=retry), waybill
