"""Overview: open exceptions by kind and courier, ageing, turning stale soon, claimable money and
deadlines, alerts today. Each number links to the filtered queue."""

from datetime import timedelta

import altair as alt
import pandas as pd
import streamlit as st

from dashboard.components import queue_link, table
from dashboard.context import board
from dashboard.i18n import kind_label
from tracker.escape import streamlit_md as md
from tracker.subscriptions import quota_day, quota_text, states_text

b = board()
st.title(b.t("nav_overview"))

by_kind = b.read("open_by", column="kind")
by_courier = b.read("open_by", column="courier")
claim_money = b.read("claimable", now=b.now)
sent = b.read("alerts_today", day_start=b.day_start())
stale_hours = b.settings.rules.stale.warn_hours
soon = b.read("stale_soon", now=b.now, stale_hours=stale_hours)

m1, m2, m3, m4 = st.columns(4)
m1.metric(b.t("open_total"), sum(r["n"] for r in by_kind), b.t("on_parcels", n=b.read("open_parcels")),
          delta_color="off")  # fmt: skip
m2.metric(b.t("stale_soon"), sum(r["n"] for r in soon))
m3.metric(b.t("claimable"), f"¥{claim_money['amount']:,.2f}", b.t("claims_n", n=claim_money["count"]),
          delta_color="off")  # fmt: skip
m4.metric(b.t("alerts_today"), sent["sent"], f"{b.t('alerts_failed_today')}: {sent['failed']}", delta_color="off")
with m1:
    queue_link(b, b.t("open_queue"), state="unresolved")
with m2:
    queue_link(b, b.t("open_list"), turning_stale=1)
poll = b.read("polling", now=b.now)
st.caption(f"{b.t('polling')}: " + b.t("polling_line").format(**poll))
push = b.read("pushes", day=quota_day(b.now, b.settings.tz))
st.caption(quota_text(push["quota"], b.lang) + " · " + states_text(push["states"], b.lang))
for provider, until in poll["paused"]:
    st.warning(
        b.t("paused_until").format(provider=md(provider), until=until.astimezone(b.settings.tz).strftime("%H:%M"))
    )

left, right = st.columns(2)
with left:
    st.subheader(b.t("open_by_kind"))
    for r in by_kind:
        queue_link(b, f"{kind_label(r['kind'], b.lang)}: **{r['n']}**", kind=r["kind"])
    if not by_kind:
        st.caption(b.t("none"))
with right:
    st.subheader(b.t("open_by_courier"))
    for r in by_courier:
        queue_link(b, f"{md(b.courier(r['courier']))}: **{r['n']}**", courier=r["courier"])
    if not by_courier:
        st.caption(b.t("none"))

st.subheader(b.t("ageing"))
buckets = b.read("ageing", now=b.now)
for r in buckets:
    r["label"] = f"{r['hours']}–{r['below']}h" if r["below"] else f"≥{r['hours']}h"
ages = pd.DataFrame(buckets, columns=["hours", "below", "n", "parcels", "label"])
st.altair_chart(
    alt.Chart(ages)
    .mark_bar()
    .encode(x=alt.X("label:N", sort=None, title=b.t("age_hours")), y=alt.Y("n:Q", title=b.t("exceptions_n"))),
    width="stretch",
)
for r in buckets:  # each bar's number opens exactly its rows: min_age_hours <= age < max_age_hours
    if r["n"]:
        queue_link(b, f"{r['label']}: **{r['n']}**", min_age_hours=r["hours"] or None, max_age_hours=r["below"])

left, right = st.columns(2)
with left:
    st.subheader(b.t("stale_soon"))
    # parcels not stale yet mostly have no exception: the queue lists them as parcels (turning_stale=1)
    for r in soon:
        queue_link(b, f"{md(b.courier(r['courier']))}: **{r['n']}**", turning_stale=1, courier=r["courier"])
    if not soon:
        st.caption(b.t("none"))
with right:
    st.subheader(b.t("deadlines"))
    due = b.read("deadlines", now=b.now, days=b.settings.board.deadline_days)
    table(b, due, ["waybill", "courier", "claim_type", "amount", "filing_closes_at"], key="deadlines")

if b.role == "lead":  # failed logins of the last day, with the lock-outs they caused (leads only)
    failed = b.read("failed_logins", since=b.now - timedelta(days=1))
    if failed:
        st.subheader(b.t("failed_logins"))
        table(b, failed, ["at", "login_name", "address", "locked_until"], key="failed_logins")
