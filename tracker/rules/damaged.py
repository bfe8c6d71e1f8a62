"""`damaged`: Kuaidi100 209, Kdniao 414. (docs/domain.md)"""

from tracker.rules.status_rule import StatusRule
from tracker.status import FlagKind, Severity, TrackingStatus

RULE = StatusRule(FlagKind.damaged, frozenset({TrackingStatus.damaged}), None, Severity.escalate)
KIND = RULE.kind
evaluate = RULE.evaluate
