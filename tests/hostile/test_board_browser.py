# ruff: noqa: F811 (the board fixtures are imported from tests/dashboard and used as arguments)
"""Untrusted text is text, in a real browser (Debian's Chromium, Playwright, `streamlit run`): every text of
data/board_texts.json is stored as a parcel's courier text, shop and courier, then the parcel pages, the
overview and the queue's shop list are opened. The literal text must show, and nothing it carries may become
a link, an image, formatting, colour, an icon or KaTeX. Also: a deep link survives the login."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.dashboard.conftest import board_config, board_db  # noqa: F401 (fixtures)
from tests.dashboard.seed import EVENT, FLAG, PARCEL
from tests.dashboard.test_browser import CHROMIUM, FLAGS, TIMEOUT_MS, _need, open_server, server, settled  # noqa: F401
from tracker.domain import ParcelFacts
from tracker.storage import rollups
from tracker.storage.repo import upsert_parcels

TEXTS = json.loads((Path(__file__).parent / "data" / "board_texts.json").read_text(encoding="utf-8"))["texts"]

# What the hostile texts must not produce inside the page's main area (our own `**n**` counts and our own
# st.title/st.subheader headings aside: a heading may only be one of ours, checked by its text).
FORBIDDEN = {
    "image": "img",
    "KaTeX": ".katex, .katex-display",
    "code": "code, pre",
    "emphasis": "em, del, s, b, i, blockquote, ol, ul, li, table:not([role='grid']), hr",  # grid: st.dataframe
    # the date and time inputs' own fields and an expander's arrow are widget chrome, not text from outside
    "colour": "span[style*='color']:not([data-testid='stDateInput'] *):not([data-testid='stTimeInput'] *), "
    "[class*='ColoredText'], [data-testid='stIconMaterial']:not([data-testid='stExpander'] summary *)",
}
MARKERS = [case["marker"] for case in TEXTS]


def _seed_hostile(engine, now) -> dict[str, int]:
    facts = [
        ParcelFacts(
            courier="sf",
            waybill=f"HX{i:02d}",
            order_id=f"O-HX{i:02d}",
            shop=case["text"],
            province="浙江省",
            shipped_at=now,
        )
        for i, case in enumerate(TEXTS)
    ]
    upsert_parcels(engine, facts, now=now)
    with engine.begin() as conn:
        ids = {w: i for i, w in conn.execute(select(PARCEL.c.id, PARCEL.c.waybill).where(PARCEL.c.waybill.like("HX%")))}
        for i, case in enumerate(TEXTS):
            pid = ids[f"HX{i:02d}"]
            conn.execute(
                PARCEL.update()
                .where(PARCEL.c.id == pid)
                .values(
                    status="in_transit", status_text=case["text"], courier=f"x{i:02d}{case['text']}", last_event_at=now
                )
            )
            conn.execute(
                EVENT.insert().values(
                    parcel_id=pid,
                    event_time=now,
                    status="in_transit",
                    raw_code="",
                    text=case["text"],
                    text_hash=hashlib.sha1(case["text"].encode()).hexdigest()[:16],
                    source="kuaidi100",
                    ingested_at=now,
                )
            )
            conn.execute(
                FLAG.insert().values(
                    parcel_id=pid,
                    courier=f"x{i:02d}{case['text']}",
                    kind="stale",
                    severity="warn",
                    state="open",
                    opened_at=now,
                    note=case["text"],
                )
            )
        rollups.rebuild(conn)  # flags written straight: their copy of the parcel's last update
    return ids


def _login(page, url: str) -> None:
    page.goto(url)
    page.get_by_label("用户名").fill("lily")
    page.get_by_label("密码").fill("lily-pw")
    page.get_by_role("button", name="登录").click()


def _inert(page, origin: str) -> list[str]:
    """What in the main area is not plain text: foreign links, images, formatting, colour, KaTeX."""
    main = page.get_by_test_id("stMain")
    problems = []
    for what, selector in FORBIDDEN.items():
        for html in main.locator(selector).evaluate_all("els => els.map(e => e.outerHTML.slice(0, 160))"):
            problems.append(f"{what}: {html}")
    hrefs = main.locator("a").evaluate_all(
        "els => els.map(e => [e.getAttribute('href') || '', e.parentElement.parentElement.outerHTML.slice(0, 300)])"
    )
    for href, context in hrefs:
        relative = not re.match(r"^([a-zA-Z][a-zA-Z0-9+.-]*:|//)", href)  # queue?..., #anchor: the board's own
        if not (relative or href.startswith(origin + "/")):
            problems.append(f"link {href} in {context}")
    for text in main.locator("h1, h2, h3, h4, h5, h6").all_inner_texts():
        if any(m in text for m in MARKERS) and not text.startswith("HX"):  # a parcel title starts with its waybill
            problems.append(f"heading {text!r}")
    for text in main.locator("strong").all_inner_texts():
        # our own bold counts only ('' : a count inside a folded expander still opening has no text yet)
        if text.strip() and not text.strip().isdigit():
            problems.append(f"bold {text!r}")
    return problems


def _flat(text: str) -> str:
    return " ".join(text.replace("\u2060", "").split())  # the word joiner that keeps `:streamlit:` a text


@pytest.fixture
def playwright_browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _need(False, "playwright is not installed (pip install -e '.[test]')")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        try:
            yield browser
        finally:
            browser.close()


def test_hostile_texts_render_as_plain_text(open_server, board_db, playwright_browser, now) -> None:
    """On the board open on localhost (the login has its own tests; each page load is a new session)."""
    from playwright.sync_api import expect

    server = open_server
    engine, _ = board_db
    ids = _seed_hostile(engine, now)
    page = playwright_browser.new_page(viewport={"width": 1400, "height": 1000})
    external = []
    page.on("request", lambda r: external.append(r.url) if not r.url.startswith(server) else None)
    page.goto(server)
    expect(page.get_by_role("heading", name="总览")).to_be_visible(timeout=TIMEOUT_MS)
    settled(page)
    problems = _inert(page, server)  # the first tab; then the couriers' tab, its links unfolded
    page.get_by_role("tab", name="按快递").click()
    expect(page.get_by_role("heading", name="未处理异常(条), 按快递")).to_be_visible(timeout=TIMEOUT_MS)
    settled(page)
    couriers_link = page.get_by_test_id("stPageLink").filter(has_text=TEXTS[-1]["marker"])
    for _ in range(3):  # a rerun (a chart's selection settling) that lands after a click folds them again
        folded = page.get_by_test_id("stExpander").filter(has_text="查看队列")  # the links under the charts
        for i in range(folded.count()):
            if folded.nth(i).locator("details").first.get_attribute("open") is None:
                folded.nth(i).locator("summary").first.click()
                settled(page)  # a fold that opens reruns the page: the next click waits for that run
        settled(page)
        if couriers_link.is_visible():
            break
    expect(couriers_link).to_be_visible(timeout=TIMEOUT_MS)
    settled(page)
    overview = _flat(page.get_by_test_id("stMain").inner_text())
    problems += _inert(page, server)
    for tab, heading in (("时效与趋势", "24小时内将超时未更新(包裹)"), ("理赔期限与金额", "理赔金额, 按快递")):
        page.get_by_role("tab", name=tab).click()
        expect(page.get_by_role("heading", name=heading)).to_be_visible(timeout=TIMEOUT_MS)
        settled(page)
        problems += _inert(page, server)
    assert not problems, "\n".join(problems)
    for i, case in enumerate(TEXTS):  # the couriers' links on the overview read as their literal names
        assert _flat(f"x{i:02d}{case['text']}") in overview, case["name"]

    for i, case in enumerate(TEXTS):
        page.goto(f"{server}/parcel?id={ids[f'HX{i:02d}']}")
        expect(page.get_by_role("heading", name=f"HX{i:02d}")).to_be_visible(timeout=TIMEOUT_MS)
        # the status line, and the flag's note under its actions: both captions, both plain text
        expect(page.get_by_test_id("stCaptionContainer").filter(has_text=case["marker"]).first).to_be_visible()
        settled(page)
        shown = _flat(page.get_by_test_id("stMain").inner_text())
        assert _flat(case["text"]) in shown, case["name"]  # the caption shows the courier text literally
        problems = _inert(page, server)
        assert not problems, case["name"] + ": " + "\n".join(problems)

    page.goto(f"{server}/queue")
    expect(page.get_by_role("heading", name="异常队列")).to_be_visible(timeout=TIMEOUT_MS)
    settled(page)
    page.get_by_test_id("stExpander").filter(has_text="筛选").locator("summary").first.click()  # folded
    listbox = page.get_by_role("listbox")
    for _ in range(5):  # a rerun landing just after the click closes the list again: open it once more
        settled(page)  # opening the filters reruns the page: its shop list is drawn by that run
        page.get_by_test_id("stSelectbox").filter(has_text="店铺").first.locator("input").click()
        try:
            listbox.wait_for(state="visible", timeout=5000)
            break
        except Exception:  # noqa: BLE001 - playwright's TimeoutError: try again
            page.keyboard.press("Escape")
    expect(listbox).to_be_visible(timeout=TIMEOUT_MS)
    assert listbox.locator("a, img, strong, em, code, .katex").count() == 0
    page.keyboard.press("Escape")
    assert _inert(page, server) == []
    assert external == []  # no image, font or link target outside the board was fetched


def test_deep_link_survives_the_login(server, board_db, playwright_browser) -> None:
    from playwright.sync_api import expect

    page = playwright_browser.new_page(viewport={"width": 1400, "height": 1000})
    _login(page, f"{server}/parcel?waybill=SF1001")  # an alert's "open on the board" link
    expect(page.get_by_role("heading", name="SF1001 · 顺丰速运")).to_be_visible(timeout=TIMEOUT_MS)
    assert "/parcel" in page.url and "waybill=SF1001" in page.url
