"""Helpers for the provider parser tests: read a saved reply and parse it with the project's couriers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tracker.phrases import PhraseBook
from tracker.providers.base import ParseResult, parse_reply
from tracker.settings import Settings

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "providers"
SHANGHAI = ZoneInfo("Asia/Shanghai")

Parse = Callable[..., ParseResult]
NO_PHRASES = PhraseBook([])  # no courier phrase known: an event's status comes from its codes alone


@pytest.fixture
def parse(settings: Settings) -> Parse:
    """parse(provider, fixture name or raw body, kind="query", phrases=None) -> ParseResult; `phrases=NO_PHRASES`
    reads the provider's codes alone (the code tables' tests)."""

    def run(provider: str, body: str | bytes, *, kind: str = "query", phrases: PhraseBook | None = None) -> ParseResult:
        if isinstance(body, str) and body.endswith(".json"):
            body = (FIXTURES / provider / body).read_bytes()
        book = settings.phrasebook if phrases is None else phrases
        return parse_reply(provider, body, kind=kind, tz=settings.tz, couriers=settings.couriers, phrases=book)

    return run
