"""Running things: the crawl, scale-out, the schedule, replay, one-off fetch/add, re-extraction, console reports."""
