"""Spiders: parsing saved pages in-process (no reactor), and one real crawl of sandbox pages in a
subprocess (Scrapy installs a Twisted reactor, which must not leak into this pytest process;
spec/ecosystem.md §6)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from parsel import Selector

from spiders.couriers.base import CourierPageSpider
from spiders.couriers.zto import ZtoSpider

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "spiders"
HAVE_CODES = importlib.util.find_spec("tracker.providers.kuaidi100.codes") is not None
HAVE_INGEST = importlib.util.find_spec("tracker.ingest") is not None


def _page(name: str) -> Selector:
    return Selector(text=(FIXTURES / "zto" / name).read_text(encoding="utf-8"))


def test_saved_page_rows_are_read_newest_first() -> None:
    rows = CourierPageSpider.parse_events(_page("refused_returned.html"))
    assert [r["code"] for r in rows] == ["4", "6", "203", "5", "103"]
    assert rows[0]["time"] == "2026-11-22 02:00:00" and rows[0]["text"] == "退回件已由寄件人签收"
    assert rows[2]["location"] == "四川,成都市"


def test_page_without_events_gives_no_rows() -> None:
    assert CourierPageSpider.parse_events(_page("no_first_scan.html")) == []


def test_spider_builds_one_request_per_waybill() -> None:
    import asyncio

    spider = ZtoSpider(base="http://127.0.0.1:1/", waybills="A1,B2")

    async def collect() -> list[str]:
        return [request.url async for request in spider.start()]

    assert asyncio.run(collect()) == ["http://127.0.0.1:1/web/zto/A1", "http://127.0.0.1:1/web/zto/B2"]


@pytest.mark.skipif(not HAVE_CODES, reason="tracker.providers.kuaidi100.codes (parsers branch) not merged yet")
def test_saved_page_normalizes_with_the_provider_code_table() -> None:
    from spiders.normalize import to_parsed

    rows = CourierPageSpider.parse_events(_page("refused_returned.html"))
    parsed, problems = to_parsed("zto", "78398765432101", rows, tz=ZoneInfo("Asia/Shanghai"))
    assert problems == []
    assert [e.status for e in parsed.events] == [
        "picked_up",
        "out_for_delivery",
        "refused",
        "returning",
        "returned",
    ]
    assert parsed.events[0].time == datetime(2026, 11, 18, tzinfo=UTC)


@pytest.mark.skipif(not (HAVE_CODES and HAVE_INGEST), reason="parsers branch not merged yet")
def test_crawl_of_sandbox_pages_stores_events_once(tmp_path, sandbox) -> None:
    import httpx

    url, _ = sandbox
    httpx.post(
        f"{url}/_sandbox/assign",
        json={"waybill": "78398765432101", "scenario": "refused_returned", "anchor": "2026-11-18T00:00:00Z"},
    ).raise_for_status()
    env = {**os.environ, "TRACKER_DATABASE_URL": f"sqlite:///{tmp_path / 'crawl.db'}"}
    cli = [sys.executable, "-m", "tracker.cli"]
    subprocess.run([*cli, "init"], env=env, check=True, capture_output=True)
    subprocess.run([*cli, "import", "parcels", str(FIXTURES / "zto" / "parcels.csv")], env=env, check=True)
    args = [
        *cli,
        "crawl",
        "zto",
        "--waybill",
        "78398765432101",
        "--base-url",
        url,
        "--now",
        "2026-11-23T12:00",
    ]
    httpx.post(f"{url}/_sandbox/faults", json={"next": ["5xx"]}).raise_for_status()  # Scrapy retries it
    first = subprocess.run(args, env=env, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    assert "1 pages of 1 waybills, 5 new events" in first.stdout
    assert "1 retries" in first.stdout
    again = subprocess.run(args, env=env, capture_output=True, text=True, timeout=120)
    assert "0 new events" in again.stdout
