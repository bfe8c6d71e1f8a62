"""Issue 15 item 9, works on a phone: every page of the board, opened in Chromium at 390x844 and at 1440x900,
runs past the window sideways nowhere (the board open on localhost, as `make run` serves it) (document.documentElement.scrollWidth <= innerWidth, and no element's
right edge beyond the window outside the dataframes, which scroll inside themselves); no link's words nor
figure's label are cut at its box's edge (the overview in English at 1280 too); the queue's filters are
folded in an expander; the overview draws each tab's charts when the tab is chosen.

Skips outside CI when /usr/bin/chromium or playwright is missing (test_browser.py's `server` fixture)."""

from __future__ import annotations

from bench.browser import CHROMIUM, DESKTOP, FLAGS, PAGES, PHONE, cut_texts, figure_tops, log_in, overflow, rendered
from dashboard.i18n import t
from tests.dashboard.test_browser import _need, open_server, server  # noqa: F401  (the fixtures)
from tests.dashboard.test_overview_counts import OVERVIEW_TABS

LAPTOP = {"width": 1280, "height": 800}
TABLET = {"width": 1024, "height": 768}


def test_no_page_runs_past_the_window(open_server):  # noqa: F811
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError:
        _need(False, "playwright is not installed (pip install -e '.[test]')")
    found = {}
    links = {}
    tops = {}  # the overview's figures, where each starts
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        try:
            for size, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
                context = browser.new_context(viewport=viewport)
                page = context.new_page()
                for target in PAGES:
                    path = target.path + ("?waybill=SF1001" if target.name == "parcel" else "")
                    page.goto(f"{open_server}/{path}")
                    rendered(page, target.content)
                    page.wait_for_timeout(500)  # charts size themselves to the column after the run
                    expect(page.get_by_test_id("stException")).to_have_count(0)
                    found[size, target.name] = viewport["width"], overflow(page)
                    links[size, target.name] = page.get_by_test_id("stPageLink-NavLink").count(), cut_texts(page)
                    if target.name == "overview":
                        tops[size] = figure_tops(page)
                    if target.name == "overview":  # each tab in turn: drawn when chosen, charts and all
                        headings = ("open_by_kind", "open_by_courier", "ageing", "money_by_courier")
                        for i, (tab, heading, charts) in enumerate(
                            zip(OVERVIEW_TABS, headings, (1, 1, 2, 0), strict=True)
                        ):
                            if i:
                                page.get_by_role("tab", name=t(tab, "zh")).click()
                            expect(page.get_by_role("heading", name=t(heading, "zh"))).to_be_visible(timeout=30_000)
                            rendered(page, target.content if charts else "")
                            expect(page.get_by_test_id("stVegaLiteChart")).to_have_count(charts)
                            page.wait_for_timeout(500)
                            found[size, f"overview {tab}"] = viewport["width"], overflow(page)
                    if target.name == "queue":
                        # the filters are folded: the table comes first on a phone (column order: test_charts.py)
                        expander = page.get_by_test_id("stExpander").filter(has_text="筛选")
                        expect(expander).to_have_count(1)
                        expect(expander.get_by_text("异常类型")).to_be_hidden()
                context.close()
            # English at a laptop's and a tablet's width: the longest labels in the narrowest columns
            for size, viewport in (("laptop en", LAPTOP), ("tablet en", TABLET)):
                context = browser.new_context(viewport=viewport)
                page = context.new_page()
                page.goto(f"{open_server}/?lang=en")
                rendered(page, PAGES[0].content)
                # the metrics' links may still be drawing when the chart is up (one run of the suite counted 2)
                expect(page.get_by_test_id("stPageLink-NavLink").nth(3)).to_be_visible()
                links[size, "overview"] = page.get_by_test_id("stPageLink-NavLink").count(), cut_texts(page)
                tops[size] = figure_tops(page)
                context.close()
        finally:
            browser.close()
    for where, (width, seen) in found.items():
        assert seen["inner"] == width, (where, seen)
        assert seen["scroll"] <= seen["inner"], (where, seen)
        assert seen["main"] <= 0, (where, seen)  # the main area does not scroll sideways either
        assert seen["past"] == [], (where, seen)
    # every link's words and every figure's label are shown whole, wrapped in a narrow column (the overview's
    # links: its soonest claim deadline names a 13-digit waybill)
    assert links["desktop", "overview"][0] >= 4 and links["laptop en", "overview"][0] >= 4
    assert {where: cut for where, (_, cut) in links.items() if cut} == {}
    # side by side, the overview's four figures stand level though some labels wrap (English at 1280 and 1024
    # px); on a phone they stack
    for size in ("desktop", "laptop en", "tablet en"):
        assert len(tops[size]) == 4 and len(set(tops[size])) == 1, (size, tops[size])
    assert len(set(tops["phone"])) == 4


def test_a_bar_on_the_overview_opens_exactly_its_rows(server):  # noqa: F811
    """Clicking the top bar of "open exceptions by kind" opens the queue filtered by that kind: as many rows
    as the bar counts (seed.py: one open exception of each of three kinds)."""
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError:
        _need(False, "playwright is not installed (pip install -e '.[test]')")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        try:
            page = browser.new_context(viewport=DESKTOP).new_page()
            log_in(page, server, user="lily", password="lily-pw")
            rendered(page, '[data-testid="stVegaLiteChart"]')
            page.wait_for_timeout(800)
            chart = page.get_by_test_id("stVegaLiteChart").first
            box = chart.bounding_box()
            page.mouse.click(box["x"] + box["width"] * 0.5, box["y"] + 12)  # the first bar's row
            expect(page.get_by_role("heading", name="异常队列")).to_be_visible(timeout=30_000)
            rendered(page, '[data-testid="stDataFrame"]')
            assert "kind=" in page.url, page.url
            expect(page.get_by_text("共 1 条")).to_be_visible(timeout=30_000)
        finally:
            browser.close()
