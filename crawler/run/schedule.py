"""`hiwatch schedule`: APScheduler 3 in the foreground; every job runs `hiwatch …` in a fresh subprocess.

A subprocess per crawl because Scrapy's reactor cannot restart in one process (ReactorNotRestartable), and
because it frees Chromium's memory and isolates crashes. Missed runs (machine asleep) run once, late, within
the grace time; several missed runs coalesce into one.
"""
from __future__ import annotations

import logging
import subprocess
import sys
from dataclasses import dataclass, field

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger

from crawler.window import SHANGHAI, latest_friday, today_shanghai

log = logging.getLogger("hiwatch.schedule")
DAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}


@dataclass
class ScheduleConfig:
    crawl_at: str = "02:30"  # HH:MM, Asia/Shanghai
    digest_at: str | None = None  # "fri 17:00": build the Friday issue; None: off
    digest_dir: str = "out"
    misfire_grace_seconds: int = 6 * 3600
    crawl_args: list[str] = field(default_factory=list)  # passed through to `hiwatch crawl` (--db, --sources …)
    digest_args: list[str] = field(default_factory=list)


def _hhmm(text: str) -> tuple[int, int]:
    try:
        hour, minute = (int(part) for part in text.split(":"))
        if 0 <= hour < 24 and 0 <= minute < 60:
            return hour, minute
    except ValueError:
        pass
    raise ValueError(f"not a time of day HH:MM: {text!r}")


def parse_weekly(text: str) -> tuple[int, int, int]:
    """'fri 17:00' → (weekday, hour, minute)."""
    day, _, clock = text.strip().partition(" ")
    if day.lower()[:3] not in DAYS:
        raise ValueError(f"expected a weekday and a time, like 'fri 17:00': {text!r}")
    return (DAYS[day.lower()[:3]], *_hhmm(clock))


def run_command(args: list[str]) -> int:
    """Run `hiwatch <args>` in a fresh Python process; log how it ended."""
    command = [sys.executable, "-m", "crawler.cli", *args]
    log.info("starting: hiwatch %s", " ".join(args))
    completed = subprocess.run(command, check=False)
    level = logging.INFO if completed.returncode == 0 else logging.ERROR
    log.log(level, "hiwatch %s exited %d", args[0], completed.returncode)
    return completed.returncode


def crawl_job(config: ScheduleConfig) -> int:
    return run_command(["crawl", *config.crawl_args])


def digest_job(config: ScheduleConfig) -> int:
    friday = latest_friday(today_shanghai())
    return run_command(["digest", "build", "--week", friday.isoformat(), "--format", "all", "-o",
                        config.digest_dir, *config.digest_args])


def build_scheduler(config: ScheduleConfig, scheduler_class=BlockingScheduler):
    """The scheduler with the nightly crawl (and the Friday build); coalescing, one instance at a time."""
    if not isinstance(config.misfire_grace_seconds, int) or config.misfire_grace_seconds < 1:
        raise ValueError("the grace time must be a whole number of seconds, at least 1: "
                         f"{config.misfire_grace_seconds!r}")
    scheduler = scheduler_class(timezone=SHANGHAI, job_defaults={
        "coalesce": True, "max_instances": 1, "misfire_grace_time": config.misfire_grace_seconds})
    hour, minute = _hhmm(config.crawl_at)
    scheduler.add_job(crawl_job, CronTrigger(hour=hour, minute=minute, timezone=SHANGHAI), args=[config],
                      id="crawl", name=f"nightly crawl at {config.crawl_at} Asia/Shanghai")
    if config.digest_at:
        weekday, hour, minute = parse_weekly(config.digest_at)
        scheduler.add_job(digest_job, CronTrigger(day_of_week=weekday, hour=hour, minute=minute, timezone=SHANGHAI),
                          args=[config], id="digest", name=f"weekly issue build {config.digest_at} Asia/Shanghai")
    return scheduler
