"""`delivered_disputed`: a person records that the buyer says a delivered parcel never arrived or arrived
short (000 §21, §22: check the signer, compare warehouse and courier weights)."""

from tracker.rules._fact_rule import FactRule
from tracker.status import Direction, FactKind, FlagKind, Severity

RULE = FactRule(FlagKind.delivered_disputed, FactKind.not_received, Severity.escalate, Direction.outbound)
KIND = RULE.kind
evaluate = RULE.evaluate
