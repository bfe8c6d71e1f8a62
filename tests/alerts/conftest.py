"""Fixtures for the alert tests: real local receivers and settings whose channels point at them."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from alertkit import DINGTALK_SECRET, Receiver, SmtpSink, free_port, make_config_dir, make_handler

from tracker.settings import Settings, load_settings


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), None)  # type: ignore[arg-type]
    rec = Receiver(base=f"http://127.0.0.1:{server.server_address[1]}")
    server.RequestHandlerClass = make_handler(rec)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield rec
    server.shutdown()
    server.server_close()


@pytest.fixture
def smtp_sink() -> Iterator[tuple[SmtpSink, int]]:
    # Controller(port=0) fails at start() (spec/ecosystem.md §5): pick a free port first.
    sink = SmtpSink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    yield sink, port
    controller.stop()


@pytest.fixture
def plain_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sqlite_url: str) -> Settings:
    """Settings for pure planning tests (no receivers running)."""
    monkeypatch.setenv("TRACKER_DATABASE_URL", sqlite_url)
    return load_settings(make_config_dir(tmp_path / "config"))


@pytest.fixture
def alert_config_dir(tmp_path: Path, smtp_sink: tuple[SmtpSink, int]) -> Path:
    return make_config_dir(tmp_path / "config", smtp_port=smtp_sink[1])


@pytest.fixture
def alert_settings(alert_config_dir: Path, monkeypatch: pytest.MonkeyPatch, sqlite_url: str) -> Settings:
    monkeypatch.setenv("TRACKER_DATABASE_URL", sqlite_url)
    return load_settings(alert_config_dir)


@pytest.fixture
def alert_env(receiver: Receiver) -> dict[str, str]:
    return {
        "T_DING_URL": f"{receiver.base}/dingtalk?access_token=tok",
        "T_DING_SECRET": DINGTALK_SECRET,
        "T_WECOM_URL": f"{receiver.base}/wecom?key=k",
        "T_SLACK_URL": f"{receiver.base}/slack",
        "T_HOOK_URL": f"{receiver.base}/hook",
    }
