"""`return_partial` (docs/domain.md, 000 §22): fewer items received than the return claims, or the return
weighed lighter than what was shipped by more than returns.short_weight_tolerance_grams ("打快递电话查询包裹
的重量,并且和仓库核对买家订单的衣服重量"). The flag carries the newest such fact (counts or weights) as its
details: the evidence to send the buyer and to put in a claim."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tracker.rules.model import Fact, Flag, ParcelView
from tracker.rules.policy import Policy
from tracker.rules.rule import Rule
from tracker.status import FactKind, FlagKind, Severity

KIND = FlagKind.return_partial
BY_WEIGHT = f"{KIND}.weight"  # next_actions.toml key


def _grams(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def weighed_short(fact: Fact, tolerance_grams: int) -> bool:
    shipped, returned = _grams(fact.data.get("shipped_g")), _grams(fact.data.get("returned_g"))
    return shipped is not None and returned is not None and shipped - returned > tolerance_grams


def evaluate(parcel: ParcelView, *, now: datetime, policy: Policy) -> Flag | None:
    counted = max((f.id for f in parcel.facts_of(FactKind.return_short)), default=0)
    weighings = parcel.facts_of(FactKind.return_weighed)
    weighing = max(weighings, key=lambda f: f.id) if weighings else None
    short = weighing is not None and weighed_short(weighing, policy.returns.short_weight_tolerance_grams)
    if short and weighing is not None and weighing.id > counted:
        return Flag(KIND, Severity.escalate, anchor=weighing.id, action=BY_WEIGHT)
    if counted:
        return Flag(KIND, Severity.escalate, anchor=counted)
    return None


RULE = Rule(
    KIND, evaluate, thresholds=("returns",), actions=(str(KIND), BY_WEIGHT), follows_fact=True, against_courier=False
)
