"""`damaged`: Kuaidi100 209, Kdniao 414. On a buyer's return parcel its next action is RETURN: as for a lost
return (tracker.rules.lost_suspected), who claims depends on who booked the courier. (docs/domain.md)"""

from tracker.rules.rule import Rule
from tracker.rules.status_rule import StatusRule
from tracker.status import FlagKind, Severity, TrackingStatus

RETURN = f"{FlagKind.damaged}.return"  # next_actions.toml key: a buyer's return parcel
STATUS = StatusRule(
    FlagKind.damaged, frozenset({TrackingStatus.damaged}), None, Severity.escalate, return_action=RETURN
)
RULE = Rule.of_status(STATUS)
KIND = RULE.kind
evaluate = RULE.evaluate
