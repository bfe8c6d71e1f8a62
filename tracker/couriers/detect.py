"""Courier names and waybill patterns -> the one courier slug (config/couriers.toml). Pure."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from tracker.errors import TrackerError
from tracker.settings import CourierConfig


class UnknownCourier(TrackerError):
    """A courier name or waybill that maps to no configured courier (or to several)."""


@dataclass(frozen=True, slots=True)
class Detection:
    slug: str
    pattern: str  # the pattern that matched, shown to the person


def _key(name: str) -> str:
    return re.sub(r"\s+", "", name).lower()


class CourierIndex:
    """Resolves names from export files and detects couriers from waybill numbers."""

    def __init__(self, couriers: Mapping[str, CourierConfig]) -> None:
        self.couriers = dict(couriers)
        self._names: dict[str, str] = {}
        for slug, cfg in couriers.items():
            for name in (slug, cfg.name, cfg.name_en, *cfg.aliases):
                self._names.setdefault(_key(name), slug)
        self._patterns = [
            (slug, pattern, re.compile(pattern)) for slug, cfg in couriers.items() for pattern in cfg.patterns
        ]

    def resolve(self, name: str) -> str:
        """'圆通速递' or 'yto' -> 'yto'; raise UnknownCourier for a name no courier claims."""
        slug = self._names.get(_key(name))
        if slug is None:
            raise UnknownCourier(f"unknown courier {name!r} (add it to config/couriers.toml aliases)")
        return slug

    def detect(self, waybill: str) -> Detection:
        """Detect the courier from the number's pattern; two couriers matching is not guessed."""
        hits: dict[str, str] = {}
        for slug, pattern, rx in self._patterns:
            if slug not in hits and rx.match(waybill):
                hits[slug] = pattern
        if not hits:
            raise UnknownCourier(f"courier is blank and waybill {waybill!r} matches no courier's pattern")
        if len(hits) > 1:
            raise UnknownCourier(f"courier is blank and waybill {waybill!r} could be any of {', '.join(sorted(hits))}")
        slug, pattern = next(iter(hits.items()))
        return Detection(slug, pattern)
