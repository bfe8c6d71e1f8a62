"""A lead opens a courier's claims from the reconciliation by courier, in Chromium against `streamlit run` (the
board open on localhost, as `make run` serves it): a click on the courier's row, then the grid's arrow key to
its count of claims filed in all, opens the ledger filtered to exactly those claims, as many rows and the same
money as the table said. Skips outside CI when /usr/bin/chromium or playwright is missing (test_browser.py's
fixtures)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bench.browser import DESKTOP, rendered
from tests.dashboard.seed import seed_ageing, seed_claims
from tests.dashboard.test_browser import open_server, server, settled  # noqa: F401  (the fixtures)
from tests.hostile.test_board_browser import playwright_browser  # noqa: F401  (the fixture)

TABLE = '[data-testid="stDataFrame"]'
OCTOBER = datetime(2026, 10, 12, 3, 0, tzinfo=UTC)


@pytest.fixture
def filed_claims(board_db, now):
    """EMS's claims filed with the courier: one still filed, one paid short, one rejected; and a draft."""
    engine, _ = board_db
    seed_ageing(engine, now)
    rows = [  # waybill, courier, type, state, amount, paid, window closes in days, filed at
        ("EMS01", "ems", "goods_lost", "draft", "1234.50", None, 5, None),
        ("EMS02", "ems", "goods_lost", "filed", "300.00", None, 30, OCTOBER),
        ("EMS03", "ems", "goods_lost", "paid", "88.00", "80.00", None, OCTOBER),
        ("EMS05", "ems", "goods_lost", "rejected", "45.00", None, None, OCTOBER),
    ]
    seed_claims(engine, now, rows)


def test_a_couriers_claims_filed_in_all_open_from_the_reconciliation(filed_claims, open_server, playwright_browser):  # noqa: F811
    from playwright.sync_api import expect

    page = playwright_browser.new_context(viewport=DESKTOP).new_page()
    page.goto(f"{open_server}/claims")
    rendered(page, TABLE)
    grid = page.get_by_test_id("stDataFrame").last  # the reconciliation, under the ledger
    grid.scroll_into_view_if_needed()
    lines = grid.locator("table tr")  # the grid's text for assistive technology: the header, then the rows
    expect(lines.nth(1)).to_contain_text("EMS", timeout=30_000)  # the one courier with claims filed
    expect(lines.nth(1)).to_contain_text("3")
    box = grid.bounding_box()
    y = box["y"] + 35 + 17  # the first row, under a 35 px header
    page.mouse.move(box["x"] + 30, y)
    page.wait_for_timeout(300)
    page.mouse.click(box["x"] + 30, y)  # the courier's cell: it opens nothing
    settled(page)
    assert "state=" not in page.url, page.url
    page.keyboard.press("ArrowRight")  # the selection moves to the next cell: the claims filed in all
    page.wait_for_url("**/claims?*state=submitted*", timeout=30_000)
    assert "courier=ems" in page.url, page.url
    rendered(page, TABLE)
    main = page.get_by_test_id("stMain")
    expect(main).to_contain_text("共 3 条 · 1/1", timeout=30_000)
    expect(main).to_contain_text("索赔金额合计 ¥433.00 · 已赔付合计 ¥80.00")
