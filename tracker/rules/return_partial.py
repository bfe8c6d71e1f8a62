"""`return_partial`: fewer items received than the return claims (000 §22: compare weights at once)."""

from tracker.rules._fact_rule import FactRule
from tracker.status import FactKind, FlagKind, Severity

RULE = FactRule(FlagKind.return_partial, FactKind.return_short, Severity.escalate)
KIND = RULE.kind
evaluate = RULE.evaluate
