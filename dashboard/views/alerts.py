"""Alerts log: what was sent to whom, when, delivered or failed (newest first, paged in SQL)."""

import streamlit as st

from dashboard.components import pager, parcel_table
from dashboard.context import board
from dashboard.i18n import state_label
from tracker.status import AlertState

b = board()
st.title(b.t("nav_alerts"))
state = st.selectbox(
    b.t("state"),
    ["", *AlertState],
    key="a_state",
    format_func=lambda v: b.t("any") if not v else state_label(v, b.lang),
)
attempts = b.settings.alerts.max_attempts  # held: the failed alerts still held for the next digest too
total = b.read("alerts_count", state=state or None, max_attempts=attempts)
offset = pager(b, total, key="a_page")
rows = b.read(
    "alerts_page", state=state or None, limit=b.settings.board.page_size, offset=offset, max_attempts=attempts
)
if rows:
    st.caption(b.t("click_waybill"))
parcel_table(  # a waybill clicked opens its parcel; first, as in the queue (a phone shows it without scrolling)
    b,
    rows,
    ["waybill", "created_at", "sent_at", "channel", "recipient", "level", "subject", "state", "attempts", "error"],
    key="alerts_table",
)
