"""`refund_deadline`: the refund-deadline ladder for a return with no logistics (000 §23.2 ordinary,
§24 express 极速退款; docs/domain.md "Refund-deadline ladders"). Each step fires once, as the level of one
flag; the flag's details carry the ladder position (tracker.rules.ladder), the contract alert planning reads."""

from __future__ import annotations

from datetime import datetime

from tracker.rules.common import epoch, return_case_without_logistics
from tracker.rules.ladder import action_keys, position
from tracker.rules.model import Flag, ParcelView
from tracker.rules.policy import Policy
from tracker.rules.rule import Rule
from tracker.settings import RulesConfig
from tracker.status import FlagKind, Severity

KIND = FlagKind.refund_deadline


def evaluate(parcel: ParcelView, *, now: datetime, policy: Policy) -> Flag | None:
    """A return case without logistics and with a refund_deadline: level = the ladder step reached, 0-based
    (express or ordinary ladder by refund_express); warn on the first step, escalate after.
    Anchor: the deadline, so a new deadline starts the ladder again."""
    deadline = parcel.refund_deadline
    if deadline is None or not return_case_without_logistics(parcel):
        return None
    at = position(policy.refund_ladder, express=parcel.refund_express, deadline=deadline, now=now)
    if at is None:
        return None
    return Flag(
        KIND,
        Severity.warn if at.level == 0 else Severity.escalate,
        level=at.level,
        anchor=epoch(deadline),
        value=at.shown_value,  # days left; once the deadline has passed, the hours since it
        action=at.shown_key,
        details=at.to_details(),
    )


def ladder_action_keys(config: RulesConfig) -> tuple[str, ...]:
    return action_keys(config.refund_ladder)


RULE = Rule(
    KIND,
    evaluate,
    thresholds=("refund_ladder",),
    actions=(),
    config_actions=ladder_action_keys,
    against_courier=False,
)
