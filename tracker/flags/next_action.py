"""A stored flag's next action as people read it (the board, its exports, the alerts, `tracker flags`).

An evaluation stores the template's key and the number it fills in (flag.action_key, flag.action_value), not
the texts: they are rendered here, when read, by tracker.rules.actions (the one filler). A number of hours or
days since a time (flag.action_since) is counted at the reader's now: a flag opened at 72 hours without an
update says 150 hours three days later, as its age beside it does. Texts stored on the flag win: the
late-shipment exposure's (tracker/flags/details.py writes them, with placeholders the key and number alone do
not fill, each evaluation) and those of flags stored before migration 0019."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, MutableMapping
from datetime import datetime
from typing import Any

from tracker.rules.actions import render_key
from tracker.settings import ActionText, CourierConfig, Settings
from tracker.storage.tables import FLAG

# what a reader selects besides the flag's stored texts (next_action_zh, next_action_en), its courier and its
# parcel's waybill: the rows texts() reads
RENDERED_FROM = (FLAG.c.action_key, FLAG.c.action_value, FLAG.c.action_since)
_KEYS = tuple(column.name for column in RENDERED_FROM)


def texts(flag: Mapping[str, Any], settings: Settings, now: datetime) -> tuple[str | None, str | None]:
    """(zh, en) next action of a flag row (its texts, RENDERED_FROM, courier and waybill) as of `now`; (None,
    None) when it has none."""
    return texts_with(flag, actions=settings.next_actions, couriers=settings.couriers, now=now)


def texts_with(
    flag: Mapping[str, Any],
    *,
    actions: Mapping[str, ActionText],
    couriers: Mapping[str, CourierConfig],
    now: datetime,
) -> tuple[str | None, str | None]:
    """texts() with the templates and the couriers' names given."""
    zh, en = flag["next_action_zh"], flag["next_action_en"]
    key = flag["action_key"]
    if zh is not None or en is not None or key is None:
        return zh, en
    return render_key(
        key,
        courier=flag["courier"],
        waybill=flag["waybill"] or "",
        value=flag["action_value"],
        actions=actions,
        couriers=couriers,
        since=flag["action_since"],
        now=now,
    )


def fill(rows: Iterable[MutableMapping[str, Any]], settings: Settings, now: datetime) -> None:
    """Set next_action_zh and next_action_en of each flag row (as texts() reads it) to what people read at
    `now`, and drop the RENDERED_FROM columns from it."""
    for row in rows:
        row["next_action_zh"], row["next_action_en"] = texts(row, settings, now)
        for key in _KEYS:
            del row[key]
