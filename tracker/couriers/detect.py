"""Courier names and waybill patterns -> courier slugs (config/couriers.toml). Pure.

A waybill number is normalized (spaces and the export's guards removed, upper-cased), then every
courier's patterns are tried. Each courier that matches scores the weight of its best pattern; the
confidence of a candidate is its score / max(1, the sum of all scores), so one sure match stays sure and
several weak matches share the certainty (docs/courier-detection.md). `detect` takes the top candidate
only when it is clearly ahead ([detection] margin and min_confidence); otherwise it names the candidates.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from tracker.errors import TrackerError
from tracker.settings import CourierConfig, DetectionConfig

# what an export puts around a number so a spreadsheet keeps it as text: 'No:', "'", '="..."', tabs
_GUARDS = re.compile(r"^(?:NO[:：.]|运单号[:：]?)")
_SPACES = re.compile(r"[\s\u3000]+")


class UnknownCourier(TrackerError):
    """A courier name or waybill that maps to no configured courier, or to several (then `candidates`)."""

    def __init__(self, message: str, candidates: Sequence[Candidate] = ()) -> None:
        super().__init__(message)
        self.candidates = list(candidates)


@dataclass(frozen=True, slots=True)
class Candidate:
    slug: str
    name: str  # the courier's name as people know it (config name)
    confidence: float  # 0-1
    pattern: str  # the pattern that matched, or where the suggestion came from

    @property
    def percent(self) -> str:
        return f"{round(self.confidence * 100)}%"


@dataclass(frozen=True, slots=True)
class Detection:
    slug: str
    pattern: str  # the pattern that matched, shown to the person
    confidence: float = 1.0
    candidates: tuple[Candidate, ...] = ()


def normalize_waybill(raw: str) -> str:
    """' sf 1234 5678 90123 ' -> 'SF1234567890123'; strips the export's 'No:' / "'" / '="..."' guards."""
    text = _SPACES.sub("", raw).strip("'\"=`").upper()
    return _GUARDS.sub("", text).strip("'\"=`")


def _key(name: str) -> str:
    """A courier's name as compared: full-width letters read as ASCII (NFKC: Ｊ＆Ｔ is J&T), no spaces, lower case."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", name)).lower()


def describe(candidates: Sequence[Candidate], limit: int = 4) -> str:
    """'中通快递 (56%) or 申通快递 (44%)' - names and confidences a warehouse lead can read."""
    parts = [f"{c.name} ({c.percent})" for c in candidates[:limit]]
    if len(candidates) > limit:
        parts.append(f"{len(candidates) - limit} more")
    if len(parts) == 1:
        return parts[0]
    return ", ".join(parts[:-1]) + " or " + parts[-1]


def rank(scores: Mapping[str, tuple[float, str]], names: Mapping[str, str], order: Sequence[str]) -> list[Candidate]:
    """{slug: (score, pattern)} -> candidates best first (ties keep the configured courier order)."""
    total = max(1.0, sum(score for score, _ in scores.values()))
    position = {slug: i for i, slug in enumerate(order)}
    ranked = sorted(scores.items(), key=lambda item: (-item[1][0], position.get(item[0], len(position))))
    return [Candidate(slug, names.get(slug, slug), score / total, pattern) for slug, (score, pattern) in ranked]


class CourierIndex:
    """Resolves names from export files and detects couriers from waybill numbers."""

    def __init__(self, couriers: Mapping[str, CourierConfig], detection: DetectionConfig | None = None) -> None:
        self.couriers = dict(couriers)
        self.detection = detection or DetectionConfig()
        self._names: dict[str, str] = {}
        for slug, cfg in couriers.items():
            for name in (slug, cfg.name, cfg.name_en, *cfg.aliases):
                self._names.setdefault(_key(name), slug)
        default = self.detection.default_weight
        self._patterns = [
            (slug, p.regex, p.weight or default, re.compile(p.regex))
            for slug, cfg in couriers.items()
            for p in cfg.patterns
        ]
        self._by_kuaidi100 = {cfg.kuaidi100: slug for slug, cfg in couriers.items() if cfg.kuaidi100}
        # each courier's own patterns (compiled one by one: a pattern's inline flags or group names need not
        # combine with another's)
        self._own: dict[str, list[re.Pattern[str]]] = {}
        for slug, _, _, rx in self._patterns:
            self._own.setdefault(slug, []).append(rx)

    def name(self, slug: str) -> str:
        cfg = self.couriers.get(slug)
        return cfg.name if cfg else slug

    def resolve(self, name: str) -> str:
        """'圆通速递' or 'yto' -> 'yto'; raise UnknownCourier for a name no courier claims."""
        slug = self._names.get(_key(name))
        if slug is None:
            raise UnknownCourier(f"unknown courier {name!r} (add it to config/couriers.toml aliases)")
        return slug

    def candidates(self, waybill: str) -> list[Candidate]:
        """Every courier whose patterns match the (normalized) number, best first, with a confidence."""
        number = normalize_waybill(waybill)
        scores: dict[str, tuple[float, str]] = {}
        for slug, pattern, weight, rx in self._patterns:
            if rx.match(number) and weight > scores.get(slug, (0.0, ""))[0]:
                scores[slug] = (weight, pattern)
        return rank(scores, {s: c.name for s, c in self.couriers.items()}, list(self.couriers))

    def from_autonumber(self, com_codes: Sequence[str]) -> list[Candidate]:
        """Kuaidi100 autonumber's company codes (its order is its ranking) -> candidates of our couriers.
        The n-th suggestion scores [detection] autonumber_weight / n; codes we do not configure are skipped."""
        scores: dict[str, tuple[float, str]] = {}
        for n, code in enumerate(com_codes, start=1):
            slug = self._by_kuaidi100.get(code)
            if slug and slug not in scores:
                scores[slug] = (self.detection.autonumber_weight / n, f"Kuaidi100 autonumber suggestion {n}")
        return rank(scores, {s: c.name for s, c in self.couriers.items()}, list(self.couriers))

    def decide(self, waybill: str, candidates: Sequence[Candidate]) -> Detection:
        """The top candidate when it is clearly ahead, else UnknownCourier naming the candidates."""
        number = normalize_waybill(waybill)
        if not candidates:
            raise UnknownCourier(f"waybill {number!r} matches no courier's number pattern")
        top = candidates[0]
        second = candidates[1].confidence if len(candidates) > 1 else 0.0
        clear = top.confidence - second >= self.detection.margin - 1e-9  # 0.5 - 0.3 is 0.19999...
        if top.confidence >= self.detection.min_confidence and clear:
            return Detection(top.slug, top.pattern, top.confidence, tuple(candidates))
        raise UnknownCourier(f"waybill {number!r} could be {describe(candidates)}", candidates)

    def contradicts(self, slug: str, waybill: str) -> Detection | None:
        """The other courier a number named under `slug` clearly belongs to, else None: none of slug's patterns
        matches it and the patterns decide for another courier (`detect`), e.g. SF1385628716739 under 中通快递.
        A number no pattern decides, one that slug's patterns also match, or one of a courier without patterns
        (nothing is known of its numbers) is no contradiction. The usual row costs a match or two of slug's own
        patterns; only a number they do not match is tried against every courier's."""
        own = self._own.get(slug)
        if not own:
            return None
        number = waybill.upper() if waybill.isalnum() else normalize_waybill(waybill)  # the import's: as it is
        for rx in own:
            if rx.match(number):
                return None
        found = self.candidates(number)
        if not found or slug in {c.slug for c in found}:
            return None
        try:
            return self.decide(number, found)
        except UnknownCourier:
            return None

    def detect(self, waybill: str) -> Detection:
        """Detect the courier from the number's patterns; an unclear number raises UnknownCourier."""
        return self.decide(waybill, self.candidates(waybill))
