"""What the providers' subscribe calls share: asking one waybill at a time, concurrently, and turning a
failed request into an answer (tracker/subscriptions.py stores the answers)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

from tracker.providers.base import DueSubscription, Outcome, SubscribeAnswer


async def one_by_one(
    subs: Sequence[DueSubscription],
    ask: Callable[[DueSubscription], Awaitable[str]],
    read: Callable[[str, str], SubscribeAnswer],
) -> dict[int, SubscribeAnswer]:
    """`ask` each waybill for its raw answer and `read` it; parcel id -> answer. A paused provider (circuit
    open) is not asked: no answer, no attempt counted. A failed request is an answer to retry."""
    from tracker.providers.http import CircuitOpen, ProviderError

    answers: dict[int, SubscribeAnswer] = {}

    async def one(sub: DueSubscription) -> None:
        try:
            answers[sub.parcel_id] = read(await ask(sub), sub.waybill)
        except CircuitOpen:
            return
        except ProviderError as exc:
            answers[sub.parcel_id] = SubscribeAnswer(sub.waybill, Outcome.retry, "", str(exc))

    await asyncio.gather(*(one(s) for s in subs))
    return answers
