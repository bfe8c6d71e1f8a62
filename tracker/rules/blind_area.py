"""`blind_area`: 盲区件/无网点件: the courier text says the city has no outlet. (docs/domain.md)"""

from tracker.rules.rule import Rule
from tracker.rules.status_rule import StatusRule
from tracker.status import FlagKind, Severity

STATUS = StatusRule(FlagKind.blind_area, frozenset(), "blind_area", Severity.warn)
RULE = Rule.of_status(STATUS)
KIND = RULE.kind
evaluate = RULE.evaluate
