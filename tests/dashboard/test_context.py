"""The board's reads go through one cache (dashboard/context.py Board.read): how long a read is reused."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from dashboard import data
from dashboard.context import Board
from tracker.settings import load_settings


@pytest.mark.parametrize(
    ("configured", "asked", "used"),
    [
        (30, None, 30),  # the configured lifetime
        (30, 300, 300),  # a page's own, longer one (filter choices, scorecards)
        (30, 0, 0),  # a page that always wants fresh rows (the parcel it shows)
        (0, None, 0),
        (0, 300, 0),  # 0 turns the cache off for every read: the page's own lifetime too
    ],
)
def test_a_read_is_cached_for_the_page_s_lifetime_unless_the_cache_is_off(
    monkeypatch: pytest.MonkeyPatch, configured: int, asked: int | None, used: int
) -> None:
    settings = load_settings()
    settings = settings.model_copy(
        update={"board": settings.board.model_copy(update={"cache_ttl_seconds": configured})}
    )
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(data, "read", lambda url, name, *, ttl, **kw: calls.append({"name": name, "ttl": ttl}))
    b = Board(settings=settings, lang="zh", user="lily", role="lead", now=datetime(2026, 11, 23, tzinfo=UTC))
    b.read("scorecards", ttl=asked)
    assert calls == [{"name": "scorecards", "ttl": used}]
