"""`unreachable`: Kuaidi100 206, Kdniao 416. (docs/domain.md)"""

from tracker.rules.rule import Rule
from tracker.rules.status_rule import StatusRule
from tracker.status import FlagKind, Severity, TrackingStatus

STATUS = StatusRule(FlagKind.unreachable, frozenset({TrackingStatus.unreachable}), None, Severity.warn)
RULE = Rule.of_status(STATUS)
KIND = RULE.kind
evaluate = RULE.evaluate
