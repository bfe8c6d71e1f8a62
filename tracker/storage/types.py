"""Column types of the tracker's tables."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import types
from sqlalchemy.engine.interfaces import Dialect


class UTCDateTime(types.TypeDecorator[datetime]):
    """A moment in time: written from an aware datetime (a naive one is refused: its zone is unknown), read
    back aware in UTC. SQLite keeps no offset, so what it returns is read as UTC, which is how it was written.
    The same as migrations' sqlmodel.sql.sqltypes.UTCDateTime, which created the columns."""

    impl = types.DateTime
    cache_ok = True

    def __init__(self) -> None:
        super().__init__(timezone=True)

    def __repr__(self) -> str:
        return "UTCDateTime()"

    def coerce_compared_value(self, op: Any, value: Any) -> types.TypeEngine[Any]:
        # a time plus or minus an interval is still compared as a time; the interval itself is an interval
        return types.Interval() if isinstance(value, timedelta) else self

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.utcoffset() is None:
            raise ValueError(f"a time without a zone cannot be stored: {value.isoformat()}")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.utcoffset() is None else value.astimezone(UTC)
