"""Pure parsers for the values found in export files and courier replies: money, times, flags."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, date, datetime, tzinfo
from decimal import Decimal
from functools import lru_cache

from tracker.status import CENT

MAX_MONEY = Decimal("1000000000")  # no parcel, claim or freight reaches a billion CNY: a bigger amount is a typo
_MONEY_WORDS = re.compile(r"[¥￥元]|CNY|RMB", re.IGNORECASE)  # the currency, however written
# a thousands separator (after NFKC: ， is a comma, a full-width space a space) is one only between groups of
# three digits: 1,899.00 and 1 899.00 are 1899.00, while 18,99 (a decimal comma) is refused, not read as 1899
_SEPARATOR = re.compile(r"[,\s]")
_GROUPED = re.compile(r"-?[1-9][0-9]{0,2}(?:[,\s][0-9]{3})+(?:\.[0-9]*)?")  # 0,500 is a decimal comma too
# an amount as people and exports write it, once the currency and separators are gone: ASCII digits and a point
# (Decimal alone also reads 1e3, 1_000 and other scripts' digits, which no export means as money)
_AMOUNT = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_CN_DATE = re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日\s*(.*)$")


class ValueProblem(ValueError):
    """A value could not be read; the message says what was expected."""


def parse_money(text: str | float | int | Decimal) -> Decimal:
    """'¥1,899.00', '1899元', 1899.0 -> Decimal('1899.00'). Negative amounts are refused."""
    if type(text) is str:
        return _money_text(text)  # an export repeats its prices: each text is read once
    return _money(text)


@lru_cache(maxsize=4096)
def _money_text(text: str) -> Decimal:
    return _money(text)


def _money(text: str | float | int | Decimal) -> Decimal:
    if isinstance(text, Decimal):
        value = text
    elif isinstance(text, int | float):
        value = Decimal(str(text))
    else:
        # full-width digits and point (a Chinese keyboard in full-width mode) read as ASCII: NFKC
        cleaned = _MONEY_WORDS.sub("", unicodedata.normalize("NFKC", text)).strip()
        if _SEPARATOR.search(cleaned):
            if not _GROUPED.fullmatch(cleaned):
                raise ValueProblem(f"an amount such as 1,899.00 (a comma only between thousands), got {text!r}")
            cleaned = _SEPARATOR.sub("", cleaned)
        if not _AMOUNT.fullmatch(cleaned):
            raise ValueProblem(f"an amount such as 1899.00, got {text!r}")
        value = Decimal(cleaned)
    if not value.is_finite():
        raise ValueProblem(f"an amount such as 1899.00, got {text!r}")
    if value < 0:
        raise ValueProblem(f"a non-negative amount, got {text!r}")
    if value >= MAX_MONEY:
        raise ValueProblem(f"an amount under {MAX_MONEY:,}, got {text!r}")
    if value != value.quantize(CENT):
        raise ValueProblem(f"an amount with at most 2 decimals, got {text!r}")
    return value.quantize(CENT)


def parse_local_time(text: str | datetime | date, tz: tzinfo) -> datetime:
    """A time as written in a Chinese export or courier reply -> UTC-aware datetime.

    Accepts '2026-11-01 09:00:00', '2026/11/1 9:00', '2026-11-01', '2026年11月1日 09:00', ISO-8601
    with an offset, and datetime/date objects (from XLSX). Times without an offset are in `tz`.
    """
    if type(text) is str:
        try:  # the common case, '2026-11-01 09:00:00' as exports write it, needs none of the rewrites below
            found = datetime.fromisoformat(text)
        except ValueError:
            pass
        else:
            if found.tzinfo is not None:
                return found.astimezone(UTC)
            if len(text) == 19 and text[4] == "-" and text[16] == ":":
                # read again as UTC and shifted by the zone's offset at that local time: the same instant as
                # replace(tzinfo=tz).astimezone(UTC), at a quarter of the cost (an import reads 300,000 of them)
                offset = tz.utcoffset(found)  # (inline: a reply's every event is read here)
                if offset is None:
                    raise ValueProblem(f"a time zone with an offset, got {tz!r}")
                return datetime.fromisoformat(text + "+00:00") - offset
            return found.replace(tzinfo=tz).astimezone(UTC)
    if isinstance(text, datetime):
        value = text
    elif isinstance(text, date):
        value = datetime(text.year, text.month, text.day)
    elif not isinstance(text, str):  # an XLSX cell of another type: a time of day alone, or a number
        number = isinstance(text, int | float) and not isinstance(text, bool)
        hint = " (a number: format the column as a date in Excel)" if number else ""
        raise ValueProblem(f"a date and time such as 2026-11-01 09:00:00, got {text}{hint}")
    else:
        raw = text.strip()
        match = _CN_DATE.match(raw)
        if match:
            y, m, d, rest = match.groups()
            raw = f"{y}-{int(m):02d}-{int(d):02d} {rest}".strip()
        raw = raw.replace("/", "-")
        try:
            value = datetime.fromisoformat(raw)
        except ValueError:
            try:
                value = datetime.fromisoformat(_pad_date(raw))
            except ValueError:
                raise ValueProblem(f"a date and time such as 2026-11-01 09:00:00, got {text!r}") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=tz)
    return value.astimezone(UTC)


def _pad_date(raw: str) -> str:
    """'2026-11-1 9:05' -> '2026-11-01 09:05'."""
    date_part, _, time_part = raw.partition(" ")
    bits = date_part.split("-")
    if len(bits) == 3 and all(b.isdigit() for b in bits):
        date_part = f"{bits[0]}-{int(bits[1]):02d}-{int(bits[2]):02d}"
    if time_part:
        tbits = time_part.strip().split(":")
        if all(b.isdigit() for b in tbits):
            time_part = ":".join(f"{int(b):02d}" for b in tbits)
        return f"{date_part} {time_part}"
    return date_part


_TRUE = {"1", "true", "yes", "y", "是", "有", "√", "聚划算"}
_FALSE = {"0", "false", "no", "n", "否", "无", ""}


def parse_bool(text: str | bool | int) -> bool:
    if isinstance(text, bool):
        return text
    if isinstance(text, int):
        return text != 0
    key = text.strip().lower()
    if key in _TRUE:
        return True
    if key in _FALSE:
        return False
    raise ValueProblem(f"yes/no (是/否, 1/0, true/false), got {text!r}")


def format_money(value: Decimal | None, currency: str = "CNY") -> str:
    if value is None:
        return "-"
    return f"{value:,.2f} {currency}"
