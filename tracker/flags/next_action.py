"""A stored flag's next action as people read it (the board, its exports, the alerts, `tracker flags`).

An evaluation stores the template's key and the number it fills in (flag.action_key, flag.action_value), not
the texts: they are rendered here, when read, by tracker.rules.actions (the one filler). Texts stored on the
flag win: the refund ladder's and the late-shipment exposure's (tracker/flags/details.py writes them, with
placeholders the key and number alone do not fill), and those of flags stored before migration 0019."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, MutableMapping
from typing import Any

from tracker.rules.actions import render_key
from tracker.settings import ActionText, CourierConfig, Settings

# the flag columns (and the parcel's waybill) a reader selects for the texts
COLUMNS = ("next_action_zh", "next_action_en", "action_key", "action_value", "courier", "waybill")


def texts(flag: Mapping[str, Any], settings: Settings) -> tuple[str | None, str | None]:
    """(zh, en) next action of a flag row holding COLUMNS; (None, None) when it has none."""
    return texts_with(flag, actions=settings.next_actions, couriers=settings.couriers)


def texts_with(
    flag: Mapping[str, Any], *, actions: Mapping[str, ActionText], couriers: Mapping[str, CourierConfig]
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
    )


def fill(rows: Iterable[MutableMapping[str, Any]], settings: Settings) -> None:
    """Set next_action_zh and next_action_en of each flag row (COLUMNS) to what people read."""
    for row in rows:
        row["next_action_zh"], row["next_action_en"] = texts(row, settings)
