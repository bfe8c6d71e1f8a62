"""`lost`: a person confirms the loss with the courier (opens a goods_lost claim, docs/claims.md; on a buyer's
return parcel a person opens it, and the next action is RETURN, as tracker.rules.lost_suspected says why).
Seed and section: docs/domain.md."""

from tracker.rules._fact_rule import FactRule
from tracker.rules.rule import Rule
from tracker.status import FactKind, FlagKind, Severity

RETURN = f"{FlagKind.lost}.return"  # next_actions.toml key: a buyer's return parcel
FACT = FactRule(FlagKind.lost, FactKind.loss_confirmed, Severity.escalate, return_action=RETURN)
RULE = Rule(FACT.kind, FACT.evaluate, actions=(str(FlagKind.lost), RETURN), follows_fact=True)
KIND = RULE.kind
evaluate = RULE.evaluate
