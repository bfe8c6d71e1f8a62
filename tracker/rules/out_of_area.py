"""`out_of_area`: 超区: provider code (Kuaidi100 207, Kdniao 423) or text. On a buyer's return parcel
its next action is RETURN: the return address is out of the area, so the buyer resends by another courier.
(docs/domain.md)"""

from tracker.rules.rule import Rule
from tracker.rules.status_rule import StatusRule
from tracker.status import FlagKind, Severity, TrackingStatus

RETURN = f"{FlagKind.out_of_area}.return"  # next_actions.toml key: a buyer's return parcel
STATUS = StatusRule(
    FlagKind.out_of_area, frozenset({TrackingStatus.out_of_area}), "out_of_area", Severity.warn, return_action=RETURN
)
RULE = Rule.of_status(STATUS)
KIND = RULE.kind
evaluate = RULE.evaluate
