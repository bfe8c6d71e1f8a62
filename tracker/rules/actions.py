"""Next-action text (config/next_actions.toml) with the facts filled in: the one filler. The pure rules'
flags are rendered here (`render`), and so are the stored flags when read (tracker/flags/next_action.py: the
evaluation stores a flag's template key and number, not its texts).

`substitutions` says which placeholder takes which value, in which order; `fill_with` applies them."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TypeVar

from tracker.rules.model import Flag
from tracker.settings import ActionText, CourierConfig

T = TypeVar("T")

# the courier's names, filled first ({courier_en} before {courier}), once per courier
COURIER_PLACEHOLDERS = ("{courier_en}", "{courier}")
# the per-flag placeholders and what fills them: the waybill, or the flag's value ({hours} and {days} alike)
FLAG_PLACEHOLDERS: Mapping[str, str] = {"{waybill}": "waybill", "{hours}": "value", "{days}": "value"}
PLACEHOLDERS = (*COURIER_PLACEHOLDERS, *FLAG_PLACEHOLDERS)


def courier_substitutions(*, courier: T, courier_en: T) -> tuple[tuple[str, T], ...]:
    """(placeholder, value) pairs of the courier's names, in the order they are filled."""
    return tuple(zip(COURIER_PLACEHOLDERS, (courier_en, courier), strict=True))


def flag_substitutions(*, waybill: T, number: T) -> tuple[tuple[str, T], ...]:
    """(placeholder, value) pairs of one flag; `number` is its value as text ("" when it has none)."""
    per_flag = {"waybill": waybill, "value": number}
    return tuple((key, per_flag[source]) for key, source in FLAG_PLACEHOLDERS.items())


def substitutions(*, courier: T, courier_en: T, waybill: T, number: T) -> tuple[tuple[str, T], ...]:
    """Every (placeholder, value) pair in the order filled: the courier's names, then the flag's."""
    return (
        *courier_substitutions(courier=courier, courier_en=courier_en),
        *flag_substitutions(waybill=waybill, number=number),
    )


def fill_with(template: T, pairs: Iterable[tuple[str, T]], replace: Callable[[T, str, T], T]) -> T:
    """The template with each placeholder replaced in turn."""
    for key, value in pairs:
        template = replace(template, key, value)
    return template


def fill(template: str, *, courier: str, courier_en: str, waybill: str, value: int | None) -> str:
    """Replace each placeholder; {hours} and {days} both take the flag's value ("" when it has none)."""
    number = "" if value is None else str(value)
    pairs = substitutions(courier=courier, courier_en=courier_en, waybill=waybill, number=number)
    return fill_with(template, pairs, str.replace)


def fill_extra(template: str, extra: Mapping[str, str] | None) -> str:
    """Replace the placeholders only some kinds have ({exposure_cny}, {exposure_points}: filled after the
    evaluation by tracker/flags/details.py, the same way)."""
    for key, text in (extra or {}).items():
        template = template.replace("{" + key + "}", text)
    return template


def render_key(
    key: str,
    *,
    courier: str,
    waybill: str,
    value: int | None,
    actions: Mapping[str, ActionText],
    couriers: Mapping[str, CourierConfig],
    extra: Mapping[str, str] | None = None,
) -> tuple[str | None, str | None]:
    """(zh, en) text of next action `key` on a parcel of `courier` (slug; its names from couriers.toml, else
    the slug); (None, None) without a template. `extra`: the values of kind-specific placeholders."""
    text = actions.get(key)
    if text is None:
        return None, None
    config = couriers.get(courier)
    name, name_en = (config.name, config.name_en) if config else (courier, courier)
    zh = fill(text.zh, courier=name, courier_en=name_en, waybill=waybill, value=value)
    en = fill(text.en, courier=name, courier_en=name_en, waybill=waybill, value=value)
    return fill_extra(zh, extra), fill_extra(en, extra)


def render(
    flag: Flag,
    *,
    courier: str,
    waybill: str,
    actions: Mapping[str, ActionText],
    couriers: Mapping[str, CourierConfig],
    extra: Mapping[str, str] | None = None,
) -> tuple[str | None, str | None]:
    """(zh, en) next action for a flag on a parcel of `courier` (slug); (None, None) without a template."""
    return render_key(
        flag.action_key,
        courier=courier,
        waybill=waybill,
        value=flag.value,
        actions=actions,
        couriers=couriers,
        extra=extra,
    )
