# ruff: noqa: F811 (the board fixtures are imported from tests/dashboard/conftest.py and used as arguments)
"""The board's door: failed logins are limited per user name and per client address (data/board_logins.json
against the pure rule), recorded in the audit log and shown to leads; the right password does not open a
locked account (AppTest on the real app and a real SQLite file); add-user refuses short passwords and
writes board.toml 0600; `tracker board` warns when the file is readable by others."""

from __future__ import annotations

import json
import os
import socket
import stat
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest
from typer.testing import CliRunner

from tests.dashboard.conftest import APP, board_config, board_db  # noqa: F401 (fixtures)
from tests.dashboard.seed import AUDIT
from tracker.auth import LoginAttempt, LoginPolicy, lockout_until, verify_password
from tracker.cli import app
from tracker.settings import LoginConfig

DATA = json.loads((Path(__file__).parent / "data" / "board_logins.json").read_text(encoding="utf-8"))
NOW = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)


def _attempts(spec: object) -> list[LoginAttempt]:
    if isinstance(spec, str):  # "31 failures, one every 20 s"
        return [LoginAttempt(NOW - timedelta(seconds=20 * i), "lily", "10.0.0.1", False) for i in range(31)]
    return [LoginAttempt(NOW - timedelta(seconds=s), u, a, ok) for s, u, a, ok in spec]  # type: ignore[union-attr]


@pytest.mark.parametrize("case", DATA["cases"], ids=lambda c: c["name"])
def test_lockout_rule(case: dict) -> None:
    policy = LoginPolicy.of(LoginConfig(**DATA["policy"]))
    until = lockout_until(
        _attempts(case["attempts"]), user=case["user"], address=case["address"], now=NOW, policy=policy
    )
    got = None if until is None else int((until - NOW).total_seconds())
    assert got == case["locked_for"]


def _try(at: AppTest, name: str, password: str) -> AppTest:
    at.text_input(key="login_user").input(name)
    at.text_input(key="login_password").input(password)
    at.button[0].click().run()
    return at


def test_right_password_after_31_failures_is_refused_and_every_failure_is_audited(board_db) -> None:
    engine, _ = board_db
    at = AppTest.from_file(APP, default_timeout=30).run()
    for i in range(31):
        _try(at, "lily", f"guess-{i}")
        assert not at.exception
    _try(at, "lily", "lily-pw")  # the right one
    assert "user" not in at.session_state
    assert "登录失败次数过多" in at.error[0].value
    with engine.connect() as conn:
        rows = conn.execute(
            select(AUDIT.c.actor, AUDIT.c.action, AUDIT.c.detail).where(AUDIT.c.entity == "board_login")
        )
        rows = [tuple(r) for r in rows]
    # the checked failures are recorded (the refused ones are not checked, so not counted twice)
    failed = [r for r in rows if r[1] == "login_failed"]
    assert len(failed) == 5 and all(r[0] == "lily" for r in failed)
    assert failed[-1][2]["locked_until"] and not failed[0][2]["locked_until"]
    assert not [r for r in rows if r[1] == "login"]
    # another user (same client) is locked too: the client address has 5 failures
    fresh = AppTest.from_file(APP, default_timeout=30).run()
    _try(fresh, "王芳", "wf-pw")
    assert "user" not in fresh.session_state and "登录失败次数过多" in fresh.error[0].value


def test_a_lead_sees_the_failed_logins_and_the_lockout(board_db, monkeypatch) -> None:
    at = AppTest.from_file(APP, default_timeout=30).run()
    for i in range(2):
        _try(at, "ghost<b>", f"guess-{i}")
    _try(at, "lily", "lily-pw")
    assert not at.exception and at.session_state["user"] == "lily"
    shown = at.dataframe[-1].value
    assert {"输入的用户名", "来源地址", "锁定至"} <= set(shown.columns)
    assert list(shown["输入的用户名"]) == ["ghost<b>", "ghost<b>"]
    agent = AppTest.from_file(APP, default_timeout=30).run()
    _try(agent, "王芳", "wf-pw")
    assert agent.session_state["user"] == "王芳"
    assert not any("输入的用户名" in d.value.columns for d in agent.dataframe)


def _add_user(config: Path, password: str) -> object:
    return CliRunner().invoke(
        app, ["--config", str(config), "board", "add-user", "zhao", "--role", "lead", "--password", password]
    )


def test_add_user_refuses_a_short_password_and_writes_board_toml_0600(board_config: Path) -> None:
    board_toml = board_config / "board.toml"
    os.chmod(board_toml, 0o644)
    before = board_toml.read_text(encoding="utf-8")
    for short in ("x", "123456789", " padded-password "):
        result = _add_user(board_config, short)
        assert result.exit_code != 0
        assert "--password:" in str(result.exception or result.output)
    assert board_toml.read_text(encoding="utf-8") == before  # nothing written
    result = _add_user(board_config, "long-enough-pw")
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(board_toml.stat().st_mode) == 0o600
    assert "now mode 600" in result.output
    users = tomllib.loads(board_toml.read_text(encoding="utf-8"))["users"]
    assert verify_password("long-enough-pw", users["zhao"]["password_hash"])
    assert set(users) >= {"lily", "王芳", "zhao"}


def test_min_password_length_is_configurable(board_config: Path) -> None:
    board_toml = board_config / "board.toml"
    board_toml.write_text(
        board_toml.read_text(encoding="utf-8").replace("min_password_length = 10", "min_password_length = 16"),
        encoding="utf-8",
    )
    result = _add_user(board_config, "fifteen-chars!!")
    assert result.exit_code != 0 and "at least 16" in str(result.exception or result.output)


def test_board_warns_when_board_toml_is_readable_by_others(board_config: Path, monkeypatch) -> None:
    os.chmod(board_config / "board.toml", 0o644)
    with socket.socket() as taken:  # a busy port: the command stops after its checks, before serving
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        result = CliRunner().invoke(app, ["--config", str(board_config), "board", "--port", str(port)])
    assert "readable by others: chmod 600" in result.output
    os.chmod(board_config / "board.toml", 0o600)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        result = CliRunner().invoke(
            app, ["--config", str(board_config), "board", "--port", str(taken.getsockname()[1])]
        )
    assert "readable by others" not in result.output


def test_board_does_not_warn_of_a_board_toml_without_users(tmp_path: Path) -> None:
    """The shipped board.toml holds no password hash: a fresh clone's 644 is no warning (it warned every time)."""
    import shutil

    from tracker.settings import PROJECT_ROOT

    config = tmp_path / "config"
    shutil.copytree(PROJECT_ROOT / "config", config)
    os.chmod(config / "board.toml", 0o644)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        result = CliRunner().invoke(app, ["--config", str(config), "board", "--port", str(taken.getsockname()[1])])
    assert "is in use" in str(result.exception)  # it went through its checks, to the port
    assert "readable by others" not in result.output


def test_login_attempts_round_trip_through_the_audit_log(engine) -> None:
    """SQLite and PostgreSQL: what the login form records is what the lock-out rule reads back."""
    from dashboard.data import LOGIN_ENTITY, failed_logins, login_attempts
    from tracker.storage.repo import record_audit

    policy = LoginPolicy.of(LoginConfig(**DATA["policy"]))
    for i in range(6):
        at = NOW - timedelta(seconds=60 - 10 * i)
        record_audit(
            engine,
            at=at,
            actor="王芳",
            action="login_failed",
            entity=LOGIN_ENTITY,
            detail={"address": "10.0.0.7", "locked_until": None},
        )
    record_audit(
        engine,
        at=NOW - timedelta(hours=2),
        actor="王芳",
        action="login",
        entity=LOGIN_ENTITY,
        detail={"address": "10.0.0.7"},
    )
    attempts = login_attempts(engine, since=NOW - policy.window)
    assert len(attempts) == 6 and all(a.address == "10.0.0.7" and not a.ok for a in attempts)
    until = lockout_until(attempts, user="someone", address="10.0.0.7", now=NOW, policy=policy)
    assert until == NOW - timedelta(seconds=10) + timedelta(seconds=120)
    shown = failed_logins(engine, since=NOW - timedelta(days=1))
    assert [r["login_name"] for r in shown] == ["王芳"] * 6 and shown[0]["at"] == NOW - timedelta(seconds=10)
