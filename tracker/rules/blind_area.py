"""`blind_area`: 盲区件/无网点件: the courier text says the city has no outlet. (docs/domain.md)"""

from tracker.rules.status_rule import StatusRule
from tracker.status import FlagKind, Severity

RULE = StatusRule(FlagKind.blind_area, frozenset(), "blind_area", Severity.warn)
KIND = RULE.kind
evaluate = RULE.evaluate
