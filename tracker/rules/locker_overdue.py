"""`locker_overdue`: Kuaidi100 205, Kdniao 412. On a buyer's return parcel its next action is RETURN: the
warehouse collects it. (docs/domain.md)"""

from tracker.rules.rule import Rule
from tracker.rules.status_rule import StatusRule
from tracker.status import FlagKind, Severity, TrackingStatus

RETURN = f"{FlagKind.locker_overdue}.return"  # next_actions.toml key: a buyer's return parcel
STATUS = StatusRule(
    FlagKind.locker_overdue, frozenset({TrackingStatus.locker_overdue}), None, Severity.warn, return_action=RETURN
)
RULE = Rule.of_status(STATUS, against_courier=False)
KIND = RULE.kind
evaluate = RULE.evaluate
