"""The tables declared as annotated classes (tracker/storage/rows.py) and built as SQLAlchemy Core tables, with
no ORM or validation library behind them: the tracker writes and reads rows with Core statements only
(tracker/storage/tables.py), and a process that stores rows (an import's writer) starts in a fraction of the
time.

A class attribute `name: T = Field(...)` is a column: its type from T (str: VARCHAR of `max_length`; int,
bool, datetime as UTC; others by `sa_type` or a whole `sa_column`), NULL allowed when T allows None (never
for a primary key), a Python-side default from `default` or `default_factory`. The class's `__table__` is the
table, each column is also a class attribute (`ParcelRow.status`), and the class stands for its table in a
statement (`select(ParcelRow)`). What SQLModel did with the same declarations, for the options rows.py uses
(Field's parameters; a class without `__tablename__` is no table, and columns are not inherited)."""

from __future__ import annotations

import types
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Union, get_args, get_origin, get_type_hints

from sqlalchemy import Boolean, Column, ForeignKey, Integer, MetaData, Table
from sqlalchemy.types import TypeEngine

from tracker.storage.types import UTCDateTime, VarChar

metadata = MetaData()
_MISSING: Any = object()


@dataclass(frozen=True)
class _Field:
    default: Any = _MISSING
    default_factory: Callable[[], Any] | None = None
    max_length: int | None = None
    primary_key: bool = False
    foreign_key: str | None = None
    sa_type: Any = None
    sa_column: Column[Any] | None = None
    sa_column_kwargs: dict[str, Any] = field(default_factory=dict)


def Field(  # noqa: N802  (read as the column's declaration, like a class)
    default: Any = _MISSING,
    *,
    default_factory: Callable[[], Any] | None = None,
    max_length: int | None = None,
    primary_key: bool = False,
    foreign_key: str | None = None,
    sa_type: Any = None,
    sa_column: Column[Any] | None = None,
    sa_column_kwargs: dict[str, Any] | None = None,
) -> Any:
    """A column's declaration (see the module's docstring)."""
    return _Field(
        default=default,
        default_factory=default_factory,
        max_length=max_length,
        primary_key=primary_key,
        foreign_key=foreign_key,
        sa_type=sa_type,
        sa_column=sa_column,
        sa_column_kwargs=sa_column_kwargs or {},
    )


def _type_of(hint: Any, spec: _Field) -> TypeEngine[Any] | type[TypeEngine[Any]]:
    if spec.sa_type is not None:
        return spec.sa_type  # type: ignore[no-any-return]
    if hint is str:
        return VarChar(spec.max_length) if spec.max_length else VarChar()
    if hint is bool:
        return Boolean()
    if hint is int:
        return Integer()
    if hint is datetime:
        return UTCDateTime()
    raise TypeError(f"no column type for {hint!r}: give sa_type or sa_column")


def _column(name: str, hint: Any, value: Any) -> Column[Any]:
    spec = value if isinstance(value, _Field) else _Field(default=value)
    if spec.sa_column is not None:
        column: Column[Any] = spec.sa_column
        if column.name is None:  # a column named in its declaration keeps its name
            column.name = column.key = name
        return column
    noneable = get_origin(hint) in (Union, types.UnionType) and type(None) in get_args(hint)
    if noneable:
        hint = next(arg for arg in get_args(hint) if arg is not type(None))
    kwargs: dict[str, Any] = {"primary_key": bool(spec.primary_key), "nullable": noneable and not spec.primary_key}
    if spec.default_factory is not None:
        kwargs["default"] = spec.default_factory
    elif spec.default is not _MISSING:
        kwargs["default"] = spec.default
    kwargs.update(spec.sa_column_kwargs)
    args = [ForeignKey(spec.foreign_key)] if spec.foreign_key else []
    return Column(name, _type_of(hint, spec), *args, **kwargs)


class Row:
    """The base of the row classes: each subclass with a `__tablename__` is a table in `metadata`."""

    __tablename__: ClassVar[str]
    __table_args__: ClassVar[tuple[Any, ...] | dict[str, Any]] = ()
    __table__: ClassVar[Table]

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        if "__tablename__" not in cls.__dict__:  # not a table (columns are not inherited)
            return
        hints = get_type_hints(cls)
        own = [name for name in cls.__dict__.get("__annotations__", {}) if not name.startswith("__")]
        columns = [_column(name, hints[name], cls.__dict__.get(name, _MISSING)) for name in own]
        args: Any = cls.__table_args__  # constraints and indexes, then perhaps a dict of the table's options
        options = args if isinstance(args, dict) else args[-1] if args and isinstance(args[-1], dict) else {}
        items = () if isinstance(args, dict) else args[:-1] if options else args
        cls.__table__ = Table(cls.__tablename__, metadata, *columns, *items, **options)
        for column in cls.__table__.columns:
            setattr(cls, column.key, column)

    @classmethod
    def __clause_element__(cls) -> Table:
        return cls.__table__
