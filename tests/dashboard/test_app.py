"""Every view renders on a seeded database after logging in (AppTest, no browser)."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.dashboard.conftest import APP, USERS

VIEWS = [
    "views/overview.py",
    "views/queue.py",
    "views/parcel.py",
    "views/claims.py",
    "views/scorecards.py",
    "views/alerts.py",
]


def signed_in(name: str = "lily", password: str | None = None, *, page: str | None = None) -> AppTest:
    """A session of `name`, signed in as the login form would leave it (user and role in the session), not yet
    run. With `page`, its first run is that page: one script run instead of the overview's and then the
    page's. Set query parameters on it, then `.run()`."""
    role, right = USERS[name]
    assert password in (None, right), f"not {name}'s password: use login(..., form=True)"
    at = AppTest.from_file(APP, default_timeout=30)
    at.session_state["user"], at.session_state["role"] = name, role
    if page:
        at.switch_page(page)
    return at


def login(name: str = "lily", password: str = "lily-pw", *, form: bool = False) -> AppTest:
    """A session of `name` on the overview. Through the login form when `form` or when the password is not
    the user's (the form's own tests); otherwise signed in (`signed_in`) in one script run instead of three:
    the tests that only need someone logged in are much faster."""
    _, right = USERS.get(name, ("", None))
    if form or password != right:
        at = AppTest.from_file(APP, default_timeout=30).run()
        at.text_input(key="login_user").input(name)
        at.text_input(key="login_password").input(password)
        at.button[0].click().run()
        return at
    return signed_in(name).run()


def test_login_form_refuses_a_wrong_password(board_db):
    at = login(password="nope")
    assert not at.exception
    assert "user" not in at.session_state
    assert at.error[0].value == "用户名或密码错误"


@pytest.mark.parametrize("view", VIEWS)
def test_each_view_renders_after_login(board_db, view):
    at = login(form=True)
    at.switch_page(view).run()
    assert not at.exception, at.exception
    assert at.title


def test_overview_counts_open_exceptions_and_claimable_money(board_db):
    at = login()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["未处理异常(条)"] == "3"
    assert metrics["可索赔金额(草稿, 申报期未过)"] == "¥199.00"
    assert metrics["今日已发提醒"] == "1"


def test_a_missing_database_is_one_line_on_the_page_not_a_new_empty_one(board_config, tmp_path, monkeypatch, now):
    missing = tmp_path / "typo" / "board.db"
    monkeypatch.setenv("TRACKER_CONFIG_DIR", str(board_config))
    monkeypatch.setenv("TRACKER_DATABASE_URL", f"sqlite:///{missing}")
    monkeypatch.setenv("TRACKER_NOW", now.isoformat())
    at = AppTest.from_file(APP, default_timeout=30).run()
    assert not at.exception  # no traceback reaches the page
    shown = " ".join(e.value for e in at.error)
    assert "no database at" in shown and "tracker init" in shown
    assert not missing.exists()


def tick(at: AppTest, scope: str, ids, *, id_label: str) -> AppTest:
    """Tick the rows whose `id_label` column holds one of `ids` in the table `scope` (as a click in the
    table's row checkboxes does: the selection lives under the table's widget key), without running."""
    table = next(d for d in at.dataframe if (d.key or "").startswith(f"{scope}_"))
    shown = [int(v) for v in table.value[id_label]]
    at.session_state[table.key] = {"selection": {"rows": [shown.index(i) for i in ids], "columns": [], "cells": []}}
    return at


def test_a_config_file_that_does_not_validate_is_one_line_on_the_page(board_config, tmp_path, monkeypatch, now):
    """An edit of board.toml or tracker.toml with a mistake, while the board runs, names the file and the key
    on the page instead of a traceback."""
    board_toml = board_config / "board.toml"
    text = board_toml.read_text(encoding="utf-8")
    assert "page_size = 50" in text
    board_toml.write_text(text.replace("page_size = 50", "page_size = 0"), encoding="utf-8")
    monkeypatch.setenv("TRACKER_CONFIG_DIR", str(board_config))
    monkeypatch.setenv("TRACKER_DATABASE_URL", f"sqlite:///{tmp_path / 'board.db'}")
    monkeypatch.setenv("TRACKER_NOW", now.isoformat())
    at = AppTest.from_file(APP, default_timeout=30).run()
    assert not at.exception  # no traceback reaches the page
    shown = " ".join(e.value for e in at.error).replace("\\", "")  # shown as text: Markdown escaped
    assert "board.toml: page_size:" in shown
