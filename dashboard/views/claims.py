"""Claims ledger: searched by waybill, order or reference number and filtered by courier, claim type, state
(or claimable) and deadline, the filters mirrored in the URL (deep links from the overview's money); by
state with amount, formula, filing window and days left; file, record payout, reject, withdraw (claims
service); XLSX packets for the selection; reconciliation by courier."""

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

import streamlit as st

from claims.claimable import UNFILED_STATES, filing_days_left
from claims.engine import FREIGHT_INSURANCE
from claims.formula import input_label, loads, missing_words
from claims.service import PARCEL_INPUTS, REFERENCE_CHARS, inputs_missing
from claims.tables import tables_of
from dashboard import actions
from dashboard.components import (
    DATE_FORMAT,
    bad_params,
    bulk_bar,
    confirm_pending,
    courier_slugs,
    lazy_fold,
    ledger_link,
    ledger_table,
    pager,
    pick_table,
    scope_caption,
    set_query_params,
    yuan,
)
from dashboard.context import board
from dashboard.data import CLAIMABLE, NO_COURIER, SUBMITTED, LedgerFilter, clear_cache
from dashboard.export_buttons import claims_download, ledger_state_words
from dashboard.i18n import error_text, state_label
from tracker.errors import TrackerError
from tracker.escape import streamlit_md as md
from tracker.labels import CLAIM_TYPES, claim_type_label
from tracker.notes import NOTE_CHARS
from tracker.status import ClaimState
from tracker.values import ValueProblem, parse_money

b = board()
st.title(b.t("nav_claims"))

summary = b.read("claims_by_state", now=b.now)  # closed windows count as expired (issue 16)
cols = st.columns(max(1, len(summary)))
for col, r in zip(cols, summary, strict=False):
    # the claims' own amounts, said so: a paid state's figure is what was claimed, not what came in (the ledger's
    # line below says both); a second figure, not a change, so no arrow
    if r["unknown"] == r["n"]:  # none of them has an amount yet (缺参数): unknown, not ¥0.00
        claimed = f"{b.t('claimed_amount')} {b.t('amount_unknown')}"
    else:
        claimed = f"{b.t('claimed_amount')} {yuan(r['amount'])}"
        if r["unknown"]:
            claimed += f" ({b.t('amounts_unknown_n', n=r['unknown'])})"
    col.metric(state_label(r["state"], b.lang), r["n"], claimed, delta_color="off", delta_arrow="off")
    with col:  # each figure opens its claims: the ledger below filtered to that state (read at now, as counted)
        ledger_link(b, b.t("state_list"), state=r["state"])


def claim_types() -> list[str]:
    """The claim types of the claim tables (config/claims) and freight insurance (named by tracker.labels)."""
    tables = tables_of(b.settings)
    return sorted({*(code for table in tables.courier_tables for code in table.types), FREIGHT_INSURANCE})


TYPES = claim_types()
given, problems = LedgerFilter.parse(
    st.query_params.to_dict(),
    max_text=b.settings.board.max_param_length,
    couriers=courier_slugs(b),
    claim_types={*TYPES, *CLAIM_TYPES},  # the tables' and any the project names (a claim of a retired table)
    zone=b.settings.timezone,
)
bad_params(b, problems)


def choice(label: str, options: list[str], current: str | None, key: str, fmt) -> str:
    """A select with "any" first; a value from the URL that is not among the options is kept as one."""
    opts = ["", *options] if current in (None, "", *options) else ["", current, *options]
    picked = st.selectbox(
        label, opts, index=opts.index(current or ""), key=key, format_func=lambda v: b.t("any") if not v else fmt(v)
    )
    return picked or ""


# charts part (issue 15 item 9): the filters folded on a phone, drawn only while open (lazy_fold); folded,
# they are the URL's
text, courier, claim_type, state = given.text or "", given.courier, given.claim_type, given.state
within = given.closes_within_days or 0
# a link that changed the URL's filters (a state figure's 只看这些) wins over the open fold's widgets, which keep
# what was picked in them while their keys live
if st.session_state.get("c_url_seen") != given:
    for key in ("c_text", "c_courier", "c_type", "c_state", "c_within"):
        st.session_state.pop(key, None)
    st.session_state["c_url_seen"] = given
with lazy_fold(b.t("filters"), key="c_filters") as filters_open:
    if filters_open:
        c = st.columns([3, 2, 2, 2, 2])
        text = c[0].text_input(b.t("ledger_search"), value=given.text or "", key="c_text", max_chars=200)
        with c[1]:
            # 未发货 (NO_COURIER) while a claim has no courier: a 发货延迟 claim of an order not shipped (yet, or
            # ever: closed before it shipped)
            waiting = [NO_COURIER] if b.read("claims_without_courier", ttl=300) else []
            couriers = [*sorted(b.settings.couriers), *waiting]
            courier = choice(b.t("courier"), couriers, given.courier, "c_courier", b.courier)
        with c[2]:
            claim_type = choice(
                b.t("claim_type"),
                TYPES,
                given.claim_type,
                "c_type",
                lambda v: claim_type_label(v, b.lang),
            )
        with c[3]:
            state = choice(
                b.t("state"),
                [CLAIMABLE, SUBMITTED, *ClaimState],
                given.state,
                "c_state",
                lambda v: ledger_state_words(v, b.lang),
            )
        within = c[4].number_input(
            b.t("closes_within"),
            min_value=0,
            max_value=366,
            value=given.closes_within_days or 0,
            step=1,
            key="c_within",
        )
f = replace(  # a scorecard's filters (filed, shipping days) have no widget: kept as the link gave them
    given,
    text=text.strip() or None,
    courier=courier or None,
    claim_type=claim_type or None,
    state=state or None,
    closes_within_days=int(within) or None,
)
SCOPE_KEYS = ("parcel", "filed", "shipped_from", "shipped_to")  # a parcel's, a scorecard's: no widget in the fold
if any(key in f.params() for key in SCOPE_KEYS):  # said in words, with the way to drop them
    scope = []
    if f.parcel is not None:
        named = b.read("parcel_name", parcel_id=f.parcel)
        if named is None:  # a deleted parcel's link, a hand-made URL: said so (its claims are none)
            scope.append(b.t("scope_no_parcel", id=f.parcel))
        else:
            scope.append(b.t("scope_parcel", waybill=md(named[0]), courier=md(b.courier(named[1]))))
    if f.filed:
        scope.append(b.t("scope_filed"))
    if f.shipped_from or f.shipped_to:
        scope.append(b.t("scope_shipped", start=f.shipped_from or "…", end=f.shipped_to or "…"))
    scope_caption(b, scope)
    unscoped = {k: v for k, v in f.params().items() if k not in SCOPE_KEYS}
    ledger_link(b, b.t("scope_clear"), **unscoped)
if f.params() != given.params():
    set_query_params(b, f.params())
# folded, the filters from a link still say they are there (as the queue's): the fold's own, the scorecard's are
# said above in words
folded = [key for key in f.params() if key not in SCOPE_KEYS]
if folded and not filters_open:
    st.caption(b.t("filters_set", n=len(folded)))

total = b.read("claims_count", f=f, now=b.now)
claims_download(b, total=total, f=f)  # every claim the filters select, not only this page
sums = b.read("claims_total", f=f, now=b.now)
# claims without an amount yet are named, never added as ¥0.00: all of them unknown, the sum is unknown
every_unknown = 0 < sums["unknown"] == total
claimed_sum = b.t("amount_unknown") if every_unknown else yuan(sums["amount"])
total_line = b.t("ledger_total", amount=claimed_sum, paid=yuan(sums["paid_amount"]))
if sums["unknown"] and not every_unknown:
    total_line += f" · {b.t('amounts_unknown_n', n=sums['unknown'])}"
st.caption(total_line)
offset = pager(b, total, key="c_page")
rows = b.read("claims_page", f=f, now=b.now, limit=b.settings.board.page_size, offset=offset)
for r in rows:
    closes = r["filing_closes_at"]
    left = filing_days_left(r["state"], closes, b.now, b.settings.tz)
    r["days_left"] = left  # a number: the column sorts by it
    r["window"] = f"{b.local(r['filing_opens_at'])} ~ {b.local(closes)}" if closes else ""
    # a courier claim still to file always has a window, here counted from a time the parcel lacks (大运险 has none)
    if closes is None and r["state"] in UNFILED_STATES and r["claim_type"] != FREIGHT_INSURANCE:
        r["window"] = b.t("window_unknown")
# ticked in the table itself: a claim is its id, never its label (a label that changed with the claim's
# state once left the browser holding a choice the server no longer knew: TypeError)
# key columns first (charts part, issue 15 item 9): what a phone shows without scrolling the table
picked = pick_table(
    b,
    rows,
    [
        "waybill",
        "courier",
        "claim_type",
        "state",
        "amount",
        "days_left",
        "window",
        "formula",
        "reference_no",
        "paid_amount",
        "reject_reason",
        "id",
    ],
    key="claims_table",
    id_column="id",
    open_parcel=True,
)
selected = [r["id"] for r in picked]
waybills = [r["waybill"] for r in picked]
confirm_pending(b, "claims_table")


def action_bar() -> None:
    """The actions on the ticked claims: file with the reference number, record a payout, reject, withdraw,
    export their packets."""
    c = list(st.columns(4))
    reference = c[0].text_input(b.t("reference_no"), key="c_reference", max_chars=REFERENCE_CHARS)
    amount_text = c[1].text_input(b.t("paid_amount"), key="c_amount")
    paid_on = c[2].date_input(
        b.t("paid_on"), value=b.now.astimezone(b.settings.tz).date(), key="c_paid_on", format=DATE_FORMAT
    )
    reason = c[3].text_input(b.t("reason"), key="c_reason", max_chars=NOTE_CHARS)
    try:  # as every amount is read (tracker.values): no third decimal, nothing negative
        amount: Decimal | None = parse_money(amount_text)
    except ValueProblem:
        amount = None
    day = paid_on if isinstance(paid_on, date) else b.now.astimezone(b.settings.tz).date()

    def pay(i: int, amount=amount, day=day):
        return actions.record_payout(b, i, amount=amount, paid_on=day)

    buttons = st.columns(5)
    bulk = bulk_bar(b, buttons, scope="claims_table", ids=selected, waybills=waybills)

    if amount is None and buttons[1].button(  # not a number: said before anything is asked or run
        b.t("record_payout"), key="c_pay", disabled=not b.can("claim.pay")
    ):
        st.session_state["flash"] = ("error", f"{b.t('paid_amount')}: {md(repr(amount_text))} ({b.t('amount_format')})")
        st.rerun()
    bulk(0, "file", "c_file", "claim.file", lambda i, ref=reference: actions.file_claim(b, i, reference_no=ref))
    if amount is not None:
        bulk(1, "record_payout", "c_pay", "claim.pay", pay)
    bulk(2, "reject", "c_reject", "claim.reject", lambda i, why=reason: actions.reject(b, i, reason=why))
    bulk(
        3, "withdraw", "c_withdraw", "claim.withdraw", lambda i, why=reason: actions.withdraw(b, i, reason=why or None)
    )
    if b.can("claim.export"):
        buttons[4].download_button(
            b.t("export_xlsx"),
            data=actions.export_packets(b, selected),
            # named apart from the ledger's export (claims-<time>.xlsx), and by when, as it is
            file_name=f"claim-packets-{b.now.astimezone(b.settings.tz):%Y%m%d-%H%M}.xlsx",
            mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            key="c_export",
        )


def inputs_form(claim: dict, wanted: dict[str, str]) -> None:
    """The inputs one ticked unfiled claim lacks (`wanted`: claims.service.inputs_missing; 缺参数: the courier's
    freight, the goods value, a contract's fixed amount...), given here as `tracker claims set-input` gives them;
    the claim is computed again with its own table version and says what it comes to, or what it still lacks."""
    cid, waybill = claim["id"], claim["waybill"]
    # each asked as the claim's formula names it (货款金额, 订单金额): the goods value it stands for
    labels = {name: input_label(said, b.lang) for name, said in wanted.items()}
    with st.form(f"c_inputs_{cid}", border=True):
        st.markdown(b.t("give_inputs", waybill=md(waybill)))
        cols = st.columns(len(wanted))
        given = {
            name: cols[i].text_input(labels[name], key=f"c_in_{cid}_{name}", max_chars=32)
            for i, name in enumerate(wanted)
        }
        go = st.form_submit_button(b.t("save_inputs"), disabled=not b.can("claim.set_input"), key=f"c_in_go_{cid}")
    # a parcel column may come by import instead (config/import.toml names its headers), for every claim at once
    headers = [
        b.settings.headers[PARCEL_INPUTS[n]][0] for n in wanted if b.settings.headers.get(PARCEL_INPUTS.get(n, ""))
    ]
    if headers:
        st.caption(b.t("inputs_by_import", headers=" / ".join(md(h) for h in headers)))
    if not go:
        return
    values, bad = {}, []
    for name, typed in given.items():
        if typed.strip():
            try:  # as every amount is read (tracker.values): no third decimal, nothing negative
                values[name] = parse_money(typed)
            except ValueProblem:
                bad.append(f"{labels[name]}: {md(repr(typed))}")
    if bad:
        st.session_state["flash"] = ("error", f"{'; '.join(bad)} ({b.t('amount_format')})")
    elif not values:
        st.session_state["flash"] = ("warning", b.t("inputs_none_given"))
    else:
        set_inputs(cid, waybill, values)
    st.rerun()


def set_inputs(cid: int, waybill: str, values: dict[str, Decimal]) -> None:
    """Store the inputs and say what the claim comes to now (or what it still lacks), naming it by waybill."""
    try:
        after = actions.set_claim_inputs(b, cid, **values)
    except (TrackerError, ValueError) as exc:  # in the board's words, as components.run_action says them
        logging.getLogger("dashboard").warning("inputs of claim %s by %s failed: %s", cid, b.user, exc)
        st.session_state["flash"] = ("error", f"{md(waybill)}: {md(error_text(exc, b.lang, b.settings.tz))}")
        return
    clear_cache()
    if after["amount"] is None:
        still = missing_words(after["formula"], b.lang) or after["missing"] or ""
        st.session_state["flash"] = ("warning", b.t("inputs_still_missing", waybill=md(waybill), missing=md(still)))
        return
    amount, opens = yuan(after["amount"]), after["filing_opens_at"]
    if after["filing_closes_at"] is None:  # it cannot be filed before the parcel has an order time
        done = b.t("inputs_complete_no_window", waybill=md(waybill), amount=amount)
    elif opens is not None and opens > b.now:  # goods_lost, wrong_item...: filing opens 7 days after the order
        done = b.t("inputs_complete_opens", waybill=md(waybill), amount=amount, at=b.local(opens))
    else:
        done = b.t("inputs_complete", waybill=md(waybill), amount=amount)
    st.session_state["flash"] = ("success", done)


# drawn once a claim is ticked (the table's line says to tick them): a first visit draws none of its inputs
if selected:
    action_bar()
    wanted = {r["id"]: inputs_missing(r["formula"], r["missing"]) for r in picked if r["state"] in UNFILED_STATES}
    lacking = [r for r in picked if wanted.get(r["id"])]
    if len(picked) == 1 and lacking:
        inputs_form(lacking[0], wanted[lacking[0]["id"]])
    elif lacking:  # one claim at a time: each parcel has its own freight and value
        st.caption(b.t("inputs_one_at_a_time", n=len(lacking)))
    elif len(picked) == 1 and picked[0]["state"] == ClaimState.needs_config:  # a ratio, a category: not here
        one = picked[0]
        category = next(
            (p.get("category") for p in loads(one["formula"]) or () if p["k"] == "insurance_no_category"), None
        )
        if category:  # a category the insurance table does not list
            st.caption(b.t("inputs_category", category=md(category)))
        elif one["claim_type"] == FREIGHT_INSURANCE:  # no 类目 in the export (the usual case)
            names = tables_of(b.settings).insurance.categories
            st.caption(b.t("inputs_no_category", categories="、".join(md(c) for c in names)))
        else:
            said = missing_words(one["formula"], b.lang) or one["missing"] or ""
            st.caption(b.t("inputs_configuration", missing=md(said), claim_id=one["id"]))


def courier_claims(state: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A reconciliation row's link: that courier's claims in `state` (a ledger state filter)."""
    return lambda row: {"courier": row["courier"], "state": state}


st.subheader(b.t("reconciliation"))
# each count, and the money of exactly those claims, opens them in the ledger above (its total line says the same
# money); what was paid short or over is a part of the paid claims' money, so it opens nothing of its own
reconciled = b.read("reconciliation")
ledger_table(
    b,
    reconciled,
    ["courier", "filed_in_all", "paid", "rejected", "claimed_amount", "paid_amount", "short_paid", "over_paid"],
    key="reconciliation",
    links={
        "filed_in_all": courier_claims(SUBMITTED),
        "claimed_amount": courier_claims(SUBMITTED),
        "paid": courier_claims(ClaimState.paid),
        "paid_amount": courier_claims(ClaimState.paid),
        "rejected": courier_claims(ClaimState.rejected),
    },
)
if reconciled:
    st.caption(b.t("click_reconciliation"))
