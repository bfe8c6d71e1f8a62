"""The board in a real browser: Debian Chromium driven by Playwright against `streamlit run` on a free
localhost port with a seeded database. Logs in, filters the queue, opens a parcel through the sidebar
search, files a claim; saves screenshots (tmp dir; docs/board.png too with TRACKER_UPDATE_SCREENSHOT=1).

Skips outside CI when /usr/bin/chromium or playwright is missing; under CI=true that is a failure.
Never `playwright install`: the browser is the distribution's chromium (spec/ecosystem.md §2b)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.dashboard.seed import AUDIT, CLAIM, FLAG
from tracker.commands.board import streamlit_command
from tracker.settings import PROJECT_ROOT

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
TIMEOUT_MS = 30_000


def _need(condition: bool, why: str) -> None:
    if condition:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{why} (required under CI=true)")
    pytest.skip(why)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(tmp_path: Path) -> Iterator[str]:
    """`streamlit run` of the board (TRACKER_CONFIG_DIR and TRACKER_DATABASE_URL from the board fixtures) on
    a free port; yields its URL."""
    _need(Path(CHROMIUM).exists(), f"{CHROMIUM} missing: apt-get install -y chromium")
    port = _free_port()
    log = (tmp_path / "streamlit.log").open("w")
    proc = subprocess.Popen(streamlit_command(port), stdout=log, stderr=subprocess.STDOUT, cwd=PROJECT_ROOT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as reply:
                    if reply.read() == b"ok":
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"streamlit did not start: {(tmp_path / 'streamlit.log').read_text()}")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture
def server(board_db, tmp_path: Path) -> Iterator[str]:
    """The board on the seeded database, the login required."""
    yield from _serve(tmp_path)


@pytest.fixture
def open_server(board_db, board_config: Path, tmp_path: Path) -> Iterator[str]:
    """The board as `make run` serves it, open on localhost: no login (for the tests that walk many pages
    and are not about the login; a page load is a new session)."""
    board_toml = board_config / "board.toml"
    text = board_toml.read_text(encoding="utf-8")
    board_toml.write_text(text.replace("open_localhost = false", "open_localhost = true"), encoding="utf-8")
    yield from _serve(tmp_path)


def settled(page) -> None:
    """Wait until the script run is over: the app's own script state (set as a click requests the rerun) is
    notRunning and the running indicator is hidden. The indicator alone shows only after half a second, so a
    short run that has not ended yet looked settled and the next click raced it."""
    from playwright.sync_api import expect

    app = page.get_by_test_id("stApp")
    expect(app).to_have_attribute("data-test-script-state", "notRunning", timeout=TIMEOUT_MS)
    expect(page.get_by_test_id("stStatusWidget")).to_be_hidden(timeout=TIMEOUT_MS)
    page.wait_for_timeout(300)  # the last delta paints after the run ends
    expect(app).to_have_attribute("data-test-script-state", "notRunning", timeout=TIMEOUT_MS)


def _shows(widget, field, option: str, seconds: float = 5.0) -> bool:
    """Whether the select shows `option` as chosen within `seconds`: a selectbox in its field's value, a
    multiselect as one of its tags."""
    deadline = time.monotonic() + seconds
    while True:
        if field.input_value() == option or option in widget.inner_text():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)


def pick(page, label: str, option: str, *, typed: bool = False) -> None:
    """Choose `option` in the selectbox or multiselect labelled `label`, and see it chosen: the widget shows
    it once the rerun the choice starts has ended. A rerun that lands just after a click can close the list or
    redraw the widget, so each step is tried again, up to five times."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    widget = page.get_by_test_id("stSelectbox").or_(page.get_by_test_id("stMultiSelect")).filter(has_text=label)
    field = widget.first.locator("input")
    wanted = page.get_by_role("option", name=option).first
    for _ in range(5):
        settled(page)
        field.click()
        if typed:  # a long list is drawn in part: typing narrows it to the option
            field.fill(option)
        try:
            wanted.click(timeout=5000)  # waits for the option to show
        except PlaywrightTimeout:
            page.keyboard.press("Escape")
            continue
        page.keyboard.press("Escape")
        settled(page)
        if _shows(widget.first, field, option):
            return
    raise AssertionError(f"could not choose {option!r} in {label!r}")


def tick_row(page, index: int, table: int = 0) -> None:
    """Tick row `index` (0 = first data row) of the `table`-th dataframe in its row-marker column (the grid
    is a canvas: the checkbox is clicked where it is drawn, one row height per row under the header)."""
    grid = page.get_by_test_id("stDataFrame").nth(table)
    grid.hover()
    box = grid.bounding_box()
    row_height = 35
    page.mouse.click(box["x"] + 18, box["y"] + row_height * (index + 1) + row_height / 2)
    settled(page)


def test_lead_filters_queue_opens_parcel_and_files_claim(server, board_db, tmp_path):
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError:
        _need(False, "playwright is not installed (pip install -e '.[test]')")
    engine, ids = board_db
    shots = tmp_path / "shots"
    shots.mkdir()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(server)
            page.get_by_label("用户名").fill("lily")
            page.get_by_label("密码").fill("lily-pw")
            page.get_by_role("button", name="登录").click()

            expect(page.get_by_role("heading", name="总览")).to_be_visible(timeout=TIMEOUT_MS)
            expect(page.get_by_test_id("stMetric").filter(has_text="未处理异常")).to_contain_text("3")
            expect(page.get_by_test_id("stMetric").filter(has_text="可索赔金额")).to_contain_text("¥199.00")
            settled(page)
            page.screenshot(path=shots / "overview.png", full_page=True)

            page.get_by_role("link", name="异常队列").first.click()
            expect(page.get_by_role("heading", name="异常队列")).to_be_visible(timeout=TIMEOUT_MS)
            settled(page)
            expect(page.get_by_text("共 3 条")).to_be_visible(timeout=TIMEOUT_MS)
            page.get_by_test_id("stExpander").filter(has_text="筛选").locator("summary").first.click()  # folded
            pick(page, "快递", "顺丰速运")  # the courier by name; the URL keeps the slug
            expect(page.get_by_text("共 2 条")).to_be_visible(timeout=TIMEOUT_MS)
            assert "courier=sf" in page.url
            expect(page.get_by_test_id("stDataFrame").first).to_be_visible(timeout=TIMEOUT_MS)
            settled(page)
            page.get_by_test_id("stDataFrame").first.hover()  # its toolbar shows: no English CSV download
            expect(page.get_by_test_id("stElementToolbar").first).to_be_visible(timeout=TIMEOUT_MS)
            expect(page.get_by_label("Download as CSV")).to_have_count(0)
            page.screenshot(path=shots / "queue.png", full_page=True)
            if os.environ.get("TRACKER_UPDATE_SCREENSHOT") == "1":  # refresh the README's picture on request only
                shutil.copy(shots / "queue.png", PROJECT_ROOT / "docs" / "board.png")

            page.get_by_label("运单号 / 订单号").fill("sf1001")
            page.get_by_role("button", name="查询").click()
            expect(page.get_by_role("heading", name="SF1001 · 顺丰速运")).to_be_visible(timeout=TIMEOUT_MS)
            expect(page.get_by_text("【杭州转运中心】已发出").first).to_be_visible()
            settled(page)
            page.screenshot(path=shots / "parcel.png", full_page=True)

            page.get_by_role("link", name="理赔台账").first.click()
            expect(page.get_by_role("heading", name="理赔台账")).to_be_visible(timeout=TIMEOUT_MS)
            settled(page)
            tick_row(page, 0)  # SF1001's draft: its window closes first
            expect(page.get_by_text("已勾选 1 条")).to_be_visible(timeout=TIMEOUT_MS)
            page.get_by_label("理赔单号", exact=True).fill("SF-CLM-77")
            expect(page.get_by_text("Press Enter")).to_be_hidden()  # Streamlit's English hint is not shown
            page.get_by_label("理赔单号", exact=True).press("Enter")
            settled(page)
            page.get_by_role("button", name="提交理赔").click()
            expect(page.get_by_text("已处理 1 条")).to_be_visible(timeout=TIMEOUT_MS)
            settled(page)
            page.screenshot(path=shots / "claims.png", full_page=True)
            # issue 15: picking another claim after filing one crashed the ledger (TypeError)
            expect(page.get_by_text("在表格左侧勾选要处理的行")).to_be_visible(timeout=TIMEOUT_MS)
            tick_row(page, 1)
            expect(page.get_by_text("已勾选 1 条")).to_be_visible(timeout=TIMEOUT_MS)
            expect(page.get_by_text("页面出错")).to_have_count(0)
            expect(page.get_by_test_id("stException")).to_have_count(0)
        finally:
            browser.close()

    with engine.connect() as conn:
        claim = conn.execute(select(CLAIM).where(CLAIM.c.id == ids["claims"]["loss"])).one()
        audit = conn.execute(select(AUDIT.c.actor, AUDIT.c.action).where(AUDIT.c.entity == "claim")).all()
    assert (claim.state, claim.reference_no) == ("filed", "SF-CLM-77")
    assert ("lily", "claim.filed") in [tuple(a) for a in audit]
    assert all((shots / f"{name}.png").stat().st_size > 10_000 for name in ("overview", "queue", "parcel", "claims"))


def test_lead_acknowledges_exactly_the_ticked_row_and_confirms_more(server, board_db):
    """Issue 15: one pick acted on 15 rows. Ticking one row acts on that row only, with no question; ticking
    two asks first, naming both waybills, and nothing changes before the confirmation."""
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError:
        _need(False, "playwright is not installed (pip install -e '.[test]')")
    engine, ids = board_db

    def states():
        with engine.connect() as conn:
            return {r.id: r.state for r in conn.execute(select(FLAG.c.id, FLAG.c.state))}

    before = states()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{server}/queue")
            page.get_by_label("用户名").fill("lily")
            page.get_by_label("密码").fill("lily-pw")
            page.get_by_role("button", name="登录").click()
            expect(page.get_by_role("heading", name="异常队列")).to_be_visible(timeout=TIMEOUT_MS)
            expect(page.get_by_text("共 3 条")).to_be_visible(timeout=TIMEOUT_MS)
            settled(page)
            tick_row(page, 0)  # ZTO2002 (escalated first), already acknowledged
            tick_row(page, 1)  # SF1004
            expect(page.get_by_text("已勾选 2 条")).to_be_visible(timeout=TIMEOUT_MS)
            page.get_by_role("button", name="解决", exact=True).first.click()
            expect(page.get_by_text("确认对 2 项执行「解决」, 运单: ZTO2002、SF1004")).to_be_visible(timeout=TIMEOUT_MS)
            assert states() == before  # asked, not done
            page.get_by_role("button", name="取消").click()
            settled(page)
            tick_row(page, 0)  # untick ZTO2002: SF1004 alone
            expect(page.get_by_text("已勾选 1 条")).to_be_visible(timeout=TIMEOUT_MS)
            page.get_by_role("button", name="解决", exact=True).first.click()
            expect(page.get_by_text("已处理 1 条")).to_be_visible(timeout=TIMEOUT_MS)
            expect(page.get_by_test_id("stException")).to_have_count(0)
        finally:
            browser.close()
    after = states()
    assert after[ids["flags"]["no_first_scan"]] == "resolved"
    assert {k: v for k, v in after.items() if k != ids["flags"]["no_first_scan"]} == {
        k: v for k, v in before.items() if k != ids["flags"]["no_first_scan"]
    }


def test_lead_finds_a_parcel_by_part_of_its_number_confirms_the_loss_and_opens_the_claim(server, board_db):
    """Issue 15 items 5-6 end to end: a partial waybill pasted with its label finds the parcel; the loss is
    confirmed on the parcel page; the claim's amount is shown before the confirmation; the new claim is in
    the ledger filtered by the courier."""
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError:
        _need(False, "playwright is not installed (pip install -e '.[test]')")
    engine, ids = board_db
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(server)
            page.get_by_label("用户名").fill("lily")
            page.get_by_label("密码").fill("lily-pw")
            page.get_by_role("button", name="登录").click()
            expect(page.get_by_role("heading", name="总览")).to_be_visible(timeout=TIMEOUT_MS)
            settled(page)

            page.get_by_label("运单号 / 订单号").fill("No: 1001")  # the end of SF1001, with a label
            page.get_by_role("button", name="查询").click()
            expect(page.get_by_role("heading", name="SF1001 · 顺丰速运")).to_be_visible(timeout=TIMEOUT_MS)
            settled(page)
            expect(page.get_by_text("当前异常无需发起新的理赔")).to_be_visible()

            lost = page.get_by_test_id("stExpander").filter(has_text="快递确认丢件")
            lost.locator("summary").click()
            settled(page)  # opening the fold reruns the page, which draws its form
            lost.get_by_label("备注(如快递方确认人)").fill("顺丰客服 8812")
            lost.get_by_role("button", name="快递确认丢件").click()
            expect(page.get_by_text("已处理 1 条")).to_be_visible(timeout=TIMEOUT_MS)
            settled(page)
            expect(page.get_by_text("可发起的理赔(金额按理赔表计算)")).to_be_visible(timeout=TIMEOUT_MS)

            page.get_by_role("button", name="发起理赔").click()
            expect(page.get_by_text("确认为运单 SF1001 发起 1 件理赔, 合计 ¥199.00")).to_be_visible(timeout=TIMEOUT_MS)
            with engine.connect() as conn:  # shown, not done yet
                assert conn.execute(select(CLAIM).where(CLAIM.c.claim_type == "goods_lost")).first() is None
            page.get_by_role("button", name="确认执行").click()
            expect(page.get_by_text("已处理 1 条")).to_be_visible(timeout=TIMEOUT_MS)
            settled(page)

            page.get_by_role("link", name="理赔台账").first.click()
            expect(page.get_by_role("heading", name="理赔台账")).to_be_visible(timeout=TIMEOUT_MS)
            settled(page)
            page.get_by_test_id("stExpander").filter(has_text="筛选").locator("summary").first.click()  # folded
            pick(page, "快递", "顺丰速运", typed=True)  # every configured courier
            expect(page.get_by_text("共 2 条")).to_be_visible(timeout=TIMEOUT_MS)  # the seed's draft and the new one
            assert "courier=sf" in page.url
            expect(page.get_by_text("索赔金额合计 ¥398.00 · 已赔付合计 ¥0.00")).to_be_visible(timeout=TIMEOUT_MS)
            expect(page.get_by_test_id("stException")).to_have_count(0)
            expect(page.get_by_text("页面出错")).to_have_count(0)
        finally:
            browser.close()

    with engine.connect() as conn:
        claim = conn.execute(select(CLAIM).where(CLAIM.c.claim_type == "goods_lost")).one()
        audit = conn.execute(select(AUDIT.c.actor).where(AUDIT.c.entity == "claim", AUDIT.c.entity_id == claim.id))
        assert [a for (a,) in audit] == ["lily"]
    assert (claim.parcel_id, claim.courier, claim.state, str(claim.amount)) == (
        ids["parcels"]["SF1001"],
        "sf",
        "draft",
        "199.00",
    )
