"""The next actions of the flags an evaluation writes, filled in SQL with tracker.rules.actions'
substitutions (the one filler of both paths): per courier, a template is cut once at the per-flag
placeholders and a flag's text concatenated from the cut; what the cut does not cover goes through SQL's
replace() in the same order as the pure fill."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, String, Table, and_, case, cast, func, select
from sqlalchemy.engine import Connection

from tracker.flags.sqlfuncs import contains_text
from tracker.flags.temp import ACTION, ACTION_TEXT, CHANGE, COURIER, SEGMENTS
from tracker.rules.actions import FLAG_PLACEHOLDERS, courier_substitutions, fill_with, substitutions
from tracker.settings import Settings


def fill_lookups(conn: Connection, settings: Settings) -> None:
    """ACTION (the templates), ACTION_TEXT (each template cut per courier) and COURIER (the names)."""
    if settings.next_actions:
        conn.execute(ACTION.insert(), [{"key": k, "zh": v.zh, "en": v.en} for k, v in settings.next_actions.items()])
    texts = [
        {
            "key": key,
            "courier": slug,
            **_segments("zh", text.zh, courier.name, courier.name_en),
            **_segments("en", text.en, courier.name, courier.name_en),
        }
        for key, text in settings.next_actions.items()
        for slug, courier in settings.couriers.items()
    ]
    if texts:
        conn.execute(ACTION_TEXT.insert(), texts)
    if settings.couriers:
        conn.execute(
            COURIER.insert(),
            [{"slug": k, "name": v.name, "name_en": v.name_en} for k, v in settings.couriers.items()],
        )


@dataclass(frozen=True)
class Facts:
    """The columns a next action is filled from: a desired row's, or a change row's."""

    key: Any
    courier: Any
    waybill: Any
    value: Any

    @classmethod
    def of(cls, t: Table) -> Facts:
        return cls(t.c.action_key if t is CHANGE else t.c.action, t.c.courier, t.c.waybill, t.c.value)


def text_of(row: Facts) -> Any:
    return and_(ACTION_TEXT.c.key == row.key, ACTION_TEXT.c.courier == row.courier)


# the per-flag placeholders a template is cut at, and the code ACTION_TEXT names each by
_PLACEHOLDER = re.compile("(" + "|".join(re.escape(key) for key in FLAG_PLACEHOLDERS) + ")")
_CODE = {key: {"waybill": "w", "value": "n"}[source] for key, source in FLAG_PLACEHOLDERS.items()}


def _segments(lang: str, template: str, name: str, name_en: str) -> dict[str, str | None]:
    """ACTION_TEXT columns of one template for one courier. The courier's names go in as
    tracker.rules.actions fills them (courier_substitutions). The cut is only taken when concatenating
    gives exactly what the remaining replace() calls would: at most SEGMENTS placeholders and no brace
    left in the literal parts (the SQL also checks the waybill has none); else lit0 is NULL."""
    named = fill_with(template, courier_substitutions(courier=name, courier_en=name_en), str.replace)
    parts: list[str | None] = list(_PLACEHOLDER.split(named))
    literals = parts[::2]
    if len(parts) > 2 * SEGMENTS + 1 or any("{" in p or "}" in p for p in literals):  # type: ignore[operator]
        return {c.name: None for c in ACTION_TEXT.c if c.name.startswith(f"{lang}_")}
    parts += [None, ""] * (SEGMENTS - len(parts) // 2)
    out: dict[str, str | None] = {f"{lang}_0": parts[0]}
    for i in range(1, SEGMENTS + 1):
        out[f"{lang}_p{i}"] = _CODE.get(parts[2 * i - 1] or "")
        out[f"{lang}_{i}"] = parts[2 * i]
    return out


def next_action(row: Facts, lang: str) -> Any:
    """The next action of a row in `lang`: the courier's cut template concatenated (needs ACTION_TEXT
    joined), or the replace() chain for what the cut does not cover (an unknown courier, a template
    that does not fit, a waybill with a brace)."""
    t = ACTION_TEXT.c
    number = _number(row)
    text_: Any = t[f"{lang}_0"]
    for i in range(1, SEGMENTS + 1):
        code = t[f"{lang}_p{i}"]
        text_ = text_ + case((code == "w", row.waybill), (code == "n", number), else_="") + t[f"{lang}_{i}"]
    fits = and_(t[f"{lang}_0"].is_not(None), ~contains_text(row.waybill, "{"))
    replaced = (
        select(_fill(row, ACTION.c[lang]))
        .select_from(ACTION.outerjoin(COURIER, COURIER.c.slug == row.courier))
        .where(ACTION.c.key == row.key)
        .scalar_subquery()
    )
    return case((fits, text_), else_=replaced)


def _fill(row: Facts, template: Column) -> Any:
    """The next action of a row: the template with every placeholder replaced by SQL's replace(), in
    tracker.rules.actions' order (substitutions). Needs ACTION and COURIER joined."""
    pairs = substitutions(
        courier=func.coalesce(COURIER.c.name, row.courier),
        courier_en=func.coalesce(COURIER.c.name_en, row.courier),
        waybill=row.waybill,
        number=_number(row),
    )
    return fill_with(template, pairs, lambda text_, key, value: func.replace(text_, key, value))


def _number(row: Facts) -> Any:
    """The flag's value as text, "" when it has none (as tracker.rules.actions.fill)."""
    return func.coalesce(cast(row.value, String), "")
