"""config/providers.toml (docs/providers.md): polling, workers, subscriptions, push intake and one section
per registered provider."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import (
    ConfigDict,
    Field,
    PositiveFloat,
    PositiveInt,
    field_validator,
    model_validator,
)

from tracker.settings.base import _Strict


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
    # group commit (tracker/push_writer.py GroupCommit): how long the writer waits for more pushes after the
    # first of a group; 0: a group is what waited while the previous one was written (bench/push.py: the best)
    group_window_ms: float = Field(default=0.0, ge=0, le=1000)
    group_max_pushes: PositiveInt = 256  # at most this many pushes in one transaction
    # where the group commit's writer runs (tracker/push_writer.py): a process of its own, so the event loop
    # keeps a core, or a thread of the receiver's process
    writer: Literal["process", "thread"] = "process"
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
