"""config/digest.yaml: the 周报's fixed texts, formats and selection rules, validated on load."""
from __future__ import annotations

import os
from datetime import date
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from crawler.digest.numbering import chinese_digits
from crawler.yamlfile import parse, read_text, validate

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
DEFAULT_DIGEST_CONFIG = REPO_ROOT / "config" / "digest.yaml"


class DigestConfigError(Exception):
    """A digest.yaml that cannot be used; the message names the file, line and field."""


def _check_format(template: str, **sample) -> str:
    try:
        template.format(**sample)
    except (KeyError, IndexError, ValueError) as exc:
        raise ValueError(f"bad placeholder in {template!r}: {exc} (allowed: {', '.join(sorted(sample))})") from None
    return template


_DATE_SAMPLE = dict(year=2026, month=5, day=2, mm="05", dd="02")


class DigestSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str = "全国卫生信息化舆情监测周报"
    organisation: str = "北京市卫生健康大数据与政策研究中心"
    number_line: str = "（第{digits}）"
    date_format: str = "{year}年{mm}月{dd}日"
    item_date_format: str = "{year}-{mm}-{dd}"
    lead: str = ("本期周报共收集{count}篇卫生健康大数据与政策研究相关信息，时间从{first}到{last}，"
                 "监测范围包括全国主流媒体及政府网站等。")
    also_reported_label: str = "同题报道"
    preferred_sources: list[str] = []
    max_items: int = Field(3, ge=1, le=200)
    min_score: float | None = Field(None, ge=0)  # None: the lexicon's threshold; a number can only raise the bar
    print_also_reported: bool = False  # the 同题报道 line under 链接 (the published issues never print it)
    print_kicker: bool = False  # the 引题 above the title under 主要内容 (issue 674 printed one; the others none)

    @field_validator("number_line")
    @classmethod
    def _number(cls, value: str) -> str:
        return _check_format(value, digits="六四零", number=640)

    @field_validator("date_format", "item_date_format")
    @classmethod
    def _date_template(cls, value: str) -> str:
        return _check_format(value, **_DATE_SAMPLE)

    @field_validator("lead")
    @classmethod
    def _lead(cls, value: str) -> str:
        return _check_format(value, count=2, first="a", last="b")

    def number_text(self, number: int) -> str:
        return self.number_line.format(digits=chinese_digits(number), number=number)

    def _format_day(self, template: str, day: date) -> str:
        return template.format(year=day.year, month=day.month, day=day.day, mm=f"{day.month:02d}", dd=f"{day.day:02d}")

    def date_text(self, day: date) -> str:
        return self._format_day(self.date_format, day)

    def item_date_text(self, day: date) -> str:
        return self._format_day(self.item_date_format, day)

    def lead_text(self, count: int, first: date, last: date) -> str:
        return self.lead.format(count=count, first=self.date_text(first), last=self.date_text(last))


def load_digest_settings(path: str | os.PathLike | None = None) -> DigestSettings:
    """Load config/digest.yaml (or `path`, or $HIWATCH_DIGEST_CONFIG); a missing default file means defaults."""
    file = Path(path or os.environ.get("HIWATCH_DIGEST_CONFIG") or DEFAULT_DIGEST_CONFIG)
    if path is None and not file.exists():
        return DigestSettings()
    data, node = parse(read_text(file, DigestConfigError), str(file), DigestConfigError, "settings")
    return validate(DigestSettings, data, node, str(file), DigestConfigError)
