"""The queue's pages, on SQLite and PostgreSQL: walking them by keyset (each page after the last row's
page_key) gives exactly the rows OFFSET paging gives and one whole read gives, in every sort and with the
filters that change the query's shape, ties in every sort key included."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from dashboard import data
from dashboard.data import SORTS, QueueFilter
from tests.dashboard.test_app import signed_in
from tracker.domain import ParcelFacts
from tracker.storage import rollups
from tracker.storage.repo import upsert_parcels
from tracker.storage.tables import FLAG, PARCEL

PAGE = 7
PAGE_KEYS = "q_page_keys"  # dashboard/views/queue.py (a page script: importing it would run it)
COURIERS = ("zto", "sf", "yto")
FILTERS = {
    "unresolved": QueueFilter(),  # the default sort reads ix_flag_unresolved_queue in order
    "all states": QueueFilter(state=""),
    "courier": QueueFilter(courier="zto"),
    "shop": QueueFilter(shop="旗舰店"),  # joins the parcels
    "age": QueueFilter(min_age_hours=30),
}


@pytest.fixture
def queue(engine, now):
    add_flags(engine, now, 60)
    return engine


def add_flags(engine, now, n: int) -> None:
    """n flags: a few escalated, opened at 6 distinct times (ties), 3 couriers, 2 shops, last updates in 9
    steps (ties), some resolved."""
    upsert_parcels(
        engine,
        [
            ParcelFacts(
                courier=COURIERS[i % 3],
                waybill=f"PG{i:05d}",
                shop="旗舰店" if i % 2 else "专营店",
                province="广东省",
                shipped_at=now - timedelta(hours=20 + 5 * (i % 9)),
            )
            for i in range(n)
        ],
        now=now - timedelta(days=5),
    )
    with engine.begin() as conn:
        parcels = conn.execute(select(PARCEL.c.id, PARCEL.c.courier).where(PARCEL.c.waybill.like("PG%"))).all()
        conn.execute(
            FLAG.insert(),
            [
                dict(
                    parcel_id=pid,
                    courier=courier,
                    kind="stale" if k % 4 else "refused",
                    severity="escalate" if k % 7 == 0 else "warn",
                    state="resolved" if k % 11 == 0 else "open",
                    opened_at=now - timedelta(hours=k % 6),
                    next_action_zh="电话咨询网点",
                    next_action_en="Phone the outlet",
                )
                for k, (pid, courier) in enumerate(sorted(parcels))
            ],
        )
        rollups.rebuild(conn)  # flags written straight: their copy of the parcel's last update


@pytest.mark.parametrize("sort", list(SORTS))
@pytest.mark.parametrize("name", list(FILTERS))
def test_keyset_pages_are_the_offset_pages_and_the_whole_list(queue, now, sort, name):
    f = FILTERS[name]
    total = data.queue_count(queue, f, now=now)
    assert total > 2 * PAGE  # several pages, the last one short
    whole = [r["flag_id"] for r in data.queue_page(queue, f, now=now, sort=sort, limit=1000)]
    assert len(whole) == total
    by_offset, by_key, after = [], [], None
    for offset in range(0, total + PAGE, PAGE):
        by_offset += [r["flag_id"] for r in data.queue_page(queue, f, now=now, sort=sort, limit=PAGE, offset=offset)]
        page = data.queue_page(queue, f, now=now, sort=sort, limit=PAGE, after=after)
        by_key += [r["flag_id"] for r in page]
        after = page[-1]["page_key"] if page else after
    assert by_offset == whole
    assert by_key == whole


def test_a_page_after_a_key_ignores_the_offset_and_a_jump_uses_it(queue, now):
    f = QueueFilter()
    first, second = (data.queue_page(queue, f, now=now, limit=PAGE, offset=o) for o in (0, PAGE))
    after = data.queue_page(queue, f, now=now, limit=PAGE, offset=3 * PAGE, after=first[-1]["page_key"])
    assert [r["flag_id"] for r in after] == [r["flag_id"] for r in second]


def test_the_next_page_continues_after_the_last_row_seen_when_rows_go(queue, now):
    """Rows resolved while a lead reads page 1 do not shift page 2 (an offset would skip rows)."""
    f = QueueFilter()
    first = data.queue_page(queue, f, now=now, limit=PAGE)
    whole = [r["flag_id"] for r in data.queue_page(queue, f, now=now, limit=1000)]
    with queue.begin() as conn:
        conn.execute(FLAG.update().where(FLAG.c.id.in_(whole[:3])).values(state="resolved"))
    second = data.queue_page(queue, f, now=now, limit=PAGE, after=first[-1]["page_key"])
    assert [r["flag_id"] for r in second] == whole[PAGE : 2 * PAGE]


def test_a_page_key_of_another_sort_is_refused(queue, now):
    key = data.queue_page(queue, QueueFilter(), now=now, sort="newest", limit=PAGE)[-1]["page_key"]
    with pytest.raises(ValueError, match="a page key of 3 values, got 2"):
        data.queue_page(queue, QueueFilter(), now=now, sort="courier", limit=PAGE, after=key)


def test_the_board_reads_the_next_page_after_the_last_row_shown(board_db, now):
    """The queue page keeps where each next page starts, for the filters and sort it read them with."""
    engine, _ = board_db
    add_flags(engine, now, 130)  # three pages of 50
    at = signed_in(page="views/queue.py").run()
    assert not at.exception, at.exception
    page_1 = [int(n) for n in at.dataframe[0].value["异常编号"]]
    keys = at.session_state[PAGE_KEYS]
    assert keys["scope"] == ({"state": "unresolved"}, "escalated") and set(keys["after"]) == {2}
    at.number_input(key="q_page").set_value(2).run()
    page_2 = [int(n) for n in at.dataframe[0].value["异常编号"]]
    by_offset = data.queue_page(engine, QueueFilter(), now=now, limit=50, offset=50)
    assert page_2 == [r["flag_id"] for r in by_offset] and not set(page_1) & set(page_2)
    assert set(at.session_state[PAGE_KEYS]["after"]) == {2, 3}
    at.query_params["courier"] = "sf"  # other filters: the keys read before are forgotten
    at.run()
    assert at.session_state[PAGE_KEYS]["scope"][0] == {"courier": "sf", "state": "unresolved"}
