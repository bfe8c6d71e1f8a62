"""Board fixtures: a copy of the project's config with two users, a seeded SQLite file, a pinned clock."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from tests.dashboard.seed import seed
from tracker.auth import hash_password, write_user
from tracker.settings import PROJECT_ROOT
from tracker.storage.db import make_engine, migrate

APP = str(PROJECT_ROOT / "dashboard" / "app.py")
USERS = {"lily": ("lead", "lily-pw"), "王芳": ("agent", "wf-pw")}


@pytest.fixture
def board_config(tmp_path: Path) -> Path:
    return make_board_config(tmp_path / "config")


def make_board_config(config: Path) -> Path:
    """A copy of the project's config/ at `config`, the login required, with the test users (USERS)."""
    shutil.copytree(PROJECT_ROOT / "config", config)
    board_toml = config / "board.toml"  # the shipped demo board is open on localhost; these tests log in
    board_toml.write_text(
        board_toml.read_text(encoding="utf-8").replace("open_localhost = true", "open_localhost = false"),
        encoding="utf-8",
    )
    for name, (role, password) in USERS.items():
        write_user(config / "board.toml", name, role=role, password_hash=hash_password(password))
    return config


@pytest.fixture
def board_db(
    tmp_path: Path, board_config: Path, monkeypatch: pytest.MonkeyPatch, now: datetime
) -> Iterator[tuple[Engine, dict[str, Any]]]:
    url = f"sqlite:///{tmp_path / 'board.db'}"
    monkeypatch.setenv("TRACKER_CONFIG_DIR", str(board_config))
    monkeypatch.setenv("TRACKER_DATABASE_URL", url)
    monkeypatch.setenv("TRACKER_NOW", now.isoformat())
    engine = make_engine(url)
    migrate(engine)
    ids = seed(engine, now)
    yield engine, ids
    engine.dispose()
