"""Column types of the tracker's tables."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import types
from sqlalchemy.engine.interfaces import Dialect


class VarChar(types.TypeDecorator[str]):
    """Text of at most `length` characters (VARCHAR). A decorator over String, as the columns' type was when
    the migrations made them (SQLModel's AutoString): a value compared with such a column is sent as text
    whatever its Python type, where a plain String would send an int as an integer, which PostgreSQL refuses
    to compare with text."""

    impl = types.String
    cache_ok = True


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


def render_item(kind: str, obj: Any, autogen_context: Any) -> str | Literal[False]:
    """Alembic's autogenerate (migrations/env.py): these types spelled as the migrations before spelled the
    same columns, with SQLModel's, which the script template imports. False: Alembic's own spelling."""
    if kind == "type" and isinstance(obj, UTCDateTime):
        return "sqlmodel.sql.sqltypes.UTCDateTime()"
    if kind == "type" and isinstance(obj, VarChar):
        length = getattr(obj.impl, "length", None)
        return f"sqlmodel.sql.sqltypes.AutoString(length={length})" if length else "sqlmodel.sql.sqltypes.AutoString()"
    return False
