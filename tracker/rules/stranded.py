"""`stranded`: 滞留: Kuaidi100 208, or text about an outlet suspended or parcels held. (docs/domain.md)"""

from tracker.rules.rule import Rule
from tracker.rules.status_rule import StatusRule
from tracker.status import FlagKind, Severity, TrackingStatus

STATUS = StatusRule(FlagKind.stranded, frozenset({TrackingStatus.stranded}), "stranded", Severity.warn)
RULE = Rule.of_status(STATUS)
KIND = RULE.kind
evaluate = RULE.evaluate
