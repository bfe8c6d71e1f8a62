"""A claim's formula as parts, rendered in English (the CLI, the tests) or Chinese (the board, packets).

claims/engine.py explains each amount with parts: a part is a template key and its values. A value is a
number already written (money, a percent, a ratio), a name of an input (`name`: a key of NAMES), or, for
an incomplete sum, the parts of its terms and of what is missing. The claim row stores the parts as JSON
(`dumps`); `show(stored, lang)` renders them, and shows free text stored by older versions as it was."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

Part = dict[str, Any]  # {"k": template key, **values}

# input names (key: English, 中文)
NAMES: dict[str, tuple[str, str]] = {
    "goods_value": ("goods value", "货值"),
    "goods_payment": ("goods payment", "货款金额"),
    "supplier_value": ("supplier value", "供货商货值"),
    "loss_value": ("loss value", "损失金额"),
    "forward_freight": ("forward freight", "正向运费"),
    "reverse_freight": ("reverse freight", "逆向运费"),
    "order_amount": ("order amount", "订单金额"),
    "category": ("category", "品类"),
    "fixed_amount": ("fixed amount", "固定金额"),  # given on one claim (claims set-input, the ledger's form)
}

# freight insurance scenarios (claims/engine.py INSURANCE_SCENARIOS)
SCENARIO_WORDS: dict[str, tuple[str, str]] = {"return": ("return", "退货"), "refusal": ("refusal", "拒收")}

# template key: (English, 中文); {terms} and {missing} are lists of parts, {name} a key of NAMES
TEMPLATES: dict[str, tuple[str, str]] = {
    "value": ("{name} {amount}", "{name} {amount}"),
    "input": ("{name}", "{name}"),
    "percent": ("{percent} × {base} = {raw}", "{percent} × {base} = {raw}"),
    "percent_capped": ("{percent} × {base} = {raw}, capped at {cap}", "{percent} × {base} = {raw}, 封顶 {cap}"),
    "percent_of": ("{percent} of {name}", "{name} × {percent}"),
    "fixed": ("fixed {amount}", "固定金额 {amount}"),
    "fixed_set": ("fixed {amount} (set on the claim)", "固定金额 {amount}(理赔单上填写)"),
    "fixed_unset": ("F", "固定金额"),
    "freight": ("freight {amount}", "运费 {amount}"),
    "freight_both": ("freight {forward} + {reverse}", "运费 {forward} + {reverse}"),
    "freight_unset": ("freight", "运费"),
    "ratio": ("{ratio} × {base} = {raw}", "{ratio} × {base} = {raw}"),
    "ratio_of_loss": ("{ratio} × loss", "{ratio} × 损失金额"),
    "ratio_unset": ("ratio × loss", "比例 × 损失金额"),
    "no_window": ("filing window unknown: no order time", "申请期限未知: 没有订单时间"),
    "total": ("total {amount}", "合计 {amount}"),
    "incomplete": ("{terms}: {known} known; missing: {missing}", "{terms}: 已知 {known}; 缺少: {missing}"),
    "fixed_not_configured": ("fixed amount not configured", "固定金额未配置"),
    "ratio_not_configured": ("ratio {ratio_key} not configured", "合同比例未配置"),
    "insurance": (
        "{amount} × {rate}{factor} = {raw} ({category}, {scenario})",
        "{amount} × {rate}{factor} = {raw} ({category}, {scenario})",
    ),
    "insurance_floor": (
        "{amount} × {rate}{factor} = {raw} ({category}, {scenario}), raised to the floor {low}",
        "{amount} × {rate}{factor} = {raw} ({category}, {scenario}), 按保底 {low}",
    ),
    "insurance_capped": (
        "{amount} × {rate}{factor} = {raw} ({category}, {scenario}), capped at {high}",
        "{amount} × {rate}{factor} = {raw} ({category}, {scenario}), 封顶 {high}",
    ),
    "insurance_no_amount": (
        "order amount × {rate} ({category}): 0.00 known, order amount missing",
        "订单金额 × {rate} ({category}): 已知 0.00, 缺少订单金额",
    ),
    "insurance_no_category": ("freight insurance: {error}", "聚划算大运险: 品类「{category}」不在大运险赔付表中"),
}


def input_label(name: str, lang: str = "en") -> str:
    """An input's name (a key of NAMES) in `lang`; an unknown name as it is."""
    pair = NAMES.get(name)
    return name if pair is None else pair[1 if lang == "zh" else 0]


def part(key: str, **values: Any) -> Part:
    if key not in TEMPLATES:
        raise KeyError(f"formula template {key!r} is not in claims/formula.py TEMPLATES")
    return {"k": key, **values}


def render(p: Part, lang: str = "en") -> str:
    """One part in `lang` ("zh" or anything else for English)."""
    zh = lang == "zh"
    values: dict[str, Any] = {k: v for k, v in p.items() if k != "k"}
    if "name" in values:
        values["name"] = input_label(values["name"], lang)
    if "terms" in values:
        values["terms"] = " + ".join(render(t, lang) for t in values["terms"])
    if "missing" in values:
        values["missing"] = ", ".join(render(m, lang) for m in values["missing"])
    if "scenario" in values and values["scenario"] in SCENARIO_WORDS:
        values["scenario"] = SCENARIO_WORDS[values["scenario"]][1 if zh else 0]
    if "multiplier" in p or p["k"].startswith("insurance"):
        values["factor"] = f" × {values['multiplier']}" if values.get("multiplier") else ""
    return TEMPLATES[p["k"]][1 if zh else 0].format(**values)


def text(parts: Iterable[Part], lang: str = "en") -> str:
    """The whole formula: its lines joined with "; "."""
    return "; ".join(render(p, lang) for p in parts)


def dumps(parts: Iterable[Part]) -> str:
    """The stored form of a formula (the claim row's `formula` column)."""
    return json.dumps(list(parts), ensure_ascii=False, separators=(",", ":"))


def loads(stored: str | None) -> list[Part] | None:
    """The parts of a stored formula; None for free text (stored before the parts were) or nothing."""
    if not stored or not stored.startswith("["):
        return None
    try:
        parts = json.loads(stored)
    except ValueError:
        return None
    if not isinstance(parts, list) or not all(isinstance(p, Mapping) and p.get("k") in TEMPLATES for p in parts):
        return None
    return [dict(p) for p in parts]


def show(stored: str | None, lang: str = "en") -> str:
    """A stored formula in `lang`; free text as it was stored; "" for none."""
    parts = loads(stored)
    if parts is None:
        return stored or ""
    try:
        return text(parts, lang)
    except (KeyError, IndexError, TypeError, ValueError):  # a part missing a value: shown as stored
        return stored or ""


def missing_words(stored: str | None, lang: str = "en") -> str | None:
    """What a stored formula says is missing, in `lang` (the `missing` column holds it in English); None when it
    lacks nothing or is free text."""
    for p in loads(stored) or ():
        if p["k"] == "incomplete" and p.get("missing"):
            try:
                return ", ".join(render(m, lang) for m in p["missing"])
            except (KeyError, IndexError, TypeError, ValueError):
                return None
    return None
