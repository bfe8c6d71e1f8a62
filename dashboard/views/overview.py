"""Overview: the headline numbers (open exceptions, turning stale soon, claimable money and the soonest
deadline, alerts today), then a tab each for open exceptions by kind, by courier, their ageing and trend, and
the claim deadlines and money per courier. Each number links to the filtered queue or ledger."""

from datetime import timedelta
from operator import itemgetter

import altair as alt
import streamlit as st

from claims.tables import tables_of
from dashboard import charts
from dashboard.components import (
    QUEUE_PAGE,
    alerts_link,
    lazy_fold,
    lazy_tabs,
    ledger_link,
    link_params,
    parcel_link,
    plain,
    queue_link,
    table,
    yuan,
)
from dashboard.context import board
from dashboard.data import CLAIMABLE, MONEY_STATES, LedgerFilter
from dashboard.i18n import kind_label
from tracker.escape import streamlit_md as md
from tracker.status import ClaimState
from tracker.subscriptions import provider_name, quota_day, quota_text, states_text

b = board()
st.title(b.t("nav_overview"))
# the link lists under the three charts: folded, drawn only when opened (the charts say the same at a glance)
LINK_FOLDS = ("ov_kind_links", "ov_courier_links", "ov_age_links")
# the overview's tabs (their labels' keys in dashboard/i18n.py) and the session key of the chosen one
TABS = ("ov_tab_kinds", "ov_tab_couriers", "ov_tab_ageing", "ov_tab_claims")
TAB_KEY = "ov_tab"


def clicked(chart, key: str, fields: list[str]) -> dict | None:
    """Show `chart` with a click selection on `fields` (names as shown, never codes); the clicked bar's values."""
    key = f"{key}_{st.session_state.get('ov_clicks', 0)}"  # a new key after each click: no stale selection
    pick = alt.selection_point(name="pick", fields=fields)
    layered = isinstance(chart, alt.LayerChart)
    if layered:
        chart.layer[0] = chart.layer[0].add_params(pick)
    else:
        chart = chart.add_params(pick)
    event = st.altair_chart(chart, width="stretch", on_select="rerun", selection_mode="pick", key=key)
    chosen = (getattr(event, "selection", None) or {}).get("pick") or []
    return chosen[0] if chosen and isinstance(chosen[0], dict) else None


def deadline_line(b, r: dict) -> str:
    """A claim deadline as one line short enough for a phone: days left · waybill · claim type · amount (the
    heading says they are unfiled, soonest first; the parcel page the link opens names the courier)."""
    parts = (  # the waybill is the only text from outside (Markdown-escaped); the rest is the board's own
        b.t("days_left_n", n=r["days_left"]),
        md(r["waybill"]),
        plain(b, r["claim_type"], "claim_type"),
        yuan(r["amount"]),
    )
    return " · ".join(str(part) for part in parts if part != "")


def open_queue(**params) -> None:
    st.session_state["ov_clicks"] = st.session_state.get("ov_clicks", 0) + 1
    st.switch_page(QUEUE_PAGE, query_params=link_params(b, **params))  # the language rides along


by_kind = b.read("open_by", column="kind")
parcels_open = b.read("open_parcels")
claim_money = b.read("claimable", now=b.now)
sent = b.read("alerts_today", day_start=b.day_start())
soon = b.read("stale_soon", now=b.now, rules=b.settings.rules)

m1, m2, m3, m4 = st.columns(4)
m1.metric(
    b.t("open_total"),
    sum(r["n"] for r in by_kind),
    b.t("on_parcels", n=parcels_open),
    delta_color="off",
    delta_arrow="off",  # a second figure, not a change: no up arrow
)
m2.metric(b.t("stale_soon"), sum(r["n"] for r in soon))
m3.metric(
    b.t("claimable"),
    yuan(claim_money["amount"]),
    b.t("claims_n", n=claim_money["count"]),
    delta_color="off",
    delta_arrow="off",
)
m4.metric(
    b.t("alerts_today"),
    sent["sent"],
    f"{b.t('alerts_failed_today')}: {sent['failed']}",
    delta_color="off",
    delta_arrow="off",
    help=b.t("alerts_sent_help"),
)  # alert rows, as `tracker alerts run` and the demo count them
with m1:
    queue_link(b, b.t("open_queue"), state="unresolved")
    if parcels_open:  # the second figure opens its own list: one row per parcel
        queue_link(b, b.t("open_parcels_list", n=parcels_open), by="parcel")
with m2:
    queue_link(b, b.t("open_list"), turning_stale=1)
with m3:  # the soonest deadline at a glance; the next ones and the money per courier are in the last tab
    # the claims the figure counts, as the ledger lists them (its claimable filter: claims.money.claimable_where)
    ledger_link(b, b.t("claimable_list", n=claim_money["count"]), state=CLAIMABLE)
    # the soonest of the claims the figure above counts (a claim missing an input is not among them)
    for r in b.read("deadlines", now=b.now, tz=b.settings.timezone, limit=1, claimable=True):
        parcel_link(b, b.t("soonest_deadline", n=r["days_left"], waybill=md(r["waybill"])), parcel_id=r["parcel_id"])
    # the drafts to file soon (contracts.toml [proposals] closing_soon_days): the ledger's own count of the list
    # the link opens
    soon_days = tables_of(b.settings).contracts.proposals.closing_soon_days
    closing = b.read("claims_count", f=LedgerFilter(closes_within_days=soon_days), now=b.now)
    if closing:
        ledger_link(b, b.t("closing_soon", n=closing, days=soon_days), closes_within_days=soon_days)
    # the claims the money above leaves out until a lead gives what they lack (缺参数): the ledger's count of them
    lacking = b.read("claims_count", f=LedgerFilter(state=str(ClaimState.needs_config)), now=b.now)
    if lacking:
        ledger_link(b, b.t("claims_lacking_inputs", n=lacking), state=str(ClaimState.needs_config))
with m4:  # the alert log filtered to the alerts these figures count (data.alerts_of_day)
    alerts_link(b, b.t("alerts_list"), state="sent", day="today")
    if sent["failed"]:
        alerts_link(b, b.t("alerts_failed_list", n=sent["failed"]), state="failed", day="today")
poll = b.read("polling", now=b.now)
st.caption(f"{b.t('polling')}: " + b.t("polling_line").format(**poll))
push = b.read("pushes", day=quota_day(b.now, b.settings.tz))
st.caption(quota_text(push["quota"], b.lang) + " · " + states_text(push["states"], b.lang))
for provider, until in poll["paused"]:
    st.warning(
        b.t("paused_until").format(
            provider=md(provider_name(provider, b.lang)),
            until=b.local(until),  # with its day: a pause past midnight
        )
    )

# the sections under the headline numbers, a tab each (issue 15 items 6 and 8). Only the chosen tab is drawn
# (choosing one reruns the page), so a first visit draws one chart, not four: every element on a page adds to
# each of the browser's re-renders, and the four charts alone cost about what issue 15 item 10 allows the page
words = charts.Words(lang=b.lang, courier=b.courier)


def kinds_tab() -> None:
    st.subheader(b.t("open_by_kind"))
    if not by_kind:
        st.caption(b.t("none"))
        return
    kinds = {kind_label(r["kind"], b.lang): r["kind"] for r in by_kind}
    picked = clicked(charts.by_kind(by_kind, words), "ov_kind", ["label"])
    if picked:
        open_queue(kind=kinds.get(str(picked.get("label"))))
    st.caption(b.t("chart_hint"))
    with lazy_fold(b.t("open_queue"), key=LINK_FOLDS[0]) as fold_open:
        for r in by_kind if fold_open else ():
            queue_link(b, f"{kind_label(r['kind'], b.lang)}: **{r['n']}**", kind=r["kind"])


def couriers_tab() -> None:
    st.subheader(b.t("open_by_courier"))
    by_courier = b.read("open_by", column="courier")
    if not by_courier:
        st.caption(b.t("none"))
        return
    names = {b.courier(r["courier"]): r["courier"] for r in by_courier}
    stacked = b.read("open_by_courier_kind")
    kinds = {kind_label(r["kind"], b.lang): r["kind"] for r in stacked}
    picked = clicked(charts.by_courier(stacked, words), "ov_courier", ["courier", "label"])
    if picked:
        open_queue(courier=names.get(str(picked.get("courier"))), kind=kinds.get(str(picked.get("label"))))
    st.caption(b.t("chart_hint"))
    with lazy_fold(b.t("open_queue"), key=LINK_FOLDS[1]) as fold_open:
        for r in by_courier if fold_open else ():
            queue_link(b, f"{md(b.courier(r['courier']))}: **{r['n']}**", courier=r["courier"])


def ageing_tab() -> None:
    st.subheader(b.t("ageing"))
    buckets = b.read("ageing", now=b.now)
    stale = b.settings.rules.stale
    chart = charts.ageing(buckets, words, warn_hours=stale.warn_hours, escalate_hours=stale.escalate_hours)
    picked = clicked(chart, "ov_age", ["start"])
    if picked and picked.get("start") is not None:
        edges = {r["hours"]: r["below"] for r in buckets}
        start = int(picked["start"])
        open_queue(min_age_hours=start or None, max_age_hours=edges.get(start))
    with lazy_fold(b.t("open_queue"), key=LINK_FOLDS[2]) as fold_open:
        for r in buckets if fold_open else ():  # each bar's number opens exactly its rows: min <= age < max
            if r["n"]:
                hours, below = r["hours"], r["below"]  # as the chart's bars say it (charts.age_histogram)
                label = (
                    words.t("age_bucket", hours=hours, below=below)
                    if below
                    else words.t("age_bucket_open", hours=hours)
                )
                queue_link(b, f"{label}: **{r['n']}**", min_age_hours=r["hours"] or None, max_age_hours=r["below"])
    st.subheader(b.t("stale_soon"))
    # parcels not stale yet mostly have no exception: the queue lists them as parcels (turning_stale=1)
    for r in soon:
        queue_link(b, f"{md(b.courier(r['courier']))}: **{r['n']}**", turning_stale=1, courier=r["courier"])
    if not soon:
        st.caption(b.t("none"))
    st.subheader(b.t("per_day"))
    _ = st.altair_chart(
        charts.per_day(b.read("exceptions_per_day", now=b.now, tz=b.settings.timezone), words), width="stretch"
    )


def claims_tab() -> None:
    # the next N deadlines whatever their distance, with the days left (not an empty "within 3 days")
    n_due = b.settings.board.next_deadlines
    st.subheader(b.t("next_deadlines", n=n_due))
    due = b.read("deadlines", now=b.now, tz=b.settings.timezone, limit=n_due)
    # a line per claim, a link to its parcel (whose page files it): lighter than a table, whole on a phone
    for r in due:
        parcel_link(b, deadline_line(b, r), parcel_id=r["parcel_id"])
    if not due:
        st.caption(b.t("none"))
    # money per courier, a column per state: each number opens the ledger filtered to that courier and state,
    # whose rows sum to it. A column per state (not a row of columns per courier): on a phone the columns
    # stack, and each block still says its state and each line its courier; the most money first.
    st.subheader(b.t("money_by_courier"))
    money = b.read("money_by_courier", now=b.now)
    if not money:
        st.caption(b.t("none"))
        return
    for col, (name, (state, _money_column)) in zip(st.columns(len(MONEY_STATES)), MONEY_STATES.items(), strict=True):
        with col:
            st.caption(b.t(f"money_{name}"))
            owed = sorted((r for r in money if r[f"{name}_n"]), key=itemgetter(name), reverse=True)
            for r in owed:
                label = f"{md(b.courier(r['courier']))}: {yuan(r[name])} · {b.t('claims_n', n=r[name + '_n'])}"
                ledger_link(b, label, courier=r["courier"], state=state)
            if not owed:
                st.caption("—")


sections = dict(zip(TABS, (kinds_tab, couriers_tab, ageing_tab, claims_tab), strict=True))
for key, tab in lazy_tabs(b, TABS, key=TAB_KEY):
    with tab:
        sections[key]()

if b.role == "lead":  # failed logins of the last day, with the lock-outs they caused (leads only)
    failed = b.read("failed_logins", since=b.now - timedelta(days=1))
    if failed:
        st.subheader(b.t("failed_logins"))
        table(b, failed, ["at", "login_name", "address", "locked_until"], key="failed_logins")
