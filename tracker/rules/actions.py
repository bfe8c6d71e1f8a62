"""Next-action text (config/next_actions.toml) with the facts filled in. Pure string work; the SQL
path fills the same placeholders with replace() so both produce the same text."""

from __future__ import annotations

from collections.abc import Mapping

from tracker.rules.model import Flag
from tracker.settings import ActionText, CourierConfig

PLACEHOLDERS = ("{courier}", "{courier_en}", "{waybill}", "{hours}", "{days}")


def fill(template: str, *, courier: str, courier_en: str, waybill: str, value: int | None) -> str:
    """Replace each placeholder; {hours} and {days} both take the flag's value ("" when it has none)."""
    number = "" if value is None else str(value)
    for key, text in (
        ("{courier_en}", courier_en),
        ("{courier}", courier),
        ("{waybill}", waybill),
        ("{hours}", number),
        ("{days}", number),
    ):
        template = template.replace(key, text)
    return template


def fill_extra(template: str, extra: Mapping[str, str] | None) -> str:
    """Replace the placeholders only some kinds have ({exposure_cny}, {exposure_points}: filled after the
    evaluation by tracker.flags.evaluate, the same way)."""
    for key, text in (extra or {}).items():
        template = template.replace("{" + key + "}", text)
    return template


def render(
    flag: Flag,
    *,
    courier: str,
    waybill: str,
    actions: Mapping[str, ActionText],
    couriers: Mapping[str, CourierConfig],
    extra: Mapping[str, str] | None = None,
) -> tuple[str | None, str | None]:
    """(zh, en) next action for a flag on a parcel of `courier` (slug); (None, None) without a template.
    `extra`: the values of kind-specific placeholders (see fill_extra)."""
    text = actions.get(flag.action_key)
    if text is None:
        return None, None
    config = couriers.get(courier)
    name, name_en = (config.name, config.name_en) if config else (courier, courier)
    zh = fill(text.zh, courier=name, courier_en=name_en, waybill=waybill, value=flag.value)
    en = fill(text.en, courier=name, courier_en=name_en, waybill=waybill, value=flag.value)
    return fill_extra(zh, extra), fill_extra(en, extra)
