"""The compensation engine: pure, Decimal, no clock, no I/O (spec/claims.md).

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
    lines_zh: tuple[str, ...] = ()  # the same lines in Chinese, rendered from the same parts

    @property
    def formula(self) -> str:
        return "; ".join(self.lines)

    @property
    def formula_zh(self) -> str:
        """The formula in Chinese (claim packets, the zh board): 「货值 128.00 × 30% = 38.40, 上限 500.00」."""
        return "; ".join(self.lines_zh)


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
# the same inputs as the claim forms name them (a packet and the zh board read the zh rendering)
_BASE_NAMES_ZH = {"goods_value": "货值", "goods_payment": "货款金额", "supplier_value": "供货商货值",
                  "loss_value": "损失金额"}  # fmt: skip
_FREIGHT_NAMES = {
    "forward_freight": ("forward freight", "正向运费"),
    "reverse_freight": ("reverse freight", "逆向运费"),
}


@dataclass(frozen=True, slots=True)
class Lack:
    """An input the formula needs and does not have: `what` is a base or freight name, "fixed" (the contract's
    fixed amount) or "ratio" (a contract ratio, `key` naming it), or "order_amount"/"category" (insurance)."""

    what: str
    key: str = ""

    def text(self, lang: str = "en") -> str:
        zh = lang == "zh"
        if self.what in _BASE_NAMES:
            return _BASE_NAMES_ZH[self.what] if zh else _BASE_NAMES[self.what]
        if self.what in _FREIGHT_NAMES:
            return _FREIGHT_NAMES[self.what][1 if zh else 0]
        if self.what == "fixed":
            return "合同固定金额未配置" if zh else "fixed amount not configured"
        if self.what == "ratio":
            return f"合同比例 {self.key} 未配置" if zh else f"ratio {self.key} not configured"
        if self.what == "order_amount":
            return "订单金额" if zh else "order amount"
        return "类目" if zh else self.what


@dataclass(frozen=True, slots=True)
class Part:
    """One term of a formula as values, rendered in English (`text("en")`, the stored formula) or Chinese
    (`text("zh")`, packets and the zh board) from the same values: never by rewording one into the other.

    kind: percent | value | fixed | forward_freight | reverse_freight | freight_incurred | ratio;
    None values are unknown inputs."""

    kind: str
    base: str = ""  # goods_value, goods_payment, supplier_value, loss_value
    percent: Decimal | None = None
    ratio: Decimal | None = None
    amount: Decimal | None = None  # the base value (percent, ratio), the value itself (value, fixed, freight)
    result: Decimal | None = None  # percent and ratio: the exact product
    cap: Decimal | None = None  # set when the cap applied
    reverse: Decimal | None = None  # freight_incurred: the reverse freight when it counts

    def text(self, lang: str = "en") -> str:
        zh = lang == "zh"
        name = (_BASE_NAMES_ZH if zh else _BASE_NAMES).get(self.base, "")
        if self.kind == "percent":
            pct = _percent_text(self.percent or Decimal(0))
            if self.amount is None:
                return f"{name}的{pct}" if zh else f"{pct} of {name}"
            text = (f"{name} {money(self.amount)} × {pct} = {money(self.result or 0)}" if zh
                    else f"{pct} × {money(self.amount)} = {money(self.result or 0)}")  # fmt: skip
            if self.cap is not None:
                text += f", 上限 {money(self.cap)}" if zh else f", capped at {money(self.cap)}"
            return text
        if self.kind == "value":
            return name if self.amount is None else f"{name} {money(self.amount)}"
        if self.kind == "fixed":
            if self.amount is None:
                return "合同固定金额" if zh else "F"
            return f"固定金额 {money(self.amount)}" if zh else f"fixed {money(self.amount)}"
        if self.kind in _FREIGHT_NAMES:
            word = _FREIGHT_NAMES[self.kind][1 if zh else 0]
            return word if self.amount is None else f"{word} {money(self.amount)}"
        if self.kind == "freight_incurred":
            word = "运费" if zh else "freight"
            if self.amount is None:
                return word
            if self.reverse is not None:
                if zh:
                    return f"运费 正向 {money(self.amount)} + 逆向 {money(self.reverse)}"
                return f"freight {money(self.amount)} + {money(self.reverse)}"
            return f"{word} {money(self.amount)}"
        # ratio of a loss
        loss = "损失" if zh else "loss"
        if self.ratio is None:
            return f"比例 × {loss}" if zh else "ratio × loss"
        if self.amount is None:
            return f"{self.ratio} × {loss}"
        return f"{self.ratio} × {money(self.amount)} = {money(self.result or 0)}"


def _term(
    term: Term, inputs: ClaimInputs, claim_type: str, tables: ClaimTables
) -> tuple[Decimal | None, Part, Lack | None]:
    """(exact value or None, the part as values, what is missing)."""
    if term.kind == "percent":
        base = _base(inputs, term.base)
        percent = term.percent or Decimal(0)
        if base is None:
            return None, Part("percent", base=term.base or "", percent=percent), Lack(term.base or "")
        raw = base * percent / HUNDRED
        if term.cap is not None and raw > term.cap:
            return term.cap, Part("percent", term.base or "", percent, None, base, raw, cap=term.cap), None
        return raw, Part("percent", term.base or "", percent, None, base, raw), None
    if term.kind == "value":
        base = _base(inputs, term.base)
        part = Part("value", base=term.base or "", amount=base)
        return (None, part, Lack(term.base or "")) if base is None else (base, part, None)
    if term.kind == "fixed":
        fixed = tables.fixed_amount(inputs.courier, claim_type)
        return (None, Part("fixed"), Lack("fixed")) if fixed is None else (fixed, Part("fixed", amount=fixed), None)
    if term.kind in ("forward_freight", "reverse_freight"):
        value = getattr(inputs, term.kind)
        part = Part(term.kind, amount=value)
        return (None, part, Lack(term.kind)) if value is None else (value, part, None)
    if term.kind == "freight_incurred":
        if inputs.forward_freight is None:
            return None, Part("freight_incurred"), Lack("forward_freight")
        if inputs.came_back and tables.freight_incurred_includes_reverse:
            if inputs.reverse_freight is None:
                return None, Part("freight_incurred"), Lack("reverse_freight")
            total = inputs.forward_freight + inputs.reverse_freight
            return total, Part("freight_incurred", amount=inputs.forward_freight, reverse=inputs.reverse_freight), None
        return inputs.forward_freight, Part("freight_incurred", amount=inputs.forward_freight), None
    # ratio of a loss value: both from the contract and the case
    ratio = tables.contracts.ratios.get(term.ratio_key or "")
    base = _base(inputs, term.base)
    if ratio is None:
        return None, Part("ratio", base=term.base or ""), Lack("ratio", term.ratio_key or "")
    if base is None:
        return None, Part("ratio", base=term.base or "", ratio=ratio), Lack(term.base or "")
    raw = base * ratio
    return raw, Part("ratio", base=term.base or "", ratio=ratio, amount=base, result=raw), None


def formula_lines(
    parts: tuple[Part, ...], lacks: tuple[Lack, ...], known: Decimal, *, window_known: bool, lang: str
) -> tuple[str, ...]:
    """The formula's lines in `lang` from its parts: each term, the total when there are several, what is
    missing (with the known part), and a note when the filing window is unknown."""
    zh = lang == "zh"
    texts = [p.text(lang) for p in parts]
    if lacks:
        missing = (", " if not zh else "、").join(lack.text(lang) for lack in lacks)
        if zh:
            return (f"{' + '.join(texts)}: 已知 {money(known)}; 缺少: {missing}",)
        return (f"{' + '.join(texts)}: {money(known)} known; missing: {missing}",)
    unknown_window = "申请期限未知: 缺少下单时间" if zh else "filing window unknown: no order time"
    window = () if window_known else (unknown_window,)
    if len(texts) == 1:
        return (*texts, *window)
    return (*texts, f"合计 {money(known)}" if zh else f"total {money(known)}", *window)


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
    values, parts, lacks = [], [], []
    for term in kind.scenarios[scenario].terms:
        value, part, lack = _term(term, inputs, claim_type, tables)
        parts.append(part)
        if lack:
            lacks.append(lack)
        else:
            values.append(value or Decimal(0))
    known = _round(sum(values, Decimal(0)))
    args = (tuple(parts), tuple(lacks), known)
    lines = formula_lines(*args, window_known=opens is not None, lang="en")
    lines_zh = formula_lines(*args, window_known=opens is not None, lang="zh")
    missing = tuple(lack.text() for lack in lacks)
    amount = None if lacks else known
    return Compensation(claim_type, scenario, amount, table.currency, lines, missing, opens, closes, table.version,
                        known, lines_zh=lines_zh)  # fmt: skip


def compute_insurance(inputs: ClaimInputs, category: str, scenario: str, tables: ClaimTables) -> Compensation:
    """聚划算大运险 payout per order: clamp(order amount × rate × (multiplier for a return, 1 for a refusal),
    min, max) by category and scenario, rounded once to 0.01 half-up (spec/claims.md)."""
    table = tables.insurance
    if scenario not in INSURANCE_SCENARIOS:
        raise ValueError(f"freight insurance scenarios are return or refusal, not {scenario!r}")
    code = tables.category(category)
    cat = table.categories[code]
    amount = inputs.order_amount if inputs.order_amount is not None else inputs.goods_value
    scenario_zh = "退货" if scenario == "return" else "拒收"
    if amount is None:
        line = f"order amount × {cat.rate} ({cat.name_zh}): 0.00 known, order amount missing"
        line_zh = f"订单金额 × {cat.rate} ({cat.name_zh}): 已知 0.00, 缺少订单金额"
        return Compensation(FREIGHT_INSURANCE, scenario, None, table.currency, (line,), ("order amount",),
                            table_version=table.version, lines_zh=(line_zh,))  # fmt: skip
    multiplier = table.return_multiplier if scenario == "return" else Decimal(1)
    raw = amount * cat.rate * multiplier
    low, high = (cat.min_return, cat.max_return) if scenario == "return" else (cat.min_refusal, cat.max_refusal)
    factor = f" × {multiplier}" if scenario == "return" else ""
    product = f"{money(amount)} × {cat.rate.normalize():f}{factor} = {raw.normalize():f}"
    text = f"{product} ({cat.name_zh}, {scenario})"
    text_zh = f"订单金额 {product} ({cat.name_zh}, {scenario_zh})"
    if raw < low:
        value, text, text_zh = low, f"{text}, raised to the floor {money(low)}", f"{text_zh}, 按下限 {money(low)}"
    elif raw > high:
        value, text, text_zh = high, f"{text}, capped at {money(high)}", f"{text_zh}, 上限 {money(high)}"
    else:
        value = raw
    return Compensation(FREIGHT_INSURANCE, scenario, _round(value), table.currency, (text,),
                        table_version=table.version, known_part=_round(value), lines_zh=(text_zh,))  # fmt: skip
