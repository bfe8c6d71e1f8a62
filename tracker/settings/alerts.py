"""config/alerts.toml (docs/domain.md "Calling buyers", docs/operations.md "Alert channels")."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import time
from typing import Any

from pydantic import (
    Field,
    PositiveInt,
    field_validator,
    model_validator,
)

from tracker.settings.base import _Strict

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
    # robots take 20 messages/minute: at most this many messages a run to the channel, whichever groups it
    # serves, each part of a split bundle counted; more due go as one bundle, what does not fit waits
    # (not for type board: the board's alert log reaches no robot, every due alert is recorded at once)
    max_per_run: PositiveInt = 15

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
