"""Untrusted text is text in alert messages: every text of data/board_texts.json as a waybill, courier name,
shop, region and next action, rendered for DingTalk/WeCom markdown (parsed back with markdown-it, HTML on),
Slack mrkdwn and plain text. Only our own layout may be markup: the ### title, the list, the board link."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from tracker.alerts.messages import flag_message, render
from tracker.alerts.model import FlagFacts
from tracker.escape import robot_md, slack_mrkdwn, streamlit_md

TEXTS = json.loads((Path(__file__).parent / "data" / "board_texts.json").read_text(encoding="utf-8"))["texts"]
NOW = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)
BOARD = "http://127.0.0.1:8501/parcel?waybill={waybill}"


def _message(text: str, language: str = "zh"):  # type: ignore[no-untyped-def]
    flag = FlagFacts(
        flag_id=1,
        parcel_id=1,
        kind="stale",
        severity="warn",
        level=0,
        opened_at=NOW - timedelta(hours=2),
        courier="sf",
        waybill=text,
        courier_name=text,
        courier_name_en=text,
        shop=text,
        province=text,
        next_action_zh=text,
        next_action_en=text,
        last_event_at=NOW - timedelta(hours=80),
    )
    return flag_message(
        flag,
        language=language,
        level="warn",
        reminder=0,
        to_lead=False,
        now=NOW,
        tz=ZoneInfo("Asia/Shanghai"),
        board_url=BOARD,
    )


def _inline_types(tokens) -> list[str]:  # type: ignore[no-untyped-def]
    out = []
    for token in tokens:
        out.append(token.type)
        out.extend(_inline_types(token.children or []))
    return out


@pytest.mark.parametrize("case", TEXTS, ids=lambda c: c["name"])
def test_robot_markdown_carries_the_text_and_no_markup(case: dict) -> None:
    body = render(_message(case["text"]), "markdown")
    tokens = MarkdownIt("commonmark", {"html": True}).parse(body)
    types = _inline_types(tokens)
    # ours: one h3 title, one bullet list, one link (the board)
    assert types.count("heading_open") == 1 and tokens[0].tag == "h3"
    assert types.count("bullet_list_open") == 1 and types.count("link_open") == 1
    hrefs = [t.attrs.get("href") for tok in tokens for t in (tok.children or []) if t.type == "link_open"]
    assert hrefs == [BOARD.replace("{waybill}", _quoted(case["text"]))]
    for forbidden in (
        "image",
        "html_inline",
        "html_block",
        "strong_open",
        "em_open",
        "s_open",
        "code_inline",
        "fence",
        "code_block",
        "blockquote_open",
        "ordered_list_open",
        "hr",
        "table_open",
    ):
        assert forbidden not in types, (forbidden, body)
    text = "".join(t.content for tok in tokens for t in (tok.children or []) if t.type == "text")
    assert " ".join(case["text"].split()) in " ".join(text.split())  # read back literally


def _quoted(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")


@pytest.mark.parametrize("case", TEXTS, ids=lambda c: c["name"])
def test_slack_mrkdwn_carries_no_control_sequence(case: dict) -> None:
    body = render(_message(case["text"], "en"), "slack")
    links = re.findall(r"<[^>]*>", body)
    assert links == [f"<{BOARD.replace('{waybill}', _quoted(case['text']))}|Open on the board>"]  # only ours
    without_ours = body.replace(links[0], "")
    assert not re.search(r"&(?!amp;|lt;|gt;)", without_ours)
    for line in without_ours.splitlines()[1:]:  # after our *title*: every * _ ~ ` is broken by a zero-width space
        assert not re.search(r"(?<!\u200b)[*_~`]", line.removeprefix("• ")), line


@pytest.mark.parametrize("case", TEXTS, ids=lambda c: c["name"])
def test_plain_text_and_subject_keep_the_text_as_given(case: dict) -> None:
    message = _message(case["text"])
    assert message.subject.endswith(case["text"])
    assert case["text"].split("\n")[0] in render(message, "text")


def test_one_helper_per_target_is_idempotent_on_plain_text() -> None:
    for escape in (streamlit_md, robot_md, slack_mrkdwn):
        assert escape("到官网查询, 联系快递网点 SF1234567890") == "到官网查询, 联系快递网点 SF1234567890"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-23 到达【杭州转运中心】, 重 1.5kg", "2026-11-23 到达【杭州转运中心】, 重 1.5kg"),  # nothing to escape
        ("1. 第一站", "1\\. 第一站"),  # would start an ordered list at the head of a list item
        ("- 已签收", "\\- 已签收"),
        ('<font color="info">x</font>', '&lt;font color="info"&gt;x&lt;/font&gt;'),
    ],
)
def test_robot_markdown_escapes_only_what_could_open(text: str, expected: str) -> None:
    assert robot_md(text) == expected


INERT = {"paragraph_open", "paragraph_close", "inline", "text", "text_special", "softbreak", "entity"}


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=80) | st.text(alphabet="<>[]()!*_~`#-+=.:/@&;$\\|{}^1 \nahx", max_size=40))  # fmt: skip
def test_any_text_escaped_for_markdown_parses_to_plain_text(text: str) -> None:
    for escape in (streamlit_md, robot_md):
        tokens = MarkdownIt("commonmark", {"html": True}).parse("- " + escape(text))  # as a list item, as in alerts
        types = set(_inline_types(tokens)) - {
            "bullet_list_open",
            "bullet_list_close",
            "list_item_open",
            "list_item_close",
        }
        assert types <= INERT, (escape.__name__, text, types)
