"""Pages that need a browser (`js: true`): the scrapy-playwright request meta, the final status, challenge words."""
from __future__ import annotations

import re

# the status of the document the browser ended on (Chromium fills responseStatus in Navigation Timing)
FINAL_STATUS_JS = "() => (performance.getEntriesByType('navigation')[0] || {}).responseStatus || 0"
# a script challenge: the page sets a cookie by script and reloads (瑞数 `$_ts`, `acw_sc__v2`, `__jsl_clearance` …)
_CHALLENGE = re.compile(rb"\$_ts\s*=|acw_sc__v2|__jsl_clearance|document\.cookie\s*=[^;]{0,200};?[\s\S]{0,400}?"
                        rb"location\.(?:reload|replace|href)", re.I)
_SCRIPT = re.compile(rb"<script\b", re.I)


def browser_meta() -> dict:
    """Request meta for a page rendered by Chromium: wait until the network is idle (a list built from JSON by
    the page, a challenge that sets its cookie and reloads), then read the status of the final document."""
    from scrapy_playwright.page import PageMethod

    return {"playwright": True,
            "playwright_page_methods": [PageMethod("wait_for_load_state", "networkidle"),
                                        PageMethod("evaluate", FINAL_STATUS_JS)]}


def challenge_reason(status: int, body: bytes) -> str | None:
    """Why a response is a script challenge a plain HTTP client cannot pass, or None."""
    if _CHALLENGE.search(body[:20000]):
        return (f"HTTP {status}: a JavaScript challenge (the page sets a cookie by script and reloads); only a browser "
                "gets through: set `js: true` for this source")
    return None


def scripted_list_reason(body: bytes) -> str | None:
    """Why a list page gave no article link when the page runs scripts that may build it; None for a plain page
    (the discovery ledger names a list page silent night after night: `hiwatch status`)."""
    scripts = len(_SCRIPT.findall(body))
    if scripts:
        return (f"no article link on the list page; it runs {scripts} script(s): if a browser shows links here, "
                "the page builds its list by script: set `js: true` for this source")
    return None


class BrowserStatusMiddleware:
    """A browser-rendered page answers with the status of the document the browser ended on: a 412 challenge that
    set its cookie and reloaded is the page it reloaded to."""

    def process_response(self, request, response):
        if not request.meta.get("playwright"):
            return response
        methods = request.meta.get("playwright_page_methods") or []
        final = next((m.result for m in reversed(methods) if getattr(m, "method", None) == "evaluate"), None)
        if isinstance(final, int) and final and final != response.status:
            return response.replace(status=final)
        return response
