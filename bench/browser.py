"""Driving the board in a real browser, for bench/board.py --browser and bench/screenshots.py: the board
started with `streamlit run` (the command `tracker board` runs) on a free 127.0.0.1 port against a given
database, config and pinned clock; Debian's /usr/bin/chromium through Playwright (never `playwright install`);
a page is rendered when Streamlit's script state is "notRunning", the running indicator is gone and the
page's main content is on screen."""

from __future__ import annotations

import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tracker.commands.board import streamlit_command  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
    "--font-render-hinting=none",
]
DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}
TIMEOUT_MS = 60_000


@dataclass(frozen=True)
class Page:
    """A board page: its name (file names, tables), URL path and the element that says its content is there."""

    name: str
    path: str
    content: str  # a CSS selector


# What each page shows last-but-essential: charts on the overview, tables elsewhere. The overview is the
# default page: its URL is the root ("/overview" sends the browser there, one more script run).
PAGES = (
    Page("overview", "", '[data-testid="stVegaLiteChart"]'),
    Page("queue", "queue", '[data-testid="stDataFrame"]'),
    Page("parcel", "parcel", '[data-testid="stDataFrame"]'),
    Page("claims", "claims", '[data-testid="stDataFrame"]'),
    Page("scorecards", "scorecards", '[data-testid="stDataFrame"]'),
    Page("alerts", "alerts", '[data-testid="stDataFrame"]'),
)


def need_browser() -> None:
    """Exit with one line when the browser or Playwright is missing."""
    if not Path(CHROMIUM).exists():
        sys.exit(f"{CHROMIUM} missing: apt-get install -y chromium fonts-wqy-zenhei")
    try:
        import playwright  # noqa: F401
    except ImportError:
        sys.exit("playwright is not installed: pip install -e '.[test]'")


def login_config(
    target: Path, *, user: str, password: str, open_localhost: bool = False, cache_ttl_seconds: int | None = None
) -> Path:
    """A copy of the project's config/ at `target` with one board user (a lead) and, unless asked, the
    login required (the shipped demo board is open on localhost); with `cache_ttl_seconds`, the board's
    [board] cache_ttl_seconds set to it (0: every visit reads its rows afresh)."""
    from tracker.auth import hash_password, write_user

    shutil.copytree(ROOT / "config", target)
    board_toml = target / "board.toml"
    text = board_toml.read_text(encoding="utf-8")
    if not open_localhost:
        text = text.replace("open_localhost = true", "open_localhost = false")
    if cache_ttl_seconds is not None:
        text, found = re.subn(r"(?m)^cache_ttl_seconds = \d+$", f"cache_ttl_seconds = {cache_ttl_seconds}", text)
        if found != 1:
            sys.exit(f"{board_toml}: no `cache_ttl_seconds = N` line to set")
    board_toml.write_text(text, encoding="utf-8")
    write_user(board_toml, user, role="lead", password_hash=hash_password(password))
    return target


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def board_server(*, database_url: str, config_dir: Path, now: datetime, app: Path | None = None) -> Iterator[str]:
    """The board (or `app`, served the same way) on a free 127.0.0.1 port for the `with` block; yields its
    base URL. Its log goes to a temporary file, shown when it fails to start."""
    port = _free_port()
    env = {
        **os.environ,
        "TRACKER_CONFIG_DIR": str(config_dir),
        "TRACKER_DATABASE_URL": database_url,
        "TRACKER_NOW": now.isoformat(),
    }
    with tempfile.NamedTemporaryFile("w+", suffix=".log") as log:
        proc = subprocess.Popen(streamlit_command(port, app), stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, env=env)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 90
            while True:
                try:
                    with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as reply:
                        if reply.read() == b"ok":
                            break
                except OSError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    raise RuntimeError(f"the board did not start:\n{log.read()[-4000:]}")
                time.sleep(0.2)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


def rendered(page: Any, content: str | None = None, timeout_ms: int = TIMEOUT_MS) -> None:
    """Wait until the script run is over (stApp script state notRunning, running indicator hidden), a page
    title (h1) is shown and, when given, the `content` selector is visible."""
    from playwright.sync_api import expect

    app = page.locator('[data-testid="stApp"]')
    expect(app).to_have_attribute("data-test-script-state", "notRunning", timeout=timeout_ms)
    expect(page.get_by_test_id("stStatusWidget")).to_be_hidden(timeout=timeout_ms)
    expect(page.locator("h1").first).to_be_visible(timeout=timeout_ms)
    if content:
        expect(page.locator(content).first).to_be_visible(timeout=timeout_ms)


def log_in(page: Any, base: str, *, user: str, password: str, path: str = "") -> None:
    """Open `path` and log in through the board's form (the URL stays the page asked for)."""
    from playwright.sync_api import expect

    page.goto(f"{base}/{path}")
    field = page.locator('[data-testid="stTextInput"] input').first
    expect(field).to_be_visible(timeout=TIMEOUT_MS)
    inputs = page.locator('[data-testid="stTextInput"] input')
    inputs.nth(0).fill(user)
    inputs.nth(1).fill(password)
    page.locator('[data-testid="stFormSubmitButton"] button').first.click()
    expect(page.locator('[data-testid="stSidebar"]')).to_be_attached(timeout=TIMEOUT_MS)


def overflow(page: Any) -> dict[str, Any]:
    """How far the page runs past the window sideways: the document's scroll width and the main area's
    (Streamlit scrolls inside stMain) against the window's, and the elements whose right edge is beyond
    the window, outside the dataframes (they scroll inside themselves)."""
    return page.evaluate(
        """() => {
        const width = window.innerWidth;
        const main = document.querySelector('[data-testid="stMain"]');
        const out = [];
        for (const el of document.querySelectorAll('[data-testid="stMain"] *')) {
            if (el.closest('[data-testid="stDataFrame"]')) continue;
            const box = el.getBoundingClientRect();
            if (box.width === 0 || box.height === 0) continue;
            const style = getComputedStyle(el);
            if (style.visibility === 'hidden' || style.display === 'none') continue;
            if (box.right > width + 1 || box.left < -1) {
                out.push({tag: el.tagName, testid: el.getAttribute('data-testid') || '',
                          text: (el.innerText || '').slice(0, 40), left: Math.round(box.left),
                          right: Math.round(box.right)});
            }
        }
        return {inner: width, scroll: document.documentElement.scrollWidth,
                main: main ? main.scrollWidth - main.clientWidth : 0, past: out.slice(0, 10)};
    }"""
    )


def cut_texts(page: Any) -> list[str]:
    """The texts of the page's links (st.page_link) and figures' labels and notes (st.metric) that do not fit
    their box: Streamlit draws each on one line, hides a link's rest without a sign (a waybill read "434" of
    4348549933320) and ends a label with "…" (a figure that no longer says what it counts)."""
    return page.evaluate(
        """() => {
        const out = [];
        const boxes = ['stPageLink-NavLink', 'stMetricLabel', 'stMetricDelta']
            .map(id => `[data-testid="${id}"]`).join(', ');
        for (const box of document.querySelectorAll(boxes)) {
            for (const el of [box, ...box.querySelectorAll('*')]) {
                if (el.scrollWidth > el.clientWidth + 1 || el.scrollHeight > el.clientHeight + 1) {
                    out.push(box.innerText);
                    break;
                }
            }
        }
        return out;
    }"""
    )


def figure_tops(page: Any) -> list[int]:
    """Where each figure (st.metric's value) of the page starts, in pixels from the top of the window."""
    return page.evaluate(
        """() => Array.from(document.querySelectorAll('[data-testid="stMetricValue"]'))
            .map(e => Math.round(e.getBoundingClientRect().top))"""
    )


def whole_page(page: Any, path: Path, viewport: dict[str, int]) -> None:
    """A screenshot of the whole page: Streamlit scrolls inside its main area, not the document, so the
    window is made as tall as that area's content first (then set back)."""
    height = page.evaluate(
        """() => Math.max(document.documentElement.scrollHeight,
            ...Array.from(document.querySelectorAll('[data-testid="stMain"], [data-testid="stMain"] *'))
                .filter(e => ['auto', 'scroll'].includes(getComputedStyle(e).overflowY))
                .map(e => e.scrollHeight))"""
    )
    page.set_viewport_size({"width": viewport["width"], "height": max(viewport["height"], int(height))})
    page.wait_for_timeout(600)  # charts re-fit to the new size
    page.screenshot(path=path, full_page=True)
    page.set_viewport_size(viewport)


# `rendered` as one check the browser makes on every frame (Playwright's own retries wait up to a second)
DONE = """content => {
    const app = document.querySelector('[data-testid="stApp"]');
    if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
    const status = document.querySelector('[data-testid="stStatusWidget"]');
    if (status && status.getBoundingClientRect().height > 0) return false;
    const h1 = document.querySelector('[data-testid="stMain"] h1');
    if (!h1 || h1.getBoundingClientRect().height === 0) return false;
    if (!content) return true;
    const el = document.querySelector(content);
    return !!el && el.getBoundingClientRect().height > 0;
}"""


# The baseline page (bench/board.py --browser): the least a Streamlit page costs on this machine, served by the
# same `streamlit run` options as the board: a title and a three-row table, nothing read.
BASELINE_APP = ROOT / "bench" / "baseline_page.py"
BASELINE = Page("baseline", "", '[data-testid="stDataFrame"]')
# A second reference: the overview's four charts alone, as the board reads and builds them (bench/charts_page.py)
CHARTS_APP = ROOT / "bench" / "charts_page.py"
CHARTS = Page("charts_only", "", '[data-testid="stVegaLiteChart"]')
REFERENCES = ((BASELINE, BASELINE_APP), (CHARTS, CHARTS_APP))


def _visit(context: Any, url: str, content: str | None) -> float:
    """Seconds from opening `url` in a new tab (a new Streamlit session) until the page is rendered (DONE)."""
    page = context.new_page()
    start = time.perf_counter()
    page.goto(url, wait_until="commit")
    page.wait_for_function(DONE, arg=content or "", polling="raf", timeout=TIMEOUT_MS)
    seconds = time.perf_counter() - start
    page.close()
    return seconds


def time_pages(
    *, database_url: str, config_dir: Path, now: datetime, query: dict[str, str], runs: int = 3
) -> list[dict[str, Any]]:
    """Each page's first render in Chromium at 1440x900, as a lead opening its link: a new tab (a new Streamlit
    session) per visit, timed from the navigation until `rendered`. `query`: page name -> query string (the
    parcel page's ?id=). The first rows are the reference pages (REFERENCES: the baseline page, then the
    overview's charts alone), each served alongside by its own server.

    Every page is opened once, untimed: the board's Python is loaded and the browser holds all of its static
    files, as on a board that has been up a while and a lead's browser after a first visit (without this the
    first page with a chart paid alone for the code Streamlit loads only then). Then `runs` rounds, each the
    reference pages and then every board page once; per page the median ("first") and the fastest. References
    and board share each round's machine load, and the median leaves out a round a busy moment spoiled. For
    each visit to read its rows afresh, as the first render after the board's cache expired does, give the
    board a config whose [board] cache_ttl_seconds is 0 (bench/board.py does)."""
    from playwright.sync_api import sync_playwright

    pages = (*((target, "") for target, _ in REFERENCES), *((target, query.get(target.name, "")) for target in PAGES))
    times: dict[str, list[float]] = {target.name: [] for target, _ in pages}
    with sync_playwright() as p, ExitStack() as servers:
        bases = {
            target.name: servers.enter_context(
                board_server(database_url=database_url, config_dir=config_dir, now=now, app=app)
            )
            for target, app in REFERENCES
        }
        board = servers.enter_context(board_server(database_url=database_url, config_dir=config_dir, now=now))
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        try:
            # one context: its HTTP cache keeps Streamlit's scripts, as a lead's browser does; each tab is
            # its own Streamlit session all the same
            context = browser.new_context(viewport=DESKTOP)
            urls = {target.name: f"{bases.get(target.name, board)}/{target.path}{tail}" for target, tail in pages}
            for target, _ in pages:  # untimed
                _visit(context, urls[target.name], target.content)
            for _ in range(max(runs, 1)):
                for target, _ in pages:
                    times[target.name].append(_visit(context, urls[target.name], target.content))
        finally:
            browser.close()
    return [
        {"page": name, "first": statistics.median(seconds), "fastest": min(seconds)} for name, seconds in times.items()
    ]
