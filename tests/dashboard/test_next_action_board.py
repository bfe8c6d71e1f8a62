"""The board renders a flag's next action from what the evaluation stores (its template key, and the time its
hours count from: tracker/flags/next_action.py), with the hours at the board's now, on the queue and on the
parcel page alike."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from tests.dashboard.seed import FLAG
from tests.dashboard.test_parcel_actions import parcel_page
from tests.dashboard.test_queue import open_queue
from tracker.escape import streamlit_md as md
from tracker.rules.common import epoch


def test_a_stored_key_is_rendered_with_the_hours_at_the_board_now(board_db, now):
    engine, ids = board_db
    fid = ids["flags"]["stale"]  # SF1001
    with engine.begin() as conn:  # as an evaluation stores it 75 h after the last scan, read 3 h later
        conn.execute(
            update(FLAG)
            .where(FLAG.c.id == fid)
            .values(
                next_action_zh=None,
                next_action_en=None,
                action_key="stale",
                action_value=72,
                action_since=epoch(now - timedelta(hours=75)),
            )
        )
    expected = "物流已3天3小时未更新:到顺丰速运官网查询单号SF1001,电话咨询快递网点,并回复买家"
    queue = open_queue()
    assert expected in list(queue.dataframe[0].value["下一步"])
    page = parcel_page(ids, "SF1001")
    assert f"下一步: {md(expected)}" in [m.value for m in page.markdown]  # as text, its colon escaped
