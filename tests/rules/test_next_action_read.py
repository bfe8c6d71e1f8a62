"""A flag's next action as people read it (tracker/flags/next_action.py): the evaluation stores the template's
key and number, and every reader (`tracker flags`, the queue export, the alerts) renders the same text from
them, its hours counted at the reading's now; a text stored on the flag (written before migration 0019) is
read as it is until the flag changes."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update

from dashboard.data import QueueFilter
from dashboard.export_buttons import queue_rows
from tracker.alerts import store
from tracker.flags import evaluate_all, lifecycle
from tracker.storage.tables import FLAG

T0 = datetime.fromisoformat("2026-11-10T04:00:00+00:00")
H = timedelta(hours=1)
WAYBILL = "SF1234567890123"


def _shipped(db) -> int:  # type: ignore[no-untyped-def]
    return db.parcel(created=T0, waybill=WAYBILL, courier="sf", shipped_at=T0)


def _read(db, settings, now: datetime) -> dict[str, tuple[str | None, str | None]]:  # type: ignore[no-untyped-def]
    """The flag's (zh, en) next action through each reader at `now`."""
    (listed,) = lifecycle.list_flags(db.engine, settings=settings, now=now, waybill=WAYBILL)
    (exported,) = queue_rows(
        db.engine,
        QueueFilter(),
        now=now,
        sort="escalated",
        limit=10,
        actions=settings.next_actions,
        couriers=settings.couriers,
    )
    (alerted,) = store.load_flags(db.engine, settings, lead_kinds=["lost"], since=T0, now=now)
    return {
        "flags": (listed["next_action_zh"], listed["next_action_en"]),
        "export": (exported["next_action_zh"], exported["next_action_en"]),
        "alerts": (alerted.next_action_zh, alerted.next_action_en),
    }


def test_an_opened_flag_stores_its_key_and_number_and_every_reader_renders_the_same_text(db, settings) -> None:  # type: ignore[no-untyped-def]
    p = _shipped(db)
    evaluate_all(db.engine, now=T0 + 80 * H, settings=settings)
    with db.engine.connect() as conn:
        row = conn.execute(select(FLAG).where(FLAG.c.parcel_id == p)).one()
    assert (row.kind, row.action_key, row.action_value) == ("no_first_scan", "no_first_scan", 80)
    assert (row.next_action_zh, row.next_action_en) == (None, None)  # no text written per flag
    read = _read(db, settings, T0 + 80 * H)
    zh, en = read["flags"]
    assert zh is not None and "发货后3天8小时仍无揽收扫描" in zh and "顺丰速运" in zh and WAYBILL in zh
    assert en is not None and "3 d 8 h after shipping" in en and "SF Express" in en
    assert read == {"flags": (zh, en), "export": (zh, en), "alerts": (zh, en)}


def test_the_hours_in_a_next_action_are_counted_when_it_is_read(db, settings) -> None:  # type: ignore[no-untyped-def]
    _shipped(db)
    evaluate_all(db.engine, now=T0 + 80 * H, settings=settings)
    # no evaluation since: the flag still says what it said, but the hours are those at the reading
    later = _read(db, settings, T0 + 91 * H + 59 * 60 * timedelta(seconds=1))
    assert all("发货后3天19小时仍无揽收扫描" in (zh or "") for zh, _ in later.values()), later
    assert all("3 d 19 h after shipping" in (en or "") for _, en in later.values()), later


def test_a_text_stored_before_is_read_as_it_is_until_the_flag_escalates(db, settings) -> None:  # type: ignore[no-untyped-def]
    p = _shipped(db)
    evaluate_all(db.engine, now=T0 + 80 * H, settings=settings)
    with db.engine.begin() as conn:  # as migration 0019 leaves a flag written before it
        conn.execute(
            update(FLAG)
            .where(FLAG.c.parcel_id == p)
            .values(next_action_zh="旧的下一步", next_action_en="old next action", action_key=None, action_value=None)
        )
    assert set(_read(db, settings, T0 + 90 * H).values()) == {("旧的下一步", "old next action")}
    summary = evaluate_all(db.engine, now=T0 + 100 * H, settings=settings)
    assert dict(summary.escalated) == {"no_first_scan": 1}
    with db.engine.connect() as conn:
        row = conn.execute(select(FLAG).where(FLAG.c.parcel_id == p)).one()
    assert (row.action_key, row.action_value, row.next_action_zh, row.next_action_en) == (
        "no_first_scan",
        100,
        None,
        None,
    )
    ((zh, _en),) = set(_read(db, settings, T0 + 100 * H).values())
    assert zh is not None and "发货后4天4小时" in zh
