"""Two portable SQL helpers for the set-based rule path (SQLite and PostgreSQL)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from typing import Any

from sqlalchemy import BigInteger, Boolean, literal
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.sql.visitors import InternalTraversal


class epoch(FunctionElement):  # noqa: N801  (reads like the SQL function it stands for)
    """Whole seconds since 1970 of a stored UTC time, floored (= tracker.rules.common.epoch)."""

    type = BigInteger()
    inherit_cache = True


@compiles(epoch, "sqlite")
def _epoch_sqlite(element: epoch, compiler: Any, **kw: Any) -> str:
    # stored as 'YYYY-MM-DD HH:MM:SS.ffffff' UTC; cut the fraction (both functions would round it).
    # unixepoch() (SQLite 3.38+) is twice as fast as strftime('%s') and gives the same integer
    column = f"substr({compiler.process(element.clauses, **kw)}, 1, 19)"
    if _sqlite_version(compiler.dialect) >= (3, 38):
        return f"unixepoch({column})"
    return f"CAST(strftime('%s', {column}) AS INTEGER)"


def _sqlite_version(dialect: Any) -> tuple[int, ...]:
    return tuple(getattr(dialect.dbapi, "sqlite_version_info", (0,)))


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


class text_match(FunctionElement):  # noqa: N801
    """True when the text matches a regular expression (an alternation of escaped fragments: the same
    meaning as `any(f in text ...)`). PostgreSQL: `~`. SQLite has no regular expressions: the call
    goes to a one-argument Python function named after the pattern, holding it compiled, registered
    on the connection by `register_text_match` (a pattern argument per row costs 40% more)."""

    type = Boolean()
    inherit_cache = True
    # the pattern is in the cache key: on SQLite it names the function, so a statement compiled for one
    # pattern must not be reused for another (the bound literal alone is not in the key)
    _traverse_internals = [*FunctionElement._traverse_internals, ("pattern", InternalTraversal.dp_string)]

    def __init__(self, column: Any, pattern: str) -> None:
        self.pattern = pattern
        super().__init__(column, literal(pattern))


def text_match_name(pattern: str) -> str:
    return "tracker_match_" + hashlib.sha1(pattern.encode()).hexdigest()[:12]


def text_matcher(pattern: str) -> Callable[[str | None], bool]:
    """text_match's meaning in Python: whether a text matches the pattern (None never does)."""
    search = re.compile(pattern).search
    return lambda text: text is not None and search(text) is not None


def register_text_match(dbapi_connection: Any, pattern: str) -> None:
    """Make text_match(column, pattern) callable on this SQLite connection."""
    dbapi_connection.create_function(text_match_name(pattern), 1, text_matcher(pattern), deterministic=True)


@compiles(text_match, "sqlite")
def _text_match_sqlite(element: text_match, compiler: Any, **kw: Any) -> str:
    column = list(element.clauses)[0]
    return f"{text_match_name(element.pattern)}({compiler.process(column, **kw)})"


@compiles(text_match)
def _text_match_default(element: text_match, compiler: Any, **kw: Any) -> str:
    column, pattern = list(element.clauses)
    return f"({compiler.process(column, **kw)} ~ {compiler.process(pattern, **kw)})"
