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
    ("Flat 3, 10 Queens Road, Hong Kong", (None, None, None, "Flat 3 10 Queens Road Hong Kong")),
    # a street named after a province is a street (it was read as the province, and routes and overrides for
    # that province applied)
    ("北京路100号", (None, None, None, "北京路100号")),
    ("四川北路1861号", (None, None, None, "四川北路1861号")),
    ("新疆路1号", (None, None, None, "新疆路1号")),
    # a name or a phone number before the address is dropped, never a level (张三 was stored as the city)
    ("张三 浙江省杭州市西湖区文三路1号", ("浙江省", "杭州市", "西湖区", "文三路1号")),
    ("王小明 13800000000 上海市浦东新区张江路1号", ("上海", "上海市", "浦东新区", "张江路1号")),
    # a municipality's district is the district, not its city
    ("北京市东城区东长安街1号", ("北京", "北京市", "东城区", "东长安街1号")),
    ("上海 浦东新区 张江路1号", ("上海", "上海市", "浦东新区", "张江路1号")),
    ("上海市闵行区莘庄镇", ("上海", "上海市", "闵行区", "莘庄镇")),
    ("北京市 市辖区 海淀区 中关村", ("北京", "北京市", "海淀区", "中关村")),
    # Taobao's municipalities, one level per word (read without the search): its fillers and a number are no district
    ("天津 天津市 和平区 南京路1号", ("天津", "天津市", "和平区", "南京路1号")),
    ("北京 北京市 市辖区 东城区 东长安街1号", ("北京", "北京市", "东城区", "东长安街1号")),
    ("重庆 重庆市 县 巫山县 1号", ("重庆", "重庆市", "巫山县", "1号")),
    ("上海 上海市 1区 张江路1号", ("上海", "上海市", None, "1区 张江路1号")),
    # read as the search reads them, spaced or not: a district named after its municipality keeps the name (it
    # was read as the municipality written again: 港保税区), a separator
    ("北京 北京市 北京经济技术开发区 科创街1号", ("北京", "北京市", "北京经济技术开发区", "科创街1号")),
    ("北京市北京经济技术开发区科创街1号", ("北京", "北京市", "北京经济技术开发区", "科创街1号")),
    ("天津市天津港保税区海滨一路1号", ("天津", "天津市", "天津港保税区", "海滨一路1号")),
    ("天津 天津市 天津港保税区 海滨一路1号", ("天津", "天津市", "天津港保税区", "海滨一路1号")),
    ("天津天津港保税区海滨一路1号", ("天津", "天津市", "天津港保税区", "海滨一路1号")),
    ("天津市 滨海新区 天津港保税区1号", ("天津", "天津市", "滨海新区", "天津港保税区1号")),
    ("天津港保税区海滨一路1号", ("天津", "天津市", "天津港保税区", "海滨一路1号")),
    ("北京经济技术开发区科创街1号", ("北京", "北京市", "北京经济技术开发区", "科创街1号")),
    ("张三 13800000000 天津港保税区海滨一路1号", ("天津", "天津市", "天津港保税区", "海滨一路1号")),
    # the municipality written twice, with its 市, a space or nothing between, is still the one name
    ("上海上海市浦东新区张江路1号", ("上海", "上海市", "浦东新区", "张江路1号")),
    ("上海 上海 浦东新区 张江路1号", ("上海", "上海市", "浦东新区", "张江路1号")),
    ("上海市上海市浦东新区张江路1号", ("上海", "上海市", "浦东新区", "张江路1号")),
    ("上海上海浦东新区张江路1号", ("上海", "上海市", "浦东新区", "张江路1号")),
    ("上海 上海浦东新区 张江路1号", ("上海", "上海市", "浦东新区", "张江路1号")),
    ("上海、上海黄浦区南京东路1号", ("上海", "上海市", "黄浦区", "南京东路1号")),
    ("北京北京朝阳区建国路1号", ("北京", "北京市", "朝阳区", "建国路1号")),
    ("重庆重庆巫山县1号", ("重庆", "重庆市", "巫山县", "1号")),
    ("天津天津和平区南京路1号", ("天津", "天津市", "和平区", "南京路1号")),
    ("李四 13812345678 上海上海浦东新区张江路1号", ("上海", "上海市", "浦东新区", "张江路1号")),
    ("上海 上海市 、浦东新区 张江路1号", ("上海", "上海市", "浦东新区", "张江路1号")),
    # 市场 and 区域 are streets' words, 市南区 a district
    ("浙江省义乌市篁园服装市场1号", ("浙江省", "义乌市", None, "篁园服装市场1号")),
    ("浙江省宁波市保税区域内1号", ("浙江省", "宁波市", None, "保税区域内1号")),
    ("山东省青岛市市南区香港中路1号", ("山东省", "青岛市", "市南区", "香港中路1号")),
    # 吉林市 is a city of 吉林省, 香港岛 no second 香港 (the city was lost)
    ("吉林省 吉林市 船营区 1号", ("吉林省", "吉林市", "船营区", "1号")),
    ("吉林省吉林市船营区1号", ("吉林省", "吉林市", "船营区", "1号")),
    ("香港特别行政区 香港岛 中西区 皇后大道1号", ("香港特别行政区", "香港岛", "中西区", "皇后大道1号")),
    # a province inside an institution's name after the levels is street (浙江省人民医院 became the city 人民医院)
    ("杭州市 西湖区 浙江省人民医院", (None, "杭州市", "西湖区", "浙江省人民医院")),
    ("上塘路158号 浙江省人民医院", (None, None, None, "上塘路158号 浙江省人民医院")),
    # commas between the levels, a leading comma, the province written twice
    ("浙江省,杭州市,西湖区,文三路1号", ("浙江省", "杭州市", "西湖区", "文三路1号")),
    ("，浙江省杭州市西湖区", ("浙江省", "杭州市", "西湖区", None)),
    ("浙江省浙江省杭州市西湖区", ("浙江省", "杭州市", "西湖区", None)),
    ("", (None, None, None, None)),
]


@pytest.mark.parametrize(("address", "levels"), CASES, ids=[c[0] or "empty" for c in CASES])
def test_an_address_is_split_into_its_levels_and_street(address: str, levels: tuple[str | None, ...]) -> None:
    assert split_address(address) == Region(*levels)


def test_a_setting_names_a_region_as_it_likes() -> None:
    """Routes and overrides match a parcel's province or city whatever the spelling of either (the rules' SQL
    matches the same prefix)."""
    from tracker.regions import region_matches

    assert region_matches("上海", "上海市") and region_matches("上海市", "上海")  # stored 上海, a route for 上海市
    assert region_matches("西藏自治区", "西藏") and region_matches("西藏", "西藏自治区")  # an older row's 西藏
    assert region_matches("杭州市", "杭州") and region_matches("浙江省", None)
    # a city a file's own 城市 column writes without its 市, a route or an override for 杭州市: the same city
    assert region_matches("杭州", "杭州市") and region_matches("杭州市", "杭州市")
    assert not region_matches("杭州", "广州市") and region_matches("沙市区", "沙市")
    assert not region_matches("浙江省", "江苏") and not region_matches(None, "浙江")
