"""`lost`: a person confirms the loss with the courier (opens a goods_lost claim, docs/claims.md).
Seed and section: docs/domain.md."""

from tracker.rules._fact_rule import FactRule
from tracker.status import FactKind, FlagKind, Severity

RULE = FactRule(FlagKind.lost, FactKind.loss_confirmed, Severity.escalate)
KIND = RULE.kind
evaluate = RULE.evaluate
