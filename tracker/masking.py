"""Masking of the buyer's details as Taobao/Tmall show them to a merchant (docs/exports.md): the surname
and stars for the name (张**), the first three and last four digits of a mobile (138****1234), the
street and stars for the detail address (文三路****). Pure functions; the importer stores only the
masked form, so the clear text never reaches the database, a packet or a log.

A value that already holds a `*` (an export that came masked) is kept as it is.
"""

from __future__ import annotations

import re

STAR = "*"
_DIGIT = re.compile(r"\d")
_NOT_DIGIT = re.compile(r"\D")
_POSTCODE = re.compile(r"[(（]\d{6}[)）]$")
_KEEP_ADDRESS = 6  # at most this many characters of the street are kept


def mask_name(name: str | None) -> str | None:
    """张三丰 -> 张**, 李四 -> 李*, a single character -> *."""
    text = (name or "").strip()
    if not text:
        return None
    if STAR in text:
        return text[:32]
    return text[0] + STAR * (len(text) - 1) if len(text) > 1 else STAR


def mask_phone(phone: str | None) -> str | None:
    """13812341234 -> 138****1234; a landline keeps its last four digits (****6666); too short -> None."""
    text = (phone or "").strip()
    if not text:
        return None
    if STAR in text:
        return text[:20]
    digits = _NOT_DIGIT.sub("", text)
    if digits.startswith("86") and len(digits) == 13:  # +86 before a mobile
        digits = digits[2:]
    if len(digits) == 11 and digits.startswith("1"):
        return f"{digits[:3]}****{digits[-4:]}"
    if len(digits) >= 4:
        return f"****{digits[-4:]}"
    return None


def mask_address(detail: str | None) -> str | None:
    """The street part of an address: kept up to its first number (at most six characters), then ****:
    文三路100号1幢301室 -> 文三路****; without a number the first three characters are kept; 100号 -> ****."""
    text = "".join((detail or "").split())  # without whitespace (what \s matches, the same characters)
    if text[-1:] in ")）":
        text = _POSTCODE.sub("", text)  # the postcode the export appends
    if not text:
        return None
    if STAR in text:
        return text[:200]
    number = _DIGIT.search(text)
    keep = number.start() if number else 3  # a street that starts with its number keeps nothing
    return text[: min(keep, _KEEP_ADDRESS)] + STAR * 4
