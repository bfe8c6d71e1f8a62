"""One number, one meaning (issue 15): every number on the overview that links to the exception queue equals,
exactly, the row count of the queue that link opens; the headings say what is counted."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from dashboard import data
from dashboard.data import alerts_page, alerts_today
from dashboard.i18n import t
from tests.dashboard.seed import ALERT, seed_ageing
from tests.dashboard.test_app import login, signed_in


@pytest.fixture
def busy_board(board_db, now):
    engine, ids = board_db
    seed_ageing(engine, now)  # every ageing bucket holds something; some parcels carry two flags
    return engine, ids


LINK_FOLDS = ("ov_kind_links", "ov_courier_links", "ov_age_links")  # the overview's keys
# the overview's tabs (their labels' keys) and the session key of the chosen one: only that tab is drawn
OVERVIEW_TABS = ("ov_tab_kinds", "ov_tab_couriers", "ov_tab_ageing", "ov_tab_claims")
TAB_KEY = "ov_tab"


def with_link_lists(tab: str = "ov_tab_kinds", name: str = "lily"):
    """The overview on `tab` with its folded link lists opened (they are drawn only while open)."""
    at = signed_in(name)
    for key in LINK_FOLDS:
        at.session_state[key] = True
    at.session_state[TAB_KEY] = t(tab, "zh")
    return at.run()


def every_tab(name: str = "lily") -> list:
    """The overview once per tab, its link lists open."""
    return [with_link_lists(tab, name) for tab in OVERVIEW_TABS]


def queue_links(at) -> list[tuple[str, dict[str, str]]]:
    return [
        (link.proto.label, dict(parse_qsl(link.proto.query_string)))
        for link in at.get("page_link")
        if link.proto.page.endswith("queue.py") or "queue" in link.proto.page
    ]


def queue_rows(params: dict[str, str]) -> int:
    return listed("views/queue.py", params)


def listed(page: str, params: dict[str, str]) -> int:
    """The count a list page says (共 N 条) for these URL parameters, none of them refused."""
    at = signed_in(page=page)
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, at.exception
    assert not at.warning, [w.value for w in at.warning]  # no parameter of ours is refused
    counts = [m for c in at.caption if (m := re.fullmatch(r"共 (\d+) 条 · \d+/\d+", c.value))]
    assert len(counts) == 1, [c.value for c in at.caption]
    return int(counts[0].group(1))


def test_every_overview_number_is_the_row_count_of_the_queue_it_opens(busy_board):
    tabs = every_tab()
    assert not any(at.exception for at in tabs), [at.exception for at in tabs]
    links = [link for at in tabs for link in queue_links(at)]
    at = tabs[0]
    numbered = [(label, params) for label, params in links if "**" in label]
    # by kind (6 kinds), by courier (sf, zto, ems), the six ageing buckets, the couriers turning stale
    assert len(numbered) >= 16, [label for label, _ in links]
    assert any(params.get("turning_stale") == "1" for _, params in numbered)
    assert any(re.search(r"–\d+ 小时", label) for label, _ in numbered)  # ageing ranges, not "≥" overlaps
    for label, params in numbered:
        shown = int(re.search(r"\*\*(\d+)\*\*", label).group(1))
        assert queue_rows(params) == shown, (label, params)
    # the headline: the open exceptions are the rows of the unresolved queue it links to
    metric = next(m for m in at.metric if m.label == "未处理异常(条)")
    total = next(params for label, params in links if label == "查看队列")
    assert queue_rows(total) == int(metric.value) == 16
    assert metric.proto.delta == "涉及 12 个包裹"  # 16 flags on 12 parcels: both said
    # ... and the second figure opens its own list, a row per parcel
    parcels = next(params for label, params in links if label == "查看这 12 个包裹")
    assert parcels == {"by": "parcel"} and queue_rows(parcels) == 12
    # turning stale within 24 h: parcels (EMS03, last update 48 h ago, stale at 72 h), listed as parcels
    soon = next(m for m in at.metric if m.label == "24小时内将超时未更新(包裹)")
    listed = next(params for label, params in links if label == "查看包裹")
    assert queue_rows(listed) == int(soon.value) == 1


def test_the_overview_says_what_each_number_counts(busy_board, now):
    at = login()
    headings = [h.value for tab in every_tab() for h in tab.subheader]
    assert "未处理异常(条), 按类型" in headings and "未处理异常(条), 按快递" in headings
    assert "未处理异常(条), 按包裹距上次更新的小时数" in headings
    assert "24小时内将超时未更新(包裹)" in headings
    metrics = {m.label: m for m in at.metric}
    # the draft whose filing window closed yesterday is not claimable money
    assert metrics["可索赔金额(草稿, 申报期未过)"].value == "¥199.00"
    assert metrics["可索赔金额(草稿, 申报期未过)"].proto.delta == "1 件理赔"
    # ... and the claims it counts open on the ledger, as the ledger counts them (the figure linked nowhere)
    ledger = [(link.proto.label, dict(parse_qsl(link.proto.query_string))) for link in at.get("page_link")]
    assert ("查看这 1 件理赔", {"state": "claimable"}) in ledger, ledger
    engine, _ = busy_board
    assert data.claims_count(engine, f=data.LedgerFilter(state="claimable"), now=now) == 1


def test_ageing_links_split_the_parcels_at_the_bucket_edges(busy_board):
    at = with_link_lists("ov_tab_ageing")
    # named as the chart's bars name them, in the page's language (it said 0–24h on the Chinese page)
    ranges = {label.split(":")[0]: params for label, params in queue_links(at) if "小时:" in label}
    assert ranges["48–72 小时"] == {"min_age_hours": "48", "max_age_hours": "72"}
    assert ranges["≥168 小时"] == {"min_age_hours": "168"}
    assert ranges["0–24 小时"] == {"max_age_hours": "24"}
    at = login()
    at.query_params.update(ranges["48–72 小时"])
    at.switch_page("views/queue.py").run()
    assert "且距上次更新不足 72 小时" in [c.value for c in at.caption]
    assert set(at.dataframe[0].value["运单号"]) == {"EMS03"}


def test_the_link_lists_are_drawn_only_when_opened(busy_board):
    at = login()
    assert not [label for label, _ in queue_links(at) if "**" in label and "小时:" in label]  # folded: not drawn
    assert {e.label for e in at.expander} >= {"查看队列"}
    opened = with_link_lists("ov_tab_ageing")
    assert [label for label, _ in queue_links(opened) if "小时:" in label]


def test_only_the_chosen_tab_is_drawn(busy_board):
    """A first visit draws the headline numbers and the first tab (one chart); each other tab is drawn when
    chosen, and the headline numbers stay above it."""
    first = login()
    assert [tab.label for tab in first.tabs] == [t(tab, "zh") for tab in OVERVIEW_TABS]
    headings = {h.value for h in first.subheader}
    assert headings == {"未处理异常(条), 按类型"}
    assert len(first.get("vega_lite_chart")) == 1
    ageing = with_link_lists("ov_tab_ageing")
    assert {h.value for h in ageing.subheader} == {
        "未处理异常(条), 按包裹距上次更新的小时数",
        "24小时内将超时未更新(包裹)",
        "近30天每日新增与解决的异常(条)",
    }
    assert len(ageing.get("vega_lite_chart")) == 2
    assert {m.label for m in ageing.metric} == {m.label for m in first.metric}


def alert_rows(params: dict[str, str]) -> int:
    return listed("views/alerts.py", params)


def test_alerts_sent_and_failed_today_open_exactly_those_alerts(board_db, now):
    """The overview's "alerts sent today" and its failed count link to the alert log filtered to them
    (state and ?day=today, the day in the configured zone): the log lists as many as the figure says."""
    engine, ids = board_db
    with engine.begin() as conn:  # one sent the day before, in Shanghai: in the log, not in today's figure
        before = now.astimezone(ZoneInfo("Asia/Shanghai")).replace(hour=0, minute=0) - timedelta(minutes=1)
        conn.execute(
            ALERT.insert().values(
                parcel_id=ids["parcels"]["SF1001"], dedupe_key="stale:yesterday", channel="board", recipient="客服组",
                level="warn", subject="[物流不更新] SF1001", state="sent", attempts=1, sent_at=before, created_at=before,
            )
        )  # fmt: skip
        # held overnight (stored the evening before), its morning digest failed today: one of today's failures
        conn.execute(
            ALERT.insert().values(
                parcel_id=ids["parcels"]["SF1001"], dedupe_key="stale:held-last-night", channel="board",
                recipient="客服组", level="warn", subject="[物流不更新] SF1001", state="failed", attempts=1,
                created_at=before, failed_at=now, due_at=now + timedelta(minutes=5), held=True,
            )
        )  # fmt: skip
        conn.execute(  # one that failed yesterday and was not tried since: not today's
            ALERT.insert().values(
                parcel_id=ids["parcels"]["SF1001"], dedupe_key="stale:failed-yesterday", channel="board",
                recipient="客服组", level="warn", subject="[物流不更新] SF1001", state="failed", attempts=1,
                created_at=before, failed_at=before, due_at=now + timedelta(minutes=5),
            )
        )  # fmt: skip
    midnight = before + timedelta(minutes=1)
    ids_today = [r["id"] for r in alerts_page(engine, state="failed", day_start=midnight)]
    assert len(ids_today) == alerts_today(engine, day_start=midnight)["failed"]
    with engine.connect() as conn:
        keys = set(conn.execute(select(ALERT.c.dedupe_key).where(ALERT.c.id.in_(ids_today))).scalars())
    assert "stale:held-last-night" in keys and "stale:failed-yesterday" not in keys
    at = signed_in().run()
    assert not at.exception, at.exception
    (metric,) = [m for m in at.metric if m.label == t("alerts_today", "zh")]
    failed = int(re.search(r"(\d+)$", metric.delta).group(1))
    links = {
        link.proto.label: dict(parse_qsl(link.proto.query_string))
        for link in at.get("page_link")
        if "alerts" in link.proto.page
    }
    sent_link = links[t("alerts_list", "zh")]
    assert sent_link == {"state": "sent", "day": "today"}
    assert alert_rows(sent_link) == int(metric.value) > 0
    failed_link = links[t("alerts_failed_list", "zh", n=failed)]
    assert alert_rows(failed_link) == failed == len(ids_today) > 0
    assert alert_rows({"state": "sent"}) == int(metric.value) + 1  # yesterday's is in the log, not in today's
    assert alert_rows({"state": "failed"}) == failed + 1  # the one that failed yesterday too


def test_a_wrong_alert_log_filter_is_named_and_ignored(board_db):
    at = signed_in(page="views/alerts.py")
    at.query_params.update({"state": "nope", "day": "yesterday"})
    at.run()
    assert not at.exception, at.exception
    named = " ".join(w.value for w in at.warning)
    assert "state=nope" in named and "day=yesterday" in named, named
