"""`locker_overdue`: Kuaidi100 205, Kdniao 412. (docs/domain.md)"""

from tracker.rules.status_rule import StatusRule
from tracker.status import FlagKind, Severity, TrackingStatus

RULE = StatusRule(FlagKind.locker_overdue, frozenset({TrackingStatus.locker_overdue}), None, Severity.warn)
KIND = RULE.kind
evaluate = RULE.evaluate
