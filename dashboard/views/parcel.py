"""Parcel page: facts, full timeline (normalized status and courier text), flags, claims, alerts and
the audit trail. Opened with ?id= (links, the sidebar search) or ?waybill=."""

import streamlit as st

from dashboard.components import bad_params, table
from dashboard.context import board
from dashboard.data import parcel_ref
from tracker.escape import streamlit_md as md
from tracker.subscriptions import describe

b = board()
params = st.query_params.to_dict()
parcel_id, waybill, problem = parcel_ref(params, max_text=b.settings.board.max_param_length)
bad_params(b, [problem] if problem else [])
if waybill:
    found = b.read("find_parcels", ttl=0, text=waybill)
    parcel_id = found[0]["id"] if found else None

detail = b.read("parcel_detail", ttl=0, parcel_id=parcel_id) if parcel_id else None
if detail is None:
    st.title(b.t("nav_parcel"))
    st.info(b.t("choose_parcel") if parcel_id is None and not params else b.t("not_found"))
    st.stop()

p = detail["parcel"]
# waybill, courier and the courier's own text come from outside: Markdown-escaped (tracker/escape.py)
st.title(f"{md(p['waybill'])} · {md(b.courier(p['courier']))}")
st.caption(f"{b.t('status')}: {md(p['status'])} · {md(p['status_text'] or '')}")

st.subheader(b.t("facts"))
facts = ["order_id", "shop", "direction", "province", "city", "goods_value", "paid_at", "shipped_at",
         "first_scan_at", "last_event_at", "delivered_at", "refund_deadline", "provider_error"]  # fmt: skip
fact_rows = [{"field": b.t(k), "value": p[k]} for k in facts if p.get(k) not in (None, "")]
sub = detail["subscription"] or {}
fact_rows.append({"field": b.t("push_subscription"), "value": describe(
    sub.get("state"), provider=sub.get("provider"), message=sub.get("message"), last_push_at=sub.get("last_push_at"),
    tz=b.settings.tz)})  # fmt: skip
table(b, fact_rows, ["field", "value"], key="facts")
if detail["facts"]:
    table(b, detail["facts"], ["kind", "recorded_at", "recorded_by", "data"], key="manual_facts")
if len(detail["return_buyers"]) > 1:  # one return waybill, several buyers (return_waybill_shared)
    st.subheader(b.t("return_buyers"))
    table(b, detail["return_buyers"], ["buyer_id", "order_id", "first_seen_at"], key="return_buyers")

st.subheader(b.t("timeline"))
table(b, detail["events"], ["event_time", "status", "text", "location", "raw_code", "source"], key="timeline")

st.subheader(b.t("flags"))
action_col = "next_action_zh" if b.lang == "zh" else "next_action_en"
for f in detail["flags"]:
    f["next_action"] = f[action_col]
table(b, detail["flags"], ["id", "kind", "severity", "state", "opened_at", "escalated_at", "resolved_at", "assignee",
                           "note", "next_action"], key="flags")  # fmt: skip

st.subheader(b.t("claims"))
table(b, detail["claims"], ["id", "claim_type", "state", "amount", "formula", "filing_closes_at", "reference_no",
                            "paid_amount"], key="claims")  # fmt: skip

st.subheader(b.t("alerts"))
table(b, detail["alerts"], ["created_at", "channel", "recipient", "level", "state", "sent_at", "error"], key="alerts")

st.subheader(b.t("audit"))
table(b, detail["audit"], ["at", "actor", "action", "entity", "entity_id", "detail"], key="audit")
