"""Table handles for SQLAlchemy Core statements, one name per table, typed as `Table`.

The row classes (rows.py, declare.py) define the schema; set-based code (imports, ingest, the rules' SQL,
the board's reads) writes Core statements against these handles instead of redefining
`XRow.__table__` in every module."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, Table

from tracker.storage.rows import (
    AlertRow,
    AuditRow,
    ClaimRow,
    FilterChoiceRow,
    FlagRow,
    ParcelFactRow,
    ParcelRow,
    PollRunRow,
    ProviderPauseRow,
    ProviderQuotaRow,
    ProviderSlotRow,
    PushDeadLetterRow,
    ReturnBuyerRow,
    RollupStateRow,
    RuleMarkRow,
    RuleTextHitRow,
    ScorecardDayRow,
    ScorecardDirtyRow,
    SubscriptionRow,
    TrackingEventRow,
)


def _table(row: type) -> Table:
    table = row.__table__  # type: ignore[attr-defined]  # declare.Row sets it on each row class
    assert isinstance(table, Table)
    return table


PARCEL = _table(ParcelRow)
EVENT = _table(TrackingEventRow)
FLAG = _table(FlagRow)
FACT = _table(ParcelFactRow)
RETURN_BUYER = _table(ReturnBuyerRow)
CLAIM = _table(ClaimRow)
ALERT = _table(AlertRow)
AUDIT = _table(AuditRow)
POLL_RUN = _table(PollRunRow)
SLOT = _table(ProviderSlotRow)
PAUSE = _table(ProviderPauseRow)
SUBSCRIPTION = _table(SubscriptionRow)
QUOTA = _table(ProviderQuotaRow)
DEAD_LETTER = _table(PushDeadLetterRow)
CHOICE = _table(FilterChoiceRow)
SCORECARD_DAY = _table(ScorecardDayRow)
SCORECARD_DIRTY = _table(ScorecardDirtyRow)
ROLLUP_STATE = _table(RollupStateRow)
TEXT_HIT = _table(RuleTextHitRow)
RULE_MARK = _table(RuleMarkRow)


def width(column: Column[Any]) -> int:
    """How many characters a text column holds (its declared length): a person's text longer than that is refused
    by name before the write (PostgreSQL refuses the row as a fault; SQLite would store it whole)."""
    length = getattr(column.type, "length", None)
    if not isinstance(length, int):
        raise TypeError(f"{column} declares no length")
    return length
