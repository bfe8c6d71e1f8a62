"""Render helpers shared by the views: login, sidebar, tables in the configured zone and language,
metric links to the filtered queue, and the action runner (service call per row, audit under the user)."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pandas as pd
import streamlit as st
from sqlalchemy.exc import InterfaceError, OperationalError

from dashboard import data
from dashboard.context import LANG_KEY, Board, board, precise_now, settings
from dashboard.i18n import LANGS, error_text, t, value_label
from tracker.auth import LoginAttempt, LoginPolicy, lockout_until, verify_password
from tracker.domain import AWAITING_COURIER
from tracker.errors import TrackerError
from tracker.escape import streamlit_md as md
from tracker.storage.repo import record_audit

QUEUE_PAGE = "views/queue.py"
PARCEL_PAGE = "views/parcel.py"
LEDGER_PAGE = "views/claims.py"
ALERTS_PAGE = "views/alerts.py"
# how every st.date_input shows its day (2026-11-23, as the tables show dates). Streamlit has no locale for
# its calendar: the month and weekday names in the picker stay English (streamlit/streamlit#12699).
DATE_FORMAT = "YYYY-MM-DD"


def logged_in() -> bool:
    """True when someone is logged in (or the board is open on localhost)."""
    s = settings()
    if st.session_state.get("user"):
        return True
    if s.board.open_localhost:
        st.session_state.update(user=s.board.local_user, role="lead")
        return True
    return False


def client_address(header: str) -> str:
    """The client's address: the first entry of the configured proxy header, else the connection's peer."""
    if header:
        value = st.context.headers.get(header)
        forwarded = value.split(",")[0].strip() if isinstance(value, str) else ""
        if forwarded:
            return forwarded[:64]
    peer = st.context.ip_address
    return peer[:64] if isinstance(peer, str) and peer else "unknown"  # unknown in AppTest (no connection)


def login_form() -> None:
    """The login form. Failed logins are limited per user name and per client address (tracker.auth
    lockout_until over the audit log) and recorded there; a locked login is refused without a check."""
    s = settings()
    b = board()
    st.title(b.t("app_title"))
    if not s.board.users:
        st.error(b.t("no_users"))
        return
    with st.form("login"):
        name = st.text_input(b.t("user"), key="login_user", max_chars=64)
        password = st.text_input(b.t("password"), type="password", key="login_password", max_chars=1024)
        submitted = st.form_submit_button(b.t("login"))
    if not submitted:
        return
    name = name.strip()
    address = client_address(s.board.login.client_address_header)
    now = precise_now()
    policy = LoginPolicy.of(s.board.login)
    attempts = data.login_attempts(b.engine, since=now - policy.window)
    locked = lockout_until(attempts, user=name, address=address, now=now, policy=policy)
    if locked is not None:
        st.error(b.t("locked_out", minutes=max(1, -(-int((locked - now).total_seconds()) // 60))))
        return
    user = s.board.users.get(name)
    ok = bool(verify_password(password, user.password_hash if user else None) and user)
    this = LoginAttempt(at=now, user=name, address=address, ok=ok)
    detail: dict[str, Any] = {"address": address}
    if not ok:
        until = lockout_until([*attempts, this], user=name, address=address, now=now, policy=policy)
        detail["locked_until"] = until.isoformat() if until else None
    record_audit(
        b.engine,
        at=now,
        actor=name[:64] or "-",
        action="login" if ok else "login_failed",
        entity=data.LOGIN_ENTITY,
        detail=detail,
    )
    if ok and user:
        st.session_state.update(user=name, role=user.role)
        st.rerun()
    st.error(b.t("bad_login"))


def sidebar(b: Board) -> None:
    """Language switch, waybill/order search (from every page), who is logged in."""
    with st.sidebar:
        st.session_state["lang"] = b.lang  # the widget shows the session's language (LANG_KEY), set before it
        st.selectbox(
            b.t("language"),
            LANGS,
            key="lang",
            on_change=_language_chosen,
            format_func=lambda code: {"zh": "中文", "en": "English"}[code],
        )
        with st.form("search", clear_on_submit=False, border=False):
            text = st.text_input(b.t("search"), key="search_text")
            go = st.form_submit_button(b.t("search_button"))
        if go and text.strip():  # one match opens it; several are listed on the parcel page to pick from
            found = b.read("find_parcels", ttl=0, text=text)
            if len(found) == 1:
                st.switch_page(PARCEL_PAGE, query_params=link_params(b, id=found[0]["id"]))
            elif found:
                st.switch_page(PARCEL_PAGE, query_params=link_params(b, q=data.search_text(text)))
            else:  # what was looked for, named (unless it is no number a person typed)
                shown = data.search_text(text)
                named = shown if shown and len(shown) <= 64 and shown.isprintable() else None
                st.warning(b.t("not_found_for", text=md(named)) if named else b.t("not_found"))
        st.caption(f"{b.t('signed_in_as')}: {md(b.user)} ({value_label('role', b.role, b.lang)})")
        if not settings().board.open_localhost and st.button(b.t("logout"), key="logout"):
            for key in ("user", "role"):
                st.session_state.pop(key, None)
            st.rerun()


def bad_params(b: Board, problems: Sequence[data.ParamProblem]) -> None:
    """One line per URL parameter the page ignored: which, its value (escaped, cut short) and why."""
    for p in problems:
        value = p.value if len(p.value) <= 40 else p.value[:40] + "…"
        reason = b.t(p.reason, limit=p.limit) if p.limit is not None else b.t(p.reason)
        st.warning(b.t("bad_param", param=md(p.param), value=md(value), reason=reason))


@contextmanager
def lazy_fold(label: str, *, key: str) -> Iterator[bool]:
    """A folded section whose content the page draws only while it is open (yields whether it is): opening
    it reruns the page, so a first render draws none of its widgets (Streamlit's state-tracking expander;
    session_state[key] is True while open). Keep `label` fixed: Streamlit takes a new label for a new fold,
    closed. A value the section's widgets set must outlive them while it is folded (the URL, the session)."""
    with st.expander(label, key=key, on_change="rerun") as fold:
        yield bool(fold.open)


def lazy_tabs(b: Board, labels: Sequence[str], *, key: str) -> list[tuple[str, Any]]:
    """Tabs labelled b.t(label) for each of `labels` (keys of dashboard/i18n.py), of which the page draws only
    the chosen one: returns the open tab as [(label, container)] (Streamlit's state-tracking tabs: choosing one
    reruns the page; session_state[key] holds the chosen tab's text). A tab is known by its text, so after a
    change of language the chosen one is renamed first and stays chosen."""
    chosen = st.session_state.get(key)
    for label in labels:
        if chosen in {t(label, lang) for lang in LANGS}:
            st.session_state[key] = b.t(label)
    tabs = st.tabs([b.t(label) for label in labels], key=key, on_change="rerun")
    return [(label, tab) for label, tab in zip(labels, tabs, strict=True) if tab.open]


def parcel_link(b: Board, label: str, *, parcel_id: int) -> None:
    """A link to a parcel's page; `label` is Markdown (values from outside through streamlit_md first)."""
    st.page_link(PARCEL_PAGE, label=label, query_params=link_params(b, id=parcel_id))


def queue_link(b: Board, label: str, **params: Any) -> None:
    """A link to the exception queue filtered by `params` (they become URL query parameters); `label` is
    Markdown: any value from outside in it goes through streamlit_md first."""
    st.page_link(QUEUE_PAGE, label=label, query_params=link_params(b, **params))


def courier_slugs(b: Board) -> set[str]:
    """The couriers a URL may name: the configured ones and those stored parcels still name (the filters'
    choices, which the overview's links come from). Not data.NO_COURIER (未发货): the queue and the ledger
    take it themselves; a scorecard's list of shipped parcels has none."""
    return {*b.settings.couriers, *b.read("distinct_values", ttl=300, column="courier")} - {data.NO_COURIER}


def alerts_link(b: Board, label: str, **params: Any) -> None:
    """A link to the alert log filtered by `params` (state, day=today); `label` is Markdown."""
    st.page_link(ALERTS_PAGE, label=label, query_params=link_params(b, **params))


def plain(b: Board, value: Any, column: str = "") -> Any:
    """A table cell as a person reads it: times in the configured zone, money in yuan to the cent, couriers by
    name (config/couriers.toml), every other code in words (dashboard/i18n.py value_label)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return b.local(value)
    if isinstance(value, Decimal):  # money, as the headline cards write it: ¥1,234.50
        return yuan(value)
    if column == "courier" and isinstance(value, str):
        return b.courier(value)
    if isinstance(value, dict):
        return value_label(column, {k: _detail_value(b, k, v) for k, v in value.items()}, b.lang)
    if isinstance(value, bool | str):
        return value_label(column, value, b.lang)
    return value


def _detail_value(b: Board, key: str, value: Any) -> Any:
    """A value inside an audit detail or a fact's data: times in the zone (they are stored as ISO text)."""
    if isinstance(value, str) and (key == "at" or key.endswith(("_at", "_until", "deadline"))):
        try:
            return b.local(datetime.fromisoformat(value))
        except ValueError:
            return value
    if key == "courier" and isinstance(value, str):
        return b.courier(value)
    return value


class Hours(int):
    """Whole hours for a table cell (90 shows 90 小时 / 90 h): a number column, so a click on its header sorts the
    ages by value (as text, 10天 came before 3天)."""


def age_hours(b: Board, last_update: datetime | None) -> Hours | None:
    """How long a parcel has gone without an update, in whole hours (charts part, issue 15 item 9)."""
    if last_update is None:
        return None
    if last_update.tzinfo is None:  # SQLite returns naive UTC from raw SQL expressions
        last_update = last_update.replace(tzinfo=UTC)
    return Hours(max(0, int((b.now - last_update).total_seconds() // 3600)))  # a clock ahead: none yet


# money in a table's number column, as plain() and the cards write it (¥1,234.50); Streamlit's printf format
MONEY_FORMAT = "¥%,.2f"
NO_VALUE = ""  # what a number column shows for no value (Streamlit's own is the English "None")
SHARE_FORMAT = "%.1f%%"


class Share(float):
    """A share of a whole for a table cell (0.125 shows 12.5%): a number column, so it sorts by value."""


def _frame(b: Board, rows: Sequence[dict[str, Any]], columns: list[str]) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The table's frame and its columns' configuration. Money, counts and shares stay numbers, so a click on
    their header sorts them by value (as text ¥99.00 came after ¥1,000.00 and 10 days before 2), money shown as
    ¥1,234.50, a Share as 12.5% and Hours as 90 小时; every other cell is text as a person reads it (plain)."""
    series, config = [], {}
    for c in columns:
        values = [r.get(c) for r in rows]
        given = [v for v in values if v is not None]
        if given and all(isinstance(v, Decimal) for v in given):
            series.append(pd.array([None if v is None else float(v) for v in values], dtype="Float64"))
            config[b.t(c)] = st.column_config.NumberColumn(format=MONEY_FORMAT)
        elif given and all(type(v) is int for v in given):  # a bool is no count
            series.append(pd.array(values, dtype="Int64"))
        elif given and all(isinstance(v, Hours) for v in given):
            series.append(pd.array([None if v is None else int(v) for v in values], dtype="Int64"))
            config[b.t(c)] = st.column_config.NumberColumn(format=b.t("hours_cell"))
        elif given and all(isinstance(v, Share) for v in given):
            series.append(pd.array([None if v is None else round(float(v) * 100, 10) for v in values], "Float64"))
            config[b.t(c)] = st.column_config.NumberColumn(format=SHARE_FORMAT)
        else:
            series.append(pd.array([plain(b, v, c) for v in values], dtype="string"))
    frame = pd.DataFrame(dict(enumerate(series)))
    frame.columns = [b.t(c) for c in columns]
    return frame, config


def table(b: Board, rows: Sequence[dict[str, Any]], columns: Iterable[str], *, key: str | None = None) -> None:
    """Rows as a dataframe: times in the configured zone, labels in the session's language (an empty table
    says 无, not Streamlit's English "empty")."""
    if not rows:
        st.caption(b.t("none"))
        return
    frame, config = _frame(b, rows, list(columns))
    st.dataframe(frame, hide_index=True, key=key, width="stretch", column_config=config or None, placeholder=NO_VALUE)


def table_key(key: str, rows: Sequence[dict[str, Any]], id_column: str) -> str:
    """The widget key of a ticking table: its rows' ids (in order) and the action generation are part of
    it, so a tick never outlives the rows it was given on (another page, a filter, an action that moved
    or removed rows): the table then starts unticked instead of pointing at whatever row took the place."""
    ids = ",".join(str(r[id_column]) for r in rows)
    digest = hashlib.sha1(ids.encode()).hexdigest()[:12]
    return f"{key}_{st.session_state.get(f'{key}_generation', 0)}_{digest}"


def pick_table(
    b: Board,
    rows: Sequence[dict[str, Any]],
    columns: Iterable[str],
    *,
    key: str,
    id_column: str,
    open_parcel: bool = False,
    wide: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """Rows as a dataframe whose rows are ticked in the table itself (multi-row selection); returns the
    ticked rows. Selection is by row position in `rows` (never by a label that may change), and the widget
    key carries the rows' ids (table_key), so a position always means the row it was ticked on.
    `open_parcel`: a click on a row's waybill cell opens its parcel page (rows carry parcel_id); `wide`:
    columns drawn wide (long texts such as the next action)."""
    columns = list(columns)
    if not rows:
        st.caption(b.t("none"))
        return []
    frame, config = _frame(b, rows, columns)
    config.update({b.t(c): st.column_config.TextColumn(width="large") for c in wide if c in columns})
    event = st.dataframe(
        frame,
        hide_index=True,
        key=table_key(key, rows, id_column),
        width="stretch",
        on_select="rerun",
        selection_mode=["multi-row", "single-cell"] if open_parcel else "multi-row",
        column_config=config or None,
        placeholder=NO_VALUE,
    )
    selection = getattr(event, "selection", None)
    if open_parcel:
        open_clicked_parcel(b, rows, getattr(selection, "cells", None) or [], scope=key)
    positions = getattr(selection, "rows", None) or []
    picked = [rows[i] for i in sorted(set(positions)) if isinstance(i, int) and 0 <= i < len(rows)]
    st.caption(b.t("ticked_n", n=len(picked)) if picked else b.t("tick_rows"))
    if open_parcel:
        st.caption(b.t("click_waybill"))
    return picked


@dataclass(frozen=True)
class Pending:
    """A bulk action waiting for its confirmation: what, on which ids (fixed when the button was pressed,
    with the inputs of that moment inside `run`), and their waybills to show."""

    scope: str
    action: str  # its label, in the language of the moment
    ids: tuple[int, ...]
    waybills: tuple[str, ...]
    run: Callable[[int], Any]
    names: Mapping[int, str] = field(default_factory=dict)  # id -> its waybill: a failure names the waybill


def bulk_button(
    b: Board,
    column: Any,
    label: str,
    *,
    key: str,
    scope: str,
    ids: Sequence[int],
    waybills: Sequence[str],
    run: Callable[[int], Any],
    allowed: bool = True,
    always_confirm: bool = False,
) -> None:
    """A bulk action's button: with nothing ticked it says so; with more ticked rows than
    board.confirm_above (or always, for opening claims) it asks first (confirm_pending); else it runs."""
    if not column.button(label, key=key, disabled=not allowed):
        return
    names = dict(zip(ids, waybills, strict=True)) if len(ids) == len(waybills) else {}
    ids, waybills = tuple(dict.fromkeys(ids)), tuple(dict.fromkeys(waybills))
    if ids and (always_confirm or len(ids) > b.settings.board.confirm_above):
        st.session_state[f"{scope}_pending"] = Pending(scope, label, ids, waybills, run, names)
    else:
        run_action(b, ids, run, names)
        _acted(scope)
    st.rerun()


def bulk_bar(
    b: Board, columns: Sequence[Any], *, scope: str, ids: Sequence[int], waybills: Sequence[str]
) -> Callable[[int, str, str, str, Callable[..., Any]], None]:
    """The bulk buttons of the table `scope`, acting on its ticked `ids`: bar(i, label, key, permission, run)
    draws bulk_button number i in `columns`, labelled b.t(label), enabled when the user holds `permission`."""

    def bar(i: int, label: str, key: str, permission: str, run: Callable[..., Any]) -> None:
        # `run` takes the row's id; the views bind their inputs as the lambdas' defaults
        bulk_button(
            b,
            columns[i],
            b.t(label),
            key=key,
            scope=scope,
            ids=ids,
            waybills=waybills,
            run=run,
            allowed=b.can(permission),
        )

    return bar


def confirm_pending(b: Board, scope: str) -> None:
    """The confirmation of a pending bulk action of `scope` (the page's table key): the action, the count
    and every waybill, with confirm and cancel buttons. Confirming runs it on exactly the ids fixed when it
    was asked for."""
    pending: Pending | None = st.session_state.get(f"{scope}_pending")
    if pending is None:
        return
    names = ("、" if b.lang == "zh" else ", ").join(md(w) for w in pending.waybills)
    st.warning(b.t("confirm_bulk", action=pending.action, n=len(pending.ids), waybills=names))
    c = st.columns([1, 1, 4])
    if c[0].button(b.t("confirm"), key=f"{scope}_confirm", type="primary"):
        st.session_state.pop(f"{scope}_pending", None)
        run_action(b, pending.ids, pending.run, pending.names)
        _acted(scope)
        st.rerun()
    if c[1].button(b.t("cancel"), key=f"{scope}_cancel"):
        st.session_state.pop(f"{scope}_pending", None)
        st.rerun()


def _acted(scope: str) -> None:
    """After an action the table starts unticked (a new widget key), and the page's inputs for it may start empty
    (`acted(scope)` says so on the next run, before they are drawn)."""
    st.session_state[f"{scope}_generation"] = st.session_state.get(f"{scope}_generation", 0) + 1
    st.session_state[f"{scope}_acted"] = True


def acted(scope: str) -> bool:
    """Whether an action on the table `scope` ran since the last time this was asked (once per action)."""
    return bool(st.session_state.pop(f"{scope}_acted", False))


def scope_caption(b: Board, parts: Sequence[str]) -> None:
    """What a list is narrowed to, said in words (只列出：…；…): a scorecard's, a parcel's conditions."""
    st.caption(b.t("scope_line", scope=("；" if b.lang == "zh" else "; ").join(parts)))


def pager(b: Board, total: int, *, key: str) -> int:
    """A page number input under a table; returns the row offset."""
    size = b.settings.board.page_size
    pages = max(1, -(-total // size))
    col1, col2 = st.columns([1, 3])
    page = col1.number_input(b.t("page"), min_value=1, max_value=pages, value=1, step=1, key=key)
    col2.caption(b.t("rows_found", n=total) + f" · {page}/{pages}")
    return (int(page) - 1) * size


def run_action(
    b: Board, ids: Sequence[int], action: Callable[[int], Any], names: Mapping[int, str] | None = None
) -> None:
    """Call `action(id)` for each selected id: each its own transaction (a failure names the row, by its
    waybill from `names` when given, and the rest still run), then fresh reads and a short summary kept for
    the next render."""
    if not ids:
        st.session_state["flash"] = ("warning", b.t("select_rows_first"))
        return
    done, problems, nothing = 0, [], []
    for index, item in enumerate(ids):
        try:
            made = action(item)
            if isinstance(made, list) and not made:  # an action that creates (open claims): all there already
                nothing.append(md((names or {}).get(item, str(item))))
            else:
                done += 1
        except (TrackerError, ValueError) as exc:  # in the board's words (the CLI keeps its own)
            logging.getLogger("dashboard").warning("action on %s by %s failed: %s", item, b.user, exc)
            named = (names or {}).get(item, str(item))
            problems.append(f"{md(named)}: {md(error_text(exc, b.lang, b.settings.tz))}")
        except Exception as exc:  # a fault: that row named, the count of the rows done kept
            logging.getLogger("dashboard").exception("action on %s by %s failed", item, b.user)
            named = (names or {}).get(item, str(item))
            problems.append(f"{md(named)}: {b.t('action_fault')}")
            if isinstance(exc, OperationalError | InterfaceError):  # the database locked or gone: each next row
                rest = [md((names or {}).get(i, str(i))) for i in ids[index + 1 :]]  # would wait its own timeout
                if rest:
                    problems.append(b.t("not_tried", names=("、" if b.lang == "zh" else ", ").join(rest)))
                break
    data.clear_cache()
    message = b.t("done_n", n=done)
    if nothing:
        message += " · " + b.t("nothing_new", names=(", " if b.lang == "en" else "、").join(nothing))
    if problems:
        message += f" · {b.t('failed')}: " + "; ".join(problems)
    st.session_state["flash"] = ("error" if problems else "success", message)


def alert_states(rows: list[dict[str, Any]], max_attempts: int) -> None:
    """Alert rows as a person reads them, the alert log and the parcel page alike: when a waiting alert goes next
    (`next_due_at`), and a failed one told apart: given up (out of attempts), or retried in the next held digest
    (`held`, when the rows say). The parcel page called a given-up alert 失败 where the log said 已放弃."""
    from tracker.alerts.store import OUTSTANDING
    from tracker.status import AlertState

    for r in rows:
        gave_up = r["state"] == AlertState.failed and r["attempts"] >= max_attempts
        r["next_due_at"] = r["due_at"] if r["state"] in OUTSTANDING and not gave_up else None
        if gave_up:
            r["state"] = "gave_up"
        elif r["state"] == AlertState.failed and r.get("held"):
            r["state"] = "failed_held"


def flash() -> None:
    """Show (once) the result of the last action."""
    item = st.session_state.pop("flash", None)
    if item:
        kind, message = item
        getattr(st, kind)(message)


# --- links, deep links and the language in the URL (issue 15 item 5, the "actions" part) --------------------


def link_params(b: Board, **params: Any) -> dict[str, str]:
    """Query parameters for a link inside the board: the given ones (None dropped) and the language when it
    is not the configured default, so a link followed, bookmarked or opened in a new tab keeps it."""
    out = {k: str(v) for k, v in params.items() if v is not None}
    if params.get("courier") == AWAITING_COURIER:  # an order awaiting its parcel: the URL's own word for it
        out["courier"] = data.NO_COURIER
    if b.lang != b.settings.board.language:
        out["lang"] = b.lang
    return out


def set_query_params(b: Board, params: dict[str, str]) -> None:
    """Replace the page's URL parameters by `params`, keeping the language (link_params)."""
    st.query_params.from_dict(link_params(b, **params))


def _language_chosen() -> None:
    """The sidebar's language picked: kept under LANG_KEY (the widget's own key is dropped by Streamlit when
    the board moves to another page by st.switch_page, e.g. a waybill clicked in a table)."""
    st.session_state[LANG_KEY] = st.session_state["lang"]


def keep_language() -> list[data.ParamProblem]:
    """The language lives in the URL: ?lang=en (absent: the configured default), so a reload, a bookmark or
    a shared link opens in it. A ?lang that differs from what this session last put there (a new session,
    a link) wins over the session; then the URL is made to say the session's language (page changes clear
    it). Returns a wrong ?lang as a problem to name. The session's language is LANG_KEY's, not the sidebar
    widget's: Streamlit forgets a widget's value on a page change made in code (st.switch_page)."""
    default = settings().board.language
    url = st.query_params.get("lang")
    problems = []
    if url in LANGS and url != st.session_state.get("_lang_url"):
        st.session_state[LANG_KEY] = url
    elif url not in (None, *LANGS):
        problems.append(data.ParamProblem("lang", str(url), "param_choice"))
    lang = st.session_state.get(LANG_KEY, default)
    if lang != default:
        if url != lang:
            st.query_params["lang"] = lang
    elif "lang" in st.query_params:
        del st.query_params["lang"]
    st.session_state["_lang_url"] = lang
    return problems


def open_clicked_parcel(b: Board, rows: Sequence[dict[str, Any]], cells: Sequence[Any], *, scope: str) -> None:
    """A click on a waybill cell (a single-cell selection) opens that row's parcel page in this tab (same
    session: no second login). The table's key moves on first, so coming back does not open it again."""
    waybill = b.t("waybill")
    for row, column in _cells(cells, len(rows)):
        if column == waybill and rows[row].get("parcel_id"):
            _acted(scope)
            st.switch_page(PARCEL_PAGE, query_params=link_params(b, id=rows[row]["parcel_id"]))


def ledger_link(b: Board, label: str, **params: Any) -> None:
    """A link to the claims ledger filtered by `params` (data.LedgerFilter fields); `label` is Markdown."""
    st.page_link(LEDGER_PAGE, label=label, query_params=link_params(b, **params))


def yuan(value: Decimal | None) -> str:
    """Money as a lead reads it: ¥1,234.50 (no amount: empty)."""
    return "" if value is None else f"¥{value:,.2f}"


def parcel_table(b: Board, rows: Sequence[dict[str, Any]], columns: Iterable[str], *, key: str) -> None:
    """Rows about parcels (each with parcel_id and waybill) as a table whose waybill cells open the parcel."""
    cells = _clickable_table(b, rows, list(columns), key=key, ids=[r.get("parcel_id") for r in rows])
    open_clicked_parcel(b, rows, cells, scope=key)


def ledger_table(
    b: Board,
    rows: Sequence[dict[str, Any]],
    columns: Iterable[str],
    *,
    key: str,
    links: Mapping[str, Callable[[dict[str, Any]], dict[str, Any]]],
) -> None:
    """Rows, one per courier, as a table whose cells in the columns of `links` open the claims ledger, filtered
    by what links[column](row) gives (data.LedgerFilter fields): each such cell counts the claims of the list
    it opens, or sums their money."""
    cells = _clickable_table(b, rows, list(columns), key=key, ids=[r.get("courier") for r in rows])
    by_header = {b.t(column): link for column, link in links.items()}
    for row, column in _cells(cells, len(rows)):
        if column in by_header:
            _acted(key)
            st.switch_page(LEDGER_PAGE, query_params=link_params(b, **by_header[column](rows[row])))


def _clickable_table(b: Board, rows: Sequence[dict[str, Any]], columns: list[str], *, key: str, ids: list[Any]) -> Any:
    """Draw `rows` as a table whose cells can be clicked (a single-cell selection); the cells clicked. The widget
    key carries the rows' `ids` and the table's generation, so a click never outlives the rows it was made on."""
    if not rows:  # an empty dataframe says Streamlit's own English "empty"
        st.caption(b.t("none"))
        return []
    digest = hashlib.sha1(repr(ids).encode()).hexdigest()[:12]
    frame, config = _frame(b, rows, columns)
    event = st.dataframe(
        frame,
        hide_index=True,
        key=f"{key}_{st.session_state.get(f'{key}_generation', 0)}_{digest}",
        column_config=config or None,
        placeholder=NO_VALUE,
        width="stretch",
        on_select="rerun",
        selection_mode="single-cell",
    )
    return getattr(getattr(event, "selection", None), "cells", None) or []


def _cells(cells: Sequence[Any], count: int) -> list[tuple[int, str]]:
    """The (row, column header) of each clicked cell as Streamlit gives it (pairs), its row one of the `count`
    drawn; anything else is left out."""
    return [
        (cell[0], cell[1])
        for cell in cells
        if isinstance(cell, (list, tuple))
        and len(cell) == 2
        and isinstance(cell[0], int)
        and isinstance(cell[1], str)
        and 0 <= cell[0] < count
    ]
