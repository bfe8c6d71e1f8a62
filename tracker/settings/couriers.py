"""config/couriers.toml: the couriers, their waybill patterns and [detection]."""

from __future__ import annotations

import re
from typing import Any

from pydantic import (
    Field,
    field_validator,
)

from tracker.settings.base import _Strict


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
    needs_phone: bool = False  # Kuaidi100 refuses its query and subscription without the phone (last 4 digits)
    kdniao_needs_phone: bool = False  # Kdniao refuses without CustomerName, the phone's last 4 digits
    # a plain string is a pattern with [detection] default_weight (tracker/couriers/detect.py)
    patterns: list[WaybillPattern] = []

    def phone_required(self, provider: str) -> bool:
        """Whether `provider` refuses to track this courier's waybills without the phone's last 4 digits
        (docs/providers.md): Kuaidi100 `phone` (needs_phone), Kdniao `CustomerName` (kdniao_needs_phone)."""
        if provider == "kuaidi100":
            return self.needs_phone
        if provider == "kdniao":
            return self.kdniao_needs_phone
        return False

    def refused_without(self, provider: str, phone: str | None) -> bool:
        """Whether asking `provider` with this phone (its last 4 digits, or none) would be a certain refusal."""
        return self.phone_required(provider) and not phone

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
