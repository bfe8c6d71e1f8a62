"""`returning`: 退回: Kuaidi100 6, Kdniao 407, or text. On a buyer's return parcel its next action is
RETURN: the words may mean it is going to the shop or back to the buyer; check which. (docs/domain.md)"""

from tracker.rules.rule import Rule
from tracker.rules.status_rule import StatusRule
from tracker.status import FlagKind, Severity, TrackingStatus

RETURN = f"{FlagKind.returning}.return"  # next_actions.toml key: a buyer's return parcel
STATUS = StatusRule(
    FlagKind.returning, frozenset({TrackingStatus.returning}), "returning", Severity.warn, return_action=RETURN
)
RULE = Rule.of_status(STATUS, against_courier=False)
KIND = RULE.kind
evaluate = RULE.evaluate
