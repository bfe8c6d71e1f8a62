"""Configuration: `config/*.toml` (data only) plus `TRACKER_*` environment overrides, validated once.

`load_settings(config_dir)` is called by entrypoints only (the CLI, the board, the spiders) and the
result is passed down. Any problem raises `ConfigError` whose message names the file (or environment
variable), the key and what was expected, so a bad deployment fails at start, not mid-poll.
"""

from __future__ import annotations

import os
import re
import tomllib
from datetime import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PositiveInt,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from tracker.errors import TrackerError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ENV_PREFIX = "TRACKER_"


class ConfigError(TrackerError):
    """A configuration file or variable is missing or invalid; the message says where and why."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- tracker.toml -----------------------------------------------------------------------------------


class ImportConfig(_Strict):
    batch_size: PositiveInt = 2000
    progress_min_rows: PositiveInt = 5000


# --- couriers.toml ----------------------------------------------------------------------------------


class CourierConfig(_Strict):
    name: str
    name_en: str
    aliases: list[str] = []
    provider: str = Field(pattern="^(kuaidi100|kdniao|track17|spider)$")
    kuaidi100: str | None = None
    kdniao: str | None = None
    track17: int | None = None
    needs_phone: bool = False
    patterns: list[str] = []

    @field_validator("patterns")
    @classmethod
    def _patterns_compile(cls, value: list[str]) -> list[str]:
        for pattern in value:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"a regular expression, got {pattern!r} ({exc})") from None
        return value


# --- rules.toml (spec/rules.md) -----------------------------------------------------------------------


class WarnEscalate(_Strict):
    warn_hours: PositiveInt
    escalate_hours: PositiveInt

    @model_validator(mode="after")
    def _escalate_after_warn(self) -> WarnEscalate:
        if self.escalate_hours <= self.warn_hours:
            raise ValueError("escalate_hours must be greater than warn_hours")
        return self


class LostSuspected(_Strict):
    hours: PositiveInt = 168


class LateShipment(_Strict):
    hours_after_payment: PositiveInt = 72


class Watch(_Strict):
    days_after_success: PositiveInt = 15


class Returns(_Strict):
    no_waybill_days: PositiveInt = 2
    no_movement_days: PositiveInt = 10
    abandoned_days: PositiveInt = 20
    abandoned_min_attempts: PositiveInt = 2
    surface_mail_prefixes: list[str] = ["KA", "PA"]
    shared_waybill_buyers: int = Field(default=2, ge=2)


class LadderStep(_Strict):
    days_left: int = Field(ge=0)
    action: str = Field(min_length=1)


class RefundLadders(_Strict):
    ordinary: list[LadderStep]
    express: list[LadderStep]

    @field_validator("ordinary", "express")
    @classmethod
    def _descending(cls, steps: list[LadderStep]) -> list[LadderStep]:
        days = [step.days_left for step in steps]
        if days != sorted(days, reverse=True) or len(set(days)) != len(days):
            raise ValueError("steps in strictly descending days_left order")
        return steps


class Contact(_Strict):
    calling_window_start: time = time(10, 0)
    calling_window_end: time = time(18, 0)
    max_calls_per_case: PositiveInt = 3


class RuleOverride(_Strict):
    """Thresholds for a courier and/or region; only the sections given replace the defaults."""

    courier: str | None = None
    province: str | None = None
    city: str | None = None
    no_first_scan: WarnEscalate | None = None
    stale: WarnEscalate | None = None
    lost_suspected: LostSuspected | None = None
    late_shipment: LateShipment | None = None
    returns: Returns | None = None

    @model_validator(mode="after")
    def _has_scope(self) -> RuleOverride:
        if not (self.courier or self.province or self.city):
            raise ValueError("an override needs at least one of courier, province, city")
        return self


class RulesConfig(_Strict):
    no_first_scan: WarnEscalate
    stale: WarnEscalate
    lost_suspected: LostSuspected = LostSuspected()
    late_shipment: LateShipment = LateShipment()
    watch: Watch = Watch()
    text_patterns: dict[str, list[str]] = {}
    returns: Returns = Returns()
    refund_ladder: RefundLadders
    contact: Contact = Contact()
    overrides: list[RuleOverride] = []

    @model_validator(mode="after")
    def _lost_after_stale(self) -> RulesConfig:
        if self.lost_suspected.hours <= self.stale.escalate_hours:
            raise ValueError("lost_suspected.hours must be greater than stale.escalate_hours")
        return self


# --- next_actions.toml (spec/rules.md "next action" columns) ----------------------------------------


class ActionText(_Strict):
    """The next action for one flag kind (or ladder step), in Chinese and English, with placeholders."""

    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)


# --- import.toml --------------------------------------------------------------------------------------


class HeaderAliases(_Strict):
    headers: dict[str, list[str]]


# --- the whole -----------------------------------------------------------------------------------------


class Settings(BaseSettings):
    """Everything an entrypoint needs; top-level scalars may be overridden by TRACKER_<NAME>."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid", frozen=True)

    config_dir: Path
    project_root: Path = PROJECT_ROOT
    database_url: str
    timezone: str = "Asia/Shanghai"
    currency: str = Field(default="CNY", pattern="^[A-Z]{3}$")
    import_: ImportConfig = Field(default=ImportConfig(), alias="import")
    couriers: dict[str, CourierConfig]
    headers: dict[str, list[str]] = {}
    rules: RulesConfig
    next_actions: dict[str, ActionText] = {}

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The environment wins over the TOML files (passed in as init kwargs).
        return (env_settings, init_settings)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"an IANA time zone such as Asia/Shanghai, got {value!r}") from None
        return value

    @field_validator("couriers")
    @classmethod
    def _slugs(cls, value: dict[str, CourierConfig]) -> dict[str, CourierConfig]:
        for slug in value:
            if not re.fullmatch(r"[a-z][a-z0-9_]*", slug):
                raise ValueError(f"courier slugs are snake_case, got {slug!r}")
        return value

    @model_validator(mode="after")
    def _normalise_database_url(self) -> Settings:
        object.__setattr__(self, "database_url", normalise_database_url(self.database_url, self.project_root))
        return self

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def normalise_database_url(url: str, root: Path) -> str:
    """Use psycopg 3 for PostgreSQL URLs; make a relative SQLite path relative to the project root."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url[len("postgresql://") :]
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        path = url[len("sqlite:///") :]
        if path and not path.startswith(":memory:"):
            return f"sqlite:///{root / path}"
    return url


# Which file each top-level key comes from, for error messages.
_FILES = {
    "couriers": "couriers.toml",
    "headers": "import.toml",
    "rules": "rules.toml",
    "next_actions": "next_actions.toml",
}


def default_config_dir() -> Path:
    """TRACKER_CONFIG_DIR, else ./config when it exists, else the project's own config/."""
    env = os.environ.get(f"{ENV_PREFIX}CONFIG_DIR")
    if env:
        return Path(env)
    local = Path.cwd() / "config"
    return local if (local / "tracker.toml").is_file() else PROJECT_ROOT / "config"


def read_toml(path: Path) -> dict[str, Any]:
    """Read one TOML file; a syntax error names the file and line."""
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


def load_settings(config_dir: Path | None = None) -> Settings:
    """Read and validate `config_dir/*.toml` with environment overrides; raise ConfigError on any fault."""
    config_dir = Path(config_dir) if config_dir else default_config_dir()
    data: dict[str, Any] = dict(read_toml(config_dir / "tracker.toml"))
    data["couriers"] = read_toml(config_dir / "couriers.toml").get("couriers", {})
    data["headers"] = read_toml(config_dir / "import.toml").get("headers", {})
    data["rules"] = read_toml(config_dir / "rules.toml")
    actions_file = config_dir / "next_actions.toml"
    if actions_file.is_file():
        data["next_actions"] = read_toml(actions_file)
    data["config_dir"] = config_dir
    try:
        return Settings(**data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, config_dir)) from None


def format_validation_error(exc: ValidationError, config_dir: Path) -> str:
    """One line per problem: `<file or variable>: <key>: expected ..., got ...`."""
    lines = []
    for err in exc.errors():
        loc = [str(part) for part in err["loc"]]
        top = loc[0] if loc else ""
        env_name = f"{ENV_PREFIX}{top.upper()}"
        if top and env_name in os.environ and top not in _FILES:
            where = f"environment variable {env_name}"
            key = ".".join(loc[1:]) or top
        else:
            where = str(config_dir / _FILES.get(top, "tracker.toml"))
            key = ".".join(loc[1:] if top in _FILES else loc) or "(file)"
        got = err.get("input")
        got_text = "" if isinstance(got, dict | list) or got is None else f", got {got!r}"
        message = err["msg"].removeprefix("Value error, ")
        if "got " in message:
            got_text = ""
        if err["type"] == "extra_forbidden":
            message = "unknown key (not expected here)"
            got_text = ""
        elif err["type"] == "missing":
            message = "required key is missing"
        lines.append(f"{where}: {key}: {message}{got_text}")
    return "\n".join(lines)
