"""The compensation engine: pure, Decimal, no clock, no I/O (docs/claims.md).

`compute_compensation` sums a claim type's scenario terms exactly, applies caps and floors to the exact
values, rounds once to 0.01 half-up, and explains itself line by line. An input the formula needs that
is unknown (goods value, freight, an unset contract amount) is never taken as 0: the result has no
amount, lists what is missing and shows the known part.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, tzinfo
from decimal import ROUND_HALF_UP, Decimal

from claims.formula import Part, part
from claims.formula import render as render_part
from claims.tables import CLAIM_ZONE, ClaimTables, CourierTable, Term
from tracker.status import CENT

HUNDRED = Decimal(100)
FREIGHT_INSURANCE = "freight_insurance"
INSURANCE_SCENARIOS = ("return", "refusal")


@dataclass(frozen=True, slots=True)
class ClaimInputs:
    """What the formulas may use, from the parcel and what a person adds."""

    courier: str | None = None
    goods_value: Decimal | None = None  # 货值: what the buyer paid for the goods
    goods_payment: Decimal | None = None  # 货款金额 (defaults to the goods value)
    supplier_value: Decimal | None = None  # 供货商货值
    loss_value: Decimal | None = None  # the loss a ratio applies to (未送货入户, other loss)
    order_amount: Decimal | None = None  # 订单金额 for freight insurance (defaults to the goods value)
    fixed_amount: Decimal | None = None  # the contract's fixed amount set on one claim (claims set-input)
    forward_freight: Decimal | None = None
    reverse_freight: Decimal | None = None
    came_back: bool = False  # the parcel was returned to the sender
    order_created_at: datetime | None = None  # 订单产生
    order_issued_at: datetime | None = None  # 订单下发
    currency: str = "CNY"


@dataclass(frozen=True)
class Compensation:
    claim_type: str
    scenario: str
    amount: Decimal | None  # None when an input is missing
    currency: str
    parts: tuple[Part, ...]  # the explanation, line by line (claims/formula.py)
    missing: tuple[str, ...] = ()
    filing_opens: datetime | None = None
    filing_closes: datetime | None = None
    table_version: str = ""
    known_part: Decimal = field(default=Decimal(0))

    @property
    def lines(self) -> tuple[str, ...]:
        """The explanation in English, line by line."""
        return tuple(render_part(p) for p in self.parts)

    @property
    def formula(self) -> str:
        return "; ".join(self.lines)


def money(value: Decimal) -> str:
    """An amount as the formula's text shows it: rounded as the claim is (_round: half up to the fen), so the
    text of 30% × 100.15 says 30.05, the amount claimed, not Python's half-even 30.04."""
    return f"{_round(value):,.2f}"


def _percent_text(value: Decimal) -> str:
    return f"{value.normalize():f}%"


def _round(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _base(inputs: ClaimInputs, base: str | None) -> Decimal | None:
    if base == "goods_payment":
        return inputs.goods_payment if inputs.goods_payment is not None else inputs.goods_value
    return getattr(inputs, base or "", None)


def _term(
    term: Term, inputs: ClaimInputs, claim_type: str, tables: ClaimTables
) -> tuple[Decimal | None, Part, list[Part]]:
    """(exact value or None, explanation, what is missing: none, one part or several) as formula parts
    (claims/formula.py)."""
    if term.kind == "percent":
        base = _base(inputs, term.base)
        name = term.base or ""
        percent = _percent_text(term.percent or Decimal(0))
        if base is None:
            return None, part("percent_of", percent=percent, name=name), [part("input", name=name)]
        raw = base * (term.percent or Decimal(0)) / HUNDRED
        if term.cap is not None and raw > term.cap:
            capped = part("percent_capped", percent=percent, base=money(base), raw=money(raw), cap=money(term.cap))
            return term.cap, capped, []
        return raw, part("percent", percent=percent, base=money(base), raw=money(raw)), []
    if term.kind == "value":
        name = term.base or ""
        base = _base(inputs, term.base)
        if base is None:
            return None, part("input", name=name), [part("input", name=name)]
        return base, part("value", name=name, amount=money(base)), []
    if term.kind == "fixed":
        if inputs.fixed_amount is not None:
            return inputs.fixed_amount, part("fixed_set", amount=money(inputs.fixed_amount)), []
        fixed = tables.fixed_amount(inputs.courier, claim_type)
        if fixed is None:
            return None, part("fixed_unset"), [part("fixed_not_configured")]
        return fixed, part("fixed", amount=money(fixed)), []
    if term.kind in ("forward_freight", "reverse_freight"):
        value = getattr(inputs, term.kind)
        if value is None:
            return None, part("input", name=term.kind), [part("input", name=term.kind)]
        return value, part("value", name=term.kind, amount=money(value)), []
    if term.kind == "freight_incurred":
        both_ways = inputs.came_back and tables.freight_incurred_includes_reverse
        if inputs.forward_freight is None or (both_ways and inputs.reverse_freight is None):
            # every freight it lacks at once (the ledger's form asks for what `missing` lists)
            lacks = [
                part("input", name=name)
                for name in ("forward_freight", "reverse_freight")
                if getattr(inputs, name) is None and (name == "forward_freight" or both_ways)
            ]
            return None, part("freight_unset"), lacks
        if both_ways:
            assert inputs.forward_freight is not None and inputs.reverse_freight is not None
            total = inputs.forward_freight + inputs.reverse_freight
            both = part("freight_both", forward=money(inputs.forward_freight), reverse=money(inputs.reverse_freight))
            return total, both, []
        return inputs.forward_freight, part("freight", amount=money(inputs.forward_freight)), []
    # ratio of a loss value: both from the contract and the case
    ratio = tables.contracts.ratios.get(term.ratio_key or "")
    base = _base(inputs, term.base)
    if ratio is None:
        return None, part("ratio_unset"), [part("ratio_not_configured", ratio_key=term.ratio_key or "")]
    if base is None:
        return None, part("ratio_of_loss", ratio=str(ratio)), [part("input", name=term.base or "")]
    raw = base * ratio
    return raw, part("ratio", ratio=str(ratio), base=money(base), raw=money(raw)), []


def filing_window(
    claim: str, table: CourierTable, inputs: ClaimInputs, tz: tzinfo = CLAIM_ZONE
) -> tuple[datetime | None, datetime | None]:
    """Both ends inclusive: anchor + start .. anchor + window (or opening + window when so configured); months
    and years on the calendar of `tz`, the shop's zone.

    The anchor is 订单产生 for 时效类/服务类 types and 订单下发 for 货物类 types; when only one of the two
    times is known, that one is used."""
    kind = table.types[claim]
    primary, other = (
        (inputs.order_created_at, inputs.order_issued_at)
        if kind.anchor == "order_created"
        else (inputs.order_issued_at, inputs.order_created_at)
    )
    anchor = primary or other
    if anchor is None:
        return None, None
    opens = kind.start.add(anchor, tz)
    closes = kind.period.add(opens if table.window_from_opening else anchor, tz)
    return opens, closes


def compute_compensation(
    inputs: ClaimInputs, claim_type: str, scenario: str, tables: ClaimTables, *, version: str | None = None
) -> Compensation:
    """Amount, formula lines, filing window and table version for one claim type and scenario.

    Terms are added exactly; a percent term's cap applies to its exact value; the sum is rounded once
    to 0.01 half-up. Raises ValueError for an unknown type or scenario, or a type the seed gives no data
    for (unbox_check) until a contract configures it. `version`: the claim table to use (a claim keeps the
    version it was computed with); default the one in effect at the claim's anchor."""
    if claim_type == FREIGHT_INSURANCE:
        raise ValueError("freight insurance depends on a category: use compute_insurance")
    table = tables.table_for(version, inputs.order_issued_at or inputs.order_created_at)
    if claim_type not in table.types:
        raise ValueError(f"unknown claim type {claim_type!r} (one of {', '.join(table.types)}, {FREIGHT_INSURANCE})")
    kind = table.types[claim_type]
    if not kind.computable:
        raise ValueError(f"{claim_type} ({kind.name_zh}) has no amounts in the claim table; configure it first")
    if scenario not in kind.scenarios:
        raise ValueError(f"{claim_type} has scenarios {', '.join(kind.scenarios)}, not {scenario!r}")
    opens, closes = filing_window(claim_type, table, inputs, tables.tz)
    values: list[Decimal] = []
    terms: list[Part] = []
    missing: list[Part] = []
    chosen = kind.scenarios[scenario]
    if chosen.came_back and not inputs.came_back:
        inputs = replace(inputs, came_back=True)
    for term in chosen.terms:
        value, explained, lack = _term(term, inputs, claim_type, tables)
        terms.append(explained)
        if lack:
            missing += lack
        else:
            values.append(value or Decimal(0))
    window = () if opens is not None else (part("no_window"),)
    known = _round(sum(values, Decimal(0)))
    if missing:
        parts = (part("incomplete", terms=terms, known=money(known), missing=missing),)
        return Compensation(
            claim_type,
            scenario,
            None,
            table.currency,
            parts,
            tuple(render_part(m) for m in missing),
            opens,
            closes,
            table.version,
            known,
        )
    parts = (*terms, *window) if len(terms) == 1 else (*terms, part("total", amount=money(known)), *window)
    return Compensation(claim_type, scenario, known, table.currency, parts, (), opens, closes, table.version, known)


def insurance_scenario(scenario: str) -> str:
    """The 大运险 scenario a person names: none named ("default") is a buyer's return; ValueError for any
    other than return or refusal."""
    named = "return" if scenario == "default" else scenario
    if named not in INSURANCE_SCENARIOS:
        raise ValueError(f"freight insurance scenarios are return or refusal, not {scenario!r}")
    return named


def compute_insurance(inputs: ClaimInputs, category: str, scenario: str, tables: ClaimTables) -> Compensation:
    """聚划算大运险 payout per order: clamp(order amount × rate × (multiplier for a return, 1 for a refusal),
    min, max) by category and scenario, rounded once to 0.01 half-up (docs/claims.md)."""
    table = tables.insurance
    scenario = insurance_scenario(scenario)
    code = tables.category(category)
    cat = table.categories[code]
    amount = inputs.order_amount if inputs.order_amount is not None else inputs.goods_value
    if amount is None:
        line = part("insurance_no_amount", rate=str(cat.rate), category=cat.name_zh)
        return Compensation(
            FREIGHT_INSURANCE, scenario, None, table.currency, (line,), ("order amount",), table_version=table.version
        )
    multiplier = table.return_multiplier if scenario == "return" else Decimal(1)
    raw = amount * cat.rate * multiplier
    low, high = (cat.min_return, cat.max_return) if scenario == "return" else (cat.min_refusal, cat.max_refusal)
    values = dict(
        amount=money(amount),
        rate=f"{cat.rate.normalize():f}",
        raw=f"{raw.normalize():f}",
        category=cat.name_zh,
        scenario=scenario,
        multiplier=str(multiplier) if scenario == "return" else "",
    )
    if raw < low:
        value, line = low, part("insurance_floor", low=money(low), **values)
    elif raw > high:
        value, line = high, part("insurance_capped", high=money(high), **values)
    else:
        value, line = raw, part("insurance", **values)
    return Compensation(
        FREIGHT_INSURANCE,
        scenario,
        _round(value),
        table.currency,
        (line,),
        table_version=table.version,
        known_part=_round(value),
    )
