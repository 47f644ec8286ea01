"""Issue numbers as the 周报 prints them: Chinese digits read one by one, 零 for zero (640 → 六四零)."""
from __future__ import annotations

DIGITS = "零一二三四五六七八九"
_VALUES = {ch: i for i, ch in enumerate(DIGITS)} | {"〇": 0}


def chinese_digits(number: int) -> str:
    """640 → 六四零, 576 → 五七六, 1005 → 一零零五 (digit by digit, not 六百四十)."""
    if number < 0:
        raise ValueError(f"an issue number is not negative: {number}")
    return "".join(DIGITS[int(d)] for d in str(number))


def parse_chinese_digits(text: str) -> int:
    """六四零 → 640 (also accepts 〇 for zero)."""
    if not text or any(ch not in _VALUES for ch in text):
        raise ValueError(f"not an issue number in Chinese digits: {text!r}")
    return int("".join(str(_VALUES[ch]) for ch in text))
