"""config/rules.toml (docs/domain.md): the thresholds of the exception rules, per courier and region."""

from __future__ import annotations

import re
from datetime import time

from pydantic import (
    Field,
    PositiveInt,
    field_validator,
    model_validator,
)

from tracker.settings.base import _Strict


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
    # per [text_patterns] key, a regular expression: a text it matches does not raise the flag by its words.
    # Filled from config/phrases.toml's negations of the status of that name (settings loader).
    text_negations: dict[str, str] = {}
    returns: Returns = Returns()
    refund_ladder: RefundLadders
    contact: Contact = Contact()
    overrides: list[RuleOverride] = []

    @field_validator("text_negations")
    @classmethod
    def _negations_compile(cls, value: dict[str, str]) -> dict[str, str]:
        for key, regex in value.items():
            try:
                re.compile(regex)
            except re.error as exc:
                raise ValueError(f"{key}: not a regular expression ({exc})") from None
        return value

    @model_validator(mode="after")
    def _lost_after_stale(self) -> RulesConfig:
        if self.lost_suspected.hours <= self.stale.escalate_hours:
            raise ValueError("lost_suspected.hours must be greater than stale.escalate_hours")
        return self
