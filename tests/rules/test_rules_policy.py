"""Thresholds overridden per courier and region: the most specific override wins (documented order)."""

from __future__ import annotations

import pytest

from tracker.rules.policy import find_best_override, resolve_policy
from tracker.settings import RuleOverride, RulesConfig, WarnEscalate


def _config(settings, *overrides: dict) -> RulesConfig:  # type: ignore[no-untyped-def,type-arg]
    return settings.rules.model_copy(update={"overrides": [RuleOverride(**o) for o in overrides]})


def stale(warn: int) -> dict:  # type: ignore[type-arg]
    return {"stale": WarnEscalate(warn_hours=warn, escalate_hours=warn + 24)}


OVERRIDES = [
    {"courier": "ems", **stale(100)},
    {"province": "西藏", **stale(110)},
    {"courier": "ems", "province": "西藏", **stale(120)},
    {"city": "拉萨", **stale(130)},
    {"courier": "ems", "city": "拉萨", **stale(140)},
    {"province": "西藏", "city": "拉萨", **stale(150)},
]


@pytest.mark.parametrize(
    ("courier", "province", "city", "warn"),
    [
        ("yto", "浙江省", "杭州市", 72),  # no override applies: the default
        ("ems", "浙江省", "杭州市", 100),  # courier only
        ("yto", "西藏自治区", "日喀则市", 110),  # province (prefix match)
        ("ems", "西藏自治区", "日喀则市", 120),  # courier + province beats province
        ("yto", "西藏自治区", "拉萨市", 150),  # city; province + city beats city alone
        ("ems", "西藏自治区", "拉萨市", 140),  # courier + city beats every other
        ("ems", None, None, 100),  # no region on the parcel
    ],
)
def test_most_specific_override_wins(settings, courier, province, city, warn) -> None:  # type: ignore[no-untyped-def]
    config = _config(settings, *OVERRIDES)
    assert resolve_policy(config, courier=courier, province=province, city=city).stale.warn_hours == warn


def test_equal_overrides_the_earlier_entry_wins(settings) -> None:  # type: ignore[no-untyped-def]
    config = _config(settings, {"courier": "sf", **stale(90)}, {"courier": "sf", **stale(91)})
    best = find_best_override(config.overrides, "stale", courier="sf", province=None, city=None)
    assert best is not None and best.stale.warn_hours == 90


def test_each_section_comes_from_the_most_specific_override_that_sets_it(settings) -> None:  # type: ignore[no-untyped-def]
    config = _config(
        settings,
        {"courier": "ems", "no_first_scan": WarnEscalate(warn_hours=120, escalate_hours=144)},
        {"courier": "ems", "province": "西藏", **stale(120)},
    )
    policy = resolve_policy(config, courier="ems", province="西藏自治区")
    assert (policy.no_first_scan.warn_hours, policy.stale.warn_hours) == (120, 120)
    assert policy.lost_suspected == settings.rules.lost_suspected


def test_override_needs_a_scope() -> None:
    with pytest.raises(ValueError, match="at least one of courier, province, city"):
        RuleOverride(**stale(100))
