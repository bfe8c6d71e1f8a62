"""An address split into its levels and its street, as Taobao writes it (one level per word) and as ERP exports and
hand-made sheets do (in one piece, or half spaced)."""

from __future__ import annotations

import pytest

from tracker.regions import Region, split_address

CASES = [
    # Taobao's export: one level per word, the postcode after the street
    ("浙江省 杭州市 西湖区 文三路100号(310000)", ("浙江省", "杭州市", "西湖区", "文三路100号(310000)")),
    ("上海 上海市 浦东新区 张江路1号", ("上海", "上海市", "浦东新区", "张江路1号")),
    ("浙江 杭州 西湖区 文三路", ("浙江省", "杭州", "西湖区", "文三路")),
    ("上海市 上海市 浦东新区 张江路1号", ("上海", "上海市", "浦东新区", "张江路1号")),
    ("浙江省 杭州市 西湖区", ("浙江省", "杭州市", "西湖区", None)),
    # in one piece: the levels by their names (杭州市 is not 杭州 with 市 left over; 万州区 is a district), the
    # province as Taobao writes it (a municipality by its short name, its city the 市)
    ("浙江省杭州市西湖区文三路100号", ("浙江省", "杭州市", "西湖区", "文三路100号")),
    ("上海市浦东新区张江路1号", ("上海", "上海市", "浦东新区", "张江路1号")),
    ("重庆市万州区太白路1号", ("重庆", "重庆市", "万州区", "太白路1号")),
    ("北京市海淀区中关村大街1号", ("北京", "北京市", "海淀区", "中关村大街1号")),
    ("广西壮族自治区南宁市青秀区民族大道", ("广西壮族自治区", "南宁市", "青秀区", "民族大道")),
    (
        "新疆维吾尔自治区伊犁哈萨克自治州奎屯市北京路1号",
        ("新疆维吾尔自治区", "伊犁哈萨克自治州", "奎屯市", "北京路1号"),
    ),
    ("贵州省黔南州贵定县城关镇", ("贵州省", "黔南州", "贵定县", "城关镇")),
    ("内蒙古赤峰市红山区", ("内蒙古自治区", "赤峰市", "红山区", None)),
    ("浙江省温州市乐清市柳市镇", ("浙江省", "温州市", "乐清市", "柳市镇")),
    # a prefecture city without districts (东莞): the town is street
    ("广东省东莞市长安镇振安路1号", ("广东省", "东莞市", None, "长安镇振安路1号")),
    # half spaced, and no province
    ("浙江省 杭州市西湖区 文三路 100号", ("浙江省", "杭州市", "西湖区", "文三路 100号")),
    ("杭州市西湖区文三路1号", (None, "杭州市", "西湖区", "文三路1号")),
    # the street alone, and what is not a Chinese address: all street (masked after), no level made up
    ("文三路100号", (None, None, None, "文三路100号")),
    ("Flat 3, 10 Queens Road, Hong Kong", (None, None, None, "Flat 3, 10 Queens Road, Hong Kong")),
    ("", (None, None, None, None)),
]


@pytest.mark.parametrize(("address", "levels"), CASES, ids=[c[0] or "empty" for c in CASES])
def test_an_address_is_split_into_its_levels_and_street(address: str, levels: tuple[str | None, ...]) -> None:
    assert split_address(address) == Region(*levels)
