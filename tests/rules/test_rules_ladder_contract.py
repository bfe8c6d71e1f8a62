"""The refund-ladder contract (tracker.rules.ladder, docs/domain.md): the pure rule and the SQL evaluation
write the same ladder position into the flag's details, and the stored next action counts down with each
day's evaluation, also while the flag is acknowledged."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select, update

from tracker.flags import evaluate_all, next_action
from tracker.rules import refund_deadline
from tracker.rules.ladder import Ladder, LadderPosition
from tracker.status import TrackingStatus
from tracker.storage.tables import FLAG, PARCEL

NOW = datetime.fromisoformat("2026-11-23T04:00:00+00:00")
D, S = timedelta(days=1), timedelta(seconds=1)


def _ladder_flag(conn, parcel_id: int):  # type: ignore[no-untyped-def]
    """The parcel's refund_deadline flag, with its waybill (what next_action.texts reads)."""
    return conn.execute(
        select(FLAG, PARCEL.c.waybill)
        .join(PARCEL, PARCEL.c.id == FLAG.c.parcel_id)
        .where(FLAG.c.parcel_id == parcel_id, FLAG.c.kind == "refund_deadline")
    ).one()


@pytest.mark.parametrize("express", [True, False], ids=["express", "ordinary"])
def test_rule_and_sql_write_the_same_position_and_the_text_counts_down(sqlite_db, settings, policy, view, express):  # type: ignore[no-untyped-def]
    deadline = NOW + 9 * D - S  # 8 days left at NOW: the first step of both ladders
    cols = {
        "return_agreed_at": NOW - D,
        "status": TrackingStatus.delivered,
        "is_open": False,
        "refund_deadline": deadline,
        "refund_express": express,
    }
    parcel_id = sqlite_db.parcel(
        created=NOW - 5 * D, waybill="YT1234567890123", **{k: str(v) if k == "status" else v for k, v in cols.items()}
    )
    seen = []
    for day in range(9):
        now = NOW + day * D
        evaluate_all(sqlite_db.engine, now=now, settings=settings)
        with sqlite_db.engine.begin() as conn:
            row = _ladder_flag(conn, parcel_id)
            if day == 3:  # a person acknowledges it: the text still counts down
                conn.execute(update(FLAG).where(FLAG.c.id == row.id).values(state="acknowledged"))
        pure = refund_deadline.evaluate(view(**cols), now=now, policy=policy)
        assert pure is not None and pure.details == row.details
        at = LadderPosition.from_details(row.details)
        assert at is not None and at.ladder == (Ladder.express if express else Ladder.ordinary)
        assert at.level == row.level == pure.level and at.days_left == 8 - day
        assert f"还剩{8 - day}天" in (next_action.texts(row._mapping, settings, now)[0] or "")  # as people read it
        seen.append((at.step, at.action))
    if express:
        assert seen[0] == (1, "message_then_phone") and (4, "lead_reject") in seen
    else:
        assert seen[0] == (1, "message") and seen[-1] == (2, "phone")
    # past the deadline the text says so and for how long (it read 还剩0天 for weeks); the details keep the last
    # step, which the alerts plan by
    later = deadline + 3 * D + 5 * timedelta(hours=1)
    evaluate_all(sqlite_db.engine, now=later, settings=settings)
    with sqlite_db.engine.connect() as conn:
        row = _ladder_flag(conn, parcel_id)
    zh, en = next_action.texts(row._mapping, settings, later)
    assert zh is not None and zh.startswith("退款截止已过3天5小时,仍无退货物流"), zh
    assert en is not None and en.startswith("The refund deadline passed 3 d 5 h ago"), en
    pure = refund_deadline.evaluate(view(**cols), now=later, policy=policy)
    assert pure is not None and (pure.action, pure.value) == (row.action_key, row.action_value) == (
        "refund_deadline.passed",
        3 * 24 + 5,
    )
    assert LadderPosition.from_details(row.details).action == seen[-1][1]  # type: ignore[union-attr]
