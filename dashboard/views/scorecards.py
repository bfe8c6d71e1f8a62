"""Courier scorecards for a shipping period: parcels, exception rate by kind, stale rate, median transit,
claims filed and money recovered, with charts."""

from datetime import timedelta

import streamlit as st

from dashboard import charts
from dashboard.components import (
    DATE_FORMAT,
    Hours,
    Share,
    lazy_fold,
    lazy_tabs,
    ledger_link,
    queue_link,
    table,
    yuan,
)
from dashboard.context import board
from dashboard.data import day_bounds
from dashboard.i18n import kind_label
from tracker.escape import streamlit_md as md
from tracker.status import ClaimState

b = board()
st.title(b.t("nav_scorecards"))

today = b.now.astimezone(b.settings.tz).date()
# charts part (issue 15 item 9): the filters folded, the numbers first on a phone; drawn only while open
# (lazy_fold). The period chosen outlives its widgets; otherwise it is the last 30 days up to today.
PERIOD_KEPT = "s_period_kept"
last_30_days = (today - timedelta(days=30), today)
start, end = st.session_state.get(PERIOD_KEPT, last_30_days)
with lazy_fold(b.t("filters"), key="s_filters") as filters_open:
    if filters_open:
        c = st.columns(2)
        start = c[0].date_input(b.t("period_from"), value=start, key="s_from", format=DATE_FORMAT)
        end = c[1].date_input(b.t("period_to"), value=end, key="s_to", format=DATE_FORMAT)
        if (start, end) == last_30_days:
            st.session_state.pop(PERIOD_KEPT, None)  # the default follows the days
        else:
            st.session_state[PERIOD_KEPT] = (start, end)


# the period's bounds as the lists its numbers open take them (data.ShippedFilter: its days)
period_start, period_end = day_bounds(start.isoformat(), end.isoformat(), b.settings.timezone)
cards = b.read(  # as fresh as the lists its numbers open (the board's lifetime, as theirs): a number and its list agree
    "scorecards",
    start=period_start,
    end=period_end,
    rules=b.settings.rules,
    now=b.now,
    tz=b.settings.timezone,
)
# the busiest courier first, as a lead reads a scorecard (the data comes in courier-code order)
cards = sorted(cards, key=lambda card: (-card["parcels"], b.courier(card["courier"])))
rows = [
    {
        "courier": card["courier"],
        "parcels": card["parcels"],
        "exception_rate": Share(card["exception_rate"]),
        "kind_rates": ("、" if b.lang == "zh" else ", ").join(
            f"{kind_label(k, b.lang)} {r:.1%}" for k, r in sorted(card["kind_rates"].items(), key=lambda kv: -kv[1])
        ),
        "stale_rate": Share(card["stale_rate"]),
        # hours, a number (shown 52 小时), so a click on the header sorts the couriers by it, as the queue's ages
        "median_transit": None if card["median_transit_hours"] is None else Hours(round(card["median_transit_hours"])),
        "claims_filed": card["claims_filed"],
        "recovered": card["recovered"],  # money: a number column shown ¥1,234.50 (components._frame)
    }
    for card in cards
]
columns = [
    "courier",
    "parcels",
    "exception_rate",
    "kind_rates",
    "stale_rate",
    "median_transit",
    "claims_filed",
    "recovered",
]
st.caption(b.t("period_line", start=start.isoformat(), end=end.isoformat()))  # what the numbers are of
table(b, rows, columns, key="scorecards")
# each courier's numbers open what they count: its parcels, those with an exception and the stale ones as lists of
# parcels (the queue's ?shipped=, data.ShippedFilter), each kind's parcels, its claims filed and money recovered
# on the ledger filtered to the courier and the period's shipping days (data.LedgerFilter: filed claims; paid
# claims, whose 已赔付 line is the money recovered). Folded, drawn only while open (lazy_fold): a link is a widget
# the browser renders, and ten couriers' links cost the page's first render a fifth (bench/board.py --browser).
period = {"shipped_from": start.isoformat(), "shipped_to": end.isoformat()}
with lazy_fold(b.t("scorecard_lists"), key="s_lists") as lists_open:
    for card in cards if lists_open else ():
        name, slug = md(b.courier(card["courier"])), card["courier"]  # a label is Markdown; a retired slug is shown
        counted = {"all": card["parcels"], "flagged": card["flagged"], "stale": card["stale"]}  # the rates' counts
        cols = st.columns(5)
        for col, (which, n) in zip(cols, counted.items(), strict=False):
            with col:
                if n:
                    label = b.t(f"scorecard_{which}", courier=name, n=f"{n:,}")
                    queue_link(b, label, shipped=which, courier=slug, **period)
        with cols[3]:
            if card["claims_filed"]:
                filed = b.t("scorecard_filed", courier=name, n=card["claims_filed"])
                ledger_link(b, filed, courier=slug, filed="1", **period)
        with cols[4]:
            if card["claims_filed"] or card["recovered"]:
                recovered = b.t("scorecard_recovered", courier=name, amount=yuan(card["recovered"]))
                ledger_link(b, recovered, courier=slug, state=str(ClaimState.paid), **period)
        kinds = sorted(card["kinds"].items(), key=lambda kv: -kv[1])  # a kind's rate: its parcels, five a row
        for row in range(0, len(kinds), 5):
            for col, (kind, n) in zip(st.columns(5), kinds[row : row + 5], strict=False):
                with col:
                    label = b.t("scorecard_kind", courier=name, kind=kind_label(kind, b.lang), n=f"{n:,}")
                    queue_link(b, label, shipped="flagged", kind=kind, courier=slug, **period)

# charts part (issue 15 item 8): names and kind colours from dashboard/charts.py. A tab each, as on the
# overview: only the chosen one is drawn (and read), so the table comes first and the page is drawn once
words = charts.Words(lang=b.lang, courier=b.courier)


def rates_tab() -> None:
    st.subheader(b.t("exception_rate"))
    if not cards:
        st.caption(b.t("none"))
        return
    _ = st.altair_chart(charts.exception_rates(cards, words), width="stretch")


def transit_tab() -> None:
    st.subheader(b.t("median_transit"))
    if not any(card["median_transit_hours"] is not None for card in cards):
        st.caption(b.t("none"))
        return
    _ = st.altair_chart(charts.median_transit(cards, words), width="stretch")


def recovered_tab() -> None:
    st.subheader(b.t("recovered_by_month"))
    paid = b.read("recovered_by_month", ttl=300, now=b.now, tz=b.settings.timezone)
    if not paid:
        st.caption(b.t("none"))
        return
    _ = st.altair_chart(charts.recovered(paid, words), width="stretch")


sections = {"sc_tab_rates": rates_tab, "sc_tab_transit": transit_tab, "sc_tab_recovered": recovered_tab}
for key, tab in lazy_tabs(b, list(sections), key="sc_tab"):
    with tab:
        sections[key]()
