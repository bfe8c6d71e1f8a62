"""Scenarios (data in scenarios/*.toml) and the deterministic waybill -> scenario assignment.

An event's courier wording comes, for a courier slug, from (first that exists): the event's own `texts.<slug>`,
the courier's template `wording.<slug>.<say>` filled with the event's fields (city, site, next, person, phone,
station, code, signer), the default template `wording.default.<say>`, the event's `text`. Every template is
filled at load time, so a template naming a field an event lacks fails loading with one line naming file,
scenario, event and key.
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

SCENARIO_DIR = Path(__file__).resolve().parent / "scenarios"
WORDING_FIELDS = ("city", "site", "next", "person", "phone", "station", "code", "signer")
# 17TRACK milestone stages (the `milestone[].key_stage` list of a v2.2/v2.4 webhook), in order
T17_STAGES = (
    "InfoReceived",
    "PickedUp",
    "Departure",
    "Arrival",
    "AvailableForPickup",
    "OutForDelivery",
    "Delivered",
    "Returning",
    "Returned",
)
_STAGE_OF_SUB = {
    "InfoReceived": "InfoReceived", "InTransit_PickedUp": "PickedUp", "InTransit_Departure": "Departure",
    "InTransit_Arrival": "Arrival", "AvailableForPickup_Other": "AvailableForPickup",
    "OutForDelivery_Other": "OutForDelivery", "Delivered_Other": "Delivered", "Exception_Returning": "Returning",
    "Exception_Returned": "Returned",
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class ScenarioEvent:
    hours: float
    status: str  # our TrackingStatus (what the event means; never sent)
    kd100: str  # Kuaidi100 statusCode of the item (sent with resultv2=4/8 only)
    kdn: str  # Kdniao Action (8001 only) / StateEx
    t17: str  # 17TRACK package sub_status once this event is the newest (latest_status)
    text: str  # the default wording (no courier known)
    location: str
    texts: tuple[tuple[str, str], ...] = ()  # (courier slug, wording)
    stage: str | None = None  # 17TRACK event stage (None: not a milestone)
    remark: str | None = None  # Kdniao trace Remark (None: the key is left out)

    def text_for(self, courier: str | None) -> str:
        for slug, text in self.texts:
            if slug == courier:
                return text
        return self.text


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    weight: int
    events: tuple[ScenarioEvent, ...]


def _load_files(directory: Path) -> list[tuple[Path, dict[str, Any]]]:
    out = []
    for path in sorted(directory.glob("*.toml")):
        with path.open("rb") as fh:
            try:
                out.append((path, tomllib.load(fh)))
            except tomllib.TOMLDecodeError as exc:
                raise ValueError(f"{path}: not valid TOML: {exc}") from None
    return out


def _wording(files: list[tuple[Path, dict[str, Any]]]) -> dict[str, dict[str, str]]:
    wording: dict[str, dict[str, str]] = {}
    for path, data in files:
        for slug, templates in (data.get("wording") or {}).items():
            if not isinstance(templates, dict) or not all(isinstance(v, str) for v in templates.values()):
                raise ValueError(f"{path}: wording.{slug}: expected a table of strings")
            wording.setdefault(slug, {}).update(templates)
    return wording


def _event(raw: dict[str, Any], wording: dict[str, dict[str, str]], where: str) -> ScenarioEvent:
    for key in ("h", "status", "kd100", "kdn", "t17", "loc"):
        if key not in raw:
            raise ValueError(f"{where}: missing key {key!r}")
    say = raw.get("say")
    params = {k: str(raw[k]) for k in WORDING_FIELDS if k in raw}

    def fill(slug: str) -> str | None:
        template = wording.get(slug, {}).get(say) if say else None
        if template is None:
            return None
        try:
            return template.format(**params)
        except KeyError as exc:
            raise ValueError(
                f"{where}: wording.{slug}.{say} needs key {exc.args[0]!r}, which the event lacks"
            ) from None

    default = fill("default") if say else None
    text = str(raw.get("text") or default or "")
    if not text:
        raise ValueError(f"{where}: needs `text` or a `say` that wording.default has")
    if say and default is None and not raw.get("text"):
        raise ValueError(f"{where}: wording.default has no {say!r}")
    explicit = raw.get("texts") or {}
    if not isinstance(explicit, dict):
        raise ValueError(f"{where}: texts must be a table courier = wording")
    texts: dict[str, str] = {}
    for slug in wording:
        if slug != "default" and (filled := fill(slug)) is not None:
            texts[slug] = filled
    texts.update({str(k): str(v) for k, v in explicit.items()})
    stage = raw["stage"] if "stage" in raw else _STAGE_OF_SUB.get(str(raw["t17"]))
    if stage is not None and stage not in T17_STAGES:
        raise ValueError(f"{where}: stage {stage!r} is not one of {', '.join(T17_STAGES)}")
    return ScenarioEvent(
        float(raw["h"]),
        str(raw["status"]),
        str(raw["kd100"]),
        str(raw["kdn"]),
        str(raw["t17"]),
        text,
        str(raw["loc"]),
        tuple(sorted(texts.items())),
        stage,
        raw.get("remark"),
    )


def load_scenarios(directory: Path = SCENARIO_DIR) -> dict[str, Scenario]:
    files = _load_files(directory)
    wording = _wording(files)
    scenarios: dict[str, Scenario] = {}
    for path, data in files:
        for i, raw in enumerate(data.get("scenario", [])):
            name = raw.get("name", f"scenario[{i}]")
            try:
                events = tuple(
                    _event(e, wording, f"{path.name}: scenario {name}: events[{j}]")
                    for j, e in enumerate(raw.get("events", []))
                )
                scenario = Scenario(raw["name"], int(raw.get("weight", 1)), events)
            except (KeyError, TypeError) as exc:
                raise ValueError(f"{path.name}: scenario {name}: {exc!r}") from None
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
