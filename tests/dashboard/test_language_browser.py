"""English stays English when the board moves a lead to another page in code (st.switch_page): a waybill
clicked in the queue's table or the alert log, the sidebar search, a bar clicked on the overview. Streamlit forgets a widget's
value on such a page change, and the board used to fall back to Chinese there (the sidebar's language
picker was where the language lived). The sidebar names who is signed in from the first page on.

In Chromium against `streamlit run` (the board open on localhost, as `make run` serves it); skips outside CI
when /usr/bin/chromium or playwright is missing (test_browser.py's fixtures)."""

from __future__ import annotations

from bench.browser import DESKTOP, rendered
from dashboard.i18n import t
from tests.dashboard.test_browser import open_server, server  # noqa: F401  (the fixtures)
from tests.hostile.test_board_browser import playwright_browser  # noqa: F401  (the fixture)

TABLE = '[data-testid="stDataFrame"]'
CHART = '[data-testid="stVegaLiteChart"]'


def _english(page) -> None:
    """The page and its sidebar read English, and the URL says so (a reload or a copied link keeps it)."""
    from playwright.sync_api import expect

    sidebar = page.get_by_test_id("stSidebar")
    expect(sidebar.get_by_text(t("language", "en"), exact=True)).to_be_visible(timeout=30_000)
    expect(sidebar.get_by_text(t("language", "zh"), exact=True)).to_have_count(0)
    assert "lang=en" in page.url, page.url


def test_english_survives_the_jumps_the_board_makes(open_server, playwright_browser):  # noqa: F811
    from playwright.sync_api import expect

    page = playwright_browser.new_context(viewport=DESKTOP).new_page()

    # the first page of a visit names the local user (it read "Signed in as: ()" before any click)
    page.goto(f"{open_server}/queue?lang=en")
    rendered(page, TABLE)
    expect(page.get_by_test_id("stSidebar")).to_contain_text(f"{t('signed_in_as', 'en')}: local (")
    _english(page)

    # a waybill clicked in the queue's table opens its parcel, in English
    grid = page.get_by_test_id("stDataFrame").first
    box = grid.bounding_box()
    page.mouse.move(box["x"] + 100, box["y"] + 52)  # the first row's waybill (after the tick column)
    page.wait_for_timeout(300)
    page.mouse.click(box["x"] + 100, box["y"] + 52)
    page.wait_for_url("**/parcel?**", timeout=30_000)
    rendered(page, TABLE)
    _english(page)
    expect(page.get_by_test_id("stMain")).to_contain_text(t("status", "en"))

    # the sidebar's search, in English
    page.goto(f"{open_server}/alerts?lang=en")
    rendered(page, TABLE)
    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_label(t("search", "en")).fill("SF1001")
    sidebar.get_by_role("button", name=t("search_button", "en")).click()
    page.wait_for_url("**/parcel?**", timeout=30_000)
    rendered(page, TABLE)
    _english(page)

    # a waybill clicked in the alert log opens its parcel too, in English (a digest's row names none)
    page.goto(f"{open_server}/alerts?lang=en")
    rendered(page, TABLE)
    grid = page.get_by_test_id("stDataFrame").first
    lines = grid.locator("table tr")  # the grid's text for assistive technology: the header, then the rows
    expect(lines.nth(1)).to_be_attached(timeout=30_000)  # filled in after the grid is drawn
    row = next(i for i in range(lines.count() - 1) if lines.nth(i + 1).locator("td").first.inner_text().strip())
    box = grid.bounding_box()
    y = box["y"] + 35 * (row + 1) + 17  # rows 35 px high under a 35 px header
    page.mouse.move(box["x"] + 30, y)  # the waybill is the first column (no tick column here)
    page.wait_for_timeout(300)
    page.mouse.click(box["x"] + 30, y)
    page.wait_for_url("**/parcel?**", timeout=30_000)
    rendered(page, TABLE)
    _english(page)

    # a bar of the overview's first chart opens the queue filtered by it, in English
    page.goto(f"{open_server}/?lang=en")
    rendered(page, CHART)
    page.wait_for_timeout(800)  # the chart sizes itself after the run
    chart = page.get_by_test_id("stVegaLiteChart").first
    box = chart.bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.5, box["y"] + 12)  # the first bar's row
    expect(page.get_by_role("heading", name=t("nav_queue", "en"))).to_be_visible(timeout=30_000)
    assert "kind=" in page.url, page.url
    _english(page)


def test_the_overview_typed_as_a_path_opens_the_overview(open_server, playwright_browser):  # noqa: F811
    """/overview, as a lead types it after /queue and /claims: the overview at the board's root, in the URL's
    language, without Streamlit's English "Page not found" (the default page is served at / alone)."""
    from urllib.parse import urlparse

    from playwright.sync_api import expect

    page = playwright_browser.new_context(viewport=DESKTOP).new_page()
    page.goto(f"{open_server}/overview?lang=en")
    rendered(page, CHART)
    expect(page.get_by_role("heading", name=t("nav_overview", "en"))).to_be_visible(timeout=30_000)
    _english(page)
    assert urlparse(page.url).path in ("", "/"), page.url
    expect(page.get_by_text("Page not found")).to_have_count(0)
