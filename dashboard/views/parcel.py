"""Parcel page: facts, full timeline (normalized status and courier text), flags with their next action
and actions, recording facts, claims (opening them, amount shown first), alerts and the audit trail.
Opened with ?id= (links, the queue, the sidebar search), ?waybill= (exact or the start of one) or ?q= (the
sidebar search's several matches, listed to pick from)."""

from dataclasses import replace

import streamlit as st

from dashboard import fact_forms, parcel_actions
from dashboard.components import PARCEL_PAGE, alert_states, bad_params, ledger_link, link_params, plain, table
from dashboard.context import board
from dashboard.data import SEARCH_LIMIT, parcel_ref
from dashboard.i18n import value_label
from tracker.domain import AWAITING_COURIER
from tracker.escape import streamlit_md as md
from tracker.labels import amount_in
from tracker.storage.repo import MONEY_FIELDS
from tracker.subscriptions import describe

b = board()
params = {k: v for k, v in st.query_params.to_dict().items() if k != "lang"}
by_search = bool(params.get("q")) and not params.get("waybill")  # ?q=: the sidebar search's several matches
parcel_id, waybill, problem = parcel_ref(
    {**params, "waybill": params["q"]} if by_search else params, max_text=b.settings.board.max_param_length
)
if problem and by_search and problem.param == "waybill":
    problem = replace(problem, param="q")
bad_params(b, [problem] if problem else [])
found = b.read("find_parcels", ttl=0, text=waybill) if waybill else []
if len(found) == 1:
    parcel_id = found[0]["id"]
elif found:  # several parcels match: the list to pick from
    st.title(b.t("nav_parcel"))
    # find_parcels reads at most SEARCH_LIMIT: as many is "the first N", not a count of every match
    many = "matches_first_n" if len(found) >= SEARCH_LIMIT else "matches_n"
    st.caption(b.t(many, n=len(found), text=md(waybill)))
    for r in found:
        label = " · ".join(md(str(v)) for v in (r["waybill"], b.courier(r["courier"]), r["order_id"], r["shop"]) if v)
        st.page_link(PARCEL_PAGE, label=label, query_params=link_params(b, id=r["id"]))
    st.stop()

detail = b.read("parcel_detail", ttl=0, parcel_id=parcel_id, now=b.now) if parcel_id else None
if detail is None:
    st.title(b.t("nav_parcel"))
    if parcel_id is None and not params:
        st.info(b.t("choose_parcel"))
    elif waybill:  # what was looked for, named
        st.info(b.t("not_found_for", text=md(waybill)))
    elif not problem:  # a number in ?id= that is no parcel (a wrong one was named above already)
        st.info(b.t("not_found"))
    st.stop()

p = detail["parcel"]
# waybill, courier and the courier's own text come from outside: Markdown-escaped (tracker/escape.py)
st.title(f"{md(p['waybill'])} · {md(b.courier(p['courier']))}")
said = f" · {md(p['status_text'])}" if p["status_text"] else ""  # the courier's last words, when there are any
awaiting = p["courier"] == AWAITING_COURIER  # an order paid and not shipped yet, watched for 延迟发货
if awaiting:
    st.info(b.t("awaiting_parcel"))
else:
    st.caption(f"{b.t('status')}: {value_label('status', p['status'], b.lang)}{said}")

st.subheader(b.t("facts"))
facts = [
    "order_id",
    "shop",
    "direction",
    "province",
    "city",
    "goods_value",
    "supplier_value",  # a damaged accessory's claim base, and the courier's charges the freight claims read
    "forward_freight",
    "return_freight",
    "paid_at",
    "shipped_at",
    "first_scan_at",
    "last_event_at",
    "delivered_at",
    "refund_deadline",
    "provider_error",
]
foreign = p.get("currency") not in (None, "", b.settings.currency)  # ¥ is the yuan's: another currency is named


def fact_value(key: str) -> object:
    if foreign and key in MONEY_FIELDS:
        return amount_in(p[key], p["currency"])
    return plain(b, p[key], key)


fact_rows = [{"field": b.t(k), "value": fact_value(k)} for k in facts if p.get(k) not in (None, "")]
sub = detail["subscription"] or {}
if not awaiting:  # no waybill yet: nothing to subscribe to
    fact_rows.append(
        {
            "field": b.t("push_subscription"),
            "value": describe(
                sub.get("state"),
                provider=sub.get("provider"),
                message=sub.get("message"),
                last_push_at=sub.get("last_push_at"),
                tz=b.settings.tz,
                lang=b.lang,
            ),
        }
    )
table(b, fact_rows, ["field", "value"], key="facts")
if detail["facts"]:
    for r in detail["facts"]:
        r["fact_kind"] = r["kind"]
    table(b, detail["facts"], ["fact_kind", "recorded_at", "recorded_by", "data"], key="manual_facts")
if len(detail["return_buyers"]) > 1:  # one return waybill, several buyers (return_waybill_shared)
    st.subheader(b.t("return_buyers"))
    table(b, detail["return_buyers"], ["buyer_id", "order_id", "first_seen_at"], key="return_buyers")

st.subheader(b.t("timeline"))
table(b, detail["events"], ["event_time", "status", "text", "location", "raw_code", "source"], key="timeline")

st.subheader(b.t("flags"))  # each unresolved flag with its next action in full and its buttons
parcel_actions.flags_section(b, detail["flags"])
parcel_actions.facts_section(b, p)

st.subheader(b.t("claims"))
table(
    b,
    detail["claims"],
    ["id", "claim_type", "state", "amount", "formula", "filing_closes_at", "reference_no", "paid_amount"],
    key="claims",
)
if detail["claims"]:  # filing, a payout, withdrawing: on the ledger, opened at this parcel's claims
    # by the parcel: its waybill searched also finds the waybills it starts (SF1001 and SF10012), and another
    # courier's parcel of the same number is another parcel with its own claims
    ledger_link(b, b.t("claims_on_ledger", n=len(detail["claims"])), parcel=p["id"])
parcel_actions.claims_section(b, p)

st.subheader(b.t("alerts"))
alert_states(detail["alerts"], b.settings.alerts.max_attempts)  # as the alert log says them
table(
    b,
    detail["alerts"],
    ["created_at", "channel", "recipient", "level", "state", "sent_at", "next_due_at", "error"],
    key="alerts",
)

st.subheader(b.t("audit"))
table(b, detail["audit"], ["at", "actor", "action", "entity", "entity_id", "detail"], key="audit")

fact_forms.show(b, detail)  # 平台时限 and the fact forms (issue 16)
