"""Signed pushes the parser cannot read whole (data/push_unparseable.json) against a real `tracker serve-push`:
answered with the provider's refusal (never its success answer), kept whole as a dead letter with the error,
listed by `tracker pushes --failed`, counted again when resent, and replayable once they can be read."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from tests.hostile.push_server import REAL, PushServer, load, serve_push, server_env, signed, tracker_cli
from tracker.domain import ParcelFacts
from tracker.storage.db import make_engine, migrate
from tracker.storage.repo import upsert_parcels
from tracker.storage.rows import PushDeadLetterRow, TrackingEventRow

DATA = load("push_unparseable.json")
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
SUCCESS = {  # each provider's success answer, which an unread push must never get
    "kuaidi100": lambda r: r.status_code == 200 and r.json().get("result") is True,
    "kdniao": lambda r: r.status_code == 200 and r.json().get("Success") is True,
    "track17": lambda r: r.status_code == 200,
}


def _payload(case: dict) -> str:
    return case["raw"] if "raw" in case else json.dumps(case["push"], ensure_ascii=False)


def _letters(db_url: str, payload: str | None = None) -> list[PushDeadLetterRow]:
    """The dead letters (those of `payload` only, when given)."""
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            letters = list(conn.execute(select(PushDeadLetterRow.__table__)).all())
    finally:
        engine.dispose()
    return [letter for letter in letters if payload is None or bytes(letter.payload).decode() == payload]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, module_db_url: str) -> Iterator[PushServer]:
    """One receiver for the cases (each payload is a letter of its own)."""
    with serve_push(tmp_path_factory.mktemp("push"), module_db_url) as srv:
        yield srv


@pytest.mark.parametrize("case", DATA["cases"], ids=lambda c: c["name"])
def test_unreadable_signed_push_is_refused_and_kept(server: PushServer, case: dict) -> None:
    provider, payload = case["provider"], _payload(case)
    r = httpx.post(f"{server.url}/push/{provider}", **signed(provider, payload, REAL[provider]), timeout=30)
    assert not SUCCESS[provider](r), r.text
    assert r.status_code == 400
    again = httpx.post(f"{server.url}/push/{provider}", **signed(provider, payload, REAL[provider]), timeout=30)
    assert again.status_code == 400  # the provider resends: still refused, the same letter counts it
    log = server.text()
    assert "kept as dead letter" in log and "Traceback" not in log
    failed = server.cli("pushes", "--failed")
    [letter] = _letters(server.db_url, payload)
    assert letter.provider == provider and letter.state == "failed" and letter.attempts == 2
    assert case["error"] in letter.error
    assert failed.returncode == 0 and f"{letter.id}" in failed.stdout and case["error"] in failed.stdout
    replay = tracker_cli(["pushes", "--replay", str(letter.id)], server.env)
    assert replay.returncode == 2 and replay.stderr.startswith("error: ") and len(replay.stderr.splitlines()) == 1
    assert "still not read whole" in replay.stderr


def test_a_dead_letter_is_replayed_once_it_can_be_read(tmp_path: Path, db_url: str) -> None:
    """A receiver whose depth limit is set too low keeps a normal 17TRACK webhook as a dead letter; with the
    limit corrected, `tracker pushes --replay ID` stores its events and marks it replayed."""
    webhook = load("push_sandbox_signed.json")["cases"][2]["push"]  # a normal webhook, 8 levels deep
    payload = json.dumps(webhook, ensure_ascii=False)
    engine = make_engine(db_url)
    migrate(engine)
    upsert_parcels(engine, [ParcelFacts(courier="chinapost", waybill=webhook["data"]["number"])], now=NOW)
    engine.dispose()
    with serve_push(tmp_path / "low", db_url, {"max_json_depth": 4}) as server:
        r = httpx.post(f"{server.url}/push/track17", **signed("track17", payload, REAL["track17"]), timeout=30)
        assert r.status_code == 400
    [letter] = _letters(db_url)
    fixed = server_env(tmp_path / "fixed", db_url)  # the shipped limits
    replay = tracker_cli(["pushes", "--replay", str(letter.id)], fixed)
    assert replay.returncode == 0, replay.stderr
    assert f"dead letter {letter.id} (track17) replayed: 1 waybills, 1 new events" in replay.stdout
    [letter] = _letters(db_url)
    assert letter.state == "replayed" and letter.replayed_at is not None
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(TrackingEventRow)).scalar_one() == 1
    finally:
        engine.dispose()
    listed = tracker_cli(["pushes", "--failed"], fixed)
    assert "no failed pushes" in listed.stdout
    unknown = tracker_cli(["pushes", "--replay", "999999"], fixed)
    assert unknown.returncode == 2 and "no dead letter with this id" in unknown.stderr
