"""`unreachable`: Kuaidi100 206, Kdniao 416. On a buyer's return parcel its next action is RETURN: the consignee
the courier cannot reach is the warehouse. (docs/domain.md)"""

from tracker.rules.rule import Rule
from tracker.rules.status_rule import StatusRule
from tracker.status import FlagKind, Severity, TrackingStatus

RETURN = f"{FlagKind.unreachable}.return"  # next_actions.toml key: a buyer's return parcel
STATUS = StatusRule(
    FlagKind.unreachable, frozenset({TrackingStatus.unreachable}), None, Severity.warn, return_action=RETURN
)
RULE = Rule.of_status(STATUS, against_courier=False)
KIND = RULE.kind
evaluate = RULE.evaluate
