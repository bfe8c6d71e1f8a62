"""A recipient's address split into province, city, district and the street (the street is then masked:
tracker/masking.py). Pure.

Taobao's export writes its levels apart, "浙江省 杭州市 西湖区 文三路100号(310000)"; many ERP exports and hand-made
sheets write them together, "浙江省杭州市西湖区文三路100号", or half and half. Reading the first three words as the
levels put a whole unspaced address, street and number, into the province (stored unmasked, and no province
filter or route found it). The levels are found by their names: a province by the list below (with or without
省, 市, 自治区), a city and a district by their endings (市, 自治州, 地区, 盟; 区, 县, 市, 旗), or as a short word
of their own between spaces ("浙江 杭州 西湖区"). What is not found is street (an address in latin
letters: all of it)."""

from __future__ import annotations

import re
from typing import NamedTuple

# the provincial-level divisions by their short names (the full name adds one of _PROVINCE_ENDINGS)
PROVINCES = (
    "北京", "天津", "上海", "重庆", "河北", "山西", "辽宁", "吉林", "黑龙江", "江苏", "浙江", "安徽", "福建", "江西",
    "山东", "河南", "湖北", "湖南", "广东", "海南", "四川", "贵州", "云南", "陕西", "甘肃", "青海", "台湾",
    "内蒙古", "广西", "西藏", "宁夏", "新疆", "香港", "澳门",
)  # fmt: skip
# the municipalities: the province is also the city (Taobao writes "上海 上海市 浦东新区")
MUNICIPALITIES = frozenset({"北京", "天津", "上海", "重庆"})
_PROVINCE_ENDINGS = ("壮族自治区", "回族自治区", "维吾尔自治区", "自治区", "特别行政区", "省", "市")

_PROVINCE = re.compile(
    "({})({})?".format("|".join(sorted(PROVINCES, key=len, reverse=True)), "|".join(_PROVINCE_ENDINGS))
)
# a level's name: no digits, no street words, and not the next level's ending inside it (杭州市 is not 杭州, 万州区
# is a district; 服装市场 and 保税区域 are streets)
_NOT_NAME = r"\s\da-zA-Z,，.。:：;；()（）#\-/路街巷号弄村"  # digits, latin, punctuation, street words
_CITY_ENDINGS = ("自治州", "地区", "市", "州", "盟")
_DISTRICT_ENDINGS = ("区", "县", "市", "旗")
_CITY = re.compile(rf"[^{_NOT_NAME}区县旗]{{1,10}}?(?:自治州|地区|市(?!场)|州(?![市区县])|盟)")
_DISTRICT = re.compile(rf"市[南北中]区|[^{_NOT_NAME}市]{{1,10}}?(?:区(?!域)|县|市(?!场)|旗)")
# a short word standing alone between spaces ("浙江 杭州 西湖区"), taken as the level when no ending says so, only
# below a level found (a name or a word before the address is not a city)
_WORD = re.compile(rf"[^{_NOT_NAME}]{{2,8}}(?=\s)")
_SPACE = re.compile(r"\s*")
_NON_SPACE = re.compile(r"\S+")
# what stands between the levels besides spaces (浙江省,杭州市,西湖区)
_BETWEEN = re.compile(r"[,，、;；/|]")
# the words after a municipality that are no level of their own (北京市 市辖区 东城区: the official code list)
_MUNICIPAL_FILLER = ("市辖区", "县 ", "辖区")
_LOOK_PAST = 3  # words before the province passed over (a name, a phone number): dropped, never stored
_FULL = {
    "内蒙古": "内蒙古自治区", "广西": "广西壮族自治区", "西藏": "西藏自治区", "宁夏": "宁夏回族自治区",
    "新疆": "新疆维吾尔自治区", "香港": "香港特别行政区", "澳门": "澳门特别行政区",
}  # fmt: skip
# a municipality's spellings -> its city (上海, 上海市 -> 上海市), and the words after it that are no district
_MUNICIPAL_CITY = {p + e: f"{p}市" for p in MUNICIPALITIES for e in ("", *_PROVINCE_ENDINGS)}
_MUNICIPAL_FILLER_WORDS = frozenset(f.strip() for f in _MUNICIPAL_FILLER)
# districts (zones of district rank in addresses) whose names begin with their municipality's: read as the
# municipality written twice, they lost it (天津港保税区 -> 港保税区); any other name after a municipality written
# again bare is still the name twice (上海上海浦东新区 -> 浦东新区). Migration 0028 repaired the ones stored so.
NAMED_AFTER = ("北京经济技术开发区", "天津经济技术开发区", "天津港保税区", "重庆经济技术开发区")
# every spelling of a province -> the one Taobao's export writes (浙江省, 西藏自治区; a municipality's short name,
# 上海, its city being 上海市), so that a filter or a scorecard lists each province once
# (市 is a province's ending for a municipality only: 吉林市 is a city of 吉林省)
AS_EXPORTED = {
    p + e: (p if p in MUNICIPALITIES else _FULL.get(p, f"{p}省"))
    for p in PROVINCES
    for e in ("", *_PROVINCE_ENDINGS)
    if e != "市" or p in MUNICIPALITIES
}


class Region(NamedTuple):
    province: str | None
    city: str | None
    district: str | None
    street: str | None


def split_address(address: str) -> Region:
    """'浙江省 杭州市 西湖区 文三路100号' and '浙江省杭州市西湖区文三路100号' -> ('浙江省', '杭州市', '西湖区',
    '文三路100号'); '上海市浦东新区张江路1号' -> ('上海', '上海市', '浦东新区', '张江路1号'): the province as Taobao
    writes it (province_name), whatever the spelling. A province's short name is one only when a space, a city or
    a district follows it (北京路100号 is a street); words before the province (a name, a phone number) are
    dropped."""
    parts = address.split()
    if not parts:
        return Region(None, None, None, None)
    if (
        len(parts) >= 4
        and parts[0] in AS_EXPORTED
        and parts[1].endswith(_CITY_ENDINGS)
        and parts[2].endswith(_DISTRICT_ENDINGS)
        and parts[1] not in AS_EXPORTED
    ):  # Taobao's own export, one level per word (the common case: no search)
        return Region(AS_EXPORTED[parts[0]], parts[1], parts[2], " ".join(parts[3:]))
    if (
        len(parts) >= 4
        and parts[1] == _MUNICIPAL_CITY.get(parts[0])
        and parts[2] not in _MUNICIPAL_FILLER_WORDS
        and _PROVINCE.match(parts[2]) is None  # 上海市 again, 北京经济技术开发区: read by the search below
        and _BETWEEN.search(parts[2]) is None  # 、浦东新区: the search reads the separator as a space
        and (named := _DISTRICT.match(parts[2])) is not None
        and named.end() == len(parts[2])
    ):  # a municipality, its city after it ("上海 上海市 浦东新区 ..."), the district as the search reads it
        return Region(AS_EXPORTED[parts[0]], parts[1], parts[2], " ".join(parts[3:]))
    text = " ".join(_BETWEEN.sub(" ", address).split()) + " "  # a space at the end: the last word stands alone too
    found, at = _province(text)
    province = city = district = None
    if found is not None:
        short, province = found.group(1), AS_EXPORTED[found.group(0)]
        if _named_after_it(text, found.start()):
            at = found.start()  # 天津港保税区...: the district's own name says the municipality
        while (
            (again := _PROVINCE.match(text, at))
            and _accepted(again, text)
            and province_name(again[0]) == province
            and not _named_after_it(text, again.start())
        ):
            at = _skip(text, again.end())  # written twice (浙江省浙江省杭州市; 上海 上海市; not 香港岛)
        if short in MUNICIPALITIES:  # its own city; what follows is the district
            city = f"{short}市"
            while filler := next((f for f in _MUNICIPAL_FILLER if text.startswith(f, at)), None):
                at = _skip(text, at + len(filler))
        else:
            city, at = _level(text, at, _CITY, words=True)
    else:
        city, at = _level(text, at, _CITY, words=False)
    if whole := _named_after_it(text, at):
        district, at = whole, _skip(text, at + len(whole))
    else:
        district, at = _level(text, at, _DISTRICT, words=province is not None or city is not None)
    return Region(province, city, district, text[at:].strip() or None)


def _province(text: str) -> tuple[re.Match[str] | None, int]:
    """The province at the start, or after a few words that are no level (a name, a phone number), and the position
    after it and its spaces (_accepted). A level passed over ends the search: 杭州市 西湖区 浙江省人民医院 is a
    hospital's address in 杭州, not a province."""
    at = 0
    for _ in range(_LOOK_PAST + 1):
        found = _PROVINCE.match(text, at)
        if found and _accepted(found, text, past_a_word=at > 0):
            return found, _skip(text, found.end())
        word = _NON_SPACE.match(text, at)
        if word is None or _CITY.fullmatch(word[0]) or _DISTRICT.fullmatch(word[0]):
            break
        if len(word[0]) > 4 and not any(ch.isdigit() for ch in word[0]):
            break  # not a name or a phone number
        at = _skip(text, word.end())
    return None, 0


def _accepted(found: re.Match[str], text: str, *, past_a_word: bool = False) -> bool:
    """Whether a match of _PROVINCE is a province: a spelling of one (吉林市 is a city), and with its ending or
    before a space, a city or a district (北京路, 四川北路, 新疆路 are streets); after words passed over, always
    before a space, a city or a district (浙江省人民医院 is a hospital)."""
    if found[0] not in AS_EXPORTED:
        return False
    after = found.end()
    follows = text[after].isspace() or _CITY.match(text, after) is not None or _DISTRICT.match(text, after) is not None
    return follows if past_a_word else bool(found[2]) or follows


def _named_after_it(text: str, at: int) -> str | None:
    """The district at `at` when it is one of those named after their municipality (NAMED_AFTER): the
    municipality's name there is the district's first word, neither the province nor the name written again."""
    return next((name for name in NAMED_AFTER if text.startswith(name, at)), None)


def _level(text: str, at: int, named: re.Pattern[str], *, words: bool) -> tuple[str | None, int]:
    """The level starting at `at`, by its ending, else (with `words`) a short word standing alone; the position
    after it and its spaces."""
    found = named.match(text, at) or (_WORD.match(text, at) if words else None)
    if found is None:
        return None, at
    return found.group(0), _skip(text, found.end())


def _skip(text: str, at: int) -> int:
    found = _SPACE.match(text, at)
    return found.end() if found else at


def region_matches(value: str | None, wanted: str | None) -> bool:
    """Whether a parcel's province or city is the one a setting names: the parcel's value starts with the
    setting's (region_prefix: a province in any spelling, "上海市" or "西藏自治区", by its short name; "杭州" is
    杭州市). None wants any. The rules' SQL matches the same prefix (tracker/flags/rulesql.py)."""
    return wanted is None or (value is not None and value.startswith(region_prefix(wanted)))


def region_prefix(name: str) -> str:
    """What a region a setting names starts with, whatever its spelling: a province's short name (上海市 -> 上海,
    西藏自治区 -> 西藏: stored as the export writes it, or as an older import did), a city's without its 市
    (杭州市 -> 杭州: a file's own 城市 column may write either), any other name as it is."""
    short = _SHORT.get(name)
    if short is not None:
        return short
    return name[:-1] if len(name) > 2 and name.endswith("市") else name  # (沙市 is a district's whole name)


_SHORT = {spelling: short for short in PROVINCES for spelling in (short, *(short + e for e in _PROVINCE_ENDINGS))}


def province_name(name: str) -> str:
    """A province as Taobao's export writes it, whatever the spelling (浙江 -> 浙江省, 西藏 -> 西藏自治区, 上海市 ->
    上海); a name not known as it is."""
    return AS_EXPORTED.get(name, name)
