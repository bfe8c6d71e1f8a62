"""Courier scorecards for a shipping period: parcels, exception rate by kind, stale rate, median transit,
claims filed and money recovered, with charts."""

from datetime import UTC, datetime, time, timedelta

import altair as alt
import pandas as pd
import streamlit as st

from dashboard.components import table
from dashboard.context import board
from dashboard.i18n import kind_label

b = board()
st.title(b.t("nav_scorecards"))

today = b.now.astimezone(b.settings.tz).date()
c = st.columns(2)
start = c[0].date_input(b.t("period_from"), value=today - timedelta(days=30), key="s_from")
end = c[1].date_input(b.t("period_to"), value=today, key="s_to")


def utc(day, tz=b.settings.tz):
    return datetime.combine(day, time(), tzinfo=tz).astimezone(UTC)


cards = b.read(
    "scorecards", ttl=300, start=utc(start), end=utc(end + timedelta(days=1)),
    stale_hours=b.settings.rules.stale.warn_hours, now=b.now,
)  # fmt: skip
rows = [
    {
        "courier": card["courier"],
        "parcels": card["parcels"],
        "exception_rate": f"{card['exception_rate']:.1%}",
        "kind_rates": "、".join(
            f"{kind_label(k, b.lang)} {r:.1%}" for k, r in sorted(card["kind_rates"].items(), key=lambda kv: -kv[1])
        ),
        "stale_rate": f"{card['stale_rate']:.1%}",
        "median_transit": card["median_transit_hours"],
        "claims_filed": card["claims_filed"],
        "recovered": card["recovered"],
    }
    for card in cards
]
columns = ["courier", "parcels", "exception_rate", "kind_rates", "stale_rate", "median_transit", "claims_filed",
           "recovered"]  # fmt: skip
table(b, rows, columns, key="scorecards")

rates = pd.DataFrame(
    [
        {"courier": card["courier"], "kind": kind_label(kind, b.lang), "rate": rate}
        for card in cards
        for kind, rate in card["kind_rates"].items()
    ],
    columns=["courier", "kind", "rate"],
)
if not rates.empty:
    st.subheader(b.t("exception_rate"))
    chart = (
        alt.Chart(rates)
        .mark_bar()
        .encode(
            x=alt.X("courier:N", title=b.t("courier")),
            y=alt.Y("rate:Q", title=b.t("exception_rate"), axis=alt.Axis(format="%")),
            color=alt.Color("kind:N", title=b.t("kind")),
        )
    )
    st.altair_chart(chart, width="stretch")
if rows:
    st.subheader(b.t("median_transit"))
    st.bar_chart(pd.DataFrame(rows).set_index("courier")[["median_transit"]])
