"""`blind_area`: 盲区件/无网点件: the courier text says the city has no outlet. On a buyer's return parcel its
next action is RETURN: the buyer resends by another courier. (docs/domain.md)"""

from tracker.rules.rule import Rule
from tracker.rules.status_rule import StatusRule
from tracker.status import FlagKind, Severity

RETURN = f"{FlagKind.blind_area}.return"  # next_actions.toml key: a buyer's return parcel
STATUS = StatusRule(FlagKind.blind_area, frozenset(), "blind_area", Severity.warn, return_action=RETURN)
RULE = Rule.of_status(STATUS)
KIND = RULE.kind
evaluate = RULE.evaluate
