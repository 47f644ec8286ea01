"""Scrapy item pipelines: thin adapters that call the core (extract → window → store)."""
