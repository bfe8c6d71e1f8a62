"""`delivered_disputed` (docs/domain.md, 000 §21, §22): a person records that the buyer says a delivered parcel
never arrived or arrived short, or that a third party or a locker signed for it without the buyer asking
(000 §21 (3) "未在本人允许的情况下签收...交易退款买家,商家找物流索赔": refund the buyer, claim from the courier).
A signature the buyer asked for ("你帮我放在某某地方吧") is the buyer's responsibility: it opens nothing by
itself, and a not-received complaint on such a parcel gets the consented next action (ask the courier for
the third-party proof). The newest signature fact decides between the two."""

from __future__ import annotations

from datetime import datetime

from tracker.rules.model import Fact, Flag, ParcelView
from tracker.rules.policy import Policy
from tracker.rules.rule import Rule
from tracker.status import Direction, FactKind, FlagKind, Severity

KIND = FlagKind.delivered_disputed
SIGNATURES = (FactKind.signed_without_consent, FactKind.signed_with_consent)
THIRD_PARTY = f"{KIND}.third_party"  # next_actions.toml keys
CONSENTED = f"{KIND}.consented"


def newest_signature(parcel: ParcelView) -> Fact | None:
    facts = [f for f in parcel.facts if f.kind in SIGNATURES]
    return max(facts, key=lambda f: f.id) if facts else None


def evaluate(parcel: ParcelView, *, now: datetime, policy: Policy) -> Flag | None:
    if parcel.direction != Direction.outbound:
        return None
    complaints = parcel.facts_of(FactKind.not_received)
    signature = newest_signature(parcel)
    newest_complaint = max((f.id for f in complaints), default=0)
    if signature is not None and signature.kind == FactKind.signed_without_consent:
        return Flag(KIND, Severity.escalate, anchor=max(signature.id, newest_complaint), action=THIRD_PARTY)
    if not complaints:
        return None
    return Flag(KIND, Severity.escalate, anchor=newest_complaint, action=CONSENTED if signature else "")


RULE = Rule(KIND, evaluate, actions=(str(KIND), THIRD_PARTY, CONSENTED), follows_fact=True)
