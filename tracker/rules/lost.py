"""`lost`: a person confirms the loss with the courier (opens a goods_lost claim, docs/claims.md).
Seed and section: docs/domain.md."""

from tracker.rules._fact_rule import FactRule
from tracker.rules.rule import Rule
from tracker.status import FactKind, FlagKind, Severity

FACT = FactRule(FlagKind.lost, FactKind.loss_confirmed, Severity.escalate)
RULE = Rule(FACT.kind, FACT.evaluate, follows_fact=True)
KIND = RULE.kind
evaluate = RULE.evaluate
