"""`unreachable`: Kuaidi100 206, Kdniao 416. (docs/domain.md)"""

from tracker.rules.status_rule import StatusRule
from tracker.status import FlagKind, Severity, TrackingStatus

RULE = StatusRule(FlagKind.unreachable, frozenset({TrackingStatus.unreachable}), None, Severity.warn)
KIND = RULE.kind
evaluate = RULE.evaluate
