"""Claims ledger: by state with amount, formula, filing window and days left; file, record payout,
reject, withdraw (claims service); XLSX packets for the selection; reconciliation by courier."""

from datetime import date
from decimal import Decimal, InvalidOperation

import streamlit as st

from dashboard import actions
from dashboard.components import bulk_button, confirm_pending, pager, pick_table, table
from dashboard.context import board
from dashboard.i18n import state_label
from tracker.escape import streamlit_md as md
from tracker.status import ClaimState

b = board()
st.title(b.t("nav_claims"))

summary = b.read("claims_by_state")
cols = st.columns(max(1, len(summary)))
for col, r in zip(cols, summary, strict=False):
    col.metric(state_label(r["state"], b.lang), r["n"], f"¥{r['amount']:,.2f}", delta_color="off")

states = ["", *ClaimState]
state = st.selectbox(b.t("state"), states, key="c_state",
                     format_func=lambda v: b.t("any") if not v else state_label(v, b.lang))  # fmt: skip
total = b.read("claims_count", state=state or None)
offset = pager(b, total, key="c_page")
rows = b.read("claims_page", state=state or None, limit=b.settings.board.page_size, offset=offset)
for r in rows:
    closes = r["filing_closes_at"]
    to_file = closes and r["state"] in ("draft", "needs_config")
    r["days_left"] = str((closes - b.now).days) if to_file else ""
    r["window"] = f"{b.local(r['filing_opens_at'])} ~ {b.local(closes)}" if closes else ""
# ticked in the table itself: a claim is its id, never its label (a label that changed with the claim's
# state once left the browser holding a choice the server no longer knew: TypeError)
picked = pick_table(b, rows, ["id", "waybill", "courier", "claim_type", "state", "amount", "formula", "window",
                             "days_left", "reference_no", "paid_amount", "reject_reason"], key="claims_table",
                    id_column="id")  # fmt: skip
selected = [r["id"] for r in picked]
waybills = [r["waybill"] for r in picked]
confirm_pending(b, "claims_table")

c = st.columns(4)
reference = c[0].text_input(b.t("reference_no"), key="c_reference")
amount_text = c[1].text_input(b.t("paid_amount"), key="c_amount")
paid_on = c[2].date_input(b.t("paid_on"), value=b.now.astimezone(b.settings.tz).date(), key="c_paid_on")
reason = c[3].text_input(b.t("reason"), key="c_reason")
try:
    amount = Decimal(amount_text.strip())
except InvalidOperation:
    amount = None
day = paid_on if isinstance(paid_on, date) else b.now.astimezone(b.settings.tz).date()


def pay(i: int, amount=amount, day=day):
    return actions.record_payout(b, i, amount=amount, paid_on=day)


buttons = st.columns(5)


def bulk(i: int, label: str, key: str, action: str, run) -> None:
    bulk_button(b, buttons[i], b.t(label), key=key, scope="claims_table", ids=selected, waybills=waybills, run=run,
                allowed=b.can(action))  # fmt: skip


if amount is None and buttons[1].button(  # not a number: said before anything is asked or run
    b.t("record_payout"), key="c_pay", disabled=not b.can("claim.pay")
):
    st.session_state["flash"] = ("error", f"{b.t('paid_amount')}: {md(repr(amount_text))}")
    st.rerun()
bulk(0, "file", "c_file", "claim.file", lambda i, ref=reference: actions.file_claim(b, i, reference_no=ref))
if amount is not None:
    bulk(1, "record_payout", "c_pay", "claim.pay", pay)
bulk(2, "reject", "c_reject", "claim.reject", lambda i, why=reason: actions.reject(b, i, reason=why))
bulk(3, "withdraw", "c_withdraw", "claim.withdraw", lambda i, why=reason: actions.withdraw(b, i, reason=why or None))
if selected and b.can("claim.export"):
    buttons[4].download_button(
        b.t("export_xlsx"), data=actions.export_packets(b, selected), file_name="claims.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", key="c_export",
    )  # fmt: skip

st.subheader(b.t("reconciliation"))
table(b, b.read("reconciliation"), ["courier", "filed", "paid", "rejected", "claimed_amount", "paid_amount",
                                     "short_paid"], key="reconciliation")  # fmt: skip
