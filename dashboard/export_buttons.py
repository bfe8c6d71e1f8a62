"""XLSX exports of the whole filtered set (every page, not the page on screen) for the exception queue and
the claims ledger, and the download buttons the two pages show (docs/exports.md).

The rows come from the table's own query (the queue's filters and sort: dashboard.data._queue_where and
SORTS; the ledger: dashboard.data.claims_page with the same filters), without the page limit but bounded by
[board] export_max_rows; a cut set says so on the page and in the file. The file is built only when the
button is clicked (Streamlit runs the callable then), streamed row by row (tracker/sheets.py).
"""

from __future__ import annotations

import dataclasses
import io
import logging
from collections.abc import Iterator, Mapping
from datetime import datetime, tzinfo
from functools import partial
from typing import Any

from sqlalchemy import Engine, select

from claims.claimable import filing_days_left
from claims.export import formula_text
from dashboard import data
from dashboard.i18n import t
from tracker import labels
from tracker.flags import next_action
from tracker.sheets import XLSX_MIME, Column, local_time, write_table

STREAM_ROWS = 2000  # rows fetched from the database at a time


# --- the exception queue ---------------------------------------------------------------------------------


def queue_rows(
    engine: Engine,
    f: data.QueueFilter,
    *,
    now: datetime,
    sort: str,
    limit: int,
    actions: Mapping[str, Any],
    couriers: Mapping[str, Any],
) -> Iterator[dict]:
    """The queue's rows for filter `f` in the table's order, at most `limit`, streamed from the database, each
    with its next action (tracker/flags/next_action.py)."""
    p, fl = data.PARCEL, data.FLAG
    query = (
        select(
            fl.c.id.label("flag_id"),
            p.c.waybill,
            p.c.order_id,
            fl.c.courier,
            fl.c.kind,
            fl.c.severity,
            fl.c.state,
            fl.c.assignee,
            p.c.shop,
            p.c.province,
            p.c.city,
            p.c.status,
            data._last_update().label("last_update"),
            fl.c.opened_at,
            fl.c.next_action_zh,
            fl.c.next_action_en,
            *next_action.RENDERED_FROM,
            fl.c.note,
        )
        .join(p, p.c.id == fl.c.parcel_id)
        .where(*data._queue_where(f, now=now))
        .order_by(*data.SORTS[sort](), fl.c.id.desc())
        .limit(limit)
    )
    with engine.connect() as conn:
        for row in conn.execution_options(stream_results=True, yield_per=STREAM_ROWS).execute(query):
            out = dict(row._mapping)
            out["next_action_zh"], out["next_action_en"] = next_action.texts_with(
                out, actions=actions, couriers=couriers, now=now
            )
            yield out


def queue_columns(lang: str, couriers: Mapping[str, Any]) -> list[Column]:
    def h(key: str) -> str:
        return t(key, lang)

    return [
        Column("flag_id", h("flag_id"), "number", width=9),
        Column("waybill", h("waybill"), width=20),
        Column("order_id", h("order_id"), width=22),
        Column("courier", h("courier"), words=lambda v: labels.courier_name(couriers, v, lang), width=12),
        Column("kind", h("kind"), words=lambda v: labels.kind_label(v, lang), width=14),
        Column("severity", h("severity"), words=lambda v: labels.severity_label(v, lang), width=8),
        Column("state", h("state"), words=lambda v: labels.state_label(v, lang), width=9),
        Column("assignee", h("assignee"), width=10),
        Column("shop", h("shop"), width=16),
        Column("province", h("province"), width=10),
        Column("city", h("city"), width=10),
        Column("status", h("status"), words=lambda v: labels.status_label(v, lang), width=12),
        Column("last_update", h("last_update"), "time", width=17),
        Column("opened_at", h("opened_at"), "time", width=17),
        Column("next_action_" + ("zh" if lang == "zh" else "en"), h("next_action"), width=48),
        Column("note", h("note"), width=30),
    ]


def queue_xlsx(
    engine: Engine,
    f: data.QueueFilter,
    *,
    now: datetime,
    sort: str,
    lang: str,
    tz: tzinfo,
    couriers: Mapping[str, Any],
    actions: Mapping[str, Any],
    limit: int,
    total: int | None = None,
) -> bytes:
    """The whole filtered queue as XLSX bytes (at most `limit` rows; the notes sheet names the filters)."""
    total = data.queue_count(engine, f, now=now) if total is None else total
    filters = _queue_filters(f, lang, couriers)
    notes = partial(_notes, lang, tz, now=now, total=total, limit=limit, filters=filters)
    out = io.BytesIO()
    write_table(
        out,
        title=t("nav_queue", lang),
        columns=queue_columns(lang, couriers),
        tz=tz,
        rows=queue_rows(engine, f, now=now, sort=sort, limit=limit, actions=actions, couriers=couriers),
        notes=notes,
        notes_title=t("export_notes", lang),
        lang=lang,
    )
    return out.getvalue()


def _queue_filters(f: data.QueueFilter, lang: str, couriers: Mapping[str, Any]) -> list[str]:
    words = {
        "kind": lambda v: labels.kind_label(v, lang),
        "courier": lambda v: labels.courier_name(couriers, data.courier_of(v), lang),  # "-": 未发货
        "state": lambda v: t("unresolved", lang) if v == "unresolved" else labels.state_label(v, lang),
        "assignee": lambda v: t("nobody", lang) if v == "-" else v,
    }
    heads = {"region": "region", "min_age_hours": "min_age", "max_age_hours": "min_age"}
    out = []
    for key, value in f.params().items():
        if key == "max_age_hours":
            out.append(t("below_age", lang, hours=value))
            continue
        out.append(f"{t(heads.get(key, key), lang)}: {words.get(key, str)(value)}")
    return out


# --- the claims ledger -------------------------------------------------------------------------------------


def claims_rows(engine: Engine, *, now: datetime, tz: tzinfo, limit: int, **filters: Any) -> Iterator[dict]:
    """The ledger's rows with its filters (`claims_page`'s own keywords), in its order, at most `limit`,
    fetched STREAM_ROWS at a time; `days_left` as the ledger shows it."""
    offset = 0
    while offset < limit:
        page = data.claims_page(engine, now=now, limit=min(STREAM_ROWS, limit - offset), offset=offset, **filters)
        for row in page:
            row["days_left"] = filing_days_left(row["state"], row.get("filing_closes_at"), now, tz)
            yield row
        if len(page) < STREAM_ROWS:
            return
        offset += len(page)


def claims_columns(lang: str, couriers: Mapping[str, Any]) -> list[Column]:
    def h(key: str) -> str:
        return t(key, lang)

    zh = lang == "zh"
    return [
        Column("id", h("id"), "number", width=8),
        Column("waybill", h("waybill"), width=20),
        Column("order_id", h("order_id"), width=22),
        Column("courier", h("courier"), words=lambda v: labels.courier_name(couriers, v, lang), width=12),
        Column("claim_type", h("claim_type"), words=lambda v: labels.claim_type_label(v, lang), width=14),
        Column("scenario", h("scenario"), words=lambda v: labels.scenario_label(v, lang), width=12),
        Column("state", h("state"), words=lambda v: labels.state_label(v, lang), width=9),
        Column("amount", h("amount"), "money", width=12),
        Column("formula_text", h("formula"), width=60),
        Column("filing_opens_at", h("filing_opens_at"), "time", width=17),
        Column("filing_closes_at", h("filing_closes_at"), "time", width=17),
        Column("days_left", h("days_left"), "number", width=9),
        Column("reference_no", h("reference_no"), width=18),
        Column("filed_at", h("filed_at"), "time", width=17),
        Column("paid_amount", h("paid_amount"), "money", width=12),
        Column("paid_at", h("paid_on"), "time", width=17),
        Column("reject_reason", h("reject_reason"), width=30),
    ] + ([] if zh else [Column("missing", h("missing"), width=24)])


def claims_xlsx(
    engine: Engine,
    *,
    now: datetime,
    lang: str,
    tz: tzinfo,
    couriers: Mapping[str, Any],
    limit: int,
    total: int,
    filters: Mapping[str, Any] | None = None,
) -> bytes:
    """The whole filtered ledger as XLSX bytes (at most `limit` rows). The formula is the Chinese one in zh
    (claims.engine renders both from the same parts); a claim drafted before that was stored shows the
    English one."""
    filters = dict(filters or {})

    def rows() -> Iterator[dict]:
        for row in claims_rows(engine, now=now, tz=tz, limit=limit, **filters):
            row["formula_text"] = formula_text(row, lang)
            yield row

    # a parcel by its courier and waybill, never its row's number
    items = [(k, _parcel_words(engine, v, lang, couriers) if k == "parcel" else v) for k, v in _filter_items(filters)]
    named = [f"{t(CLAIM_FILTER_NAMES.get(k, k), lang)}: {_claim_filter_words(k, v, lang, couriers)}" for k, v in items]
    notes = partial(_notes, lang, tz, now=now, total=total, limit=limit, filters=named)
    out = io.BytesIO()
    write_table(
        out,
        title=t("nav_claims", lang),
        columns=claims_columns(lang, couriers),
        rows=rows(),
        tz=tz,
        notes=notes,
        notes_title=t("export_notes", lang),
        lang=lang,
    )
    return out.getvalue()


def _filter_items(filters: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """The filters that are set, a filter object (a dataclass such as a ledger filter) spelled out field by
    field; the clock (`now`) is not a filter."""
    out: list[tuple[str, Any]] = []
    for key, value in filters.items():
        if isinstance(value, data.LedgerFilter):  # its URL's filters (not the zone it reads days on)
            out += list(value.params().items())
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            out += [(f.name, getattr(value, f.name)) for f in dataclasses.fields(value) if getattr(value, f.name)]
        elif value not in (None, "") and not isinstance(value, datetime):
            out.append((key, value))
    return out


# the ledger's filters as its page names them (dashboard/views/claims.py), where the field's name is not the key
CLAIM_FILTER_NAMES = {
    "text": "ledger_search",
    "closes_within_days": "closes_within",
    "filed": "filter_filed",
    "shipped_from": "filter_shipped_from",
    "shipped_to": "filter_shipped_to",
    "parcel": "filter_parcel",
}


def _parcel_words(engine: Engine, parcel_id: Any, lang: str, couriers: Mapping[str, Any]) -> str:
    named = data.parcel_name(engine, parcel_id=int(parcel_id))
    if named is None:
        return t("scope_no_parcel", lang, id=parcel_id)
    return f"{labels.courier_name(couriers, named[1], lang)} {named[0]}"


def ledger_state_words(value: str, lang: str) -> str:
    """The ledger's state filter in words: a claim state, or one of its groups (data.CLAIMABLE, data.SUBMITTED)."""
    if value == data.CLAIMABLE:
        return t("claimable_state", lang)
    if value == data.SUBMITTED:
        return t("submitted_state", lang)
    return labels.state_label(value, lang)


def _claim_filter_words(key: str, value: Any, lang: str, couriers: Mapping[str, Any]) -> str:
    if key == "state":
        return ledger_state_words(value, lang)
    if key == "courier":
        return labels.courier_name(couriers, data.courier_of(value), lang)  # "-": 未发货
    if key == "claim_type":
        return labels.claim_type_label(value, lang)
    if key == "filed":
        return labels.BOOLEANS[True][0 if lang == "zh" else 1]
    return str(value)


def _notes(
    lang: str, tz: tzinfo, written: int, *, now: datetime, total: int, limit: int, filters: list[str]
) -> list[str]:
    """The notes sheet: when, how many rows the file holds (`written`, counted as written: the page's count was
    read before the click), the cut-off when the filters select more than the limit, the filters."""
    lines = [t("export_made", lang, at=local_time(now, tz)), t("export_rows", lang, n=f"{written:,}")]
    if written >= limit and total > limit:
        lines.append(t("export_cut", lang, n=f"{total:,}", limit=f"{limit:,}"))
    lines.append(t("export_filters", lang) + (": " + "; ".join(filters) if filters else ": " + t("any", lang)))
    return lines


# --- the buttons ---------------------------------------------------------------------------------------------


def failed_export(lang: str, tz: tzinfo) -> bytes:
    """An XLSX whose one line says the export failed and where the details are, in the reader's language."""
    out = io.BytesIO()
    line = [{"message": t("export_failed", lang)}]
    write_table(
        out, title=t("export_notes", lang), columns=[Column("message", "", width=80)], rows=line, tz=tz, lang=lang
    )
    return out.getvalue()


def _button(b: Any, label: str, total: int, make: Any, file_stem: str, key: str) -> None:
    import streamlit as st

    limit = b.settings.board.export_max_rows
    stamp = b.now.astimezone(b.settings.tz).strftime("%Y%m%d-%H%M")
    lang, tz = b.lang, b.settings.tz

    def made() -> bytes:
        """The file, made when the button is pressed (outside the page's error handler): a fault is logged and the
        file says so in the reader's words (Streamlit showed its English 'Failed to generate file for download')."""
        try:
            return make()
        except Exception:
            logging.getLogger("dashboard").exception("export %s by %s failed", file_stem, b.user)
            return failed_export(lang, tz)

    st.download_button(
        f"{label} ({min(total, limit):,})",
        data=made,
        file_name=f"{file_stem}-{stamp}.xlsx",
        mime=XLSX_MIME,
        key=key,
        disabled=total == 0,
        on_click="ignore",
    )
    if total > limit:
        st.caption(b.t("export_cut", n=f"{total:,}", limit=f"{limit:,}"))


def queue_download(b: Any, f: data.QueueFilter, *, sort: str, total: int) -> None:
    """The queue page's button: every row the filters select (not only the page shown), as XLSX."""
    limit = b.settings.board.export_max_rows
    engine, now, lang, tz, couriers = b.engine, b.now, b.lang, b.settings.tz, b.settings.couriers
    actions = b.settings.next_actions

    def make() -> bytes:
        return queue_xlsx(
            engine,
            f,
            now=now,
            sort=sort,
            lang=lang,
            tz=tz,
            couriers=couriers,
            actions=actions,
            limit=limit,
            total=total,
        )

    _button(b, b.t("export_queue"), total, make, "exceptions", "q_export_xlsx")


def claims_download(b: Any, *, total: int, **filters: Any) -> None:
    """The ledger's button: every claim its filters select, as XLSX (claims_page's keywords as filters)."""
    limit = b.settings.board.export_max_rows
    engine, now, lang, tz, couriers = b.engine, b.now, b.lang, b.settings.tz, b.settings.couriers

    def make() -> bytes:
        return claims_xlsx(
            engine, now=now, lang=lang, tz=tz, couriers=couriers, limit=limit, total=total, filters=filters
        )

    _button(b, b.t("export_ledger"), total, make, "claims", "c_export_ledger")
