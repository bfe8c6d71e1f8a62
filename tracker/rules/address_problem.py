"""`address_problem`: Kdniao 420/421, or text (地址不详, 电话错误). On a buyer's return parcel its next
action is RETURN: the address is the shop's return address. (docs/domain.md)"""

from tracker.rules.rule import Rule
from tracker.rules.status_rule import StatusRule
from tracker.status import FlagKind, Severity, TrackingStatus

RETURN = f"{FlagKind.address_problem}.return"  # next_actions.toml key: a buyer's return parcel
STATUS = StatusRule(
    FlagKind.address_problem,
    frozenset({TrackingStatus.address_problem}),
    "address_problem",
    Severity.warn,
    return_action=RETURN,
)
RULE = Rule.of_status(STATUS, against_courier=False)
KIND = RULE.kind
evaluate = RULE.evaluate
