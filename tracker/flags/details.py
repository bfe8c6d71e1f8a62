"""What some flags carry besides their level, written after the changes: the refund ladder's position (as
details, and its next action's key and days left) and the late-shipment exposure (as details, and in the
next action's stored text). Few rows: read, computed by the pure functions of tracker/rules/, and updated
where they changed."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, select, text, update
from sqlalchemy.engine import Connection, Row

from tracker.flags.diff import in_scope
from tracker.flags.rulesql import Context
from tracker.rules.actions import render_key
from tracker.rules.common import whole_hours
from tracker.rules.ladder import position
from tracker.rules.late_shipment import WITH_EXPOSURE
from tracker.rules.tmall_timers import late_shipment_exposure
from tracker.settings import Settings
from tracker.status import FlagKind, FlagState
from tracker.storage.repo import PARCEL
from tracker.storage.tables import FLAG


def ladder_positions(conn: Connection, ctx: Context) -> None:
    """Every unresolved refund_deadline flag (in scope) gets its ladder position as details (the contract alert
    planning reads, tracker.rules.ladder) and its next action's key and today's days left (rendered when
    read, tracker/flags/next_action.py): the text counts down with each evaluation instead of keeping the
    days of the moment the step was reached. Few rows: one read, and an update only for the flags whose
    position or days changed (docs/domain.md)."""
    p = PARCEL.c
    rows = _unresolved(
        conn, ctx, FlagKind.refund_deadline, [p.refund_deadline, p.refund_express], p.refund_deadline.is_not(None)
    )
    changes = []
    for row in rows:
        deadline = _utc(row.refund_deadline)
        at = position(ctx.config.refund_ladder, express=bool(row.refund_express), deadline=deadline, now=ctx.now)
        if at is None:
            continue
        details = at.to_details()
        if (details, at.shown_key, at.shown_value, None, None) != (
            row.details,
            row.action_key,
            row.action_value,
            row.next_action_zh,
            row.next_action_en,
        ):
            changes.append({"fid": row.id, "new_details": details, "key": at.shown_key, "value": at.shown_value})
    # a text stored before migration 0019 would hide the key: cleared
    _update(conn, changes, {"details": "new_details", "action_key": "key", "action_value": "value"}, cleared=_TEXTS)


def exposure_extra(exposure: Any) -> dict[str, str]:
    """The placeholders of `late_shipment.exposure` (tracker.rules.actions.fill_extra)."""
    return {"exposure_cny": f"{exposure.cny:,.2f}", "exposure_points": f"{exposure.points:,}"}


def late_shipment_exposure_details(conn: Connection, ctx: Context, settings: Settings) -> None:
    """Every unresolved late_shipment flag (in scope) on a parcel with a price gets the shop's exposure as
    details and in its next action: percent of the price, capped, in CNY and Tmall points, from
    config/claims/tmall.toml (docs/domain.md "Tmall's timers"). The texts are stored: their placeholders
    need more than the flag's key and number (tracker/flags/next_action.py reads stored texts first). Few
    rows: one read, updates where changed."""
    p = PARCEL.c
    rows = _unresolved(
        conn,
        ctx,
        FlagKind.late_shipment,
        [p.goods_value, p.paid_at],
        p.goods_value.is_not(None),
        p.paid_at.is_not(None),
    )
    rules = settings.tmall.late_shipment_compensation
    changes = []
    for row in rows:
        exposure = late_shipment_exposure(row.goods_value, rules)
        hours = whole_hours(ctx.now, _utc(row.paid_at))
        texts = _next_action(row, settings, WITH_EXPOSURE, hours, exposure_extra(exposure))
        changes += _changed(row, exposure.to_details(), texts)
    _write(conn, changes)


def _unresolved(conn: Connection, ctx: Context, kind: FlagKind, columns: list[Any], *where: Any) -> Sequence[Row[Any]]:
    """The open or acknowledged flags of `kind` in scope (still on the board), with their parcel's courier,
    waybill and `columns`."""
    p = PARCEL
    return conn.execute(
        select(
            FLAG.c.id,
            FLAG.c.details,
            FLAG.c.next_action_zh,
            FLAG.c.next_action_en,
            FLAG.c.action_key,
            FLAG.c.action_value,
            p.c.courier,
            p.c.waybill,
            *columns,
        )
        .join(p, p.c.id == FLAG.c.parcel_id)
        .where(FLAG.c.kind == str(kind), FLAG.c.state != str(FlagState.resolved), *where, *in_scope(ctx))
    ).all()


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _next_action(
    row: Row[Any], settings: Settings, key: str, value: int, extra: Mapping[str, str] | None = None
) -> tuple[str | None, str | None]:
    """The flag's next action filled with `value` (the one filler, tracker.rules.actions); the text it has
    when `key` has no template."""
    zh, en = render_key(
        key,
        courier=row.courier,
        waybill=row.waybill,
        value=value,
        actions=settings.next_actions,
        couriers=settings.couriers,
        extra=extra,
    )
    return (row.next_action_zh, row.next_action_en) if zh is None else (zh, en)


def _changed(row: Row[Any], details: Mapping[str, Any], texts: tuple[str | None, str | None]) -> list[dict[str, Any]]:
    """The update of one flag, when its details or its next action changed (else none)."""
    if details == row.details and texts == (row.next_action_zh, row.next_action_en):
        return []
    return [{"fid": row.id, "new_details": details, "zh": texts[0], "en": texts[1]}]


def _write(conn: Connection, changes: list[dict[str, Any]]) -> None:
    _update(conn, changes, {"details": "new_details", "next_action_zh": "zh", "next_action_en": "en"})


_TEXTS = ("next_action_zh", "next_action_en")


def _update(
    conn: Connection, changes: list[dict[str, Any]], columns: Mapping[str, str], *, cleared: Sequence[str] = ()
) -> None:
    """Each change's flag (its "fid") gets `columns` (flag column -> the change's key), and the `cleared`
    columns NULL. SQLite: one prepared UPDATE per flag. PostgreSQL: one UPDATE of them all from a JSON array
    (json_to_recordset): for the 2,390 refund ladders a first evaluation at a million parcels opens
    (bench/rules.py), 0.06 s where an UPDATE per flag took 0.1 s."""
    if not changes:
        return
    if conn.dialect.name != "postgresql":
        values: dict[str, Any] = {name: bindparam(key) for name, key in columns.items()}
        values |= dict.fromkeys(cleared)
        conn.execute(update(FLAG).where(FLAG.c.id == bindparam("fid")).values(**values), changes)
        return
    # the record's columns typed as the flag table's (json_to_recordset reads each by its type)
    typed = (f"{name} {FLAG.c[name].type.compile(dialect=conn.dialect)}" for name in columns)
    record = ", ".join(["fid bigint", *typed])
    sets = ", ".join([*(f"{name} = v.{name}" for name in columns), *(f"{name} = NULL" for name in cleared)])
    rows = [{"fid": change["fid"], **{name: change[key] for name, key in columns.items()}} for change in changes]
    statement = (
        f"UPDATE {FLAG.name} SET {sets} FROM json_to_recordset(CAST(:rows AS json)) AS v({record}) "  # noqa: S608
        f"WHERE {FLAG.name}.id = v.fid"
    )
    conn.execute(text(statement), {"rows": json.dumps(rows)})
