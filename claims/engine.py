"""The compensation engine: pure, Decimal, no clock, no I/O (docs/claims.md).

`compute_compensation` sums a claim type's scenario terms exactly, applies caps and floors to the exact
values, rounds once to 0.01 half-up, and explains itself line by line. An input the formula needs that
is unknown (goods value, freight, an unset contract amount) is never taken as 0: the result has no
amount, lists what is missing and shows the known part.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from claims.tables import ClaimTables, CourierTable, Term

CENT = Decimal("0.01")
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
    lines: tuple[str, ...]
    missing: tuple[str, ...] = ()
    filing_opens: datetime | None = None
    filing_closes: datetime | None = None
    table_version: str = ""
    known_part: Decimal = field(default=Decimal(0))

    @property
    def formula(self) -> str:
        return "; ".join(self.lines)


def money(value: Decimal) -> str:
    return f"{value:,.2f}"


def _percent_text(value: Decimal) -> str:
    return f"{value.normalize():f}%"


def _round(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _base(inputs: ClaimInputs, base: str | None) -> Decimal | None:
    if base == "goods_payment":
        return inputs.goods_payment if inputs.goods_payment is not None else inputs.goods_value
    return getattr(inputs, base or "", None)


_BASE_NAMES = {"goods_value": "goods value", "goods_payment": "goods payment", "supplier_value": "supplier value",
               "loss_value": "loss value"}  # fmt: skip


def _term(
    term: Term, inputs: ClaimInputs, claim_type: str, tables: ClaimTables
) -> tuple[Decimal | None, str, str | None]:
    """(exact value or None, explanation, what is missing)."""
    if term.kind == "percent":
        base = _base(inputs, term.base)
        name = _BASE_NAMES[term.base or ""]
        percent = term.percent or Decimal(0)
        if base is None:
            return None, f"{_percent_text(percent)} of {name}", name
        raw = base * percent / HUNDRED
        text = f"{_percent_text(percent)} × {money(base)} = {money(raw)}"
        if term.cap is not None and raw > term.cap:
            return term.cap, f"{text}, capped at {money(term.cap)}", None
        return raw, text, None
    if term.kind == "value":
        name = _BASE_NAMES[term.base or ""]
        base = _base(inputs, term.base)
        return (None, name, name) if base is None else (base, f"{name} {money(base)}", None)
    if term.kind == "fixed":
        fixed = tables.fixed_amount(inputs.courier, claim_type)
        if fixed is None:
            return None, "F", "fixed amount not configured"
        return fixed, f"fixed {money(fixed)}", None
    if term.kind in ("forward_freight", "reverse_freight"):
        value = getattr(inputs, term.kind)
        name = term.kind.replace("_", " ")
        return (None, name, name) if value is None else (value, f"{name} {money(value)}", None)
    if term.kind == "freight_incurred":
        if inputs.forward_freight is None:
            return None, "freight", "forward freight"
        if inputs.came_back and tables.freight_incurred_includes_reverse:
            if inputs.reverse_freight is None:
                return None, "freight", "reverse freight"
            total = inputs.forward_freight + inputs.reverse_freight
            return total, f"freight {money(inputs.forward_freight)} + {money(inputs.reverse_freight)}", None
        return inputs.forward_freight, f"freight {money(inputs.forward_freight)}", None
    # ratio of a loss value: both from the contract and the case
    ratio = tables.contracts.ratios.get(term.ratio_key or "")
    base = _base(inputs, term.base)
    if ratio is None:
        return None, "ratio × loss", f"ratio {term.ratio_key} not configured"
    if base is None:
        return None, f"{ratio} × loss", _BASE_NAMES[term.base or ""]
    raw = base * ratio
    return raw, f"{ratio} × {money(base)} = {money(raw)}", None


def filing_window(claim: str, table: CourierTable, inputs: ClaimInputs) -> tuple[datetime | None, datetime | None]:
    """Both ends inclusive: anchor + start .. anchor + window (or opening + window when so configured).

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
    opens = kind.start.add(anchor)
    closes = kind.period.add(opens if table.window_from_opening else anchor)
    return opens, closes


def compute_compensation(inputs: ClaimInputs, claim_type: str, scenario: str, tables: ClaimTables) -> Compensation:
    """Amount, formula lines, filing window and table version for one claim type and scenario.

    Terms are added exactly; a percent term's cap applies to its exact value; the sum is rounded once
    to 0.01 half-up. Raises ValueError for an unknown type or scenario, or a type the seed gives no data
    for (unbox_check) until a contract configures it."""
    if claim_type == FREIGHT_INSURANCE:
        raise ValueError("freight insurance depends on a category: use compute_insurance")
    anchor = inputs.order_issued_at or inputs.order_created_at
    table = tables.table_at(anchor)
    if claim_type not in table.types:
        raise ValueError(f"unknown claim type {claim_type!r} (one of {', '.join(table.types)}, {FREIGHT_INSURANCE})")
    kind = table.types[claim_type]
    if not kind.computable:
        raise ValueError(f"{claim_type} ({kind.name_zh}) has no amounts in the claim table; configure it first")
    if scenario not in kind.scenarios:
        raise ValueError(f"{claim_type} has scenarios {', '.join(kind.scenarios)}, not {scenario!r}")
    opens, closes = filing_window(claim_type, table, inputs)
    values, texts, missing = [], [], []
    for term in kind.scenarios[scenario].terms:
        value, text, lack = _term(term, inputs, claim_type, tables)
        texts.append(text)
        if lack:
            missing.append(lack)
        else:
            values.append(value or Decimal(0))
    texts_window: tuple[str, ...] = ("filing window unknown: no order time",) if opens is None else ()
    known = _round(sum(values, Decimal(0)))
    if missing:
        lines: tuple[str, ...] = (f"{' + '.join(texts)}: {money(known)} known; missing: {', '.join(missing)}",)
        return Compensation(claim_type, scenario, None, table.currency, lines, tuple(missing), opens, closes,
                            table.version, known)  # fmt: skip
    lines = (*texts, *texts_window) if len(texts) == 1 else (*texts, f"total {money(known)}", *texts_window)
    return Compensation(claim_type, scenario, known, table.currency, lines, (), opens, closes, table.version, known)


def compute_insurance(inputs: ClaimInputs, category: str, scenario: str, tables: ClaimTables) -> Compensation:
    """聚划算大运险 payout per order: clamp(order amount × rate × (multiplier for a return, 1 for a refusal),
    min, max) by category and scenario, rounded once to 0.01 half-up (docs/claims.md)."""
    table = tables.insurance
    if scenario not in INSURANCE_SCENARIOS:
        raise ValueError(f"freight insurance scenarios are return or refusal, not {scenario!r}")
    code = tables.category(category)
    cat = table.categories[code]
    amount = inputs.order_amount if inputs.order_amount is not None else inputs.goods_value
    if amount is None:
        line = f"order amount × {cat.rate} ({cat.name_zh}): 0.00 known, order amount missing"
        return Compensation(FREIGHT_INSURANCE, scenario, None, table.currency, (line,), ("order amount",),
                            table_version=table.version)  # fmt: skip
    multiplier = table.return_multiplier if scenario == "return" else Decimal(1)
    raw = amount * cat.rate * multiplier
    low, high = (cat.min_return, cat.max_return) if scenario == "return" else (cat.min_refusal, cat.max_refusal)
    factor = f" × {multiplier}" if scenario == "return" else ""
    text = f"{money(amount)} × {cat.rate.normalize():f}{factor} = {raw.normalize():f} ({cat.name_zh}, {scenario})"
    if raw < low:
        value, text = low, f"{text}, raised to the floor {money(low)}"
    elif raw > high:
        value, text = high, f"{text}, capped at {money(high)}"
    else:
        value = raw
    return Compensation(FREIGHT_INSURANCE, scenario, _round(value), table.currency, (text,),
                        table_version=table.version, known_part=_round(value))  # fmt: skip
