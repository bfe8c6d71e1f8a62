"""Exception queue: filters (mirrored in the URL), sorting, server-side paging, bulk actions that call
the flag lifecycle and claims services under the logged-in user's name."""

import streamlit as st

from dashboard import actions, fact_forms
from dashboard.components import (
    acted,
    age_hours,
    bad_params,
    bulk_bar,
    bulk_button,
    confirm_pending,
    courier_slugs,
    lazy_fold,
    pager,
    parcel_table,
    pick_table,
    scope_caption,
    set_query_params,
)
from dashboard.context import board
from dashboard.data import SHIPPED_LISTS, SORTS, ParamProblem, QueueFilter, ShippedFilter
from dashboard.export_buttons import queue_download
from dashboard.i18n import kind_label, state_label
from tracker.escape import streamlit_md as md
from tracker.flags import next_action
from tracker.notes import NOTE_CHARS
from tracker.status import FlagKind, FlagState

b = board()
st.title(b.t("nav_queue"))

params, problems = QueueFilter.parse(
    st.query_params.to_dict(),
    max_age_hours=b.settings.board.max_age_hours,
    max_text=b.settings.board.max_param_length,
    couriers=courier_slugs(b),
)
# the lists of parcels the overview opens (?turning_stale=1, ?by=parcel) and a courier scorecard's numbers open
# (?shipped=all|flagged|stale, data.ShippedFilter) read no other filter but the courier (and a scorecard's kind
# and shipping days): any other is named as not applied, and a value they do not know as wrong
VIEWS = {
    "turning_stale": ({"1"}, {"courier"}),
    "by": ({"parcel"}, set()),
    "shipped": (set(SHIPPED_LISTS), {"courier", "kind"}),
}
url = st.query_params.to_dict()
problems += [
    ParamProblem(n, str(url[n]), "param_choice") for n, (ok, _) in VIEWS.items() if n in url and url[n] not in ok
]
shown = next((name for name, (wanted, _) in VIEWS.items() if url.get(name) in wanted), None)  # the first one named
if shown is not None:
    kept = VIEWS[shown][1]
    given = {k: v for k, v in params.params().items() if k not in kept and (k, v) != ("state", "unresolved")}
    if shown == "shipped":  # its courier and kind are its own (ShippedFilter names a wrong one)
        shipped, shipped_problems = ShippedFilter.parse(url, couriers=courier_slugs(b), zone=b.settings.timezone)
        problems = [p for p in problems if p.param not in ("courier", "kind")] + shipped_problems
    problems += [ParamProblem(k, v, "param_not_here") for k, v in given.items()]
bad_params(b, problems)
ANY = ""

if shown == "turning_stale":  # the overview's "turning stale within 24 h": parcels, not flags
    st.subheader(b.t("stale_soon"))
    if params.courier:
        st.caption(f"{b.t('courier')}: {md(b.courier(params.courier))}")
    total = b.read("turning_stale_count", now=b.now, rules=b.settings.rules, courier=params.courier)
    offset = pager(b, total, key="ts_page")
    rows = b.read(
        "turning_stale_page",
        now=b.now,
        rules=b.settings.rules,
        courier=params.courier,
        limit=b.settings.board.page_size,
        offset=offset,
    )
    for r in rows:
        r["courier"], r["parcel_id"] = b.courier(r["courier"]), r["id"]
    st.caption(b.t("click_waybill"))
    parcel_table(
        b, rows, ["waybill", "order_id", "courier", "shop", "province", "last_update", "stale_at"], key="turning"
    )
    st.stop()

if shown == "by":  # the overview's "on N parcels": a row per parcel, not per flag
    st.subheader(b.t("open_parcels_title"))
    st.caption(b.t("open_parcels_note"))
    total = b.read("open_parcels")  # the overview's number, by the same definition
    offset = pager(b, total, key="op_page")
    rows = b.read("open_parcels_page", limit=b.settings.board.page_size, offset=offset)
    for r in rows:
        r["courier"] = b.courier(r["courier"])
        r["kinds"] = " · ".join(kind_label(kind, b.lang) for kind in r["kinds"])
    st.caption(b.t("click_waybill"))
    parcel_table(
        b, rows, ["waybill", "order_id", "courier", "shop", "province", "kinds", "last_update"], key="by_parcel"
    )
    st.stop()


if shown == "shipped":  # a courier scorecard's number, as the parcels it counts
    st.subheader(b.t(f"shipped_{shipped.shipped}_title"))
    said = "：" if b.lang == "zh" else ": "
    scope = [b.t("scope_shipped", start=shipped.shipped_from or "…", end=shipped.shipped_to or "…")]
    if shipped.courier:
        scope.insert(0, f"{b.t('courier')}{said}{md(b.courier(shipped.courier))}")
    if shipped.kind:
        scope.append(f"{b.t('kind')}{said}{kind_label(shipped.kind, b.lang)}")
    scope_caption(b, scope)
    st.caption(b.t(f"shipped_{shipped.shipped}_note"))
    total = b.read("shipped_count", f=shipped, now=b.now, rules=b.settings.rules)
    offset = pager(b, total, key="sh_page")
    size = b.settings.board.page_size  # none counted, none read (a kind no parcel had would walk the whole period)
    rows = (
        b.read("shipped_page", f=shipped, now=b.now, rules=b.settings.rules, limit=size, offset=offset) if total else []
    )
    for r in rows:
        r["courier"] = b.courier(r["courier"])
        r["kinds"] = " · ".join(kind_label(kind, b.lang) for kind in r["kinds"])
    st.caption(b.t("click_waybill"))
    columns = ["waybill", "order_id", "courier", "status", "kinds", "shipped_at", "last_update", "delivered_at"]
    parcel_table(b, rows, [*columns, "shop", "province"], key=f"shipped_{shipped.shipped}")
    st.stop()


def choice(label: str, options: list[str], current: str | None, key: str, fmt=None) -> str:
    opts = [ANY, *options] if current in (None, "", *options) else [ANY, current, *options]
    fmt = fmt or (lambda v: v)
    picked = st.selectbox(
        b.t(label),
        opts,
        index=opts.index(current or ANY),
        key=key,
        format_func=lambda v: b.t("any") if v == ANY else fmt(v),
    )
    return picked or ANY  # None only without options, and ANY is always one


# charts part (issue 15 item 9): the filters folded (a phone shows the rows first), a line under them counting
# the set ones; drawn only while open (lazy_fold): folded, the filters are the URL's and the sort the last chosen
active = sum(1 for k, v in params.params().items() if k != "state" or v != "unresolved")
SORT_KEPT = "q_sort_kept"  # the sort outlives its widget, which is gone while the fold is closed
PAGE_KEYS = "q_page_keys"  # where each next page starts (keyset paging), for the filters and sort they were read with
sort = st.session_state.get(SORT_KEPT, next(iter(SORTS)))
kind, courier, shop, region = params.kind, params.courier, params.shop, params.region
state, assignee, age = params.state, params.assignee, params.min_age_hours or 0
with lazy_fold(b.t("filters"), key="q_filters") as filters_open:
    if filters_open:
        c = st.columns(4)
        with c[0]:
            kind = choice("kind", list(FlagKind), params.kind, "q_kind", lambda v: kind_label(v, b.lang))
        with c[1]:
            courier = choice(
                "courier", b.read("distinct_values", ttl=300, column="courier"), params.courier, "q_courier", b.courier
            )
        with c[2]:
            shop = choice("shop", b.read("distinct_values", ttl=300, column="shop"), params.shop, "q_shop")
        with c[3]:
            region = choice("region", b.read("distinct_values", ttl=300, column="province"), params.region, "q_region")
        c = st.columns(4)
        with c[0]:
            states = ["unresolved", *FlagState]
            state = choice(
                "state",
                states,
                params.state,
                "q_state",
                lambda v: b.t("unresolved") if v == "unresolved" else state_label(v, b.lang),
            )
        with c[1]:
            assignees = ["-", *b.read("distinct_values", ttl=60, column="assignee")]
            assignee = choice(
                "assignee", assignees, params.assignee, "q_assignee", lambda v: b.t("nobody") if v == "-" else v
            )
        with c[2]:
            age = st.number_input(
                b.t("min_age"),
                min_value=0,
                max_value=b.settings.board.max_age_hours,
                value=params.min_age_hours or 0,
                step=24,
                key="q_age",
            )
        with c[3]:
            sort = st.selectbox(
                b.t("sort"),
                list(SORTS),
                index=list(SORTS).index(sort),
                key="q_sort",
                format_func=lambda v: b.t(f"sort_{v}"),
            )
            st.session_state[SORT_KEPT] = sort

if active and not filters_open:
    st.caption(b.t("filters_set", n=active))
f = QueueFilter(
    kind=kind or None,
    courier=courier or None,
    shop=shop or None,
    region=region or None,
    min_age_hours=int(age) or None,
    max_age_hours=params.max_age_hours,
    assignee=assignee or None,
    state=state or None,
    waybill=params.waybill,
)
if f.params() != params.params():
    set_query_params(b, f.params())

if f.max_age_hours:  # from an ageing bar's link: its upper edge has no widget, so it is said
    st.caption(b.t("below_age", hours=f.max_age_hours))
total = b.read("queue_count", f=f, now=b.now)
queue_download(b, f, sort=sort, total=total)  # the whole filtered set, not only this page
offset = pager(b, total, key="q_page")
# keyset paging: the page after one already shown starts after its last row (data.queue_page page_key), kept
# per filter and sort; a page jumped to is read by offset
size = b.settings.board.page_size
keys = st.session_state.get(PAGE_KEYS)
if not keys or keys["scope"] != (f.params(), sort):
    keys = st.session_state[PAGE_KEYS] = {"scope": (f.params(), sort), "after": {}}
page = offset // size + 1
rows = b.read("queue_page", f=f, now=b.now, sort=sort, limit=size, offset=offset, after=keys["after"].get(page))
if rows:
    keys["after"][page + 1] = rows[-1]["page_key"]
for r in rows:
    zh, en = next_action.texts(r, b.settings, b.now)
    r["next_action"] = zh if b.lang == "zh" else en
    r["age"] = age_hours(b, r["last_update"])
    r["courier"] = b.courier(r["courier"])  # the name people say (a name stays itself)
# key columns first (a phone sees these without scrolling the table): waybill, courier, kind, age, next action
columns = [
    "waybill",
    "courier",
    "kind",
    "age",
    "next_action",
    "severity",
    "state",
    "assignee",
    "shop",
    "province",
    "last_update",
    "note",
    "flag_id",
]
columns = fact_forms.with_platform_deadline(b, rows, columns)  # Tmall timers (issue 16)
# a click on a waybill opens its parcel (with every action); ticks stay for the bulk actions below
picked = pick_table(b, rows, columns, key="queue_table", id_column="flag_id", open_parcel=True, wide=["next_action"])
for r in picked:  # the ticked rows' next action in full (a table cell cuts it off)
    st.caption(f"{md(r['waybill'])} · {kind_label(r['kind'], b.lang)}: {md(r['next_action'] or '')}")

st.subheader(b.t("bulk_actions"))
confirm_pending(b, "queue_table")
if acted("queue_table"):  # the note and the assignee were the last action's: a next one starts empty (the note
    for key in ("q_note", "q_to"):  # typed once was added again to every flag the next action touched)
        st.session_state.pop(key, None)
inputs = st.columns([2, 2, 3])
note = inputs[0].text_input(b.t("note"), key="q_note", max_chars=NOTE_CHARS)
to = inputs[1].text_input(b.t("assign_to"), key="q_to")
buttons = st.columns(5)
flag_ids = [r["flag_id"] for r in picked]
waybills = [r["waybill"] for r in picked]

bulk = bulk_bar(b, buttons, scope="queue_table", ids=flag_ids, waybills=waybills)


bulk(0, "ack", "q_ack", "flag.ack", lambda i, note=note: actions.acknowledge(b, i, note=note or None))
bulk(1, "assign", "q_assign", "flag.assign", lambda i, to=to, note=note: actions.assign(b, i, to=to, note=note or None))
bulk(2, "add_note", "q_add_note", "flag.note", lambda i, note=note: actions.add_note(b, i, text=note))
bulk(3, "resolve", "q_resolve", "flag.resolve", lambda i, note=note: actions.resolve(b, i, note=note or None))
# claims are opened per parcel (a parcel with two ticked flags gets one set of claims), always confirmed
by_parcel = {r["parcel_id"]: r["waybill"] for r in picked}
bulk_button(
    b,
    buttons[4],
    b.t("open_claims"),
    key="q_open_claims",
    scope="queue_table",
    ids=list(by_parcel),
    waybills=list(by_parcel.values()),
    run=lambda p: actions.open_claims(b, p),
    allowed=b.can("claim.open"),
    always_confirm=True,
)
