"""A lead's exports in a real browser (Chromium, Playwright, `streamlit run`; see test_browser.py): the whole
filtered queue and the ledger as XLSX, and the claim packet of a ticked claim, each downloaded and read back
with openpyxl: Chinese headers, couriers by name, the board's state words, no formula cell."""

from __future__ import annotations

import io
from pathlib import Path

from openpyxl import load_workbook

from tests.dashboard import test_browser as tb

server = tb.server  # the same streamlit server fixture


def _book(download):
    """The downloaded file read back (the browser keeps it under a name without its .xlsx)."""
    assert download.suggested_filename.endswith(".xlsx")
    return load_workbook(io.BytesIO(Path(download.path()).read_bytes()))


def _no_formulas(book) -> None:
    cells = [c for sheet in book.worksheets for row in sheet.iter_rows() for c in row if c.value is not None]
    assert cells and not [c.coordinate for c in cells if c.data_type == "f"]


def test_lead_downloads_the_queue_the_ledger_and_a_packet(server, board_db, tmp_path):
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError:
        tb._need(False, "playwright is not installed (pip install -e '.[test]')")
    _, ids = board_db
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=tb.CHROMIUM, headless=True, args=tb.FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
            page.goto(f"{server}/queue")
            page.get_by_label("用户名").fill("lily")
            page.get_by_label("密码").fill("lily-pw")
            page.get_by_role("button", name="登录").click()
            expect(page.get_by_text("共 3 条")).to_be_visible(timeout=tb.TIMEOUT_MS)
            tb.settled(page)
            with page.expect_download(timeout=tb.TIMEOUT_MS) as queue_file:
                page.get_by_role("button", name="导出全部筛选结果 (XLSX) (3)").click()
            queue = _book(queue_file.value)

            page.get_by_role("link", name="理赔台账").first.click()
            expect(page.get_by_role("heading", name="理赔台账")).to_be_visible(timeout=tb.TIMEOUT_MS)
            tb.settled(page)
            with page.expect_download(timeout=tb.TIMEOUT_MS) as ledger_file:
                page.get_by_role("button", name="导出理赔台账 (XLSX) (2)").click()
            ledger = _book(ledger_file.value)
            tb.tick_row(page, 0)  # SF1001's draft: its window closes first
            expect(page.get_by_text("已勾选 1 条")).to_be_visible(timeout=tb.TIMEOUT_MS)
            with page.expect_download(timeout=tb.TIMEOUT_MS) as packet_file:
                page.get_by_role("button", name="导出理赔材料 (XLSX)").click()
            packet = _book(packet_file.value)
            expect(page.get_by_test_id("stException")).to_have_count(0)
        finally:
            browser.close()

    rows = list(queue.worksheets[0].iter_rows(values_only=True))
    assert rows[0][:5] == ("异常编号", "运单号", "订单号", "快递", "异常类型")
    assert [r[1] for r in rows[1:]] == ["ZTO2002", "SF1004", "SF1001"]  # every row, in the table's order
    assert {r[3] for r in rows[1:]} == {"中通快递", "顺丰速运"} and "拒收" in {r[4] for r in rows[1:]}
    rows = list(ledger.worksheets[0].iter_rows(values_only=True))
    assert rows[0][:4] == ("编号", "运单号", "订单号", "快递") and len(rows) == 3
    assert {r[rows[0].index("状态")] for r in rows[1:]} == {"草稿", "已提交"}
    assert packet.sheetnames == ["索赔清单", f"#{ids['claims']['loss']} SF1001"]
    header = [c.value for c in packet["索赔清单"][1]]
    row = dict(zip(header, [c.value for c in packet["索赔清单"][2]], strict=True))
    assert (row["运单号"], row["快递公司"], row["状态"]) == ("SF1001", "顺丰速运", "草稿")
    for book in (queue, ledger, packet):
        _no_formulas(book)
