"""Scrapy settings for the courier-page spiders (docs/architecture.md)."""

from tracker.redact import install

install()  # `scrapy crawl` run directly: its log records are redacted like the CLI's (webhook tokens, keys)

BOT_NAME = "tracker"
SPIDER_MODULES = ["spiders.couriers"]
NEWSPIDER_MODULE = "spiders.couriers"

ROBOTSTXT_OBEY = True
REMOTE_CONTROL_ENABLED = False  # 2.19's RemoteControl executes Python sent to it (docs/operations.md "Secrets")
TELNETCONSOLE_ENABLED = False
COOKIES_ENABLED = False
CONCURRENT_ITEMS = 1  # the default 100 is slower for one-item callbacks
CONCURRENT_REQUESTS_PER_DOMAIN = 8

# Scrapy's own retries, not tenacity (CONTRIBUTING.md)
RETRY_ENABLED = True
RETRY_TIMES = 2
RETRY_HTTP_CODES = [429, 500, 502, 503, 504, 522, 524, 408]
DOWNLOAD_TIMEOUT = 10

# Politeness per courier host
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 0.1
AUTOTHROTTLE_MAX_DELAY = 10
AUTOTHROTTLE_TARGET_CONCURRENCY = 4.0

ITEM_PIPELINES = {
    "spiders.pipelines.NormalizePipeline": 100,
    "spiders.pipelines.StorePipeline": 200,
}
LOG_LEVEL = "WARNING"
