"""Exception queue: filters (mirrored in the URL), sorting, server-side paging, bulk actions that call
the flag lifecycle and claims services under the logged-in user's name."""

import streamlit as st

from dashboard import actions
from dashboard.components import bad_params, pager, run_action, table
from dashboard.context import board
from dashboard.data import SORTS, QueueFilter
from dashboard.i18n import kind_label, state_label
from tracker.status import FlagKind, FlagState

b = board()
st.title(b.t("nav_queue"))

params, problems = QueueFilter.parse(
    st.query_params.to_dict(), max_age_hours=b.settings.board.max_age_hours, max_text=b.settings.board.max_param_length
)
bad_params(b, problems)
ANY = ""


def choice(label: str, options: list[str], current: str | None, key: str, fmt=None) -> str:
    opts = [ANY, *options] if current in (None, "", *options) else [ANY, current, *options]
    fmt = fmt or (lambda v: v)
    return st.selectbox(
        b.t(label), opts, index=opts.index(current or ANY), key=key,
        format_func=lambda v: b.t("any") if v == ANY else fmt(v),
    )  # fmt: skip


c = st.columns(4)
with c[0]:
    kind = choice("kind", list(FlagKind), params.kind, "q_kind", lambda v: kind_label(v, b.lang))
with c[1]:
    courier = choice("courier", b.read("distinct_values", ttl=300, column="courier"), params.courier, "q_courier")
with c[2]:
    shop = choice("shop", b.read("distinct_values", ttl=300, column="shop"), params.shop, "q_shop")
with c[3]:
    region = choice("region", b.read("distinct_values", ttl=300, column="province"), params.region, "q_region")
c = st.columns(4)
with c[0]:
    states = ["unresolved", *FlagState]
    state = choice("state", states, params.state, "q_state",
                   lambda v: b.t("unresolved") if v == "unresolved" else state_label(v, b.lang))  # fmt: skip
with c[1]:
    assignees = ["-", *b.read("distinct_values", ttl=60, column="assignee")]
    assignee = choice("assignee", assignees, params.assignee, "q_assignee", lambda v: b.t("nobody") if v == "-" else v)
with c[2]:
    age = st.number_input(
        b.t("min_age"), min_value=0, max_value=b.settings.board.max_age_hours, value=params.min_age_hours or 0,
        step=24, key="q_age",
    )  # fmt: skip
with c[3]:
    sort = st.selectbox(b.t("sort"), list(SORTS), key="q_sort", format_func=lambda v: b.t(f"sort_{v}"))

f = QueueFilter(
    kind=kind or None, courier=courier or None, shop=shop or None, region=region or None,
    min_age_hours=int(age) or None, assignee=assignee or None, state=state or None, waybill=params.waybill,
)  # fmt: skip
if f.params() != params.params():
    st.query_params.from_dict(f.params())

total = b.read("queue_count", f=f, now=b.now)
offset = pager(b, total, key="q_page")
rows = b.read("queue_page", f=f, now=b.now, sort=sort, limit=b.settings.board.page_size, offset=offset)
action_col = "next_action_zh" if b.lang == "zh" else "next_action_en"
for r in rows:
    r["next_action"] = r[action_col]
table(b, rows, ["flag_id", "waybill", "courier", "kind", "severity", "state", "assignee", "shop", "province",
                "last_update", "next_action", "note"], key="queue_table")  # fmt: skip

st.subheader(b.t("bulk_actions"))
labels = {r["flag_id"]: f"{r['flag_id']} · {r['waybill']} · {kind_label(r['kind'], b.lang)}" for r in rows}
selected = st.multiselect(
    b.t("select"), list(labels), format_func=labels.get, key="q_selected", placeholder=b.t("select_placeholder")
)
c = st.columns([2, 2, 3])
note = c[0].text_input(b.t("note"), key="q_note")
to = c[1].text_input(b.t("assign_to"), key="q_to")
buttons = st.columns(5)
parcels = {r["flag_id"]: r["parcel_id"] for r in rows}
if buttons[0].button(b.t("ack"), key="q_ack", disabled=not b.can("flag.ack")):
    run_action(b, selected, lambda i: actions.acknowledge(b, i, note=note or None))
    st.rerun()
if buttons[1].button(b.t("assign"), key="q_assign", disabled=not b.can("flag.assign")):
    run_action(b, selected, lambda i: actions.assign(b, i, to=to, note=note or None))
    st.rerun()
if buttons[2].button(b.t("add_note"), key="q_add_note", disabled=not b.can("flag.note")):
    run_action(b, selected, lambda i: actions.add_note(b, i, text=note))
    st.rerun()
if buttons[3].button(b.t("resolve"), key="q_resolve", disabled=not b.can("flag.resolve")):
    run_action(b, selected, lambda i: actions.resolve(b, i, note=note or None))
    st.rerun()
if buttons[4].button(b.t("open_claims"), key="q_open_claims", disabled=not b.can("claim.open")):
    run_action(b, sorted({parcels[i] for i in selected}), lambda p: actions.open_claims(b, p))
    st.rerun()
