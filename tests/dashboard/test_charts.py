"""Issue 15 items 8-9: the board's pictures and its phone layout, without a browser.

- exceptions_per_day and recovered_by_month count in the configured zone's days and months (China time:
  a flag opened at 23:59 and one at 00:00 are on two days), on the real database;
- every chart speaks names, never codes (spec, legends, tooltips and the data it carries), in zh and en;
- one colour per kind, the same on every chart; the ageing chart's marks are config/rules.toml [stale];
- the queue's filters are folded in an expander and its key columns come first (AppTest)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pyarrow as pa
import pytest

from dashboard import charts, data
from tests.dashboard.seed import CLAIM, FLAG, seed, seed_ageing
from tests.dashboard.test_app import signed_in
from tests.dashboard.test_overview_counts import OVERVIEW_TABS, with_link_lists
from tracker.status import FlagKind

TZ = "Asia/Shanghai"


def words(lang: str = "zh") -> charts.Words:
    names = {
        "zh": {"sf": "顺丰速运", "zto": "中通快递", "ems": "EMS"},
        "en": {"sf": "SF Express", "zto": "ZTO Express", "ems": "EMS"},
    }[lang]
    return charts.Words(lang=lang, courier=lambda slug: names.get(slug or "", slug or ""))


def test_local_days_and_months_start_at_china_midnight(now):
    edges = data.local_midnights(now, TZ, 30)
    assert len(edges) == 31
    assert edges[-2] == datetime(2026, 11, 22, 16, 0, tzinfo=UTC)  # 2026-11-23 00:00 in Shanghai
    assert edges[-1] - edges[-2] == timedelta(days=1) and edges[0] == edges[-2] - timedelta(days=29)
    months = data.local_month_starts(now, TZ, 12)
    assert len(months) == 13
    assert months[-2] == datetime(2026, 10, 31, 16, 0, tzinfo=UTC)  # 2026-11-01 00:00 in Shanghai
    assert months[-1] == datetime(2026, 11, 30, 16, 0, tzinfo=UTC)
    assert months[0] == datetime(2025, 11, 30, 16, 0, tzinfo=UTC)  # 2025-12-01: twelve months with this one


@pytest.fixture
def seeded(db_engine, now):
    """seed.py's board on the suite's database (SQLite, or PostgreSQL with TRACKER_TEST_DB=postgresql)."""
    return db_engine, seed(db_engine, now)


def test_exceptions_per_day_counts_china_days(seeded, now):
    engine, ids = seeded
    midnight = datetime(2026, 11, 21, 16, 0, tzinfo=UTC)  # 2026-11-22 00:00 in Shanghai
    rows = [
        # opened the minute before midnight (the 21st) and at midnight (the 22nd); one resolved on the 22nd
        dict(opened_at=midnight - timedelta(minutes=1), resolved_at=midnight + timedelta(hours=3), state="resolved"),
        dict(opened_at=midnight, resolved_at=None, state="open"),
        dict(opened_at=now - timedelta(days=40), resolved_at=None, state="open"),  # before the 30 days
    ]
    with engine.begin() as conn:
        conn.execute(
            FLAG.insert(),
            [
                dict(
                    parcel_id=ids["parcels"]["YTO3003"],
                    courier="yto",
                    kind=kind,
                    severity="warn",
                    next_action_zh="核实",
                    next_action_en="Check",
                    **r,
                )
                for r, kind in zip(rows, ["damaged", "delivered_disputed", "unreachable"], strict=True)
            ],
        )
    days = data.exceptions_per_day(engine, now=now, tz=TZ, days=30)
    assert len(days) == 30
    assert days[-1]["day"].isoformat() == "2026-11-23" and days[0]["day"].isoformat() == "2026-10-25"
    by_day = {d["day"].isoformat(): (d["opened"], d["resolved"]) for d in days}
    # seed.py opens its three flags 18, 5 and 8 hours before 12:00 on the 23rd: 18:00 on the 22nd, 07:00, 04:00
    assert by_day["2026-11-21"] == (1, 0)
    assert by_day["2026-11-22"] == (2, 1)
    assert by_day["2026-11-23"] == (2, 0)
    assert sum(o for o, _ in by_day.values()) == 5  # the one 40 days old is left out
    assert all(v == (0, 0) for k, v in by_day.items() if k not in ("2026-11-21", "2026-11-22", "2026-11-23"))


def test_recovered_by_month_sums_paid_claims_per_courier_and_china_month(seeded, now):
    engine, ids = seeded
    first = datetime(2026, 10, 31, 16, 0, tzinfo=UTC)  # 2026-11-01 00:00 in Shanghai
    claims = [
        ("sf", "paid", "80.00", first - timedelta(minutes=1)),  # October
        ("sf", "paid", "20.50", first),  # November
        ("sf", "paid", "9.50", now),  # November
        ("zto", "paid", "40.00", now),
        ("zto", "filed", None, None),  # not paid: not recovered
        ("ems", "paid", "5.00", now - timedelta(days=400)),  # older than twelve months
    ]
    more = seed_ageing(engine, now)  # EMS06 has a loss claim already: one loss claim per parcel
    parcels = [i for w, i in more.items() if w.startswith(("EMS", "ZTO1")) and w != "EMS06"][: len(claims)]
    with engine.begin() as conn:
        conn.execute(
            CLAIM.insert(),
            [
                dict(
                    parcel_id=parcel,
                    courier=c,
                    claim_type="loss",
                    state=s,
                    amount=Decimal("100.00"),
                    formula="货值 100.00",
                    table_version="test",
                    paid_amount=Decimal(p) if p else None,
                    paid_at=at,
                    created_at=now - timedelta(days=500),
                    updated_at=now,
                )
                for parcel, (c, s, p, at) in zip(parcels, claims, strict=True)
            ],
        )
    rows = data.recovered_by_month(engine, now=now, tz=TZ, months=12)
    got = [(r["month"], r["courier"], r["paid"], r["claims"]) for r in rows]
    assert got == [
        ("2026-10", "sf", Decimal("80.00"), 1),
        ("2026-11", "sf", Decimal("30.00"), 2),
        ("2026-11", "zto", Decimal("40.00"), 1),
    ]


def test_every_kind_has_its_own_colour():
    assert set(charts.KIND_COLORS) == {str(k) for k in FlagKind}
    colours = [c.lower() for c in charts.KIND_COLORS.values()]
    assert len(set(colours)) == len(colours)
    assert charts.OTHER_COLOR.lower() not in colours


def _colour_of(spec: dict) -> dict[str, str]:
    scale = _find(spec, "color")["scale"]
    return dict(zip(scale["domain"], scale["range"], strict=True))


def _find(spec: dict, channel: str) -> dict:
    if "encoding" in spec and channel in spec["encoding"]:
        return spec["encoding"][channel]
    for layer in spec.get("layer", []):
        found = _find(layer, channel)
        if found:
            return found
    return {}


def test_a_kind_has_the_same_colour_on_every_chart():
    w = words()
    kind_rows = [{"kind": "stale", "n": 7}, {"kind": "refused", "n": 2}]
    courier_rows = [
        {"courier": "zto", "kind": "refused", "n": 2},
        {"courier": "sf", "kind": "lost", "n": 1},
        {"courier": "sf", "kind": "stale", "n": 7},
    ]
    a = _colour_of(charts.by_kind(kind_rows, w).to_dict())
    b = _colour_of(charts.by_courier(courier_rows, w).to_dict())
    assert a == {"物流不更新": charts.KIND_COLORS["stale"], "拒收": charts.KIND_COLORS["refused"]}
    assert b == {**a, "丢件": charts.KIND_COLORS["lost"]}


CODES = re.compile(r"\b(" + "|".join([*map(str, FlagKind), "sf", "zto", "ems", "yto", "open", "resolved"]) + r")\b")


def _shown_text(spec: dict) -> str:
    """What a chart can put in front of a person: titles, labels, legends, tooltips, the values of its data."""
    found: list[str] = []

    def walk(node, key=""):
        if isinstance(node, dict):
            for k, v in node.items():
                if k not in (
                    "field",
                    "type",
                    "name",
                    "$schema",
                    "mark",
                    "aggregate",
                    "timeUnit",
                    "format",
                    "sort",
                    "orient",
                    "direction",
                    "range",
                    "scheme",
                    "color",
                    "fill",
                    "stroke",
                    "align",
                    "baseline",
                    "fontWeight",
                    "labelAngle",
                    "strokeDash",
                ):
                    walk(v, k)
        elif isinstance(node, list):
            for v in node:
                walk(v, key)
        elif isinstance(node, str):
            found.append(node)

    walk({k: v for k, v in spec.items() if k != "datasets"})
    for rows in spec.get("datasets", {}).values():
        for row in rows:
            found.extend(str(v) for v in row.values())
    return "\n".join(found)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_charts_show_names_never_codes(lang, now):
    w = words(lang)
    built = [
        charts.by_kind([{"kind": k, "n": 1} for k in FlagKind], w),
        charts.by_courier([{"courier": "zto", "kind": "stale", "n": 3}, {"courier": "ems", "kind": "lost", "n": 1}], w),
        charts.ageing(
            [{"hours": 0, "below": 72, "n": 2, "parcels": 1}, {"hours": 72, "below": None, "n": 1, "parcels": 1}],
            w,
            warn_hours=72,
            escalate_hours=96,
        ),
        charts.per_day([{"day": now.date(), "opened": 3, "resolved": 1}], w),
        charts.recovered([{"month": "2026-11", "courier": "sf", "paid": Decimal("12.50"), "claims": 1}], w),
        charts.exception_rates(
            [
                {
                    "courier": "sf",
                    "exception_rate": 0.25,
                    "parcels": 4,
                    "median_transit_hours": 30.0,
                    "kind_rates": {"stale": 0.25},
                }
            ],
            w,
        ),
        charts.median_transit([{"courier": "zto", "median_transit_hours": 41.5}], w),
    ]
    for chart in built:
        text = _shown_text(chart.to_dict())
        assert not CODES.search(text), (CODES.search(text), text)
    if lang == "zh":  # the titles are the board's Chinese labels
        assert "异常(条)" in _shown_text(built[0].to_dict())
        assert "顺丰速运" in _shown_text(built[4].to_dict())


def test_ageing_marks_come_from_the_stale_thresholds():
    buckets = [{"hours": h, "below": nxt, "n": 1, "parcels": 1} for h, nxt in [(0, 24), (24, 96), (96, None)]]
    spec = charts.ageing(buckets, words("en"), warn_hours=50, escalate_hours=130).to_dict()
    marks = [rows for rows in spec["datasets"].values() if rows and "hours" in rows[0] and "text" in rows[0]][0]
    assert [(m["hours"], m["text"]) for m in marks] == [(50, "50 h: warning"), (130, "130 h: escalation")]
    x = _find(spec, "x")
    assert x["scale"]["domain"][1] >= 130 + 24  # the later mark is inside the chart
    bars = [rows for rows in spec["datasets"].values() if rows and "start" in rows[0]][0]
    assert [(b["start"], b["end"]) for b in bars] == [(0, 24), (24, 96), (96, 168)]  # the open end as wide as before


def _board_specs(at) -> list[dict]:
    out = []
    for element in at.get("vega_lite_chart"):
        spec = json.loads(element.proto.spec)
        spec["datasets"] = {
            d.name: pa.ipc.open_stream(d.data.data).read_all().to_pylist() for d in element.proto.datasets
        }
        out.append(spec)
    return out


def test_overview_draws_the_four_charts_with_the_configured_marks(board_db, board_config, now):
    engine, _ = board_db
    seed_ageing(engine, now)
    rules = board_config / "rules.toml"
    text = rules.read_text(encoding="utf-8")
    stale = text.index("[stale]")
    head, tail = text[:stale], text[stale:]
    tail = tail.replace("warn_hours = 72", "warn_hours = 60", 1).replace(
        "escalate_hours = 96", "escalate_hours = 90", 1
    )
    rules.write_text(head + tail, encoding="utf-8")
    # one tab drawn at a time: by kind first, by courier, then ageing and per day
    drawn = [_board_specs(with_link_lists(tab)) for tab in OVERVIEW_TABS]
    assert [len(d) for d in drawn] == [1, 1, 2, 0]
    specs = [s for d in drawn for s in d]
    shown = "\n".join(_shown_text(s) for s in specs)
    assert not CODES.search(shown), CODES.search(shown)
    assert "60 小时: 超时提醒" in shown and "90 小时: 升级" in shown
    assert "72 小时: 超时提醒" not in shown
    assert _colour_of(specs[0])["物流不更新"] == charts.KIND_COLORS["stale"]
    assert _colour_of(specs[1])["物流不更新"] == charts.KIND_COLORS["stale"]


def test_scorecards_chart_money_recovered_per_courier_and_month(board_db, now):
    engine, ids = board_db
    with engine.begin() as conn:
        conn.execute(
            CLAIM.update()
            .where(CLAIM.c.id == ids["claims"]["damage"])
            .values(state="paid", paid_amount=Decimal("88.00"), paid_at=now - timedelta(days=1))
        )
    at = signed_in(page="views/scorecards.py")
    at.run()
    assert not at.exception, at.exception
    assert at.get("expander")[0].proto.label == "筛选"
    assert [tab.label for tab in at.tabs] == ["异常率", "运输时长", "追回金额"]
    assert len(at.get("vega_lite_chart")) == 1  # the first tab's chart alone: the others are drawn when chosen
    at.session_state["sc_tab"] = "追回金额"
    at.run()
    specs = _board_specs(at)
    money = [s for s in specs if "追回金额(元)" in _shown_text(s)]
    assert len(money) == 1
    rows = [r for rows in money[0]["datasets"].values() for r in rows]
    assert [(r["month"], r["courier"], r["paid"]) for r in rows] == [("2026-11-01", "圆通速递", 88.0)]
    assert not CODES.search("\n".join(_shown_text(s) for s in specs))


def test_queue_folds_its_filters_and_leads_with_the_key_columns(board_db):
    at = signed_in(page="views/queue.py")
    at.run()
    assert not at.exception, at.exception
    expanders = at.get("expander")
    assert [e.proto.label for e in expanders][:1] == ["筛选"]
    assert not expanders[0].selectbox  # folded: its widgets are drawn once it is opened
    at.session_state["q_filters"] = True
    at.run()
    # the filters are inside the expander (a phone sees the rows first)
    inside = {w.label for w in at.get("expander")[0].selectbox}
    assert {"异常类型", "快递", "店铺", "省份", "状态", "负责人", "排序"} <= inside
    frame = at.dataframe[0].value
    assert list(frame.columns[:5]) == ["运单号", "快递", "异常类型", "未更新时长", "下一步"]
    row = frame[frame["运单号"] == "SF1001"].iloc[0]
    assert row["快递"] == "顺丰速运"
    # last event 90 h before now: a number (shown as 90 小时), so a click on the header sorts the ages by value
    assert row["未更新时长"] == 90 and str(frame["未更新时长"].dtype) == "Int64"
    columns = json.loads(at.dataframe[0].proto.columns)
    assert columns["未更新时长"]["type_config"] == {"type": "number", "format": "%d 小时"}
