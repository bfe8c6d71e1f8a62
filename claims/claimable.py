"""Claimable money, the one definition (docs/domain.md "Claimable money"), pure: a draft (its amount computed,
not filed yet) whose filing window is still open at `now` (file_claim refuses a claim after filing_closes_at;
the last second of the window is inside). claims/money.py says the same in SQL for the board and the CLI;
the daily digest applies claimable_of to the claim rows it already holds."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from decimal import Decimal
from typing import Protocol

from tracker.status import CENT, ClaimState

# unfiled claims: their filing window matters (an open window keeps a draft claimable; a closed one makes
# the claim expired at read time, before `claims propose` marks it so)
UNFILED_STATES = (str(ClaimState.draft), str(ClaimState.needs_config))


@dataclass(frozen=True)
class Claimable:
    amount: Decimal
    count: int


class ClaimLike(Protocol):
    @property
    def state(self) -> str: ...
    @property
    def amount(self) -> Decimal | None: ...
    @property
    def currency(self) -> str: ...
    @property
    def filing_closes_at(self) -> datetime | None: ...


def days_left(closes: datetime, now: datetime, tz: tzinfo) -> int:
    """Days until a filing window closes, on the shop's calendar: 0 closes today, 1 tomorrow (a window closing at
    05:00 tomorrow is 1, not the 0 whole 24-hour periods say); negative once closed."""
    if closes.tzinfo is None:  # as SQLite gives a stored UTC time back
        closes = closes.replace(tzinfo=UTC)
    return (closes.astimezone(tz).date() - now.astimezone(tz).date()).days


def filing_days_left(state: str, closes: datetime | None, now: datetime, tz: tzinfo) -> int | None:
    """days_left of a claim still to file (a draft or one needing configuration); None for any other."""
    return days_left(closes, now, tz) if closes is not None and state in UNFILED_STATES else None


def is_claimable(state: str, amount: Decimal | None, filing_closes_at: datetime | None, now: datetime) -> bool:
    """Claimable money over one claim's values; claimable_where is the same test in SQL."""
    window_open = filing_closes_at is None or filing_closes_at >= now
    return state == ClaimState.draft and amount is not None and window_open


def claimable_of(claims: Iterable[ClaimLike], *, now: datetime) -> dict[str, Claimable]:
    """Claimable money per currency over claim rows already loaded (pure: the daily digest's figure)."""
    totals: dict[str, Claimable] = {}
    for c in claims:
        if is_claimable(c.state, c.amount, c.filing_closes_at, now):
            assert c.amount is not None
            before = totals.get(c.currency, Claimable(Decimal("0"), 0))
            totals[c.currency] = Claimable(before.amount + c.amount, before.count + 1)
    return {cur: Claimable(t.amount.quantize(CENT), t.count) for cur, t in totals.items()}
