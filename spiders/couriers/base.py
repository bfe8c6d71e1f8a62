"""The shared courier-page spider: one request per waybill, one item per page."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from typing import Any

import scrapy
from parsel import Selector

from spiders.items import WaybillPageItem


class CourierPageSpider(scrapy.Spider):
    """Crawls `{base}/web/{courier}/{waybill}` for each waybill given (comma-separated or a list)."""

    name = ""  # abstract: not listed as a spider
    courier = ""

    def __init__(self, base: str = "", waybills: str | Iterable[str] = "", **kw: Any) -> None:
        super().__init__(**kw)
        self.base = base.rstrip("/")
        self.waybills = [w for w in (waybills.split(",") if isinstance(waybills, str) else waybills) if w]

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for waybill in self.waybills:
            yield scrapy.Request(f"{self.base}/web/{self.courier}/{waybill}", cb_kwargs={"waybill": waybill})

    def parse(self, response: scrapy.http.Response, waybill: str) -> Iterable[WaybillPageItem]:
        if not isinstance(response, scrapy.http.TextResponse):  # an image or a download: no page to read
            self.logger.warning(
                "%s %s: the courier's page is not text (%s); nothing read",
                self.courier,
                waybill,
                response.headers.get("Content-Type"),
            )
            return
        yield WaybillPageItem(self.courier, waybill, self.parse_events(response.selector))

    @staticmethod
    def parse_events(selector: Selector) -> list[dict[str, str]]:
        rows = []
        for tr in selector.css("table#traces tr.trace"):
            rows.append(
                {
                    "time": (tr.css("td.time::text").get() or "").strip(),
                    "code": tr.attrib.get("data-code", ""),
                    "text": (tr.css("td.context::text").get() or "").strip(),
                    "location": (tr.css("td.location::text").get() or "").strip(),
                }
            )
        return rows
