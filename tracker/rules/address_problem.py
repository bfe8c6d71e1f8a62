"""`address_problem`: Kdniao 420/421, or text (地址不详, 电话错误). (docs/domain.md)"""

from tracker.rules.rule import Rule
from tracker.rules.status_rule import StatusRule
from tracker.status import FlagKind, Severity, TrackingStatus

STATUS = StatusRule(
    FlagKind.address_problem, frozenset({TrackingStatus.address_problem}), "address_problem", Severity.warn
)
RULE = Rule.of_status(STATUS)
KIND = RULE.kind
evaluate = RULE.evaluate
