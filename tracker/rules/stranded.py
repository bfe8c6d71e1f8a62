"""`stranded`: 滞留: Kuaidi100 208, or text about an outlet suspended or parcels held. On a buyer's return
parcel its next action is RETURN: nothing to reship; contact the courier and the buyer. (docs/domain.md)"""

from tracker.rules.rule import Rule
from tracker.rules.status_rule import StatusRule
from tracker.status import FlagKind, Severity, TrackingStatus

RETURN = f"{FlagKind.stranded}.return"  # next_actions.toml key: a buyer's return parcel
STATUS = StatusRule(
    FlagKind.stranded, frozenset({TrackingStatus.stranded}), "stranded", Severity.warn, return_action=RETURN
)
RULE = Rule.of_status(STATUS)
KIND = RULE.kind
evaluate = RULE.evaluate
