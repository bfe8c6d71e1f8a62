"""Per-session state of the board: settings, database, language, user, clock; reads and actions go
through here so every view uses the same cache and every action carries the user's name."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import streamlit as st

from dashboard import data
from dashboard.i18n import t
from tracker import clock as tracker_clock
from tracker.auth import can
from tracker.labels import courier_name
from tracker.settings import Settings, load_settings


@st.cache_resource(show_spinner=False, ttl=60)  # a user added with `tracker board add-user` shows up within a minute
def _settings(config_dir: str | None, database_url: str | None) -> Settings:
    return load_settings(Path(config_dir) if config_dir else None)


def settings() -> Settings:
    # keyed on the environment so a test (or a restarted server) with another config gets its own
    return _settings(os.environ.get("TRACKER_CONFIG_DIR"), os.environ.get("TRACKER_DATABASE_URL"))


LANG_KEY = "_lang"  # the session's language (components.keep_language; the sidebar widget writes it)


@dataclass(frozen=True)
class Board:
    settings: Settings
    lang: str
    user: str
    role: str
    now: datetime  # UTC, to the minute (cache hits); TRACKER_NOW pins it for demos and tests

    @property
    def url(self) -> str:
        return self.settings.database_url

    @property
    def engine(self) -> Any:
        return data.engine_for(self.url)

    def t(self, key: str, **kw: object) -> str:
        return t(key, self.lang, **kw)

    def read(self, name: str, *, ttl: int | None = None, **kw: Any) -> Any:
        """data.read through the session's cache: for `ttl` seconds when the page gives its own (rows that
        change slowly: filter choices, scorecards), else the configured cache_ttl_seconds. A configured 0
        turns the cache off for every read, the pages' own lifetimes included."""
        configured = self.settings.board.cache_ttl_seconds
        return data.read(self.url, name, ttl=configured if ttl is None or configured == 0 else ttl, **kw)

    def can(self, action: str) -> bool:
        return can(self.role, action)

    def courier(self, slug: str | None) -> str:
        """The courier's name as people say it (中通快递 / ZTO Express), from config/couriers.toml (labels); a URL's
        courier filter too (data.NO_COURIER: 未发货)."""
        return courier_name(self.settings.couriers, data.courier_of(slug) if slug else slug, self.lang)

    def local(self, value: datetime | None) -> str:
        """A time as the configured zone shows it (Settings.tz), to the minute."""
        if value is None:
            return ""
        if value.tzinfo is None:  # SQLite returns naive UTC from raw SQL expressions
            value = value.replace(tzinfo=UTC)
        return value.astimezone(self.settings.tz).strftime("%Y-%m-%d %H:%M")

    def day_start(self) -> datetime:
        local = self.now.astimezone(self.settings.tz)
        return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)


def clock() -> datetime:
    pinned = tracker_clock.pinned_now()
    if pinned:
        return pinned
    now = datetime.now(UTC)
    return now - timedelta(seconds=now.second, microseconds=now.microsecond)


def precise_now() -> datetime:
    """Now to the microsecond (login attempts and lock-outs); TRACKER_NOW pins it like `clock`."""
    return tracker_clock.now()


def board() -> Board:
    """The current session's Board (app.py has logged the user in before any view runs)."""
    s = settings()
    return Board(
        settings=s,
        lang=st.session_state.get(LANG_KEY, s.board.language),
        user=st.session_state.get("user", ""),
        role=st.session_state.get("role", ""),
        now=clock(),
    )
