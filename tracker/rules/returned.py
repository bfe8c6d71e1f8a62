"""`returned`: 退签: Kuaidi100 4, Kdniao 406 (final). (docs/domain.md)"""

from tracker.rules.rule import Rule
from tracker.rules.status_rule import StatusRule
from tracker.status import FlagKind, Severity, TrackingStatus

STATUS = StatusRule(FlagKind.returned, frozenset({TrackingStatus.returned}), None, Severity.warn)
RULE = Rule.of_status(STATUS)
KIND = RULE.kind
evaluate = RULE.evaluate
