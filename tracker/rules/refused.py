"""`refused`: 拒签/拒收: Kuaidi100 14/203, Kdniao 404, or text. (docs/domain.md)"""

from tracker.rules.rule import Rule
from tracker.rules.status_rule import StatusRule
from tracker.status import FlagKind, Severity, TrackingStatus

STATUS = StatusRule(FlagKind.refused, frozenset({TrackingStatus.refused}), "refused", Severity.warn)
RULE = Rule.of_status(STATUS)
KIND = RULE.kind
evaluate = RULE.evaluate
