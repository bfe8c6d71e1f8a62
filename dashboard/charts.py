"""The board's charts (Altair): pure builders from the rows dashboard/data.py returns to a chart, in the
session's language. People read names, never codes: kinds through kind_label, couriers through the names in
config/couriers.toml, axis titles and legends through the board's labels. Every kind has one colour,
defined here once (KIND_COLORS) and used by every chart that colours by kind."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import altair as alt
import pandas as pd

from dashboard.i18n import kind_label, t
from tracker.status import FlagKind

# One colour per kind, on every chart: related kinds share a hue family, no two kinds one colour.
KIND_COLORS: dict[str, str] = {
    FlagKind.no_first_scan: "#f28e2b",
    FlagKind.stale: "#e15759",
    FlagKind.lost_suspected: "#b07aa1",
    FlagKind.lost: "#6b3a7d",
    FlagKind.out_of_area: "#edc948",
    FlagKind.blind_area: "#b6992d",
    FlagKind.stranded: "#9c755f",
    FlagKind.refused: "#4e79a7",
    FlagKind.returning: "#76b7b2",
    FlagKind.returned: "#499894",
    FlagKind.address_problem: "#59a14f",
    FlagKind.unreachable: "#8cd17d",
    FlagKind.locker_overdue: "#a0cbe8",
    FlagKind.damaged: "#d37295",
    FlagKind.delivered_disputed: "#fabfd2",
    FlagKind.late_shipment: "#79706e",
    FlagKind.return_no_waybill: "#1f5f8b",
    FlagKind.return_no_movement: "#86bcb6",
    FlagKind.return_abandoned: "#bab0ac",
    FlagKind.return_surface_mail: "#ffbe7d",
    FlagKind.return_waybill_shared: "#ff9d9a",
    FlagKind.return_waybill_invalid: "#d4a6c8",
    FlagKind.return_partial: "#d7b5a6",
    FlagKind.refund_deadline: "#2f2f2f",
}
OTHER_COLOR = "#c9c9c9"  # a kind this module does not know yet (a newer rule): grey, never a reused colour
OPENED_COLOR, RESOLVED_COLOR = "#e15759", "#59a14f"
WARN_COLOR, ESCALATE_COLOR = "#f28e2b", "#c0392b"


@dataclass(frozen=True)
class Words:
    """What a chart needs to speak the session's language: labels, kind names, courier names."""

    lang: str
    courier: Callable[[str | None], str]

    def t(self, key: str, **kw: object) -> str:
        return t(key, self.lang, **kw)

    def kind(self, code: str) -> str:
        return kind_label(code, self.lang)


def kind_scale(words: Words, kinds: Sequence[str]) -> alt.Scale:
    """The colour scale for these kinds (in FlagKind order): their names as the domain, their colours."""
    order = {str(k): i for i, k in enumerate(FlagKind)}
    present = sorted(dict.fromkeys(kinds), key=lambda k: (order.get(k, len(order)), k))
    return alt.Scale(domain=[words.kind(k) for k in present], range=[KIND_COLORS.get(k, OTHER_COLOR) for k in present])


def _bottom_legend(title: str) -> alt.Legend:
    # under the chart, wrapping: a legend to the right is what runs past a phone's 390 px
    return alt.Legend(title=title, orient="bottom", direction="horizontal", columns=3, labelLimit=160)


def by_kind(rows: Sequence[dict[str, Any]], words: Words) -> alt.Chart:
    """Open exceptions per kind (open_by column=kind): horizontal bars, largest on top, names on the axis."""
    frame = pd.DataFrame([{"label": words.kind(r["kind"]), "n": int(r["n"])} for r in rows], columns=["label", "n"])
    scale = kind_scale(words, [r["kind"] for r in rows])
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            y=alt.Y("label:N", sort="-x", title=None, axis=alt.Axis(labelLimit=160)),
            x=alt.X("n:Q", title=words.t("exceptions_n"), axis=alt.Axis(tickMinStep=1)),
            color=alt.Color("label:N", scale=scale, legend=None),
            tooltip=[alt.Tooltip("label:N", title=words.t("kind")), alt.Tooltip("n:Q", title=words.t("exceptions_n"))],
        )
        .properties(height=alt.Step(24))  # per bar: Streamlit fits a fixed height around axes and legend too
    )


def by_courier(rows: Sequence[dict[str, Any]], words: Words) -> alt.Chart:
    """Open exceptions per courier (open_by_courier_kind), each bar stacked by kind in the kind colours."""
    frame = pd.DataFrame(
        [{"courier": words.courier(r["courier"]), "label": words.kind(r["kind"]), "n": int(r["n"])} for r in rows],
        columns=["courier", "label", "n"],
    )
    scale = kind_scale(words, [r["kind"] for r in rows])
    couriers = frame.groupby("courier")["n"].sum().sort_values(ascending=False).index.tolist() if len(frame) else []
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            y=alt.Y("courier:N", sort=couriers, title=None, axis=alt.Axis(labelLimit=160)),
            x=alt.X("sum(n):Q", title=words.t("exceptions_n"), axis=alt.Axis(tickMinStep=1)),
            color=alt.Color("label:N", scale=scale, legend=_bottom_legend(words.t("kind"))),
            order=alt.Order("n:Q", sort="descending"),
            tooltip=[
                alt.Tooltip("courier:N", title=words.t("courier")),
                alt.Tooltip("label:N", title=words.t("kind")),
                alt.Tooltip("n:Q", title=words.t("exceptions_n")),
            ],
        )
        .properties(height=alt.Step(26))
    )


def ageing(
    buckets: Sequence[dict[str, Any]], words: Words, *, warn_hours: int, escalate_hours: int
) -> alt.LayerChart | alt.FacetChart:
    """The ageing histogram (data.ageing): bars over hours since the parcel's last update, each as wide as
    its bucket (the open-ended last one drawn as wide as the one before), with rule lines at the stale
    thresholds of config/rules.toml [stale] (warn_hours, escalate_hours)."""
    bars = []
    for i, r in enumerate(buckets):
        below = r["below"]
        if below is None:
            width = r["hours"] - buckets[i - 1]["hours"] if i else 24
            below_drawn, label = r["hours"] + width, words.t("age_bucket_open", hours=r["hours"])
        else:
            below_drawn, label = below, words.t("age_bucket", hours=r["hours"], below=below)
        bars.append(
            {
                "start": r["hours"],
                "end": below_drawn,
                "label": label,
                "n": int(r["n"]),
                "parcels": int(r.get("parcels") or 0),
            }
        )
    frame = pd.DataFrame(bars, columns=["start", "end", "label", "n", "parcels"])
    top = max([b["end"] for b in bars] + [escalate_hours + 24])
    x_scale = alt.Scale(domain=[0, top], nice=False)
    ticks = sorted({b["start"] for b in bars} | {warn_hours, escalate_hours})
    hist = (
        alt.Chart(frame)
        .mark_bar(color="#4e79a7", stroke="white", strokeWidth=1)
        .encode(
            x=alt.X("start:Q", scale=x_scale, title=words.t("age_hours"), axis=alt.Axis(values=ticks, labelAngle=0)),
            x2="end:Q",
            y=alt.Y("n:Q", title=words.t("exceptions_n"), axis=alt.Axis(tickMinStep=1)),
            y2=alt.datum(0),  # a ranged bar (x to x2) is not drawn from zero on its own
            tooltip=[
                alt.Tooltip("label:N", title=words.t("age_hours")),
                alt.Tooltip("n:Q", title=words.t("exceptions_n")),
                alt.Tooltip("parcels:Q", title=words.t("parcels")),
            ],
        )
    )
    marks = pd.DataFrame(
        [
            {"hours": warn_hours, "text": words.t("mark_stale_warn", hours=warn_hours), "color": WARN_COLOR, "y": 2},
            {
                "hours": escalate_hours,
                "text": words.t("mark_stale_escalate", hours=escalate_hours),
                "color": ESCALATE_COLOR,
                "y": 20,
            },
        ]
    )
    rules = (
        alt.Chart(marks)
        .mark_rule(strokeDash=[6, 3], strokeWidth=2)
        .encode(
            x=alt.X("hours:Q", scale=x_scale),
            color=alt.Color("color:N", scale=None),
            tooltip=[alt.Tooltip("text:N", title=words.t("mark"))],
        )
    )
    texts = (
        alt.Chart(marks)
        .mark_text(align="left", baseline="top", dx=4, dy=2, fontWeight="bold")
        .encode(
            x=alt.X("hours:Q", scale=x_scale),
            y=alt.Y("y:Q", scale=None),  # pixels from the top: the two labels one above the other
            text="text:N",
            color=alt.Color("color:N", scale=None),
        )
    )
    return alt.layer(hist, rules, texts).properties(height=260)


def per_day(days: Sequence[dict[str, Any]], words: Words) -> alt.Chart:
    """New and resolved exceptions per day (data.exceptions_per_day, China-time days): two lines."""
    frame = pd.DataFrame(
        [
            {"day": d["day"].isoformat(), "series": words.t(series), "n": int(d[series])}
            for d in days
            for series in ("opened", "resolved")
        ],
        columns=["day", "series", "n"],
    )
    scale = alt.Scale(domain=[words.t("opened"), words.t("resolved")], range=[OPENED_COLOR, RESOLVED_COLOR])
    return (
        alt.Chart(frame)
        .mark_line(point=True)
        .encode(
            # utc: a date is the day it names in every browser, whatever the browser's own zone
            x=alt.X("utcyearmonthdate(day):T", title=words.t("day"), axis=alt.Axis(format="%m-%d", labelAngle=0)),
            y=alt.Y("n:Q", title=words.t("exceptions_n"), axis=alt.Axis(tickMinStep=1)),
            color=alt.Color("series:N", scale=scale, legend=_bottom_legend("")),
            tooltip=[
                alt.Tooltip("utcyearmonthdate(day):T", title=words.t("day"), format="%Y-%m-%d"),
                alt.Tooltip("series:N", title=words.t("series")),
                alt.Tooltip("n:Q", title=words.t("exceptions_n")),
            ],
        )
        .properties(height=240)
    )


def recovered(rows: Sequence[dict[str, Any]], words: Words) -> alt.Chart:
    """Money recovered (paid) per courier per month (data.recovered_by_month): bars stacked by courier."""
    frame = pd.DataFrame(
        [
            {
                "month": f"{r['month']}-01",
                "courier": words.courier(r["courier"]),
                "paid": float(r["paid"]),
                "claims": int(r["claims"]),
            }
            for r in rows
        ],
        columns=["month", "courier", "paid", "claims"],
    )
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("utcyearmonth(month):O", title=words.t("month"), axis=alt.Axis(format="%Y-%m", labelAngle=0)),
            y=alt.Y("sum(paid):Q", title=words.t("recovered_yuan"), axis=alt.Axis(format=",.0f")),
            color=alt.Color("courier:N", legend=_bottom_legend(words.t("courier"))),
            tooltip=[
                alt.Tooltip("utcyearmonth(month):O", title=words.t("month"), format="%Y-%m"),
                alt.Tooltip("courier:N", title=words.t("courier")),
                alt.Tooltip("paid:Q", title=words.t("recovered_yuan"), format=",.2f"),
                alt.Tooltip("claims:Q", title=words.t("paid_claims")),
            ],
        )
        .properties(height=260)
    )


def exception_rates(cards: Sequence[dict[str, Any]], words: Words) -> alt.Chart:
    """Per courier, the share of its parcels with at least one exception (data.scorecards exception_rate):
    horizontal bars, highest on top; the rates per kind are in the scorecard table beside it."""
    frame = pd.DataFrame(
        [
            {"courier": words.courier(c["courier"]), "rate": float(c["exception_rate"]), "parcels": int(c["parcels"])}
            for c in cards
        ],
        columns=["courier", "rate", "parcels"],
    )
    return (
        alt.Chart(frame)
        .mark_bar(color="#e15759")
        .encode(
            y=alt.Y("courier:N", sort="-x", title=None, axis=alt.Axis(labelLimit=160)),
            x=alt.X("rate:Q", title=words.t("exception_rate"), axis=alt.Axis(format="%")),
            tooltip=[
                alt.Tooltip("courier:N", title=words.t("courier")),
                alt.Tooltip("rate:Q", title=words.t("exception_rate"), format=".1%"),
                alt.Tooltip("parcels:Q", title=words.t("parcels")),
            ],
        )
        .properties(height=alt.Step(26))
    )


def median_transit(cards: Sequence[dict[str, Any]], words: Words) -> alt.Chart:
    """Median transit hours per courier (data.scorecards): horizontal bars."""
    frame = pd.DataFrame(
        [
            {"courier": words.courier(c["courier"]), "hours": c["median_transit_hours"]}
            for c in cards
            if c["median_transit_hours"] is not None
        ],
        columns=["courier", "hours"],
    )
    return (
        alt.Chart(frame)
        .mark_bar(color="#4e79a7")
        .encode(
            y=alt.Y("courier:N", sort="-x", title=None, axis=alt.Axis(labelLimit=160)),
            x=alt.X("hours:Q", title=words.t("median_transit_hours")),  # the chart plots hours: it says so
            tooltip=[
                alt.Tooltip("courier:N", title=words.t("courier")),
                alt.Tooltip("hours:Q", title=words.t("median_transit_hours"), format=".1f"),
            ],
        )
        .properties(height=alt.Step(26))
    )
