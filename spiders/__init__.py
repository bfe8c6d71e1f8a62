"""Scrapy project: thin spiders for courier tracking pages; pipelines reuse tracker's codes and ingest."""
