"""Scenarios (data in scenarios/*.toml) and the deterministic waybill -> scenario assignment."""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

SCENARIO_DIR = Path(__file__).resolve().parent / "scenarios"


@dataclass(frozen=True, slots=True)
class ScenarioEvent:
    hours: float
    status: str
    kd100: str
    kdn: str
    t17: str
    text: str
    location: str


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    weight: int
    events: tuple[ScenarioEvent, ...]


def load_scenarios(directory: Path = SCENARIO_DIR) -> dict[str, Scenario]:
    scenarios: dict[str, Scenario] = {}
    for path in sorted(directory.glob("*.toml")):
        with path.open("rb") as fh:
            data = tomllib.load(fh)
        for i, raw in enumerate(data.get("scenario", [])):
            try:
                events = tuple(
                    ScenarioEvent(
                        float(e["h"]),
                        e["status"],
                        str(e["kd100"]),
                        str(e["kdn"]),
                        e["t17"],
                        e["text"],
                        e["loc"],
                    )
                    for e in raw.get("events", [])
                )
                scenario = Scenario(raw["name"], int(raw.get("weight", 1)), events)
            except (KeyError, TypeError, ValueError) as exc:
                raise ValueError(f"{path}: scenario[{i}]: {exc!r}") from None
            scenarios[scenario.name] = scenario
    return scenarios


@dataclass
class ScenarioBook:
    """Which scenario a waybill follows and when its clock starts (its anchor, the pickup time).

    Unregistered waybills get a scenario by a stable hash of the number (weights from the files) and an
    anchor `epoch + hash % spread_hours`; `assign` pins one explicitly (tests, demos).
    """

    scenarios: dict[str, Scenario]
    epoch: datetime
    spread_hours: int = 14 * 24
    pinned: dict[str, tuple[str, datetime]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._wheel = [name for name, s in sorted(self.scenarios.items()) for _ in range(s.weight)]

    def assign(self, waybill: str, scenario: str, anchor: datetime | None = None) -> None:
        if scenario not in self.scenarios:
            raise KeyError(scenario)
        self.pinned[waybill] = (scenario, anchor or self._default_anchor(waybill))

    def _digest(self, waybill: str) -> int:
        return int.from_bytes(hashlib.sha1(waybill.encode()).digest()[:8], "big")

    def _default_anchor(self, waybill: str) -> datetime:
        return self.epoch + timedelta(hours=(self._digest(waybill) >> 20) % max(self.spread_hours, 1))

    def lookup(self, waybill: str) -> tuple[Scenario, datetime]:
        if waybill in self.pinned:
            name, anchor = self.pinned[waybill]
            return self.scenarios[name], anchor
        name = self._wheel[self._digest(waybill) % len(self._wheel)]
        return self.scenarios[name], self._default_anchor(waybill)

    def visible(self, waybill: str, now: datetime) -> list[tuple[datetime, ScenarioEvent]]:
        """The waybill's events whose time has come, oldest first."""
        scenario, anchor = self.lookup(waybill)
        out = []
        for event in scenario.events:
            at = anchor + timedelta(hours=event.hours)
            if at <= now:
                out.append((at, event))
        return out
