"""Scrapy spiders: one generic, configuration-driven spider per site in config/sources.yaml (see spiders.sites)."""
