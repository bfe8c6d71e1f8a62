"""The board's entrypoint: log in, then route with st.navigation (views live in dashboard/views/).

Run it with `tracker board`: the board's server process (dashboard/server.py) with its options
(tracker/commands/board.py). `streamlit run dashboard/app.py` serves it too, without them."""

import logging
import sys
from collections.abc import Callable
from pathlib import Path

import streamlit as st

# `streamlit run` puts dashboard/ on sys.path, not the project: make `import dashboard` work either way
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dashboard.components import bad_params, flash, keep_language, logged_in, login_form, sidebar  # noqa: E402
from dashboard.context import board  # noqa: E402
from dashboard.i18n import error_text  # noqa: E402
from tracker.errors import TrackerError  # noqa: E402
from tracker.escape import streamlit_md  # noqa: E402
from tracker.redact import install  # noqa: E402

install()  # secrets never reach the server's log, whatever level it is turned up to

st.set_page_config(page_title="物流异常看板 / Parcel exceptions", layout="wide")
# no English "Download as CSV" on every table: exports are the pages' own XLSX buttons (Chinese headers)
st.set_option("client.disableDataExport", True)
# no traceback in the browser whatever starts the board (`tracker board` says so too; `streamlit run` would not)
st.set_option("client.showErrorDetails", "type")
# nor Streamlit's English "Press Enter to apply / to submit form" under text inputs (the buttons say it). A link's
# words and a figure's label wrap in a narrow column: Streamlit draws them on one line, hides the rest of a link
# without a sign (the overview's soonest claim deadline showed its waybill 4348549933320 as "434") and ends a
# label or the note under its figure with "…" (in English at 1280 px: "Parcels turning stale in the nex…", at
# 1024 px "Alerts failed toda…"). Its own rules for them are more specific, hence !important. Side by side (the
# columns stack below 640 px) every label keeps two lines' room, so the figures of a row stay level when one
# label wraps (at 1280 px in English two of the overview's four did, and their figures sat 14 px lower).
st.html(
    "<style>[data-testid='InputInstructions']{display:none}"
    "[data-testid='stPageLink-NavLink'],[data-testid='stPageLink-NavLink'] *{white-space:normal;height:auto}"
    "[data-testid='stMetricLabel'],[data-testid='stMetricLabel'] *,"
    "[data-testid='stMetricDelta'],[data-testid='stMetricDelta'] *"
    "{white-space:normal !important;height:auto !important;overflow:visible !important}"
    "@media (min-width:641px){[data-testid='stMetricLabel']{min-height:2.75em !important}}</style>"
)

# The pages are registered before the login so the URL a person came with (an alert's deep link,
# /parcel?waybill=X) stays the page's URL while they log in, and opens once they have.
try:
    # a config file that does not validate (an edit while the board runs is read within a minute), a bad
    # database URL, an unreachable server or a missing SQLite file: one line, before anything reads them
    lang_problems = keep_language()  # ?lang=en: a reload or a shared link keeps the language
    signed_in = logged_in()  # first: the board names who is signed in (open on localhost: the local user)
    b = board()
    _ = b.engine  # opening it is the check (`streamlit run` without the board's options would show a bare expression)
except TrackerError as exc:
    st.error(streamlit_md(str(exc)))
    st.stop()
# The overview is the board's root (/). Its url_path only names it to Streamlit, which serves the default page
# at / alone: /overview, as a lead would type it after /queue and /claims, got Streamlit's English "Page not
# found". That path is a hidden page that sends them to /, with the URL's parameters (?lang=en).
overview = st.Page("views/overview.py", title=b.t("nav_overview"), url_path="board-overview", default=True)


def to_overview() -> None:
    st.switch_page(overview, query_params=st.query_params.to_dict())


views = [
    overview,
    st.Page("views/queue.py", title=b.t("nav_queue"), url_path="queue"),
    st.Page("views/parcel.py", title=b.t("nav_parcel"), url_path="parcel"),
    st.Page("views/claims.py", title=b.t("nav_claims"), url_path="claims"),
    st.Page("views/scorecards.py", title=b.t("nav_scorecards"), url_path="scorecards"),
    st.Page("views/alerts.py", title=b.t("nav_alerts"), url_path="alerts"),
    st.Page(to_overview, title=b.t("nav_overview"), url_path="overview", visibility="hidden"),
]


def shown_safely(run: Callable[[], object], what: str) -> None:
    """Run one part of the page; an error in it is one line in the browser (no traceback, no file paths), the
    whole story in the server's log: a service's own error in the board's words (dashboard/i18n.py error_text),
    else the one generic line."""
    try:
        run()
    except Exception as exc:  # st.stop/st.rerun are BaseException and pass through
        logging.getLogger("dashboard").exception("%s failed", what)
        st.error(
            streamlit_md(error_text(exc, b.lang, b.settings.tz)) if getattr(exc, "code", None) else b.t("page_failed")
        )


if not signed_in:
    st.navigation(views, position="hidden")
    shown_safely(login_form, "login form")  # its attempts are read and written in the database
    st.stop()
page = st.navigation(views)
shown_safely(lambda: sidebar(b), "sidebar")  # its search reads the database
bad_params(b, lang_problems)
flash()
shown_safely(page.run, f"page {page.url_path}")
