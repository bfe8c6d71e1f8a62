"""`address_problem`: Kdniao 420/421, or text (地址不详, 电话错误). (docs/domain.md)"""

from tracker.rules.status_rule import StatusRule
from tracker.status import FlagKind, Severity, TrackingStatus

RULE = StatusRule(
    FlagKind.address_problem, frozenset({TrackingStatus.address_problem}), "address_problem", Severity.warn
)
KIND = RULE.kind
evaluate = RULE.evaluate
