"""The parcel page's actions (issue 15, one click to act): per unresolved flag its next action in full and
acknowledge / assign / note / resolve; the facts a person learns (the courier confirmed the loss, the buyer
says it never came, a return was agreed); and opening the claims the flags call for, the amount and formula
shown before the confirmation. Every action goes through dashboard/actions.py as the logged-in user, one
row at a time (components.run_action: a failure is one line, never a traceback).

Other forms join the facts with `FACT_FORMS.append((label_key, form))`: `form(b, parcel)` draws its widgets
inside the expander of that label, once a person opens it (the page's first render draws no fact form)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import streamlit as st

from claims.formula import missing_words
from dashboard import actions
from dashboard.components import DATE_FORMAT, lazy_fold, run_action, table, yuan
from dashboard.context import Board
from dashboard.i18n import kind_label, severity_label, state_label
from tracker.escape import streamlit_md as md
from tracker.flags import next_action
from tracker.notes import NOTE_CHARS
from tracker.status import FlagState


def _run(b: Board, item: int, action: Callable[[int], Any], name: str) -> None:
    """`action` on this page's `item`, its result line naming it as the page shows it (`name`)."""
    run_action(b, [item], action, {item: name})
    st.rerun()


# --- flags -----------------------------------------------------------------------------------------------------

FLAG_BUTTONS = (("ack", "flag.ack"), ("assign", "flag.assign"), ("add_note", "flag.note"), ("resolve", "flag.resolve"))


def flag_actions(b: Board, flag: dict[str, Any]) -> None:
    """One unresolved flag: what it is, its next action whole (not a cut-off table cell), and its actions."""
    fid = flag["id"]
    zh, en = next_action.texts(flag, b.settings, b.now)
    action = zh if b.lang == "zh" else en
    with st.container(border=True):
        head = [
            f"{kind_label(flag['kind'], b.lang)} #{fid}",
            severity_label(flag["severity"], b.lang),
            state_label(flag["state"], b.lang),
        ]
        if flag.get("assignee"):
            head.append(f"{b.t('assignee')}: {md(flag['assignee'])}")
        st.markdown(" · ".join(head))
        st.markdown(f"{b.t('next_action')}: {md(action or '')}")
        if flag.get("note"):  # one line of the caption a line of the note (they ran together into one)
            lines = [md(line) for line in str(flag["note"]).splitlines() if line.strip()]
            st.caption(f"{b.t('note')}: " + "  \n".join(lines))
        with st.form(f"flag_{fid}", border=False, clear_on_submit=True):
            c = st.columns(2)
            note = c[0].text_input(b.t("note"), key=f"p_note_{fid}", max_chars=NOTE_CHARS)
            to = c[1].text_input(b.t("assign_to"), key=f"p_to_{fid}")
            buttons = st.columns(4)
            names = [
                ("ack", "flag.ack"),
                ("assign", "flag.assign"),
                ("add_note", "flag.note"),
                ("resolve", "flag.resolve"),
            ]
            pressed = {
                name: buttons[i].form_submit_button(b.t(name), disabled=not b.can(perm), key=f"p_{name}_{fid}")
                for i, (name, perm) in enumerate(names)
            }
    note = note.strip()
    if pressed["ack"]:
        _run(b, fid, lambda i: actions.acknowledge(b, i, note=note or None), f"#{fid}")
    if pressed["assign"]:
        _run(b, fid, lambda i: actions.assign(b, i, to=to.strip(), note=note or None), f"#{fid}")
    if pressed["add_note"]:
        _run(b, fid, lambda i: actions.add_note(b, i, text=note), f"#{fid}")
    if pressed["resolve"]:
        _run(b, fid, lambda i: actions.resolve(b, i, note=note or None), f"#{fid}")


def flags_section(b: Board, flags: list[dict[str, Any]]) -> None:
    """Every flag in a table, then each unresolved one with its next action and its buttons."""
    table(
        b,
        flags,
        ["id", "kind", "severity", "state", "opened_at", "escalated_at", "resolved_at", "assignee"],
        key="flags",
    )
    for flag in flags:
        if flag["state"] != str(FlagState.resolved):
            flag_actions(b, flag)


# --- facts -----------------------------------------------------------------------------------------------------


def _confirm_loss(b: Board, parcel: dict[str, Any]) -> None:
    with st.form("fact_lost", border=False):
        note = st.text_input(b.t("fact_note_who"), key="f_lost_note", max_chars=NOTE_CHARS)
        go = st.form_submit_button(b.t("fact_lost"), disabled=not b.can("fact.record"))
    if go:
        _run(b, parcel["id"], lambda _: actions.confirm_loss(b, parcel, note=note.strip()), parcel["waybill"])


def _not_received(b: Board, parcel: dict[str, Any]) -> None:
    with st.form("fact_not_received", border=False):
        short = st.checkbox(b.t("fact_short"), key="f_nr_short")
        signer = st.text_input(b.t("fact_signer_shown"), key="f_nr_signer", max_chars=NOTE_CHARS)
        note = st.text_input(b.t("note"), key="f_nr_note", max_chars=NOTE_CHARS)
        go = st.form_submit_button(b.t("fact_not_received"), disabled=not b.can("fact.record"))
    if go:
        _run(
            b,
            parcel["id"],
            lambda _: actions.buyer_not_received(b, parcel, short=short, signer=signer.strip(), note=note.strip()),
            parcel["waybill"],
        )


def _return_agreed(b: Board, parcel: dict[str, Any]) -> None:
    tz = b.settings.tz
    today = b.now.astimezone(tz)
    with st.form("fact_return_agreed", border=False):
        c = st.columns(2)
        day = c[0].date_input(
            b.t("fact_refund_deadline"), value=(today + timedelta(days=2)).date(), key="f_ra_day", format=DATE_FORMAT
        )
        at = c[1].time_input(b.t("time"), value=time(23, 59), key="f_ra_time")
        express = st.checkbox(b.t("fact_express"), key="f_ra_express")
        note = st.text_input(b.t("note"), key="f_ra_note", max_chars=NOTE_CHARS)
        go = st.form_submit_button(b.t("fact_return_agreed"), disabled=not b.can("fact.record"))
    if go:
        deadline = datetime.combine(day, at, tzinfo=tz).astimezone(UTC)
        _run(
            b,
            parcel["id"],
            lambda _: actions.return_agreed(b, parcel, refund_deadline=deadline, express=express, note=note.strip()),
            parcel["waybill"],
        )


# (label key, form): the expanders under "record a fact", in this order
FACT_FORMS: list[tuple[str, Callable[[Board, dict[str, Any]], None]]] = [
    ("fact_lost", _confirm_loss),
    ("fact_not_received", _not_received),
    ("fact_return_agreed", _return_agreed),
]


def facts_section(b: Board, parcel: dict[str, Any]) -> None:
    st.subheader(b.t("record_fact"))
    for label, form in FACT_FORMS:
        with lazy_fold(b.t(label), key=fold_key(label)) as opened:  # the first render draws no fact form
            if opened:
                form(b, parcel)


def fold_key(label: str) -> str:
    """The session key of the fold of the fact form `label` (a FACT_FORMS label key): True while it is open."""
    return f"fact_fold_{label}"


# --- claims ----------------------------------------------------------------------------------------------------


def claims_section(b: Board, parcel: dict[str, Any]) -> None:
    """The claims this parcel's flags call for and it has not got yet: type, amount and formula first, then
    the button, then a confirmation naming the count and the total; confirming opens exactly those types."""
    pid = parcel["id"]
    key = f"open_claims_{pid}"
    proposed = actions.preview_claims(b, pid)
    if not proposed:
        st.caption(b.t("no_claim_to_open"))
        st.session_state.pop(key, None)
        return
    st.markdown(f"**{b.t('claims_to_open')}**")
    total = sum((r["amount"] for r in proposed if r["amount"] is not None), Decimal(0))
    shown = []
    for r in proposed:
        closes = r["filing_closes_at"]
        window = f"{b.local(r['filing_opens_at'])} ~ {b.local(closes)}" if closes else ""
        # what is missing in the page's language (the claim's `missing` column is English, for scripts)
        missing = missing_words(r["formula"], b.lang) or r["missing"]
        shown.append({**r, "window": window, "missing": missing})
    columns = ["claim_type", "amount", "formula", "window"]
    if any(r["missing"] for r in proposed):
        columns.append("missing")
    table(b, shown, columns, key="claims_preview")
    if st.button(b.t("open_claims"), key=f"p_open_{pid}", disabled=not b.can("claim.open")):
        st.session_state[key] = sorted(r["claim_type"] for r in proposed)
    asked = st.session_state.get(key)
    if asked is None:
        return
    if asked != sorted(r["claim_type"] for r in proposed):  # the parcel changed since: ask again on what it is now
        st.session_state.pop(key, None)
        st.rerun()
    confirm = b.t("confirm_open_claims", n=len(proposed), waybill=md(parcel["waybill"]), total=yuan(total))
    unknown = sum(r["amount"] is None for r in proposed)
    if unknown:  # never a missing amount taken as 0 (the ledger's rule)
        confirm += f" ({b.t('amounts_unknown_n', n=unknown)})"
    st.warning(confirm)
    c = st.columns([1, 1, 4])
    if c[0].button(b.t("confirm"), key=f"p_open_confirm_{pid}", type="primary"):
        st.session_state.pop(key, None)
        _run(b, pid, lambda p: actions.open_claims(b, p), parcel["waybill"])
    if c[1].button(b.t("cancel"), key=f"p_open_cancel_{pid}"):
        st.session_state.pop(key, None)
        st.rerun()
