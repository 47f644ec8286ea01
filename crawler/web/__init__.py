"""The analyst's review page (`hiwatch serve`): a small local Flask app over the digest package.

`create_app(database_url=None, token=None, …)` builds the app; `serve(host=, port=, token=, database_url=)` runs it.
See docs/review-page.md.
"""
from __future__ import annotations

from crawler.web.app import create_app, make_server, serve
from crawler.web.security import is_loopback

__all__ = ["create_app", "is_loopback", "make_server", "serve"]
