"""Two portable SQL helpers for the set-based rule path (SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Boolean
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement


class epoch(FunctionElement):  # noqa: N801  (reads like the SQL function it stands for)
    """Whole seconds since 1970 of a stored UTC time, floored (= tracker.rules.common.epoch)."""

    type = BigInteger()
    inherit_cache = True


@compiles(epoch, "sqlite")
def _epoch_sqlite(element: epoch, compiler: Any, **kw: Any) -> str:
    # stored as 'YYYY-MM-DD HH:MM:SS.ffffff' UTC; cut the fraction (strftime would round it)
    return f"CAST(strftime('%s', substr({compiler.process(element.clauses, **kw)}, 1, 19)) AS INTEGER)"


@compiles(epoch)
def _epoch_default(element: epoch, compiler: Any, **kw: Any) -> str:
    return f"CAST(FLOOR(EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)})) AS BIGINT)"


class json_object(FunctionElement):  # noqa: N801
    """A JSON object from alternating key, value arguments (SQLite json_object, PG json_build_object)."""

    inherit_cache = True


@compiles(json_object, "sqlite")
def _json_sqlite(element: json_object, compiler: Any, **kw: Any) -> str:
    return f"json_object({compiler.process(element.clauses, **kw)})"


@compiles(json_object)
def _json_default(element: json_object, compiler: Any, **kw: Any) -> str:
    return f"json_build_object({compiler.process(element.clauses, **kw)})"


class contains_text(FunctionElement):  # noqa: N801
    """True when the text contains the fragment, case-sensitive like Python's `in` (SQLite instr is
    also faster than LIKE '%..%'; PostgreSQL strpos)."""

    type = Boolean()
    inherit_cache = True


@compiles(contains_text, "sqlite")
def _contains_sqlite(element: contains_text, compiler: Any, **kw: Any) -> str:
    return f"(instr({compiler.process(element.clauses, **kw)}) > 0)"


@compiles(contains_text)
def _contains_default(element: contains_text, compiler: Any, **kw: Any) -> str:
    return f"(strpos({compiler.process(element.clauses, **kw)}) > 0)"
