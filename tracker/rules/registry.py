"""The registry: every exception rule, one `Rule` per flag kind, in the order flags are listed (outbound,
then return). Evaluation (tracker.rules.evaluate_parcel and the SQL path, tracker/flags/queries.py) and
the checks of the configuration and the board's words (tests/rules/test_rules_registry.py) read it.
Adding a rule: docs/adding-a-rule.md."""

from __future__ import annotations

from collections.abc import Mapping

from tracker.rules import (
    address_problem,
    blind_area,
    damaged,
    delivered_disputed,
    late_shipment,
    locker_overdue,
    lost,
    lost_suspected,
    no_first_scan,
    out_of_area,
    refund_deadline,
    refused,
    return_abandoned,
    return_no_movement,
    return_no_waybill,
    return_partial,
    return_surface_mail,
    return_waybill_invalid,
    return_waybill_shared,
    returned,
    returning,
    stale,
    stranded,
    unreachable,
)
from tracker.rules.rule import Rule
from tracker.rules.status_rule import StatusRule
from tracker.settings import RulesConfig
from tracker.status import FlagKind

RULES: tuple[Rule, ...] = tuple(
    m.RULE
    for m in (
        no_first_scan,
        stale,
        lost_suspected,
        lost,
        out_of_area,
        blind_area,
        stranded,
        refused,
        returning,
        returned,
        address_problem,
        unreachable,
        locker_overdue,
        damaged,
        delivered_disputed,
        late_shipment,
        return_no_waybill,
        return_no_movement,
        return_abandoned,
        return_surface_mail,
        return_waybill_shared,
        return_waybill_invalid,
        return_partial,
        refund_deadline,
    )
)
BY_KIND: Mapping[FlagKind, Rule] = {rule.kind: rule for rule in RULES}
# the status rules, evaluated over one candidate table on the SQL path
STATUS_RULES: tuple[StatusRule, ...] = tuple(rule.status for rule in RULES if rule.status is not None)
# kinds raised by a fact a person recorded: the flag carries the fact and follows a newer one
FOLLOWS_FACT: tuple[FlagKind, ...] = tuple(rule.kind for rule in RULES if rule.follows_fact)
# kinds the courier scorecards count: about the parcel in the courier's hands (Rule.against_courier)
AGAINST_COURIER: tuple[FlagKind, ...] = tuple(rule.kind for rule in RULES if rule.against_courier)


def missing_next_actions(config: RulesConfig, next_actions: Mapping[str, object]) -> list[str]:
    """The next_actions.toml keys some rule names under `config` that `next_actions` lacks, in registry order
    (the configuration check of tracker.settings.load_settings: a flag whose text is missing shows none)."""
    named = dict.fromkeys(key for rule in RULES for key in rule.action_keys(config))
    return [key for key in named if key not in next_actions]
