"""config/board.toml: login, language, paging and caching of the board."""

from __future__ import annotations

from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
)


class BoardUser(BaseModel):
    """One person who may log in; the password is a salted hash (tracker.auth)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    role: Literal["lead", "agent"]
    password_hash: str = Field(pattern=r"^scrypt\$")


class LoginConfig(BaseModel):
    """config/board.toml [board.login]: how failed logins are limited (tracker/auth.py `lockout`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # failures (per user name and per client address) counted over the window before a lock-out starts
    max_failures: int = Field(default=5, ge=1, le=100)
    window_minutes: int = Field(default=15, ge=1, le=1440)
    # first lock-out; each further failure doubles it, up to max_lockout_minutes
    lockout_seconds: int = Field(default=60, ge=1)
    max_lockout_minutes: int = Field(default=60, ge=1)
    # `tracker board add-user` refuses shorter passwords
    min_password_length: int = Field(default=10, ge=8, le=128)
    # behind a reverse proxy: the header holding the client's address (first entry), e.g. "X-Forwarded-For";
    # empty: the TCP peer address
    client_address_header: str = Field(default="", pattern=r"^[A-Za-z0-9-]*$")


class BoardConfig(BaseModel):
    """config/board.toml: login, language, paging and caching of the board."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    login: LoginConfig = LoginConfig()
    # URL parameters the board accepts (longer or bigger ones are named and ignored)
    max_age_hours: int = Field(default=8760, ge=24, le=876000)
    max_param_length: int = Field(default=200, ge=32, le=4096)
    open_localhost: bool = False
    local_user: str = "local"
    language: Literal["zh", "en"] = "zh"
    page_size: int = Field(default=50, ge=5, le=500)
    cache_ttl_seconds: int = Field(default=30, ge=0)
    # the overview lists this many next claim deadlines (claims still to file, soonest first)
    next_deadlines: int = Field(default=10, ge=1, le=100)
    # a bulk action on more ticked rows than this asks for confirmation first (naming the count and the
    # waybills); opening claims always asks
    confirm_above: int = Field(default=1, ge=0, le=500)
    # the most rows an XLSX export of the queue or the ledger holds (the whole filtered set up to this; a cut
    # export says so on the page and in the file); XLSX itself stops at 1,048,575 rows
    export_max_rows: int = Field(default=200_000, ge=1, le=1_048_575)
    users: dict[str, BoardUser] = {}
