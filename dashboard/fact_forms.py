"""The parcel page's platform timers (平台时限) and the forms for the facts only people know (issue 16; the
rules they feed are in docs/domain.md): the buyer was reached, a third party or a locker signed (at the
buyer's request or not), the return's weight against the weight shipped, and the platform's events the
timers count from (交易成功, a 未收到货 complaint and its amount changes). Each form calls the service of
tracker/flags/facts.py with the logged-in user as the actor; the CLI calls the same ones."""

from __future__ import annotations

from datetime import UTC, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

import streamlit as st

from dashboard.components import DATE_FORMAT, table
from dashboard.context import Board
from dashboard.i18n import error_text
from tracker import labels
from tracker.errors import TrackerError
from tracker.escape import streamlit_md
from tracker.flags import facts as fact_service
from tracker.notes import NOTE_CHARS
from tracker.rules.model import Fact, ParcelView
from tracker.rules.tmall_timers import late_shipment_exposure, parcel_timers
from tracker.status import Direction, FactKind

# recording a fact is a note on the parcel: whoever may note a flag may record one (tracker/auth.py)
PERMISSION = "flag.note"


def _now() -> datetime:
    from dashboard.actions import _now as now

    return now()


def _view(parcel: dict[str, Any], facts: list[dict[str, Any]]) -> ParcelView:
    """The parcel as the timers read it, from what the page already loaded (no further query)."""
    known = [
        Fact(f["id"], FactKind(f["kind"]), f["recorded_at"], f.get("data") or {})
        for f in facts
        if f["kind"] in FactKind.__members__
    ]
    return ParcelView(
        id=parcel["id"],
        courier=parcel["courier"],
        waybill=parcel["waybill"],
        direction=Direction(parcel["direction"]),
        delivered_at=parcel.get("delivered_at"),
        goods_value=parcel.get("goods_value"),
        facts=tuple(known),
    )


def timer_rows(b: Board, parcel: dict[str, Any], facts: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    """One row per Tmall timer of the parcel: what, from, until (inclusive), open or closed, time left."""
    rows = []
    for deadline in parcel_timers(_view(parcel, facts), b.settings.tmall):
        left = deadline.seconds_left(now)
        rows.append(
            {
                "timer": labels.timer_label(deadline.kind, b.lang),
                "timer_from": deadline.starts_at,
                "timer_until": deadline.due_at,
                "timer_state": labels.timer_state_label("open" if deadline.is_open(now) else "closed", b.lang)
                + (f" · {labels.timer_state_label('extended', b.lang)}" if deadline.extended else ""),
                "timer_left": b.t("timer_left_n", days=left // 86400, hours=left % 86400 // 3600) if left else "",
            }
        )
    return rows


def _timers(b: Board, parcel: dict[str, Any], facts: list[dict[str, Any]]) -> None:
    st.subheader(b.t("platform_timers"))
    rows = timer_rows(b, parcel, facts, _now())
    if rows:
        table(b, rows, ["timer", "timer_from", "timer_until", "timer_state", "timer_left"], key="platform_timers")
    else:
        st.caption(b.t("no_timers"))
    unshipped = parcel["direction"] == str(Direction.outbound) and parcel.get("shipped_at") is None
    if unshipped and parcel.get("goods_value") is not None:
        exposure = late_shipment_exposure(parcel["goods_value"], b.settings.tmall.late_shipment_compensation)
        st.caption(
            b.t(
                "late_exposure",
                cny=f"{exposure.cny:,.2f}",
                points=f"{exposure.points:,}",
                percent=f"{exposure.percent.normalize():f}",
                price=f"{exposure.price:,.2f}",
                cap=f"{exposure.cap:,.2f}",
            )
        )


def _kg(b: Board, text: str, option: str) -> Decimal:
    """A weight typed in kg (1.25, 1.25kg); anything else, a negative weight, nan or inf, refused in the board's
    words (nan was taken, and the page failed on it)."""
    try:
        value = Decimal(text.strip().lower().removesuffix("kg"))
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite() or value < 0:
        raise TrackerError(b.t("kg_format", field=option, value=repr(text)))
    return value


def _run(b: Board, record: Any, **kw: Any) -> None:
    try:
        record(b.engine, actor=b.user, now=_now(), **kw)
    except TrackerError as exc:  # shown as text (it may repeat what was typed), in the board's words when coded
        st.error(streamlit_md(error_text(exc, b.lang, b.settings.tz) if exc.code else str(exc)))
        return
    st.success(b.t("fact_recorded"))


def _when(b: Board, key: str) -> datetime | None:
    day = st.date_input(b.t("fact_date"), value=None, key=f"{key}_day", format=DATE_FORMAT)
    at = st.time_input(b.t("fact_time"), value=time(0), key=f"{key}_time")
    if day is None:
        return None  # now
    return datetime.combine(day, at, tzinfo=b.settings.tz).astimezone(UTC)


PLATFORM_EVENTS = {
    "trade_succeeded": fact_service.trade_succeeded,
    "complaint_opened": fact_service.complaint_opened,
    "complaint_amount_changed": fact_service.complaint_amount_changed,
}


def _forms(b: Board, parcel: dict[str, Any]) -> None:
    st.subheader(b.t("record_more_facts"))  # beside parcel_actions' 记录情况 (loss, not received, return agreed)
    allowed = b.can(PERMISSION)
    waybill, courier = parcel["waybill"], parcel["courier"]
    one = {"waybill": waybill, "courier": courier}
    # only the chosen tab's form is drawn (choosing one reruns the page): a visit draws one form, not four
    reached, signed, weight, platform = st.tabs(
        [b.t("fact_reached"), b.t("fact_signed"), b.t("fact_return_weight"), b.t("fact_platform")],
        key="ff_tabs",
        on_change="rerun",
    )
    if reached.open:
        with reached, st.form("ff_reached", clear_on_submit=True):
            st.caption(b.t("fact_reached_help"))
            note = st.text_input(b.t("note"), key="ff_reached_note", max_chars=NOTE_CHARS)
            if st.form_submit_button(b.t("record"), disabled=not allowed):
                _run(b, fact_service.buyer_reached, note=note or None, **one)
    if signed.open:
        with signed, st.form("ff_signed", clear_on_submit=True):
            signer = st.text_input(b.t("fact_signer"), key="ff_signer", max_chars=NOTE_CHARS)
            locker = st.checkbox(b.t("fact_locker"), key="ff_locker")
            consent = st.radio(
                b.t("fact_consent"),
                ["no", "yes"],
                key="ff_consent",
                horizontal=True,
                format_func=lambda v: b.t(f"fact_consent_{v}"),
            )
            if st.form_submit_button(b.t("record"), disabled=not allowed):
                _run(
                    b,
                    fact_service.signed_by_other,
                    consent=consent == "yes",
                    signer=signer or None,
                    locker=locker,
                    **one,
                )
    if weight.open:
        with weight, st.form("ff_weight", clear_on_submit=True):
            shipped = st.text_input(b.t("fact_shipped_kg"), key="ff_shipped")
            returned = st.text_input(b.t("fact_returned_kg"), key="ff_returned")
            if st.form_submit_button(b.t("record"), disabled=not allowed):
                try:
                    kg = {
                        "shipped_kg": _kg(b, shipped, b.t("fact_shipped_kg")),
                        "returned_kg": _kg(b, returned, b.t("fact_returned_kg")),
                    }
                except TrackerError as exc:
                    st.error(streamlit_md(str(exc)))  # it repeats what was typed: shown as text
                else:
                    _run(b, fact_service.return_weighed, **kg, **one)
    if platform.open:
        with platform, st.form("ff_platform", clear_on_submit=True):
            event = st.radio(
                b.t("fact_event"), list(PLATFORM_EVENTS), key="ff_event", format_func=lambda v: b.t(f"fact_{v}")
            )
            when = _when(b, "ff_platform")
            if st.form_submit_button(b.t("record"), disabled=not allowed):
                _run(b, PLATFORM_EVENTS[event], at=when, tz=b.settings.tz, **one)


def deadline_text(b: Board, deadline: Any) -> str:
    """E.g. 2026-11-23 21:30 截止 · 未收到货维权协商 (the configured zone): the time first, so the column sorts
    by when the timer runs out (it sorted by the timer's name)."""
    return f"{b.local(deadline.due_at)} {b.t('until_short')} · {labels.timer_label(deadline.kind, b.lang)}"


def with_platform_deadline(b: Board, rows: list[dict[str, Any]], columns: list[str]) -> list[str]:
    """The queue page: each row whose parcel has a Tmall timer still open gets it as `platform_deadline`
    (the soonest); the column is added before the next action when any row has one."""
    from tracker.flags.timers import next_deadlines

    found = next_deadlines(b.engine, {r["parcel_id"] for r in rows}, b.settings.tmall, _now())
    for r in rows:
        deadline = found.get(r["parcel_id"])
        r["platform_deadline"] = deadline_text(b, deadline) if deadline else ""
    if not found:
        return columns
    at = columns.index("next_action") if "next_action" in columns else len(columns)
    return [*columns[:at], "platform_deadline", *columns[at:]]


def show(b: Board, detail: dict[str, Any]) -> None:
    """The parcel page's 平台时限 section and the fact forms (dashboard/views/parcel.py calls this once)."""
    _timers(b, detail["parcel"], detail["facts"])
    _forms(b, detail["parcel"])
