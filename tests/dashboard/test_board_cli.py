"""`tracker board add-user` (salted hash in board.toml) and `tracker board --port` (serves, prints URL)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import tomllib
import urllib.request

import pytest
from typer.testing import CliRunner

from tracker.auth import hash_password, verify_password
from tracker.cli import app
from tracker.settings import load_settings


def test_add_user_writes_a_salted_hash_and_keeps_the_rest_of_the_file(board_config):
    runner = CliRunner()
    result = runner.invoke(
        app,
        ["--config", str(board_config), "board", "add-user", "zhao", "--role", "lead", "--password", "s3cret-s3cret"],
    )
    assert result.exit_code == 0, result.output
    assert "added zhao (lead)" in result.output
    text = (board_config / "board.toml").read_text(encoding="utf-8")
    assert "s3cret-s3cret" not in text
    assert "# The board" in text  # comments kept
    users = tomllib.loads(text)["users"]
    assert users["zhao"]["role"] == "lead"
    assert verify_password("s3cret-s3cret", users["zhao"]["password_hash"])
    assert not verify_password("wrong", users["zhao"]["password_hash"])
    assert load_settings(board_config).board.users["zhao"].role == "lead"


def test_add_user_again_replaces_role_and_password(board_config):
    runner = CliRunner()
    for role, password in (("lead", "first-password"), ("agent", "second-password")):
        result = runner.invoke(
            app, ["--config", str(board_config), "board", "add-user", "zhao", "--role", role, "--password", password]
        )
        assert result.exit_code == 0, result.output
    users = tomllib.loads((board_config / "board.toml").read_text(encoding="utf-8"))["users"]
    assert users["zhao"]["role"] == "agent"
    assert verify_password("second-password", users["zhao"]["password_hash"])
    assert "zhao" in users and len([k for k in users if k == "zhao"]) == 1


def test_add_user_refuses_an_unknown_role(board_config):
    result = CliRunner().invoke(
        app, ["--config", str(board_config), "board", "add-user", "zhao", "--role", "boss", "--password", "x"]
    )
    assert result.exit_code != 0
    assert "--role: expected lead or agent, got 'boss'" in str(result.exception or result.output)


def test_a_name_the_tracker_acts_under_is_no_persons(board_config, monkeypatch):
    """A board user or a CLI --by named rules, claims or import would read as the system in the audit log (规则引擎),
    and a flag they resolved as resolved by the rules: refused, in one line."""
    result = CliRunner().invoke(
        app, ["--config", str(board_config), "board", "add-user", "Rules", "--password", "s3cret-s3cret"]
    )
    assert result.exit_code != 0
    assert "user name 'Rules' is the tracker's own" in str(result.exception or result.output)
    assert "Rules" not in tomllib.loads((board_config / "board.toml").read_text(encoding="utf-8"))["users"]
    from tracker.commands.context import resolve_actor
    from tracker.errors import TrackerError

    monkeypatch.setenv("TRACKER_USER", "import")
    with pytest.raises(TrackerError, match="--by: 'import' is the tracker's own name"):
        resolve_actor(None)
    assert resolve_actor("lily") == "lily"


def test_salted_hashes_differ_for_the_same_password():
    assert hash_password("same") != hash_password("same")
    assert verify_password("pw", None) is False
    assert verify_password("pw", "scrypt$broken") is False


def test_tracker_board_serves_on_localhost_and_prints_its_url(board_db):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    tracker = [sys.executable, "-c", "from tracker.cli import main; main()"]
    proc = subprocess.Popen(
        [*tracker, "board", "--port", str(port)], stdout=subprocess.PIPE, text=True, env=os.environ.copy()
    )
    try:
        assert proc.stdout.readline().strip() == f"board: http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as reply:
                    assert reply.read() == b"ok"
                    break
            except OSError:
                assert time.monotonic() < deadline and proc.poll() is None
                time.sleep(0.2)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
