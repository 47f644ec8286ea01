"""The date window: Saturday–Friday weeks in Asia/Shanghai, as the digest counts them."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
FRIDAY = 4


def now_utc() -> datetime:
    return datetime.now(timezone.utc)


def today_shanghai(now: datetime | None = None) -> date:
    return (now or now_utc()).astimezone(SHANGHAI).date()


def latest_friday(today: date) -> date:
    """`today` if it is a Friday, else the Friday before it."""
    return today - timedelta(days=(today.weekday() - FRIDAY) % 7)


def parse_day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"not a date (YYYY-MM-DD): {text!r}") from None


@dataclass(frozen=True)
class Window:
    """Inclusive calendar days [first, last] in Asia/Shanghai."""

    first: date
    last: date

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise ValueError(f"window ends ({self.last}) before it starts ({self.first})")

    @classmethod
    def week(cls, friday: date) -> "Window":
        """The digest week: Saturday before `friday` through `friday`."""
        if friday.weekday() != FRIDAY:
            raise ValueError(f"{friday} is a {friday.strftime('%A')}, not a Friday")
        return cls(friday - timedelta(days=6), friday)

    @classmethod
    def default(cls, now: datetime | None = None) -> "Window":
        """The seven days Saturday–Friday ending on the latest Friday (Asia/Shanghai)."""
        return cls.week(latest_friday(today_shanghai(now)))

    @classmethod
    def for_crawl(cls, now: datetime | None = None) -> "Window":
        """The nightly crawl's window: the latest digest week and the days since, so the week in progress fills up."""
        today = today_shanghai(now)
        return cls(cls.default(now).first, today)

    @classmethod
    def resolve(cls, week: str | None = None, since: str | None = None, until: str | None = None,
                now: datetime | None = None, crawl: bool = False) -> "Window":
        """From CLI options: --week FRIDAY, or --since/--until (either may be alone), else the default."""
        if week and (since or until):
            raise ValueError("give --week or --since/--until, not both")
        if week:
            return cls.week(parse_day(week))
        if since or until:
            base = cls.for_crawl(now) if crawl else cls.default(now)
            return cls(parse_day(since) if since else base.first, parse_day(until) if until else base.last)
        return cls.for_crawl(now) if crawl else cls.default(now)

    @property
    def start(self) -> datetime:
        """First instant, in UTC."""
        return datetime.combine(self.first, time.min, SHANGHAI).astimezone(timezone.utc)

    @property
    def end(self) -> datetime:
        """Instant after the last day, in UTC (exclusive)."""
        return datetime.combine(self.last + timedelta(days=1), time.min, SHANGHAI).astimezone(timezone.utc)

    def contains_day(self, day: date) -> bool:
        return self.first <= day <= self.last

    def contains(self, moment: datetime) -> bool:
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        return self.start <= moment < self.end

    def days(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range((self.last - self.first).days + 1)]

    def __str__(self) -> str:
        return f"{self.first.isoformat()}..{self.last.isoformat()}"
