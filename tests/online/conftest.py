"""A real sandbox server on 127.0.0.1 (free port, background thread) for client, poller and push tests."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from tracker.providers import registry
from tracker.sandbox.app import SandboxState, create_app, make_state
from tracker.sandbox.server import BackgroundServer, start_background
from tracker.settings import PROJECT_ROOT, Settings, load_settings

SANDBOX_NOW = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def sandbox_server() -> Iterator[tuple[BackgroundServer, SandboxState]]:
    couriers = load_settings(PROJECT_ROOT / "config").couriers
    state = make_state(couriers, now=SANDBOX_NOW, speed=0.0, fault_delay=1.0)
    server = start_background(create_app(state))
    yield server, state
    server.stop()


@pytest.fixture
def sandbox(sandbox_server: tuple[BackgroundServer, SandboxState]) -> Iterator[tuple[str, SandboxState]]:
    """The sandbox URL and state, reset to no faults and the fixed clock for each test."""
    server, state = sandbox_server
    httpx.post(f"{server.url}/_sandbox/faults", json={"rates": {}, "next": []})
    state.clock.set(SANDBOX_NOW, 0.0)
    state.stats.clear()
    state.t17_limit.calls.clear()
    yield server.url, state
    state.faults.queue.clear()


@pytest.fixture
def online_settings(settings: Settings, sandbox: tuple[str, SandboxState]) -> Settings:
    """Project settings with every provider pointed at the sandbox. The time-out is short but not tight: a
    loaded CI machine now and then answers in more than half a second, and a time-out is retried, so a test
    counting the queries saw one waybill asked twice. The time-out fault's test sets its own, shorter."""
    url, _ = sandbox
    providers = settings.providers
    update = {
        name: providers.of(name).model_copy(update={"base_url": url, "timeout_seconds": 5.0})
        for name in registry.names()
    }
    return settings.model_copy(update={"providers": providers.model_copy(update=update)})
