"""Single-purpose pipelines: NormalizePipeline (rows -> ParsedWaybill, pure) and StorePipeline (ingest)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from scrapy.crawler import Crawler

from spiders.items import WaybillPageItem
from spiders.normalize import to_parsed

log = logging.getLogger("spiders")
FLUSH = 500


def _tracker_settings(crawler: Crawler) -> Any:
    """tracker Settings from the config folder `tracker crawl` names (else the default folder)."""
    from tracker.settings import load_settings

    return load_settings(crawler.settings.get("TRACKER_CONFIG_DIR") or None)


def _engine(crawler: Crawler, settings: Any) -> Any:
    from tracker.storage.db import make_engine, migrate

    engine = make_engine(crawler.settings.get("TRACKER_DATABASE_URL") or settings.database_url)
    migrate(engine)
    return engine


class NormalizePipeline:
    def __init__(self, crawler: Crawler) -> None:
        settings = _tracker_settings(crawler)
        self.tz, self.phrases = settings.tz, settings.phrasebook

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> NormalizePipeline:
        return cls(crawler)

    def process_item(self, item: WaybillPageItem) -> WaybillPageItem:
        parsed, problems = to_parsed(item.courier, item.waybill, item.rows, tz=self.tz, phrases=self.phrases)
        for problem in problems:
            log.warning("%s: %s", problem.waybill, problem.message)
        item.parsed = parsed
        return item


class StorePipeline:
    """Ingests parsed pages in flushes of FLUSH (idempotent: re-crawling adds nothing)."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.buffer: list[Any] = []
        self.new_events = 0
        self.stored = 0
        self.engine: Any = None
        self.phrases: Any = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StorePipeline:
        return cls(crawler)

    def open_spider(self) -> None:
        settings = _tracker_settings(self.crawler)
        self.engine, self.phrases = _engine(self.crawler, settings), settings.phrasebook

    def process_item(self, item: WaybillPageItem) -> WaybillPageItem:
        if item.parsed is not None:
            self.buffer.append(item.parsed)
        if len(self.buffer) >= FLUSH:
            self._flush()
        return item

    def close_spider(self) -> None:
        self._flush()
        stats = self.crawler.stats
        if stats is not None:
            stats.set_value("tracker/stored_waybills", self.stored)
            stats.set_value("tracker/new_events", self.new_events)

    def _flush(self) -> None:
        if not self.buffer:
            return
        from tracker.ingest import ingest

        at = self.crawler.settings.get("TRACKER_NOW")
        now = datetime.fromisoformat(at) if at else datetime.now(UTC)
        result = ingest(self.engine, self.buffer, now=now, source="spider", phrases=self.phrases)
        self.new_events += result.new_events
        self.stored += len(self.buffer)
        self.buffer.clear()
