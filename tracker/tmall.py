"""The Tmall platform's numbers, config/claims/tmall.toml, validated into frozen values (docs/domain.md,
"Tmall's timers"). Read once per file; a wrong value raises ConfigError naming the file and the key."""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from tracker.settings import read_toml, validate_file


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LateShipmentCompensation(_Strict):
    percent: Decimal = Field(gt=0, le=100)
    cap: Decimal = Field(ge=0)
    points_per_cny: int = Field(gt=0)


class NotReceived(_Strict):
    complaint_days: int = Field(gt=0)
    negotiate_hours: int = Field(gt=0)
    fixed_hours: int = Field(gt=0)
    extension_hours: int = Field(gt=0)

    @model_validator(mode="after")
    def _split(self) -> NotReceived:
        if self.fixed_hours >= self.negotiate_hours:
            raise ValueError("fixed_hours must be less than negotiate_hours (the last part is where changes extend)")
        return self


class SevenDayReturn(_Strict):
    hours: int = Field(gt=0)
    timezone: str = "Asia/Shanghai"

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"an IANA time zone such as Asia/Shanghai, got {value!r}") from None
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class TmallRules(_Strict):
    late_shipment_compensation: LateShipmentCompensation
    not_received: NotReceived
    seven_day_return: SevenDayReturn


def parse_tmall(data: dict, path: Path) -> TmallRules:  # type: ignore[type-arg]
    """Validate the file's contents; ConfigError with one line per problem, each naming file and key."""
    return validate_file(TmallRules, data, path)


@lru_cache(maxsize=8)
def load_tmall(path: Path) -> TmallRules:
    return parse_tmall(read_toml(path), path)


def tmall_rules(config_dir: Path) -> TmallRules:
    """config_dir/claims/tmall.toml, validated (cached per path)."""
    return load_tmall(Path(config_dir) / "claims" / "tmall.toml")
