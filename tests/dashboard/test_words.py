"""The board speaks the lead's words: every page rendered in Chinese (AppTest) shows no internal code
(status, kind, claim type, state, level, channel, audit action, courier slug) and no untranslated English,
on the board's seed grown by the real services (facts, flag actions, claims from the engine, payouts,
alerts) and on the data `tracker demo` makes (import, sandbox pushes, rules, claims, one alert run).

The check is generic: it walks every element of the AppTest tree (headings, markdown, captions, metrics,
alerts, buttons, inputs, select options, page links, dataframe headers and cells) and lists each offending
string with its page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest
from typer.testing import CliRunner

from dashboard import parcel_actions
from dashboard.i18n import t
from tests.dashboard.conftest import USERS, make_board_config
from tests.dashboard.test_app import login
from tests.dashboard.test_overview_counts import LINK_FOLDS, OVERVIEW_TABS, TAB_KEY
from tracker.settings import PROJECT_ROOT, load_settings

# text fields of element protos a person reads (ids, keys, URLs and format strings are not read)
TEXT_FIELDS = {"label", "body", "options", "default_value", "placeholder", "help", "delta", "caption", "title", "text"}
# ASCII words that are words in Chinese text too: the export format, a time zone, the language switch's
# own name for English, kilograms
ALLOWED = {"XLSX", "UTC", "English", "kg"}
# columns quoting someone else's words verbatim (a mail server's or a robot's reply to a failed alert, the
# courier's own event text and event code, shown as evidence): their cells are not checked, and neither is
# the same text quoted elsewhere on the page (the parcel's caption repeats the courier's last text)
QUOTED_COLUMNS = {"错误", "快递描述", "原始代码"}
TOKEN = re.compile(r"[A-Za-z0-9_.@/&'\-]+")


def _allowed_words() -> set[str]:
    settings = load_settings(PROJECT_ROOT / "config")
    names = {w for c in settings.couriers.values() for w in TOKEN.findall(c.name)}  # "EMS" is its Chinese name
    return ALLOWED | names | set(USERS)


def offending(text: str, allowed: set[str]) -> list[str]:
    """The words in `text` a Chinese reader should not see: ASCII words (codes like in_transit, flag.open,
    zto, or English) other than numbers, waybill-like codes (with a digit) and e-mail addresses."""
    bad = []
    for token in TOKEN.findall(text.replace("\\", "")):
        word = token.strip("._-/'&")
        if not word or any(ch.isdigit() for ch in word) or "@" in word:
            continue
        if sum(ch.isalpha() for ch in word) < 2 or word in allowed:
            continue
        bad.append(word)
    return bad


def _proto_texts(proto: Any) -> Iterator[str]:
    for field, value in proto.ListFields():
        if field.message_type is not None:
            for item in [value] if hasattr(value, "ListFields") else value:
                yield from _proto_texts(item)
        elif field.name in TEXT_FIELDS:
            yield from [value] if isinstance(value, str) else (v for v in value if isinstance(v, str))


def visible_texts(at: AppTest) -> Iterator[tuple[str, str]]:
    """(where, text) for every text a person reads on the rendered page."""

    def walk(node: Any) -> Iterator[tuple[str, str]]:
        kind = getattr(node, "type", "") or type(node).__name__
        if kind in ("dataframe", "arrow_data_frame"):
            frame = node.value
            # a missing value (a number column's) is drawn as the table's placeholder, else Streamlit's "None"
            proto = getattr(node, "proto", None)
            missing = proto.placeholder if proto is not None and proto.HasField("placeholder") else "None"
            for header in frame.columns:
                yield f"{kind} header", str(header)
            for header in frame.columns:
                where = "quoted" if header in QUOTED_COLUMNS else f"{kind} {header}"
                for cell in frame[header]:
                    yield where, missing if cell is None or cell is pd.NA or cell != cell else str(cell)
        elif kind in ("arrow_vega_lite_chart", "vega_lite_chart", "html"):
            pass  # charts: axis titles come from b.t(), the data is drawn; html: the board's style, not text
        elif getattr(node, "proto", None) is not None:
            for text in _proto_texts(node.proto):
                yield kind, text
        for child in (getattr(node, "children", None) or {}).values():
            yield from walk(child)

    yield from walk(at._tree)


def builtin_english(at: AppTest) -> Iterator[str]:
    """Streamlit's own English the protos do not carry: an empty table ("empty"), a multiselect without
    its placeholder ("Choose an option") or with its "Select all / Select N matches" row, a selectbox
    with nothing chosen and no placeholder, the tables' "Download as CSV" button, and a date input in
    Streamlit's own YYYY/MM/DD rather than the board's YYYY-MM-DD (its calendar's month names stay
    English: Streamlit has no locale for it)."""
    from streamlit import config

    if not config.get_option("client.disableDataExport"):
        yield "tables offer Streamlit's English CSV download (client.disableDataExport is off)"

    def walk(node: Any) -> Iterator[str]:
        kind = getattr(node, "type", "")
        proto = getattr(node, "proto", None)
        if kind == "dataframe" and len(node.value) == 0:
            yield f"an empty table ({list(node.value.columns)}) shows Streamlit's English 'empty'"
        if kind == "multiselect" and proto is not None:
            if not proto.placeholder:
                yield f"multiselect {proto.label!r} shows Streamlit's English placeholder"
            if getattr(proto, "select_all", 0):
                yield f"multiselect {proto.label!r} offers Streamlit's English 'Select all / Select N matches'"
        if kind == "date_input" and proto is not None and proto.format != "YYYY-MM-DD":
            yield f"date input {proto.label!r} shows dates as {proto.format}, not as the board's YYYY-MM-DD"
        if kind == "selectbox" and proto is not None and not proto.HasField("default") and not proto.placeholder:
            yield f"selectbox {proto.label!r} shows Streamlit's English 'Choose an option'"
        for child in (getattr(node, "children", None) or {}).values():
            yield from walk(child)

    yield from walk(at._tree)


def pages(ids: dict[str, Any], lang: str = "zh") -> list[tuple[str, str, dict[str, str], dict[str, Any]]]:
    """(name, script, query parameters, session state): every page, the parcel page for parcels with
    everything; the overview on each tab with its link lists open, the queue, the ledger and the scorecards with their
    filters open, and the first parcel
    with its fact folds open and each 更多情况 tab chosen (the pages draw those widgets only then)."""
    found: list[tuple[str, str, dict[str, str], dict[str, Any]]] = [
        ("overview", "views/overview.py", {}, {}),
        *((f"overview {tab}, link lists open", "views/overview.py", {},
           {**dict.fromkeys(LINK_FOLDS, True), TAB_KEY: t(tab, lang)}) for tab in OVERVIEW_TABS),
        ("queue", "views/queue.py", {}, {}),
        ("queue turning stale", "views/queue.py", {"turning_stale": "1"}, {}),
        ("queue by parcel", "views/queue.py", {"by": "parcel"}, {}),
        *((f"queue a scorecard's {which}", "views/queue.py", {"shipped": which, "courier": "sf"}, {})
          for which in ("all", "flagged", "stale")),
        ("queue filters open", "views/queue.py", {}, {"q_filters": True}),
        ("claims", "views/claims.py", {}, {}), ("claims filters open", "views/claims.py", {}, {"c_filters": True}),
        ("scorecards", "views/scorecards.py", {}, {}),
        ("scorecards filters open", "views/scorecards.py", {}, {"s_filters": True}),
        ("scorecards lists open", "views/scorecards.py", {}, {"s_lists": True}),
        *((f"scorecards {tab}", "views/scorecards.py", {}, {"sc_tab": t(tab, lang)})
          for tab in ("sc_tab_transit", "sc_tab_recovered")),
        ("alerts", "views/alerts.py", {}, {})]  # fmt: skip
    for waybill, parcel_id in ids.items():
        found.append((f"parcel {waybill}", "views/parcel.py", {"id": str(parcel_id)}, {}))
    waybill, parcel_id = next(iter(ids.items()))
    folds = {parcel_actions.fold_key(label): True for label, _ in parcel_actions.FACT_FORMS}
    for tab in ("fact_reached", "fact_signed", "fact_return_weight", "fact_platform"):
        state = {**folds, "ff_tabs": t(tab, lang)}
        found.append((f"parcel {waybill} forms open, {tab}", "views/parcel.py", {"id": str(parcel_id)}, state))
    return found


def codes_in(text: str, slugs: set[str]) -> list[str]:
    """The codes in an English text: snake_case or dotted words (in_transit, flag.open) and courier slugs."""
    return [
        w
        for w in (t.strip("._-/'&") for t in TOKEN.findall(text.replace("\\", "")))
        if not any(ch.isdigit() for ch in w) and "@" not in w and ("_" in w or "." in w or w in slugs)
    ]


def render_problems(ids: dict[str, Any], lang: str = "zh") -> list[str]:
    allowed = _allowed_words()
    slugs = set(load_settings(PROJECT_ROOT / "config").couriers)
    at = login()
    assert not at.exception, at.exception
    if lang == "en":
        at.sidebar.selectbox(key="lang").select("en").run()
    problems = []
    for name, script, params, state in pages(ids, lang):
        at.query_params.clear()
        for key, value in params.items():
            at.query_params[key] = value
        for key, value in state.items():
            at.session_state[key] = value
        at.switch_page(script).run()
        assert not at.exception, (name, at.exception)
        assert not at.error, (name, [e.value for e in at.error])  # "page failed" is one line, but not here
        if "ff_tabs" in state:  # the folded forms are drawn: their words are read below
            assert {t("record", lang), t("fact_lost", lang)} <= {b.label for b in at.button}, name
        for fold in {"q_filters", "c_filters"} & set(state):  # so are the folded filters
            assert {s.key for s in at.selectbox} & {f"{fold[0]}_courier"}, name
        if "s_filters" in state:
            assert {d.key for d in at.get("date_input")} == {"s_from", "s_to"}, name
        if state.get(TAB_KEY) == t("ov_tab_ageing", lang):  # the overview's link lists: the ageing ranges are drawn
            assert any(link.proto.label.startswith("0–24") for link in at.get("page_link")), name
        problems += [f"{name} · {what}" for what in builtin_english(at) if lang == "zh"]
        texts = list(visible_texts(at))
        quoted = sorted({t for where, t in texts if where == "quoted" and len(t) >= 4}, key=len, reverse=True)
        for where, text in texts:
            if where == "quoted":
                continue
            for q in quoted:
                text = text.replace(q, "")
            bad = offending(text, allowed) if lang == "zh" else codes_in(text, slugs)
            if bad:
                problems.append(f"{name} · {where}: {text!r} -> {bad}")
    return sorted(set(problems))


@pytest.fixture
def grown_board(board_db, board_config: Path, now):
    """The board seed plus what people and the services add: manual facts, flag actions, claims computed by
    the engine (one complete, one missing inputs), a payout, alerts to a group at ladder steps."""
    from claims import service
    from claims.tables import load_tables
    from tests.dashboard.seed import ALERT
    from tracker.flags import facts, lifecycle

    engine, ids = board_db
    parcels, flags = ids["parcels"], ids["flags"]
    tables = load_tables(board_config / "claims")
    at = now - timedelta(hours=1)
    facts.confirm_loss(engine, waybill="SF1004", actor="lily", now=at, note="网点确认丢失")
    facts.buyer_not_received(
        engine,
        waybill="YTO3003",
        actor="王芳",
        now=at,
        short=True,
        signer="门卫",
        warehouse_weight_kg=Decimal("1.20"),
        courier_weight_kg=Decimal("0.80"),
    )
    facts.return_agreed(
        engine, waybill="SF1001", actor="lily", now=at, refund_deadline=now + timedelta(days=2), express=True
    )
    lifecycle.acknowledge(engine, flag_id=flags["stale"], actor="lily", now=at, note="已联系网点")
    lifecycle.assign(engine, flag_id=flags["stale"], to="王芳", actor="lily", now=at)
    lifecycle.add_note(engine, flag_id=flags["stale"], text="网点说明天到", actor="王芳", now=at)
    lifecycle.resolve(engine, flag_id=flags["no_first_scan"], actor="lily", now=at, note="已揽收")
    service.open_claim(
        engine,
        parcel_id=parcels["SF1004"],
        claim_type="goods_lost",
        scenario="default",
        tables=tables,
        actor="lily",
        now=at,
    )
    service.open_claim(
        engine,
        parcel_id=parcels["ZTO2002"],
        claim_type="freight",
        scenario="default",
        tables=tables,
        actor="lily",
        now=at,
    )  # no freight known: needs configuration
    service.pay_claim(engine, claim_id=ids["claims"]["damage"], amount=Decimal("80.00"), actor="lily", now=at)
    with engine.begin() as conn:
        conn.execute(
            ALERT.insert(),
            [
                dict(
                    flag_id=flags["refused"],
                    parcel_id=parcels["ZTO2002"],
                    dedupe_key="flag:x:step2:leads:wecom_leads:1",
                    channel="wecom_leads",
                    recipient="leads",
                    level="step2/r1",
                    subject="[拒收] ZTO2002",
                    state="held",
                    attempts=0,
                    created_at=at,
                ),
                dict(
                    flag_id=None,
                    parcel_id=None,
                    dedupe_key="digest:leads:board",
                    channel="board",
                    recipient="leads",
                    level="digest",
                    subject="每日汇总",
                    state="sent",
                    attempts=1,
                    sent_at=at,
                    created_at=at,
                ),
            ],
        )
    return ids


def test_every_page_in_chinese_shows_no_code_and_no_english(grown_board):
    problems = render_problems(grown_board["parcels"])
    assert problems == [], "\n".join(problems)


def test_every_page_in_english_shows_no_code(grown_board):
    problems = render_problems(grown_board["parcels"], lang="en")
    assert problems == [], "\n".join(problems)


def test_the_check_finds_codes_and_english(board_db):
    allowed = _allowed_words()
    assert offending("物流状态: in_transit · 已发出", allowed) == ["in_transit"]
    assert offending("flag.open", allowed) == ["flag.open"]
    assert offending("快递: zto", allowed) == ["zto"]
    assert offending("Select 15 matches", allowed) == ["Select", "matches"]
    assert offending("goods value 128.00", allowed) == ["goods", "value"]
    assert offending("SF1001 · O-1001 · lead@example.com · ≥96h · ¥1,234.50 · EMS · lily", allowed) == []
    assert codes_in("Courier: zto · flag.open · in_transit · SF Express · 1,234.50", {"zto", "sf"}) == [
        "zto",
        "flag.open",
        "in_transit",
    ]


@pytest.fixture(scope="module")
def demo_made(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, str], str, dict[str, int]]:
    """What `make run` shows: `tracker demo` (examples/parcels.csv, returns, generated parcels pushed by the
    local sandbox, the rules, claim proposals, one alert run) into a fresh database, once for this module (its
    tests only read it): the environment the board needs, the demo's output and a parcel for each kind of row."""
    from sqlalchemy import select

    from tests.conftest import NOW
    from tracker.cli import app
    from tracker.storage.db import make_engine
    from tracker.storage.rows import ClaimRow, FlagRow, ParcelRow

    where = tmp_path_factory.mktemp("demo")
    url = f"sqlite:///{where / 'demo.db'}"
    env = {
        "TRACKER_CONFIG_DIR": str(make_board_config(where / "config")),
        "TRACKER_DATABASE_URL": url,
        "TRACKER_NOW": NOW.isoformat(),
    }
    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        result = CliRunner().invoke(app, ["demo", "--generated", "150", "--no-board", "--now", NOW.isoformat()])
    assert result.exit_code == 0, result.output
    engine = make_engine(url)
    with engine.connect() as conn:
        # one parcel per flag kind, the claims' parcels and the parcels with alerts: every kind of row
        chosen: dict[str, int] = {}
        for kind, parcel_id in conn.execute(select(FlagRow.kind, FlagRow.parcel_id).order_by(FlagRow.id)):
            chosen.setdefault(f"flag {kind}", parcel_id)
        for claim_type, parcel_id in conn.execute(select(ClaimRow.claim_type, ClaimRow.parcel_id)):
            chosen.setdefault(f"claim {claim_type}", parcel_id)
        waybills = dict(conn.execute(select(ParcelRow.id, ParcelRow.waybill)).all())
    engine.dispose()
    return env, result.output, {waybills[p]: p for p in chosen.values()}


@pytest.fixture
def demo_board(demo_made, monkeypatch: pytest.MonkeyPatch) -> tuple[str, dict[str, int]]:
    """The board on the demo's database (demo_made): its output and a parcel for each kind of row."""
    env, output, parcels = demo_made
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return output, parcels


def test_the_demo_in_chinese_shows_no_code_and_no_english(demo_board):
    _, parcels = demo_board
    assert len(parcels) >= 5
    problems = render_problems(parcels)
    assert problems == [], "\n".join(problems)


def test_the_demo_summary_and_the_board_count_sent_alerts_alike(demo_board):
    """The demo's "alerts: N planned, M sent in K message(s)" and the overview's 今日已发提醒: the same
    alerts (one per exception and recipient), the same count."""
    output, _ = demo_board
    line = next(x for x in output.splitlines() if x.startswith("alerts: "))
    sent = int(re.search(r"(\d+) sent in \d+ message", line).group(1))  # type: ignore[union-attr]
    at = login()
    metric = next(m for m in at.metric if m.label == "今日已发提醒")
    assert int(str(metric.value).replace(",", "")) == sent
    assert sent > 0  # the demo's clock is in working hours: the board channel got them


def test_a_service_error_on_the_board_is_one_line_in_chinese(board_db):
    """Assigning with no name: the lifecycle's words ("the assignee's name is required") become
    the board's own line, naming the row by its waybill (not the flag's id, a column off the screen)."""
    from tests.dashboard.test_queue import act, open_queue

    _, ids = board_db
    fid = ids["flags"]["stale"]
    at = act(open_queue(), "q_assign", [fid], q_to=" ")
    assert [e.value for e in at.error] == ["已处理 0 条 · 失败: SF1001: 请填写「分配给」的姓名"]


def test_the_demo_summary_names_kinds_levels_and_claim_types_in_words(demo_board):
    """The demo's printed summary (what a lead reads after `make run`): exception kinds, their level and
    the proposed claim types in the board's words, no internal code."""
    from tracker import labels

    output, _ = demo_board
    lines = output.splitlines()
    start = next(i for i, x in enumerate(lines) if x.startswith("open exceptions: "))
    end = next(i for i, x in enumerate(lines) if x.startswith("alerts: "))
    listed = [x for x in lines[start + 1 : end] if x.startswith("  ")]
    assert listed
    codes = {*labels.KINDS, *labels.CLAIM_TYPES, "warn", "escalate"}
    for line in listed:
        assert not codes & set(re.findall(r"[a-z_]+", line)), line
    words = {w for pair in (*labels.KINDS.values(), *labels.CLAIM_TYPES.values()) for w in pair}
    assert all(line.strip().split(" (")[0].split(":")[0] in words for line in listed), listed


def test_the_demo_imports_the_courier_bill_and_completes_the_freight_claims(demo_board):
    """The shop's export has no courier charge, so the demo's freight claims are drafted lacking it; the couriers'
    bill (var/courier_bill.csv: 运费, and 退货运费 for the parcels that went back) imported after them completes
    every one of them, and the claimable money says so."""
    output, _ = demo_board
    lines = output.splitlines()
    freight = next((int(x.split(": ")[1]) for x in lines if x.startswith("  运费: ")), 0)
    done = next(re.fullmatch(r"claims completed by the courier bill: (\d+); claimable now: ([\d,.]+) CNY", x)
                for x in lines if x.startswith("claims completed"))  # fmt: skip
    assert done is not None and int(done.group(1)) == freight
    assert (Decimal(done.group(2).replace(",", "")) > 0) == (freight > 0)
    assert any(x.startswith("courier_bill.csv: ") and ", 0 rejected" in x for x in lines)
