"""`refused`: 拒签/拒收: Kuaidi100 14/203, Kdniao 404, or text. On a buyer's return parcel its next action
is RETURN: the return address refused it and it goes back to the buyer. (docs/domain.md)"""

from tracker.rules.rule import Rule
from tracker.rules.status_rule import StatusRule
from tracker.status import FlagKind, Severity, TrackingStatus

RETURN = f"{FlagKind.refused}.return"  # next_actions.toml key: a buyer's return parcel
STATUS = StatusRule(
    FlagKind.refused, frozenset({TrackingStatus.refused}), "refused", Severity.warn, return_action=RETURN
)
RULE = Rule.of_status(STATUS, against_courier=False)
KIND = RULE.kind
evaluate = RULE.evaluate
