"""Thresholds for one parcel: the defaults of rules.toml with the most specific override applied.

An override names a courier and/or a province and/or a city; it applies when every name it gives
matches the parcel (a region matches when the parcel's value starts with it, so "西藏" matches
"西藏自治区"). Each threshold section (stale, no_first_scan, ...) is taken from the most specific
applying override that sets it, else the default. Specificity, highest first (the tie-break order of
rules.toml; cf. karrio rating_proxy.find_best_matching_zone):

  1. region level: city (2) > province (1) > none (0)
  2. a courier given beats none (courier + region beats the region alone)
  3. more names given (province + city beats city alone)
  4. equal on all three: the entry earlier in the file wins.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from tracker.regions import region_matches
from tracker.settings import (
    Contact,
    LateShipment,
    LostSuspected,
    RefundLadders,
    Returns,
    RuleOverride,
    RulesConfig,
    WarnEscalate,
    Watch,
)

# Sections an override may replace: the threshold fields of RuleOverride (the others name its scope). Each
# is read by a rule (tracker.rules.rule.Rule.thresholds; tests/rules/test_rules_registry.py).
SCOPE_FIELDS = ("courier", "province", "city")
SECTIONS = tuple(name for name in RuleOverride.model_fields if name not in SCOPE_FIELDS)

Specificity = tuple[int, int, int]


@dataclass(frozen=True, slots=True)
class Policy:
    no_first_scan: WarnEscalate
    stale: WarnEscalate
    lost_suspected: LostSuspected
    late_shipment: LateShipment
    returns: Returns
    refund_ladder: RefundLadders
    watch: Watch
    contact: Contact
    text_patterns: Mapping[str, tuple[str, ...]]
    text_negations: Mapping[str, str] = field(default_factory=dict)  # RulesConfig.text_negations


def specificity(override: RuleOverride) -> Specificity:
    """The override's rank (higher wins), from the names it gives; see the module docstring."""
    region = 2 if override.city else 1 if override.province else 0
    names = sum(1 for v in (override.courier, override.province, override.city) if v)
    return (region, 1 if override.courier else 0, names)


def override_applies(override: RuleOverride, *, courier: str, province: str | None, city: str | None) -> bool:
    """True when every name the override gives matches the parcel."""
    return (
        (override.courier is None or override.courier == courier)
        and region_matches(province, override.province)
        and region_matches(city, override.city)
    )


def beats(a: tuple[int, RuleOverride], b: tuple[int, RuleOverride]) -> bool:
    """True when override a (index, entry) wins over b whenever both apply."""
    sa, sb = specificity(a[1]), specificity(b[1])
    return sa > sb or (sa == sb and a[0] < b[0])


def find_best_override(
    overrides: Sequence[RuleOverride], section: str, *, courier: str, province: str | None, city: str | None
) -> RuleOverride | None:
    """The most specific override that sets `section` and applies to the parcel, or None."""
    best: tuple[int, RuleOverride] | None = None
    for index, override in enumerate(overrides):
        if getattr(override, section) is None:
            continue
        if not override_applies(override, courier=courier, province=province, city=city):
            continue
        if best is None or beats((index, override), best):
            best = (index, override)
    return best[1] if best else None


def override_groups(
    overrides: Sequence[RuleOverride], section: str
) -> list[tuple[RuleOverride | None, list[RuleOverride]]]:
    """The same choice as a partition, for set-based SQL: (override, the overrides that beat it).

    A parcel takes override o when o applies and none of the overrides listed with it apply; the
    default group (None) lists every override that sets the section."""
    setting = [(i, o) for i, o in enumerate(overrides) if getattr(o, section) is not None]
    groups: list[tuple[RuleOverride | None, list[RuleOverride]]] = [(None, [o for _, o in setting])]
    for entry in setting:
        groups.append((entry[1], [o for i, o in setting if beats((i, o), entry)]))
    return groups


def resolve_policy(
    config: RulesConfig, *, courier: str, province: str | None = None, city: str | None = None
) -> Policy:
    """The thresholds for a parcel of `courier` going to `province`/`city` (module docstring)."""
    chosen = {}
    for section in SECTIONS:
        best = find_best_override(config.overrides, section, courier=courier, province=province, city=city)
        chosen[section] = getattr(best, section) if best else getattr(config, section)
    return Policy(
        **chosen,
        refund_ladder=config.refund_ladder,
        watch=config.watch,
        contact=config.contact,
        text_patterns={k: tuple(v) for k, v in config.text_patterns.items()},
        text_negations=config.text_negations,
    )
