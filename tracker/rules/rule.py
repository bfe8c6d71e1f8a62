"""A rule is one object (docs/adding-a-rule.md): what the rest of the tracker needs to know about one flag
kind, declared once, in the rule's own module (`RULE = Rule(...)`) and listed in tracker/rules/registry.py.

The SQL form that runs the rule at scale is not here: the rules are pure and import no storage
(docs/architecture.md, "Layers"). tracker/flags/queries.py registers one SQL form per kind with
`@sql_form(kind)`, and a status rule needs none: it is evaluated over the candidate table from its
`status` (tests/rules/test_rules_registry.py checks every kind has exactly one of the two)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from tracker.rules.model import Flag, ParcelView
from tracker.rules.policy import Policy
from tracker.rules.status_rule import StatusRule
from tracker.settings import RulesConfig
from tracker.status import FlagKind


class Evaluate(Protocol):
    """The pure form: a flag of the rule's kind for one parcel as of `now`, or None."""

    def __call__(self, parcel: ParcelView, *, now: datetime, policy: Policy) -> Flag | None: ...


@dataclass(frozen=True, slots=True)
class Rule:
    """One exception rule.

    kind: the flag kind it raises (one rule per kind).
    evaluate: the pure form (tracker.rules.<kind>.evaluate).
    thresholds: the config/rules.toml sections it reads (fields of RulesConfig and Policy); those an
        `[[overrides]]` entry may replace are tracker.rules.policy.SECTIONS.
    actions: the config/next_actions.toml keys its flags may name; None: the kind's own key only.
    config_actions: keys that depend on the configuration (the refund ladder's steps).
    status: set for a rule raised by the tracking status or the courier's text: the SQL path evaluates it
        over the candidate table and it has no SQL form of its own.
    follows_fact: the flag is raised by a fact a person recorded: it carries the newest such fact's data as
        its details and follows a newer fact (tracker/flags/diff.py).
    against_courier: the flag is about the parcel in the courier's hands, and the courier scorecards count it
        (exception rate, rate by kind); False for what the shop or the buyer does or owes (a late shipment, a
        refusal, an unreachable buyer, the return's paperwork) and for the return itself, counted by its cause
        (docs/domain.md, "Courier scorecards")."""

    kind: FlagKind
    evaluate: Evaluate
    thresholds: tuple[str, ...] = ()
    actions: tuple[str, ...] | None = None
    config_actions: Callable[[RulesConfig], tuple[str, ...]] | None = None
    status: StatusRule | None = None
    follows_fact: bool = False
    against_courier: bool = True

    @classmethod
    def of_status(cls, rule: StatusRule, *, against_courier: bool = True) -> Rule:
        """The Rule of a status rule: it reads the watch period and its text patterns."""
        actions = (str(rule.kind), rule.return_action) if rule.return_action else None
        thresholds = ("watch", "text_patterns")
        return cls(rule.kind, rule.evaluate, thresholds, actions, status=rule, against_courier=against_courier)

    def action_keys(self, config: RulesConfig) -> tuple[str, ...]:
        """Every next_actions.toml key a flag of this rule may name under `config`."""
        keys = (str(self.kind),) if self.actions is None else self.actions
        return keys + (self.config_actions(config) if self.config_actions else ())
