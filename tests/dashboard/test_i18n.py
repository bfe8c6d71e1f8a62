"""Every label the board asks for exists in Chinese and English."""

from __future__ import annotations

import re

from dashboard.i18n import KINDS, LABELS, STATES, kind_label, state_label, t
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
    assert {*FlagState, *ClaimState, *AlertState, *Severity} <= set(STATES)
    assert kind_label("stale", "zh") == "物流不更新" and kind_label("stale", "en") == "Stale"
    assert state_label("filed", "en") == "filed"


def test_labels_fill_placeholders_and_unknown_keys_show_themselves():
    assert t("rows_found", "en", n=3) == "3 rows"
    assert t("no_such_label", "zh") == "no_such_label"
