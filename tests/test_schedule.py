"""The scheduler: nightly crawl and Friday build in Asia/Shanghai, coalesced, one at a time, in subprocesses."""
from __future__ import annotations

from datetime import datetime

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import func, select

from crawler.db import connect
from crawler.db.models import Article
from crawler.run.schedule import ScheduleConfig, build_scheduler, crawl_job, parse_weekly
from crawler.window import SHANGHAI
from replaykit import SOURCES, build_replay


def test_jobs_fire_at_the_configured_shanghai_times_and_coalesce():
    scheduler = build_scheduler(ScheduleConfig("02:30", "fri 17:00"), BackgroundScheduler)
    scheduler.start(paused=True)
    try:
        crawl, digest = scheduler.get_job("crawl"), scheduler.get_job("digest")
        for job in (crawl, digest):
            assert job.coalesce is True and job.max_instances == 1 and job.misfire_grace_time == 6 * 3600
        monday = datetime(2025, 9, 1, 12, 0, tzinfo=SHANGHAI)
        assert crawl.trigger.get_next_fire_time(None, monday) == datetime(2025, 9, 2, 2, 30, tzinfo=SHANGHAI)
        assert digest.trigger.get_next_fire_time(None, monday) == datetime(2025, 9, 5, 17, 0, tzinfo=SHANGHAI)
    finally:
        scheduler.shutdown(wait=False)
    assert parse_weekly("Fri 07:05") == (4, 7, 5)


def test_the_crawl_job_runs_hiwatch_crawl_in_a_subprocess(tmp_path):
    root = tmp_path / "replay"
    root.mkdir()
    build_replay(root)
    sources = tmp_path / "sources.yaml"
    sources.write_text(SOURCES.format(), encoding="utf-8")
    db_url = f"sqlite:///{tmp_path / 'sched.sqlite3'}"
    config = ScheduleConfig(crawl_args=["--replay", str(root), "--week", "2025-09-05", "--db", db_url,
                                        "--sources", str(sources)])
    assert crawl_job(config) == 0
    assert crawl_job(config) == 0  # the second night: a new process, no ReactorNotRestartable
    database = connect(db_url)
    with database.session() as session:
        assert session.scalar(select(func.count(Article.id))) == 3
    database.dispose()
