"""Every label the board asks for exists in Chinese and English."""

from __future__ import annotations

import re

import pytest

from dashboard.i18n import KINDS, LABELS, SEVERITIES, STATES, kind_label, state_label, t
from tracker.settings import PROJECT_ROOT
from tracker.status import AlertState, ClaimState, FlagKind, FlagState, Severity

CALL = re.compile(r"""(?:\bt|\.t)\(\s*["']([a-z_]+)["']""")
TABLE = re.compile(r"""table\(\s*b,\s*[^,]+,\s*\[([^\]]*)\]""", re.S)


def used_keys() -> set[str]:
    keys: set[str] = set()
    for path in (PROJECT_ROOT / "dashboard").rglob("*.py"):
        source = path.read_text(encoding="utf-8")
        keys |= set(CALL.findall(source))
        for columns in TABLE.findall(source):
            keys |= set(re.findall(r'"([a-z_]+)"', columns))
    return keys


def test_every_key_used_by_the_board_has_both_languages():
    missing = sorted(k for k in used_keys() if k not in LABELS)
    assert missing == []
    assert all(zh and en and zh != en for zh, en in LABELS.values() if zh.isascii() is False)


def test_every_flag_kind_and_state_has_labels():
    assert set(FlagKind) <= set(KINDS)
    assert {*FlagState, *ClaimState, *AlertState} <= set(STATES) and set(Severity) <= set(SEVERITIES)
    assert kind_label("stale", "zh") == "物流不更新" and kind_label("stale", "en") == "Stale"
    assert state_label("filed", "en") == "Filed"


def test_labels_fill_placeholders_and_unknown_keys_show_themselves():
    assert t("rows_found", "en", n=3) == "3 rows"
    assert t("no_such_label", "zh") == "no_such_label"


# --- words (issue 15 item 4): every code the board can show has words in both languages ---------------


def _both(table: dict[str, tuple[str, str]], codes) -> list[str]:  # type: ignore[no-untyped-def]
    """Codes of `codes` without a Chinese and an English label (a Chinese label must not be ASCII)."""
    return sorted(str(c) for c in codes if c not in table or not all(table[c]) or table[c][0].isascii())


def audit_actions() -> set[str]:
    """Every action the code writes to the audit log: the rules' flag changes, the lifecycle's, facts,
    claim moves, the board's logins and the importer's line (read from the code, not listed by hand)."""
    from claims.service import TRANSITIONS
    from tracker.flags.evaluate import COUNTERS
    from tracker.status import FactKind

    lifecycle = (PROJECT_ROOT / "tracker" / "flags" / "lifecycle.py").read_text(encoding="utf-8")
    importer = (PROJECT_ROOT / "tracker" / "importer.py").read_text(encoding="utf-8")
    board = (PROJECT_ROOT / "dashboard" / "components.py").read_text(encoding="utf-8")
    actions = {f"flag.{a}" for a in COUNTERS} | {f"flag.{a}" for a in re.findall(r'action="(\w+)"', lifecycle)}
    actions |= {f"fact.{k}" for k in FactKind} | {"claim.draft", "claim.expired"}
    actions |= {f"claim.{state}" for targets in TRANSITIONS.values() for state in targets}
    actions |= set(re.findall(r'action="([a-z_]+)"', importer)) | set(re.findall(r'"(login(?:_failed)?)"', board))
    assert {"flag.open", "flag.ack", "fact.loss_confirmed", "claim.filed", "login_failed", "import_parcels"} <= actions
    return actions


def test_every_enum_member_has_words_in_both_languages():
    from enum import StrEnum

    from dashboard.i18n import CLAIM_TYPES, DIRECTIONS, FACT_KINDS, SEVERITIES, STATUSES
    from tracker import status
    from tracker.status import Direction, FactKind, TrackingStatus

    tables = {
        TrackingStatus: STATUSES,
        Direction: DIRECTIONS,
        FlagKind: KINDS,
        FactKind: FACT_KINDS,
        Severity: SEVERITIES,
        FlagState: STATES,
        ClaimState: STATES,
        AlertState: STATES,
    }
    enums = {v for v in vars(status).values() if isinstance(v, type) and issubclass(v, StrEnum) and v is not StrEnum}
    assert enums == set(tables)  # a new vocabulary in tracker/status.py needs its words here first
    for enum, table in tables.items():
        assert _both(table, enum) == [], enum.__name__
    from claims.tables import load_tables

    tables = load_tables(PROJECT_ROOT / "config" / "claims")
    types = {code: t.name_zh for table in tables.courier_tables for code, t in table.types.items()}
    assert _both(CLAIM_TYPES, [*types, "freight_insurance"]) == []
    assert {code: CLAIM_TYPES[code][0] for code in types} == types  # the courier form's own name


def test_every_audit_action_and_config_name_has_words():
    from dashboard.i18n import AUDIT_ACTIONS, CHANNEL_TYPES, GROUPS, SCENARIOS, value_label
    from tracker.settings import load_settings

    assert _both(AUDIT_ACTIONS, audit_actions()) == []
    settings = load_settings(PROJECT_ROOT / "config")
    assert _both(CHANNEL_TYPES, {c.type for c in settings.alerts.channels.values()}) == []
    assert _both(GROUPS, settings.alerts.groups) == []
    for name in settings.alerts.channels:  # a channel by its config name: its type and group in words
        assert value_label("channel", name, "zh") != name and not value_label("channel", name, "zh").isascii()
    from claims.tables import load_tables

    tables = load_tables(PROJECT_ROOT / "config" / "claims")
    scenarios = {s for table in tables.courier_tables for t in table.types.values() for s in t.scenarios}
    assert _both(SCENARIOS, scenarios) == []


def test_value_label_speaks_each_domain():
    from dashboard.i18n import value_label

    assert value_label("status", "available_for_pickup", "zh") == "待取件"
    assert value_label("kind", "loss_confirmed", "zh") == "快递确认丢件"  # a fact's kind, not a flag's
    assert value_label("claim_type", "goods_lost", "en") == "Goods lost"
    assert value_label("level", "step3/r2", "zh") == "第 3 步 (第 2 次催办)"
    assert value_label("channel", "dingtalk_agents", "zh") == "钉钉 · 客服组"
    assert value_label("action", "flag.open", "zh") == "发现异常"
    assert value_label("direction", "return", "en") == "Return"
    assert value_label("any", True, "zh") == "是" and value_label("any", None, "zh") == ""
    detail = value_label("detail", {"kind": "stale", "from_state": "open", "note": "已联系"}, "zh")
    assert detail == "类型: 物流不更新; 原状态: 待处理; 备注: 已联系"
    assert value_label("formula", '[{"k":"value","name":"goods_value","amount":"128.00"}]', "zh") == "货值 128.00"
    assert value_label("source", "kdniao", "zh") == "快递鸟"


def test_service_errors_become_the_boards_words_and_the_cli_names_its_option():
    from dashboard.i18n import error_text
    from tracker.commands.context import error_line
    from tracker.errors import TrackerError

    exc = TrackerError("the assignee's name is required", code="assignee_required", field="assignee")
    assert error_line(exc) == "error: --to: the assignee's name is required"
    assert error_text(exc, "zh") == "请填写「分配给」的姓名"
    negative = TrackerError("expected the fixed amount to be 0 or more, got -1", field="fixed_amount")
    assert error_line(negative) == "error: --fixed-amount: expected the fixed amount to be 0 or more, got -1"
    assert error_line(TrackerError("no claims match")) == "error: no claims match"
    moved = TrackerError(
        "claim 7 is paid; it cannot become filed", code="claim_transition", claim_id=7, state="paid", to="filed"
    )
    assert error_text(moved, "zh") == "理赔 7 当前为「已赔付」, 不能改为「已提交」"
    assert error_text(TrackerError("something new"), "zh") == t("error_generic", "zh")
    assert error_text(ValueError("bad"), "en") == t("error_generic", "en")


def test_every_error_code_raised_has_a_line_in_both_languages():
    codes = set()
    for folder in ("tracker", "claims", "dashboard"):
        for path in (PROJECT_ROOT / folder).rglob("*.py"):
            codes |= set(re.findall(r'code="([a-z_]+)"', path.read_text(encoding="utf-8")))
    assert "assignee_required" in codes
    missing = sorted(c for c in codes if f"err_{c}" not in LABELS)
    assert missing == []
    for c in codes:
        zh, en = LABELS[f"err_{c}"]
        assert not zh.isascii() and en


def test_a_claim_without_an_amount_is_refused_in_words() -> None:
    """Filing a claim that lacks an input read "不能done_filed" and named what was missing in English."""
    from claims import formula
    from claims.service import _require_amount
    from dashboard.i18n import error_text
    from tracker.errors import TrackerError

    lack = formula.part("input", name="reverse_freight")
    stored = formula.dumps([formula.part("incomplete", terms=[lack], known="0.00", missing=[lack])])
    for done, zh, en in (("filed", "不能提交", "cannot be filed"), ("paid", "不能赔付", "cannot be paid")):
        with pytest.raises(TrackerError) as caught:
            _require_amount(19, {"amount": None, "missing": "reverse freight", "formula": stored}, done)
        said_zh, said_en = error_text(caught.value, "zh"), error_text(caught.value, "en")
        assert said_zh == f"理赔 19 还没有金额 (缺少: 逆向运费), {zh}", said_zh
        assert said_en.endswith(f"(missing: reverse freight), so it {en}"), said_en


def test_a_claim_of_the_other_direction_and_a_claim_input_are_refused_in_words() -> None:
    from dashboard.i18n import error_text
    from tracker.errors import TrackerError

    wrong = TrackerError(
        "waybill YT1 is a shipment: return_delay (退货延迟) is filed against 退货入库单", code="claim_direction",
        waybill="YT1", claim_type="return_delay", documents="退货入库单", direction="outbound",
    )  # fmt: skip
    assert error_text(wrong, "zh") == "运单 YT1 (发货包裹): 「退货延迟」按退货入库单提交, 不能用于这个包裹"
    assert error_text(wrong, "en") == "Waybill YT1 (outbound): Late return is filed against 退货入库单, not this parcel"
    negative = TrackerError("expected ...", code="input_negative", input="forward_freight", amount="-1")
    assert error_text(negative, "zh") == "正向运费不能为负数: -1"
    closed = TrackerError("claim 4 is paid: ...", code="inputs_after_filing", claim_id=4, state="paid")
    assert error_text(closed, "zh") == "理赔 4 当前为「已赔付」: 只有未提交的理赔可以补充参数"
