"""Next-action text (config/next_actions.toml) with the facts filled in: the one filler. The pure rules'
flags are rendered here (`render`), and so are the stored flags when read (tracker/flags/next_action.py: the
evaluation stores a flag's template key and number, not its texts).

A flag whose number is whole hours or days since a time carries that time (`since`): rendered with a `now`,
{hours} and {days} are counted at that now, so a text read three days after the flag opened says so."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from tracker.labels import hours_in_words
from tracker.rules.common import DAY, HOUR, epoch
from tracker.rules.model import Flag
from tracker.settings import ActionText, CourierConfig

# the placeholders in the order they are filled: the courier's names ({courier_en} before {courier}), then
# the flag's waybill and number ({hours} and {days}: the flag's value, or counted from its `since`; {elapsed}:
# those hours as a person reads them, in days and hours past a day: labels.hours_in_words)
PLACEHOLDERS = ("{courier_en}", "{courier}", "{waybill}", "{hours}", "{days}", "{elapsed}")


def fill(
    template: str,
    *,
    courier: str,
    courier_en: str,
    waybill: str,
    value: int | None,
    since: int | None = None,
    now: datetime | None = None,
    lang: str = "zh",
) -> str:
    """Replace each placeholder in turn. {hours} and {days} take the flag's value ("" when it has none); with
    `since` (epoch seconds) and `now`, the whole hours and whole days from `since` to `now` instead. {elapsed}
    is the hours in `lang`'s words (33天14小时; 20小时)."""
    hours = days = "" if value is None else str(value)
    elapsed = "" if value is None else hours_in_words(value, lang)
    if since is not None and now is not None:
        seconds = epoch(now) - since
        hours, days, elapsed = str(seconds // HOUR), str(seconds // DAY), hours_in_words(seconds // HOUR, lang)
    for key, text in zip(PLACEHOLDERS, (courier_en, courier, waybill, hours, days, elapsed), strict=True):
        template = template.replace(key, text)
    return template


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
    since: int | None = None,
    now: datetime | None = None,
) -> tuple[str | None, str | None]:
    """(zh, en) text of next action `key` on a parcel of `courier` (slug; its names from couriers.toml, else
    the slug); (None, None) without a template. `extra`: the values of kind-specific placeholders; `since`
    and `now`: count the number at `now` (fill)."""
    text = actions.get(key)
    if text is None:
        return None, None
    config = couriers.get(courier)
    name, name_en = (config.name, config.name_en) if config else (courier, courier)
    zh, en = (
        fill(template, courier=name, courier_en=name_en, waybill=waybill, value=value, since=since, now=now, lang=lang)
        for template, lang in ((text.zh, "zh"), (text.en, "en"))
    )
    return fill_extra(zh, extra), fill_extra(en, extra)


def render(
    flag: Flag,
    *,
    courier: str,
    waybill: str,
    actions: Mapping[str, ActionText],
    couriers: Mapping[str, CourierConfig],
    extra: Mapping[str, str] | None = None,
    now: datetime | None = None,
) -> tuple[str | None, str | None]:
    """(zh, en) next action for a flag on a parcel of `courier` (slug) as of `now` (its hours and days counted
    from its `since`; without `now`, its value); (None, None) without a template."""
    return render_key(
        flag.action_key,
        courier=courier,
        waybill=waybill,
        value=flag.value,
        actions=actions,
        couriers=couriers,
        extra=extra,
        since=flag.since,
        now=now,
    )
