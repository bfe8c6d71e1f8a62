"""Configuration: `config/*.toml` (data only) plus `TRACKER_*` environment overrides, validated once.

`load_settings(config_dir)` is called by entrypoints only (the CLI, the board, the spiders) and the
result is passed down. Any problem raises `ConfigError` whose message names the file (or environment
variable), the key and what was expected, so a bad deployment fails at start, not mid-poll.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Iterable
from datetime import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PositiveFloat,
    PositiveInt,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from tracker.errors import TrackerError

BaseModelT = TypeVar("BaseModelT", bound=BaseModel)

if TYPE_CHECKING:
    from tracker.phrases import PhraseBook

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ENV_PREFIX = "TRACKER_"
# The default configuration a wheel carries: tracker/defaults is a link to the repository's config/.
PACKAGE_CONFIG = Path(__file__).resolve().parent / "defaults"


def shipped_config_dir() -> Path:
    """The project's config/ in a checkout, else the copy inside the installed package."""
    repo = PROJECT_ROOT / "config"
    return repo if (repo / "tracker.toml").is_file() else PACKAGE_CONFIG


def working_root() -> Path:
    """Where relative paths in the configuration point: the checkout, or the current folder for a wheel."""
    return PROJECT_ROOT if (PROJECT_ROOT / "config" / "tracker.toml").is_file() else Path.cwd()


class ConfigError(TrackerError):
    """A configuration file or variable is missing or invalid; the message says where and why."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- tracker.toml -----------------------------------------------------------------------------------


class ImportConfig(_Strict):
    batch_size: PositiveInt = 10_000
    progress_min_rows: PositiveInt = 5000
    # bounds of one row of an imported file (tracker.tablefile.ReadLimits; docs/importing.md)
    max_field_chars: PositiveInt = 4096
    max_row_chars: PositiveInt = 131_072
    max_columns: PositiveInt = 512
    max_row_lines: PositiveInt = 20
    max_xlsx_unzipped_mb: PositiveInt = 512
    max_xlsx_ratio: PositiveInt = 100

    @property
    def limits(self):  # type: ignore[no-untyped-def]  # -> tracker.tablefile.ReadLimits
        from tracker.tablefile import ReadLimits

        return ReadLimits(
            max_field_chars=self.max_field_chars,
            max_row_chars=self.max_row_chars,
            max_columns=self.max_columns,
            max_row_lines=self.max_row_lines,
            max_xlsx_unzipped_bytes=self.max_xlsx_unzipped_mb * 1024 * 1024,
            max_xlsx_ratio=self.max_xlsx_ratio,
        )


# --- couriers.toml ----------------------------------------------------------------------------------


class WaybillPattern(_Strict):
    """One waybill number pattern; `weight` (0-1] is how sure a match alone makes the courier."""

    regex: str
    weight: float | None = Field(default=None, gt=0, le=1)
    note: str = ""


class DetectionConfig(_Strict):
    """couriers.toml [detection]: how pattern matches become ranked candidates (tracker/couriers/detect.py)."""

    default_weight: float = Field(default=0.95, gt=0, le=1)
    margin: float = Field(default=0.2, ge=0, lt=1)
    min_confidence: float = Field(default=0.6, gt=0, le=1)
    autonumber_weight: float = Field(default=0.9, gt=0, le=1)
    autonumber_url: str = Field(default="", pattern="^(https?://.*)?$")
    import_autonumber: bool = False


class CourierConfig(_Strict):
    name: str
    name_en: str
    aliases: list[str] = []
    provider: str  # a registered provider (tracker/providers/registry.py) or "spider"
    kuaidi100: str | None = None
    kdniao: str | None = None
    track17: int | None = None
    needs_phone: bool = False
    # a plain string is a pattern with [detection] default_weight (tracker/couriers/detect.py)
    patterns: list[WaybillPattern] = []

    @field_validator("patterns", mode="before")
    @classmethod
    def _plain_patterns(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [{"regex": item} if isinstance(item, str) else item for item in value]
        return value

    @field_validator("provider")
    @classmethod
    def _known_provider(cls, value: str) -> str:
        from tracker.providers.registry import NON_PROVIDER_SOURCES, names

        known = (*names(), *NON_PROVIDER_SOURCES)
        if value not in known:
            raise ValueError(f"one of {', '.join(known)}, got {value!r}")
        return value

    @field_validator("patterns")
    @classmethod
    def _patterns_compile(cls, value: list[WaybillPattern]) -> list[WaybillPattern]:
        for pattern in value:
            try:
                re.compile(pattern.regex)
            except re.error as exc:
                raise ValueError(f"a regular expression, got {pattern.regex!r} ({exc})") from None
        return value


# --- rules.toml (docs/domain.md) -----------------------------------------------------------------------


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
    # a return weighed lighter than what was shipped by more than this is short (000 §22; docs/domain.md)
    short_weight_tolerance_grams: int = Field(default=50, ge=0)


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


# --- alerts.toml (docs/domain.md "Calling buyers", docs/operations.md "Alert channels") ---------------

_NAME = r"^[a-z][a-z0-9_]*$"
_ENV_NAME = r"^[A-Z][A-Z0-9_]*$"


class AlertChannel(_Strict):
    """Where a message goes. Secrets (webhook URLs, robot secrets, SMTP passwords) come from the
    environment variables named here, never from the TOML itself."""

    # board: recorded in the alert log the board shows, nothing sent (the embedded default)
    type: str = Field(pattern="^(board|dingtalk|wecom|slack|webhook|email)$")
    url_env: str | None = Field(default=None, pattern=_ENV_NAME)
    secret_env: str | None = Field(default=None, pattern=_ENV_NAME)  # DingTalk 加签 secret (SEC...)
    smtp_host: str | None = None
    smtp_port: PositiveInt = 25
    smtp_starttls: bool = False
    smtp_user_env: str | None = Field(default=None, pattern=_ENV_NAME)
    smtp_password_env: str | None = Field(default=None, pattern=_ENV_NAME)
    mail_from: str | None = None
    mail_to: list[str] = []
    timeout_seconds: float = Field(default=10.0, gt=0)
    max_bytes: PositiveInt | None = None  # message size limit (WeCom markdown: 4096 bytes)
    max_per_run: PositiveInt = 15  # robots take 20 messages/minute; more due at once go as one bundle

    @model_validator(mode="after")
    def _complete(self) -> AlertChannel:
        if self.type == "board":
            return self
        if self.type == "email":
            if not (self.smtp_host and self.mail_from and self.mail_to):
                raise ValueError("an email channel needs smtp_host, mail_from and mail_to")
        elif not self.url_env:
            raise ValueError(f"a {self.type} channel needs url_env (the variable holding the webhook URL)")
        if self.type == "dingtalk" and not self.secret_env:
            raise ValueError("a dingtalk channel needs secret_env (signed mode, 加签)")
        return self


class AlertGroup(_Strict):
    """People who receive alerts: agents (客服/仓库) or leads (主管)."""

    role: str = Field(default="agent", pattern="^(agent|lead)$")
    channels: list[str] = Field(min_length=1)
    language: str | None = Field(default=None, pattern="^(zh|en)$")  # default: the file's `language`
    follows_schedule: bool = True  # outside working hours alerts are held for the morning digest
    daily_digest: bool = True


class AlertRoute(_Strict):
    """Flags matching every non-empty list go to `groups` (agents) and, when escalated, to `leads`."""

    kinds: list[str] = []
    severities: list[str] = []
    couriers: list[str] = []
    shops: list[str] = []
    provinces: list[str] = []
    groups: list[str] = []
    leads: list[str] = []

    @field_validator("kinds")
    @classmethod
    def _known_kinds(cls, value: list[str]) -> list[str]:
        from tracker.status import FlagKind

        unknown = [kind for kind in value if kind not in FlagKind.__members__]
        if unknown:
            raise ValueError(f"flag kinds from tracker/status.py FlagKind, got {unknown}")
        return value

    @field_validator("severities")
    @classmethod
    def _known_severities(cls, value: list[str]) -> list[str]:
        if any(s not in ("warn", "escalate") for s in value):
            raise ValueError(f"severities warn or escalate, got {value}")
        return value

    @model_validator(mode="after")
    def _has_recipients(self) -> AlertRoute:
        if not (self.groups or self.leads):
            raise ValueError("a route needs groups and/or leads")
        return self


class WorkSchedule(_Strict):
    """When agents receive alerts, in the configured zone (Asia/Shanghai)."""

    start: time = time(9, 0)
    end: time = time(21, 0)
    weekdays: list[int] = [1, 2, 3, 4, 5, 6, 7]  # ISO: 1 = Monday

    @model_validator(mode="after")
    def _ordered(self) -> WorkSchedule:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        if not self.weekdays or any(d < 1 or d > 7 for d in self.weekdays):
            raise ValueError("weekdays are ISO numbers 1 (Monday) .. 7 (Sunday)")
        return self


class CallLimits(_Strict):
    max_per_buyer_per_day: PositiveInt = 1
    kinds: list[str] = []  # flag kinds whose next action is phoning the buyer
    ladder_actions: list[str] = []  # refund-ladder step actions that are phone calls
    # of those, the steps whose message goes out first, at once, the call following in the calling window
    # (000 §24 "先旺旺上留言...留言后再电话联系提醒下"; docs/domain.md)
    message_first_actions: list[str] = []


class AlertsConfig(_Strict):
    language: str = Field(default="zh", pattern="^(zh|en)$")
    board_url: str = "http://127.0.0.1:8501/parcel?waybill={waybill}"
    lead_kinds: list[str] = ["lost_suspected", "lost"]
    lead_ladder_actions: list[str] = ["lead_reject"]
    reminder_after_hours: PositiveInt = 24
    max_reminders: int = Field(default=2, ge=0)
    send_attempts: PositiveInt = 3  # tries within one run (transport errors, 429, 5xx)
    retry_backoff_minutes: list[PositiveInt] = [5, 15, 60, 240]  # later runs, after attempt n
    max_attempts: PositiveInt = 10
    claim_lease_minutes: PositiveInt = 10  # a run takes due alerts for this long; a crashed run's come back
    digest_claim_days: PositiveInt = 7
    schedule: WorkSchedule = WorkSchedule()
    calls: CallLimits = CallLimits()
    channels: dict[str, AlertChannel] = {}
    groups: dict[str, AlertGroup] = {}
    routes: list[AlertRoute] = []

    @field_validator("board_url")
    @classmethod
    def _has_waybill(cls, value: str) -> str:
        if "{waybill}" not in value:
            raise ValueError(f"a URL containing {{waybill}}, got {value!r}")
        return value

    @field_validator("channels", "groups")
    @classmethod
    def _names(cls, value: dict[str, Any]) -> dict[str, Any]:
        for name in value:
            if not re.fullmatch(_NAME, name):
                raise ValueError(f"names are snake_case, got {name!r}")
        return value

    def reference_problems(self, couriers: Iterable[str]) -> list[str]:
        """`key: problem` for names that point nowhere (channels, groups, courier slugs)."""
        known = set(couriers)
        problems = []
        for name, group in self.groups.items():
            missing = [c for c in group.channels if c not in self.channels]
            if missing:
                problems.append(f"groups.{name}.channels: unknown channel(s) {missing}")
        for i, route in enumerate(self.routes):
            missing = [g for g in (*route.groups, *route.leads) if g not in self.groups]
            if missing:
                problems.append(f"routes.{i}: unknown group(s) {missing}")
            unknown = [slug for slug in route.couriers if slug not in known]
            if unknown:
                problems.append(f"routes.{i}.couriers: courier slugs from couriers.toml, got {unknown}")
        return problems


# --- next_actions.toml (docs/adding-a-rule.md) ------------------------------------------------------


class ActionText(_Strict):
    """The next action for one flag kind (or ladder step), in Chinese and English, with placeholders."""

    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)


# --- import.toml --------------------------------------------------------------------------------------


class HeaderAliases(_Strict):
    headers: dict[str, list[str]]


# --- providers.toml (docs/providers.md) -------------------------------------------------------------


class PollingConfig(_Strict):
    new_hours: PositiveInt = 48
    new_interval_minutes: PositiveInt = 60
    active_interval_minutes: PositiveInt = 120
    stale_after_hours: PositiveInt = 24
    stale_interval_minutes: PositiveInt = 360
    failure_retry_minutes: PositiveFloat = 30
    retire_days: PositiveInt = 60
    due_limit: PositiveInt = 20000


class WorkersConfig(_Strict):
    """`tracker worker` processes (Procrastinate over PostgreSQL) sharing the polling; see tracker/jobs.py."""

    dispatch_seconds: PositiveInt = 10  # due parcels are handed out as poll jobs this often
    parcels_per_job: PositiveInt = 200  # parcels one poll job leases at most
    max_jobs_per_provider: PositiveInt = 32  # poll jobs queued per provider at once
    lease_seconds: PositiveInt = 300  # a killed worker's parcels are polled again after this
    concurrency: PositiveInt = 4  # poll jobs one worker process runs at once (plus two control slots)
    evaluate_seconds: PositiveInt = 60  # rules evaluation cadence (one worker at a time)
    heartbeat_seconds: float = Field(default=10, gt=0)  # how often a worker says it is alive
    stalled_seconds: float = Field(default=60, gt=0)  # a job whose worker stopped heartbeating this long is failed
    fetch_interval_seconds: float = Field(default=1.0, gt=0)  # job queue polling fallback (LISTEN/NOTIFY first)
    job_timeout_seconds: PositiveInt = 900  # a poll job still running after this is cancelled; its parcels come back

    @field_validator("dispatch_seconds", "evaluate_seconds")
    @classmethod
    def _cron_step(cls, value: int) -> int:
        # periodic jobs run on a cron: the step must divide a minute, or be whole minutes dividing an hour
        if (value < 60 and 60 % value) or (value >= 60 and (value % 60 or 60 % (value // 60))):
            raise ValueError("must divide 60 seconds (1, 2, 5, 10, 15, 20, 30) or be whole minutes dividing 60")
        return value

    @model_validator(mode="after")
    def _stalled_after_heartbeats(self) -> WorkersConfig:
        if self.stalled_seconds < 3 * self.heartbeat_seconds:
            raise ValueError("stalled_seconds must be at least 3 x heartbeat_seconds (a live worker is not stalled)")
        return self

    def cron(self, seconds: int) -> str:
        """A 6-field cron (croniter: the sixth field is seconds) that fires every `seconds`."""
        return f"* * * * * */{seconds}" if seconds < 60 else f"*/{seconds // 60} * * * *"


class SubscriptionsConfig(_Strict):
    """Push subscriptions (config/providers.toml [subscriptions]); see tracker/subscriptions.py."""

    enabled: bool = True  # subscribe new waybills with their provider; pushes then replace most polling
    # where the providers push to: this URL + /push/kuaidi100 (Kuaidi100 sends it with each subscription);
    # Kdniao pushes to the URL set in its console, 17TRACK to its webhook setting
    callback_base_url: str = Field(default="http://127.0.0.1:8766", pattern="^https?://")
    silent_hours: PositiveFloat = 24  # an active subscription silent this long is polled once as a safety net
    max_attempts: PositiveInt = 3  # subscribe calls per parcel before the subscription is given up (failed)
    retry_minutes: PositiveFloat = 30  # a subscription refused for a passing reason is asked again after this
    resubscribe_limit: int = Field(default=1, ge=0)  # re-subscriptions with a corrected courier after a stop
    per_cycle: PositiveInt = 2000  # new waybills subscribed per poll cycle or dispatch tick at most


class PushIntakeConfig(_Strict):
    """`tracker serve-push` bounds (config/providers.toml [push]; docs/operations-pushes.md): what one client
    may send and how long it may take, so a huge, deep or slow push costs the receiver little."""

    max_body_bytes: PositiveInt = 1_048_576  # a push body above this is answered 413 before it is read
    max_json_depth: PositiveInt = 32  # a push JSON nested deeper is answered 400 before it is decoded
    max_header_bytes: int = Field(default=16_384, ge=1024)  # request line + headers
    header_timeout_seconds: PositiveFloat = 10  # a connection without complete headers this long is closed
    body_timeout_seconds: PositiveFloat = 15  # a body not fully received this long is answered 408
    keep_alive_seconds: PositiveFloat = 5  # an idle kept-alive connection is closed after this
    max_connections: PositiveInt = 512  # open connections at once; more are closed as they arrive
    max_concurrency: PositiveInt = 64  # requests handled at once; more are answered 503
    # group commit (tracker/push.py GroupCommit): pushes arriving within this many ms share one transaction
    group_window_ms: float = Field(default=2.0, ge=0, le=1000)
    group_max_pushes: PositiveInt = 256  # at most this many pushes in one transaction
    access_log: bool = False  # uvicorn's line per request; off: the receiver logs per group and per refusal


class ProviderConfig(_Strict):
    """One data provider's endpoint, account and limits; secrets are overridden from the environment."""

    base_url: str = Field(pattern="^https?://")
    customer: str = ""
    key: str = ""
    salt: str = ""
    ebusiness_id: str = ""
    app_key: str = ""
    request_type: str = "8001"
    api_version: str = Field(default="v2.4", pattern=r"^v2\.[24]$")  # 17TRACK: v2.2 or v2.4 paths, same shapes
    app_secret: str = ""  # Taobao Open Platform: the app's secret (signs every call)
    session: str = ""  # Taobao Open Platform: the seller's authorization (sessionKey)
    sign_method: Literal["md5", "hmac"] = "md5"  # Taobao Open Platform signature method
    seller_nick: str = ""  # Taobao Open Platform: the shop (卖家昵称) when a parcel names none
    min_waybill_interval_minutes: PositiveFloat = 30
    rate_per_second: float = Field(default=3, gt=0)
    # requests are paced at rate_per_second * (1 - rate_margin): the margin absorbs network jitter, so the
    # provider never answers 429 (tracker.providers.http.Pacer)
    rate_margin: float = Field(default=0.04, ge=0, lt=0.5)
    concurrency: PositiveInt = 4
    batch_size: PositiveInt = 1
    timeout_seconds: float = Field(default=10, gt=0)
    retry_attempts: PositiveInt = 3
    breaker_failures: PositiveInt = 5
    breaker_pause_seconds: float = Field(default=300, ge=0)


class ProvidersConfig(_Strict):
    """config/providers.toml: polling, workers and one section per registered provider
    (tracker/providers/registry.py); a provider without a section gets its spec's defaults, the local
    sandbox's demo accounts (tracker/sandbox/accounts.py). `providers.kuaidi100` or `providers.of(name)`."""

    model_config = ConfigDict(extra="allow", frozen=True)
    __pydantic_extra__: dict[str, ProviderConfig] = Field(init=False)  # type: ignore[assignment]

    polling: PollingConfig = PollingConfig()
    workers: WorkersConfig = WorkersConfig()
    subscriptions: SubscriptionsConfig = SubscriptionsConfig()
    push: PushIntakeConfig = PushIntakeConfig()

    @model_validator(mode="before")
    @classmethod
    def _registered_providers(cls, data: Any) -> Any:
        from tracker.providers.registry import names

        if isinstance(data, dict):
            unknown = sorted(set(data) - set(cls.model_fields) - set(names()))
            if unknown:
                raise ValueError(
                    f"unknown section(s) {unknown}: providers are {', '.join(names())}, "
                    "polling, workers, subscriptions, push"
                )
        return data

    def of(self, name: str) -> ProviderConfig:
        """The section of provider `name` (KeyError when it has none)."""
        config = (self.__pydantic_extra__ or {}).get(name)
        if config is None:
            raise KeyError(f"no [{name}] provider section")
        return config


def provider_secrets() -> dict[tuple[str, str], str]:
    """Environment variables holding provider secrets: (provider, field) -> variable, from the registry."""
    from tracker.providers.registry import secret_variables

    return secret_variables()


def _provider_data(config_dir: Path) -> dict[str, Any]:
    from tracker.providers.registry import default_config, names

    path = config_dir / "providers.toml"
    data = read_toml(path) if path.is_file() else {}
    for name in names():
        if name not in data:
            data[name] = default_config(name)
    for (provider, field), variable in provider_secrets().items():
        if variable in os.environ and isinstance(data.get(provider), dict):
            data[provider] = {**data[provider], field: os.environ[variable]}
    return data


# --- the board (config/board.toml) -------------------------------------------------------------------


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


# --- the whole -----------------------------------------------------------------------------------------


class Settings(BaseSettings):
    """Everything an entrypoint needs; top-level scalars may be overridden by TRACKER_<NAME>."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid", frozen=True)

    config_dir: Path
    project_root: Path = Field(default_factory=working_root)
    database_url: str
    timezone: str = "Asia/Shanghai"
    currency: str = Field(default="CNY", pattern="^[A-Z]{3}$")
    import_: ImportConfig = Field(default=ImportConfig(), alias="import")
    couriers: dict[str, CourierConfig]
    detection: DetectionConfig = DetectionConfig()
    headers: dict[str, list[str]] = {}
    return_waybill_headers: list[str] = []
    rules: RulesConfig
    alerts: AlertsConfig = AlertsConfig()
    providers: ProvidersConfig
    next_actions: dict[str, ActionText] = {}
    board: BoardConfig = BoardConfig()

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

    @property
    def phrasebook(self) -> PhraseBook:
        """The courier phrases of config/phrases.toml (tracker.phrases), read once per config folder."""
        from tracker.phrases import phrasebook_for

        return phrasebook_for(self.config_dir)

    @property
    def tmall(self):  # type: ignore[no-untyped-def]  # -> tracker.tmall.TmallRules
        """config/claims/tmall.toml, the Tmall platform's numbers (tracker.tmall), read once per file."""
        from tracker.tmall import tmall_rules

        return tmall_rules(self.config_dir)


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
    "detection": "couriers.toml",
    "headers": "import.toml",
    "return_waybill_headers": "import.toml",
    "rules": "rules.toml",
    "alerts": "alerts.toml",
    "providers": "providers.toml",
    "next_actions": "next_actions.toml",
    "board": "board.toml",
}


# Top-level keys that are a table of their file (their name is part of the key a person looks for).
_TABLES = {"detection"}


def default_config_dir() -> Path:
    """TRACKER_CONFIG_DIR, else ./config when it exists, else the project's own (shipped) config."""
    env = os.environ.get(f"{ENV_PREFIX}CONFIG_DIR")
    if env:
        return Path(env)
    local = Path.cwd() / "config"
    return local if (local / "tracker.toml").is_file() else shipped_config_dir()


def read_toml(path: Path) -> dict[str, Any]:
    """Read one TOML file; a syntax error names the file and line."""
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a folder, expected a TOML file") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}); save it as UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{path}: nested too deeply to be a configuration file") from None


def load_settings(config_dir: Path | None = None) -> Settings:
    """Read and validate `config_dir/*.toml` with environment overrides; raise ConfigError on any fault."""
    config_dir = Path(config_dir) if config_dir else default_config_dir()
    data: dict[str, Any] = dict(read_toml(config_dir / "tracker.toml"))
    couriers_toml = read_toml(config_dir / "couriers.toml")
    data["couriers"] = couriers_toml.get("couriers", {})
    data["detection"] = couriers_toml.get("detection", {})
    import_toml = read_toml(config_dir / "import.toml")
    data["headers"] = import_toml.get("headers", {})
    data["return_waybill_headers"] = import_toml.get("returns", {}).get("waybill_headers", [])
    data["rules"] = read_toml(config_dir / "rules.toml")
    if (config_dir / "alerts.toml").is_file():
        data["alerts"] = read_toml(config_dir / "alerts.toml")
    data["providers"] = _provider_data(config_dir)
    actions_file = config_dir / "next_actions.toml"
    if actions_file.is_file():
        data["next_actions"] = read_toml(actions_file)
    if (config_dir / "board.toml").is_file():
        board = read_toml(config_dir / "board.toml")
        data["board"] = {**board.get("board", {}), "users": board.get("users", {})}
    data["config_dir"] = config_dir
    try:
        settings = Settings(**data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, config_dir)) from None
    problems = settings.alerts.reference_problems(settings.couriers)
    if problems:
        raise ConfigError("\n".join(f"{config_dir / _FILES['alerts']}: {problem}" for problem in problems))
    return settings


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
            key = ".".join(loc[1:] if top in _FILES and top not in _TABLES else loc) or "(file)"
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


def validate_file(model: type[BaseModelT], data: dict[str, Any], path: Path) -> BaseModelT:
    """`model` from one TOML file's contents; ConfigError with one line per problem, each naming the file and
    the key (the claim tables and tmall.toml read their files with it)."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            key = ".".join(str(p) for p in err["loc"]) or "(file)"
            message = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                message = "unknown key (not expected here)"
            elif err["type"] == "missing":
                message = "required key is missing"
            got = err.get("input")
            got_text = "" if isinstance(got, dict | list) or got is None or "got " in message else f", got {got!r}"
            lines.append(f"{path}: {key}: {message}{got_text}")
        raise ConfigError("\n".join(lines)) from None


def copy_config(source: Path, target: Path, changes: dict[str, dict[str, dict[str, object]]]) -> Path:
    """Copy a config folder to `target`, replacing `key = value` lines: {file: {section: {key: value}}}
    (for the benchmarks and the multi-process tests; keeps every comment). Returns `target`."""
    import json
    import shutil

    shutil.copytree(source, target)
    for name, sections in changes.items():
        path = target / name
        lines = path.read_text(encoding="utf-8").splitlines()
        section, done = "", set()
        for i, line in enumerate(lines):
            header = re.match(r"^\[([\w.]+)\]", line)
            if header:
                section = header.group(1)
                continue
            key = line.split("=", 1)[0].strip()
            if "=" in line and key in sections.get(section, {}):
                lines[i] = f"{key} = {json.dumps(sections[section][key])}"
                done.add((section, key))
        missing = {(s, k) for s, keys in sections.items() for k in keys} - done
        if missing:
            raise ConfigError(f"{path}: no such keys to replace: {sorted(missing)}")
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return target
