"""The registry of rules is the whole of each rule: one Rule per flag kind, each with an SQL form or a
status rule, words in both languages, its next actions and the thresholds it reads in the shipped config."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from tracker import labels
from tracker.flags.queries import CROSSING_FORMS, SQL_FORMS, TIMELESS
from tracker.rules import BY_KIND, RULES
from tracker.rules.policy import SECTIONS, Policy
from tracker.settings import RulesConfig, Settings
from tracker.status import FlagKind


def test_the_registry_holds_exactly_one_rule_per_flag_kind() -> None:
    kinds = [rule.kind for rule in RULES]
    assert len(kinds) == len(set(kinds))
    assert set(kinds) == set(FlagKind)
    assert all(BY_KIND[rule.kind] is rule for rule in RULES)


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: str(rule.kind))
def test_every_rule_runs_as_sql_either_by_its_own_form_or_as_a_status_rule(rule) -> None:  # type: ignore[no-untyped-def]
    assert (rule.kind in SQL_FORMS) != (rule.status is not None)
    if rule.status is not None:
        assert rule.status.kind == rule.kind and rule.evaluate == rule.status.evaluate


def test_every_sql_form_belongs_to_a_rule_of_its_kind() -> None:
    assert set(SQL_FORMS) == {rule.kind for rule in RULES if rule.status is None}


def test_every_sql_form_has_a_crossing_form_or_reads_no_time() -> None:
    """The evaluation that reads only what changed (tracker/flags/marks.py) finds the parcels whose time
    thresholds crossed through each rule's crossing form; a rule without one must be declared timeless."""
    assert not set(CROSSING_FORMS) & TIMELESS
    assert set(CROSSING_FORMS) | TIMELESS == set(SQL_FORMS)


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: str(rule.kind))
def test_every_rule_has_words_and_next_actions_in_both_languages(rule, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    zh, en = labels.pick(labels.KINDS, rule.kind, "zh"), labels.pick(labels.KINDS, rule.kind, "en")
    assert zh != str(rule.kind) and not zh.isascii() and en and en != str(rule.kind)
    keys = rule.action_keys(settings.rules)
    assert keys, "a rule names at least one next action"
    for key in keys:
        text = settings.next_actions.get(key)
        assert text is not None, f"config/next_actions.toml has no [{key}]"
        assert text.zh and text.en and not text.zh.isascii()


def test_every_next_action_belongs_to_a_rule(settings: Settings) -> None:
    named = {key for rule in RULES for key in rule.action_keys(settings.rules)}
    assert set(settings.next_actions) == named


def test_every_threshold_a_rule_reads_is_configured_and_every_override_section_is_read(settings: Settings) -> None:
    config_fields = set(RulesConfig.model_fields)
    policy_fields = {f.name for f in dataclasses.fields(Policy)}
    read = {section for rule in RULES for section in rule.thresholds}
    assert read <= config_fields & policy_fields
    assert set(SECTIONS) <= read
    patterns = {rule.status.patterns for rule in RULES if rule.status is not None and rule.status.patterns}
    assert patterns <= set(settings.rules.text_patterns)


def test_the_kinds_that_propose_claims_are_registered_rules() -> None:
    from claims.proposals import PROPOSAL_KINDS

    assert set(PROPOSAL_KINDS) <= set(BY_KIND), set(PROPOSAL_KINDS) - set(BY_KIND)


def test_the_kinds_the_courier_scorecards_leave_out_are_the_ones_docs_domain_names() -> None:
    """docs/domain.md "Courier scorecards" lists the shop's and the buyer's kinds; the rules say the same."""
    section = Path(__file__).resolve().parents[2].joinpath("docs", "domain.md").read_text(encoding="utf-8")
    section = section.split("## Courier scorecards", 1)[1].split("\n## ", 1)[0]
    named = {k for k in FlagKind if f"`{k}`" in section}
    assert {rule.kind for rule in RULES if not rule.against_courier} == named
    assert FlagKind.late_shipment in named and FlagKind.stale not in named
