"""The repository's public sandbox secrets in production (data/push_sandbox_signed.json): `serve-push`, `poll`
and `worker` refuse to start with them, naming the variables to set; a receiver with its own secrets refuses
pushes signed with the public ones and stores nothing; `--sandbox` is the explicit way to run with them."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from tests.hostile.push_server import REAL, SANDBOX, load, serve_push, server_env, signed, tracker_cli
from tracker.providers import registry
from tracker.sandbox.server import free_port
from tracker.storage.db import make_engine, migrate
from tracker.storage.rows import PushDeadLetterRow, TrackingEventRow

DATA = load("push_sandbox_signed.json")


def _one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def test_serve_push_refuses_to_start_with_the_public_secrets(tmp_path: Path, db_url: str) -> None:
    env = server_env(tmp_path, db_url, secrets=False)
    port = free_port()
    result = tracker_cli(["serve-push", "--port", str(port)], env)
    line = _one_error_line(result)
    for variable in DATA["variables"]:
        assert variable in line
    # the registry's own list: every secret a push signature is checked with
    for spec in registry.specs().values():
        if spec.push is not None:
            for field in spec.push.signed_with:
                assert spec.secrets[field] in line
    assert "--sandbox" in line
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0  # nothing listens


def test_one_provider_needs_only_its_own_secret(tmp_path: Path, db_url: str) -> None:
    env = server_env(tmp_path, db_url, secrets=False)
    line = _one_error_line(tracker_cli(["serve-push", "--port", str(free_port()), "--provider", "track17"], env))
    assert "TRACKER_TRACK17_KEY" in line and "TRACKER_KUAIDI100_SALT" not in line


def test_a_provider_without_its_own_secret_is_not_served(tmp_path: Path, db_url: str) -> None:
    """Only the Kuaidi100 salt set: Kuaidi100 is served, and pushes signed with the public sandbox key of the
    others are refused (401) too; the start says which variable each one needs."""
    with serve_push(tmp_path, db_url, None, secrets={"TRACKER_KUAIDI100_SALT": REAL["kuaidi100"]}) as server:
        for case in DATA["cases"]:
            provider = case["provider"]
            push = json.dumps(case["push"], ensure_ascii=False)
            r = httpx.post(f"{server.url}/push/{provider}", **signed(provider, push, SANDBOX[provider]), timeout=30)
            assert r.status_code == 401, (provider, r.text)
        good = json.dumps(DATA["cases"][0]["push"], ensure_ascii=False)
        r = httpx.post(f"{server.url}/push/kuaidi100", **signed("kuaidi100", good, REAL["kuaidi100"]), timeout=30)
        assert r.status_code == 200 and r.json()["result"] is True
        log = server.text()
    assert "set TRACKER_KDNIAO_APP_KEY to receive them" in log and "set TRACKER_TRACK17_KEY to receive them" in log
    assert "TRACKER_KUAIDI100_SALT to receive" not in log


@pytest.mark.parametrize("command", [["poll", "--once"], ["worker"]])
def test_poll_and_worker_refuse_the_public_secrets(tmp_path: Path, db_url: str, command: list[str]) -> None:
    if command == ["worker"] and not db_url.startswith("postgresql"):
        pytest.skip("tracker worker runs on PostgreSQL only (TRACKER_TEST_DB=postgresql)")
    env = server_env(tmp_path, db_url, secrets=False)
    line = _one_error_line(tracker_cli(command, env))
    assert "public demo accounts" in line and "TRACKER_KUAIDI100_KEY" in line and "--sandbox" in line


@pytest.mark.parametrize("case", DATA["cases"], ids=lambda c: c["provider"])
def test_push_signed_with_the_sandbox_secret_is_refused(tmp_path: Path, db_url: str, case: dict) -> None:
    provider = case["provider"]
    with serve_push(tmp_path, db_url) as server:
        push = json.dumps(case["push"], ensure_ascii=False)
        r = httpx.post(f"{server.url}/push/{provider}", **signed(provider, push, SANDBOX[provider]), timeout=30)
        assert r.status_code == 401, r.text
        assert "rejected (401)" in server.text()
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(TrackingEventRow)).scalar_one() == 0
            assert conn.execute(select(func.count()).select_from(PushDeadLetterRow)).scalar_one() == 0
    finally:
        engine.dispose()


def test_sandbox_flag_runs_with_the_public_secrets_and_says_so(tmp_path: Path, db_url: str) -> None:
    engine = make_engine(db_url)
    migrate(engine)
    engine.dispose()
    env = server_env(tmp_path, db_url, secrets=False)
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tracker.cli", "serve-push", "--port", str(port), "--sandbox"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(url, timeout=1)
                break
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read() if proc.stderr else ""
                time.sleep(0.1)
        case = DATA["cases"][0]
        push = json.dumps(case["push"], ensure_ascii=False)
        r = httpx.post(f"{url}/push/kuaidi100", **signed("kuaidi100", push, SANDBOX["kuaidi100"]), timeout=30)
        assert r.status_code == 200 and r.json()["result"] is True, r.text
    finally:
        proc.terminate()
        _, stderr = proc.communicate(timeout=15)
    assert "--sandbox" in stderr and "not for production" in stderr
