"""Alerts log: what was sent to whom, when, delivered or failed (newest first, paged in SQL). Its filters live
in the URL (?state=sent&day=today), so the overview's "alerts sent today" opens exactly the alerts it counts."""

import streamlit as st

from dashboard.components import alert_states, bad_params, pager, parcel_table, set_query_params
from dashboard.context import board
from dashboard.data import ParamProblem
from dashboard.i18n import state_label
from tracker.status import AlertState

b = board()
st.title(b.t("nav_alerts"))

STATES = ["", *(str(s) for s in AlertState)]
TODAY = "today"
url = st.query_params.to_dict()
problems = []
given_state = url.get("state", "")
if given_state not in STATES:
    problems.append(ParamProblem("state", given_state, "param_choice"))
    given_state = ""
given_day = url.get("day", "")
if given_day not in ("", TODAY):
    problems.append(ParamProblem("day", given_day, "param_choice"))
    given_day = ""
bad_params(b, problems)

left, right = st.columns([2, 1], vertical_alignment="bottom")
state = left.selectbox(
    b.t("state"),
    STATES,
    index=STATES.index(given_state),
    key="a_state",
    format_func=lambda v: b.t("any") if not v else state_label(v, b.lang),
)
today = right.checkbox(b.t("alerts_of_today"), value=given_day == TODAY, key="a_today")
wanted = {k: v for k, v in (("state", state), ("day", TODAY if today else "")) if v}
if wanted != {k: v for k, v in (("state", given_state), ("day", given_day)) if v}:
    set_query_params(b, wanted)

attempts = b.settings.alerts.max_attempts  # held: the failed alerts still held for the next digest too
since = b.day_start() if today else None  # today in the configured zone, as the overview counts it
total = b.read("alerts_count", state=state or None, max_attempts=attempts, day_start=since)
offset = pager(b, total, key="a_page")
rows = b.read(
    "alerts_page",
    state=state or None,
    limit=b.settings.board.page_size,
    offset=offset,
    max_attempts=attempts,
    day_start=since,
)
if rows:
    st.caption(b.t("click_waybill"))
alert_states(rows, attempts)  # when a waiting alert goes next, and a failed one told apart, as the parcel page
parcel_table(  # a waybill clicked opens its parcel; first, as in the queue (a phone shows it without scrolling)
    b,
    rows,
    ["waybill", "created_at", "sent_at", "next_due_at", "channel", "recipient", "level", "subject", "state",
     "attempts", "error"],
    key="alerts_table",
)  # fmt: skip
