"""`out_of_area`: 超区: provider code (Kuaidi100 207, Kdniao 423) or text. (docs/domain.md)"""

from tracker.rules.rule import Rule
from tracker.rules.status_rule import StatusRule
from tracker.status import FlagKind, Severity, TrackingStatus

STATUS = StatusRule(FlagKind.out_of_area, frozenset({TrackingStatus.out_of_area}), "out_of_area", Severity.warn)
RULE = Rule.of_status(STATUS)
KIND = RULE.kind
evaluate = RULE.evaluate
