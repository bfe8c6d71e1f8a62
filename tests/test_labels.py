"""Every code a person may read has words in both languages, in one table the board and the packets share;
the buyer's details are masked as Taobao masks them before they are stored."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from claims.tables import load_tables
from dashboard import i18n
from tracker import labels
from tracker.alerts.messages import _claims_line
from tracker.alerts.model import ClaimFacts
from tracker.masking import mask_address, mask_name, mask_phone
from tracker.rules.tmall_timers import TimerKind
from tracker.settings import PROJECT_ROOT
from tracker.status import AlertState, ClaimState, FactKind, FlagKind, FlagState, Severity, TrackingStatus


@pytest.mark.parametrize(
    ("table", "codes"),
    [
        (labels.STATUSES, TrackingStatus),
        (labels.KINDS, FlagKind),
        (labels.FACTS, FactKind),
        (labels.STATES, [*FlagState, *ClaimState, *AlertState]),
        (labels.SEVERITIES, Severity),
        (labels.TIMERS, TimerKind),
        (labels.TIMER_STATES, ["open", "closed", "extended"]),
    ],
)
def test_every_code_has_words_in_both_languages(table, codes) -> None:  # type: ignore[no-untyped-def]
    for code in codes:
        zh, en = labels.pick(table, code, "zh"), labels.pick(table, code, "en")
        assert zh != str(code) and en and not zh.isascii(), code


def test_claim_types_are_named_as_the_claim_table_names_them() -> None:
    tables = load_tables(PROJECT_ROOT / "config" / "claims")
    for table in tables.courier_tables:
        for code, kind in table.types.items():
            assert labels.claim_type_label(code, "zh") == kind.name_zh
            for scenario in kind.scenarios:
                assert labels.scenario_label(scenario, "zh") != scenario
    assert labels.claim_type_label("freight_insurance", "zh") == "聚划算大运险"


def test_the_board_reads_the_same_table() -> None:
    assert i18n.state_label("filed", "zh") == labels.state_label("filed", "zh") == "已提交"
    assert i18n.kind_label("lost", "en") == labels.kind_label("lost", "en")


def test_an_alert_names_a_claim_as_the_board_does() -> None:
    """The claim line of a loss alert read 'goods_lost draft': the codes, in a message to people."""
    claim = ClaimFacts(1, "zto", "goods_lost", "draft", amount=None, currency="CNY", filing_closes_at=None)
    tz = ZoneInfo("Asia/Shanghai")
    assert _claims_line((claim,), "zh", tz) == "索赔建议: 货物丢失 草稿"
    assert _claims_line((claim,), "en", tz) == f"Claim proposal: {labels.claim_type_label('goods_lost', 'en')} draft"
    assert labels.claim_type_label("goods_lost", "en") != "goods_lost"


def test_the_import_as_the_one_who_recorded_a_fact_or_a_change_reads_in_words() -> None:
    # an order export's 交易成功 and a returns export's agreement are recorded by the import: 操作人 / 记录人 = import
    for column in ("actor", "recorded_by"):
        assert labels.value_label(column, "import", "zh") == "文件导入"
        assert labels.value_label(column, "import", "en") == "File import"
    assert labels.value_label("recorded_by", "lily", "zh") == "lily"  # a person's name as it is


def test_an_unknown_code_shows_itself() -> None:
    assert labels.state_label("new_state", "zh") == "new_state" and labels.status_label(None, "zh") == ""


@pytest.mark.parametrize(
    ("given", "masked"),
    [
        ("张三丰", "张**"),
        ("李四", "李*"),
        ("欧阳娜娜", "欧***"),
        ("王", "*"),
        (" ", None),
        ("张**", "张**"),
    ],
)
def test_names(given: str, masked: str | None) -> None:
    assert mask_name(given) == masked


@pytest.mark.parametrize(
    ("given", "masked"),
    [
        ("13812341234", "138****1234"),
        ("+86 138-1234-1234", "138****1234"),
        ("0571-88886666", "****6666"),
        ("139****4321", "139****4321"),
        ("12", None),
        ("", None),
    ],
)
def test_phones(given: str, masked: str | None) -> None:
    assert mask_phone(given) == masked


@pytest.mark.parametrize(
    ("given", "masked"),
    [
        ("文三路100号(310000)", "文三路****"),
        ("科技园1号", "科技园****"),
        ("华润城润府三期", "华润城****"),
        ("中关村大街甲12号", "中关村大街甲****"),
        ("100号", "****"),
        (None, None),
    ],
)
def test_streets(given: str | None, masked: str | None) -> None:
    assert mask_address(given) == masked


def test_hours_read_as_days_and_hours_past_a_day() -> None:
    """Next actions, alerts and the board's ages say 33天14小时, not 806小时 (labels.hours_in_words)."""
    cases = {
        0: ("不到1小时", "under 1 h"),
        20: ("20小时", "20 h"),
        24: ("1天", "1 d"),
        806: ("33天14小时", "33 d 14 h"),
    }
    for hours, (zh, en) in cases.items():
        assert (labels.hours_in_words(hours, "zh"), labels.hours_in_words(hours, "en")) == (zh, en)
    assert labels.hours_in_words(-3, "zh") == "不到1小时"  # a clock behind the event: never a negative span


def test_a_claim_s_inputs_given_read_in_words() -> None:
    """The audit line of `claims set-input` (and the ledger's form) on the parcel page: every key in words, each
    input as the claim's formula names it (it showed forward_freight and table_version)."""
    from tracker.labels import value_label

    detail = {"inputs": {"forward_freight": "12", "fixed_amount": "100"}, "from": "needs_config", "state": "draft",
              "amount": "127.00", "table_version": "002-2026.1"}  # fmt: skip
    zh = value_label("detail", detail, "zh")
    assert (
        zh == "补充的参数: 正向运费 12, 固定金额 100; 原状态: 缺参数; 状态: 草稿; 金额: 127.00; 理赔表版本: 002-2026.1"
    )
    assert value_label("detail", detail, "en").startswith("inputs given: forward freight 12, fixed amount 100; from:")


@pytest.mark.parametrize(
    ("level", "zh", "en"),
    [
        ("warn", "提醒", "Warning"),
        ("escalate/r2", "升级 (第 2 次催办)", "Escalated (reminder 2)"),
        ("step2/r1", "第 2 步 (第 1 次催办)", "Step 2 (reminder 1)"),
        # a ladder step's message to the buyer before its call (planning.MESSAGE): it showed as step1/message
        ("step1/message", "第 1 步 (先发消息)", "Step 1 (message first)"),
        ("digest", "每日汇总", "Daily digest"),
    ],
)
def test_alert_levels_read_in_words(level: str, zh: str, en: str) -> None:
    assert (labels.value_label("level", level, "zh"), labels.value_label("level", level, "en")) == (zh, en)
