"""A recorded fact's data reads in words on the board and in a claim packet: its keys, its codes, its times in the
configured zone (the import's 交易成功 record showed `at: 2026-11-20T06:12:00+00:00; source: order export`)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from claims.export import fact_text
from tracker.labels import value_label


def test_a_facts_data_reads_in_words_in_both_languages() -> None:
    signed = {"signer": "门卫", "locker": True, "consent": False}
    assert value_label("data", signed, "zh") == "签收人: 门卫; 放入快递柜或驿站: 是; 买家同意代收: 否"
    assert value_label("data", {"source": "order export"}, "en") == "Source: Order export"
    weighed = {"shipped_kg": "1.25", "returned_kg": "0.40", "shipped_g": 1250, "returned_g": 400}
    assert value_label("data", weighed, "zh") == (
        "发货重量(kg): 1.25; 退回重量(kg): 0.40; 发货重量(g): 1250; 退回重量(g): 400"
    )


def test_a_packet_names_the_imports_record_in_chinese_at_shanghai_time() -> None:
    data = {"at": "2026-11-20T06:12:00+00:00", "source": "order export"}
    assert fact_text(data, ZoneInfo("Asia/Shanghai")) == "时间: 2026-11-20 14:12; 来源: 订单导出"
