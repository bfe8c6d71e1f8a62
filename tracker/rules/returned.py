"""`returned`: 退签: Kuaidi100 4, Kdniao 406 (final). On a buyer's return parcel its next action is RETURN:
the words may mean it arrived at the shop or went back to the buyer; check which. (docs/domain.md)"""

from tracker.rules.rule import Rule
from tracker.rules.status_rule import StatusRule
from tracker.status import FlagKind, Severity, TrackingStatus

RETURN = f"{FlagKind.returned}.return"  # next_actions.toml key: a buyer's return parcel
STATUS = StatusRule(FlagKind.returned, frozenset({TrackingStatus.returned}), None, Severity.warn, return_action=RETURN)
RULE = Rule.of_status(STATUS, against_courier=False)
KIND = RULE.kind
evaluate = RULE.evaluate
