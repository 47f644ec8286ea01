"""The analyst's unsaved selection of a week (期号 and picked article ids in order), one cookie per week.

The week page's script writes the cookie on every change and deletes it when the selection equals the stored
issue; the server renders the panel, the ticks and the posted fields from it, so a reload, Back/Forward, a filter
or a week change all show (and save) the same selection. Format: `NUMBER:ID-ID-ID` (number may be empty).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

PREFIX = "hiwatch_draft_"
MAX_IDS = 200
_VALUE = re.compile(r"^(\d{0,9}):((?:\d{1,12}(?:-\d{1,12})*)?)$")
_NAME = re.compile(rf"^{PREFIX}(\d{{8}})$")


@dataclass(frozen=True)
class Selection:
    """What the issue would print: the 期号 as typed ('' when none) and the article ids in the analyst's order."""

    number: str
    ids: tuple[int, ...]

    def encode(self) -> str:
        return f"{self.number}:{'-'.join(map(str, self.ids))}"

    def to_json(self) -> dict:
        return {"number": self.number, "ids": [str(i) for i in self.ids]}


def cookie_name(friday: date) -> str:
    return f"{PREFIX}{friday:%Y%m%d}"


def parse(value: str | None) -> Selection | None:
    """`'640:12-5-7'` → Selection('640', (12, 5, 7)); None for anything else."""
    match = _VALUE.match((value or "").strip())
    if not match:
        return None
    ids = tuple(dict.fromkeys(int(part) for part in match.group(2).split("-") if part))[:MAX_IDS]
    return Selection(match.group(1), ids)


def read(cookies, friday: date) -> Selection | None:
    return parse(cookies.get(cookie_name(friday)))


def fridays(cookies) -> list[date]:
    """The weeks with an unsaved draft in these cookies, latest first."""
    found = []
    for name, value in cookies.items():
        match = _NAME.match(name)
        if match and parse(value) is not None:
            try:
                found.append(datetime.strptime(match.group(1), "%Y%m%d").date())
            except ValueError:
                continue
    return sorted(set(found), reverse=True)


def changes(saved: Selection, new: Selection, titles: dict[int, str]) -> list[str]:
    """What replacing `saved` by `new` changes, in words the analyst reads (期号, 新增, 移出, 顺序)."""
    out = []
    if saved.number != new.number:
        out.append(f"期号 {saved.number or '（空）'} → {new.number or '（空）'}")
    added = [i for i in new.ids if i not in saved.ids]
    removed = [i for i in saved.ids if i not in new.ids]
    out += [f"新增：{titles.get(i, f'#{i}')}" for i in added]
    out += [f"移出：{titles.get(i, f'#{i}')}" for i in removed]
    if not added and not removed and saved.ids != new.ids:
        out.append("顺序改变")
    return out
