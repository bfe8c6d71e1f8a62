"""`damaged`: Kuaidi100 209, Kdniao 414. (docs/domain.md)"""

from tracker.rules.rule import Rule
from tracker.rules.status_rule import StatusRule
from tracker.status import FlagKind, Severity, TrackingStatus

STATUS = StatusRule(FlagKind.damaged, frozenset({TrackingStatus.damaged}), None, Severity.escalate)
RULE = Rule.of_status(STATUS)
KIND = RULE.kind
evaluate = RULE.evaluate
