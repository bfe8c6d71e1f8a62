"""One figure everywhere (issue 17 item 2): on the same database, the board, the command line and the daily
digest show the same claimable money, and the board's reconciliation table is the command line's
reconciliation added up per courier. Runs on the database of the pass (SQLite, or PostgreSQL under
TRACKER_TEST_DB=postgresql)."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from tests.dashboard.seed import seed, seed_ageing, seed_claims
from tests.dashboard.test_app import login
from tracker.alerts import store
from tracker.alerts.digest import OPEN_CLAIM_STATES, digest_message
from tracker.cli import app
from tracker.settings import load_settings

RUN = CliRunner()
# filed 2026-10-31 17:30 UTC is 2026-11-01 01:30 in Shanghai: a November claim in the warehouse's months
MONTH_EDGE = datetime(2026, 10, 31, 17, 30, tzinfo=UTC)


@pytest.fixture
def ledger_db(board_config: Path, db_engine: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch, now: datetime):
    """The board's seed plus claims in every state for three couriers, filed in two months (one of them in
    November only in the warehouse's zone), paid short and paid in full, drafts in and out of their window."""
    monkeypatch.setenv("TRACKER_CONFIG_DIR", str(board_config))
    monkeypatch.setenv("TRACKER_DATABASE_URL", db_url)
    monkeypatch.setenv("TRACKER_NOW", now.isoformat())
    seed(db_engine, now)
    seed_ageing(db_engine, now)
    october = datetime(2026, 10, 12, 3, 0, tzinfo=UTC)
    rows = [  # waybill, courier, type, state, amount, paid, window closes in days, filed at
        ("EMS01", "ems", "goods_lost", "draft", "1234.50", None, 5, None),
        ("EMS02", "ems", "goods_lost", "filed", "300.00", None, 30, october),
        ("EMS03", "ems", "goods_lost", "paid", "88.00", "80.00", None, MONTH_EDGE),
        ("EMS04", "ems", "freight", "paid", "12.00", "12.00", None, october),
        ("EMS05", "ems", "goods_lost", "rejected", "45.00", None, None, MONTH_EDGE),
        ("ZTO11", "zto", "goods_lost", "draft", "50.00", None, 40, None),
        ("ZTO12", "zto", "goods_lost", "needs_config", None, None, 10, None),
        ("ZTO13", "zto", "goods_lost", "draft", "70.00", None, -2, None),  # window closed: not claimable
        ("ZTO2002", "zto", "freight", "paid", "8.50", "5.00", None, october),
    ]
    seed_claims(db_engine, now, rows)
    return db_engine


def money(text: str | float) -> Decimal:
    """A money text (¥1,234.50) or a table's money cell (a number, shown so) as Decimal."""
    if not isinstance(text, str):
        return Decimal(f"{text:.2f}")
    return Decimal(text.replace("¥", "").replace(",", "").strip())


def cli_json(*args: str) -> list[dict]:
    result = RUN.invoke(app, [*args, "--format", "json"])
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.output.splitlines() if line.strip()]


def test_board_cli_and_digest_show_the_same_claimable_money_and_reconciliation(ledger_db, board_config, now):
    settings = load_settings(board_config)
    # the board: the overview's claimable money and the ledger's reconciliation table
    at = login()
    assert not at.exception, at.exception
    metric = next(m for m in at.metric if m.label == "可索赔金额(草稿, 申报期未过)")
    board_claimable = money(metric.value)
    board_count = int(re.search(r"(\d+) 件理赔", metric.delta).group(1))
    at.switch_page("views/claims.py").run()
    assert not at.exception, at.exception
    recon = next(d.value for d in at.dataframe if "少赔金额" in d.value.columns)
    names = {cfg.name: slug for slug, cfg in settings.couriers.items()}
    board_recon = {
        names[r["快递"]]: (int(r["累计提交"]), money(r["索赔金额"]), money(r["赔付金额"]), money(r["少赔金额"]))
        for r in recon.to_dict("records")
    }

    # the command line: `tracker claims totals` and `tracker claims reconcile` (per month)
    (cli_claimable,) = [r for r in cli_json("claims", "totals", "--now", now.isoformat()) if r["state"] == "claimable"]
    per_courier: dict[str, list] = defaultdict(lambda: [0, Decimal(0), Decimal(0), Decimal(0)])
    months = set()
    for line in cli_json("claims", "reconcile"):
        months.add((line["courier"], line["month"]))
        total = per_courier[line["courier"]]
        total[0] += line["filed"]
        for i, key in ((1, "expected"), (2, "paid"), (3, "short")):
            total[i] += Decimal(line[key])

    # the daily digest over the open claims its caller loads
    message = digest_message(
        [],
        store.load_claims(ledger_db, states=OPEN_CLAIM_STATES),
        language="zh",
        config=settings.alerts,
        tz=settings.tz,
        now=now,
        currency=settings.currency,
    )
    (line,) = [str(x) for x in message.lines if str(x).startswith("可索赔金额")]
    digest_claimable = money(re.search(r"([\d,]+\.\d\d) CNY", line).group(1))

    # SF1001 (the seed's draft), EMS01 and ZTO11: the closed window and needs_config are not claimable
    assert board_claimable == Decimal(cli_claimable["amount"]) == digest_claimable == Decimal("1483.50")
    assert board_count == cli_claimable["claims"] == 3
    assert board_recon == {c: tuple(t) for c, t in per_courier.items()}
    assert board_recon["ems"] == (4, Decimal("445.00"), Decimal("92.00"), Decimal("8.00"))
    assert ("ems", "2026-11") in months and ("ems", "2026-10") in months  # filed 01:30 on 1 Nov, Shanghai


def test_a_claim_without_an_amount_is_named_never_summed_as_zero(ledger_db, now):
    """ZTO12 needs an input before it has an amount (缺参数): the ledger's state figure says its amount is
    unknown, the ledger's total filtered to it says so instead of ¥0.00, the unfiltered total names it beside
    the sum, and `tracker claims totals` counts it beside the state's sum."""
    at = login()
    at.switch_page("views/claims.py").run()
    assert not at.exception, at.exception
    (missing,) = [m for m in at.metric if m.label == "缺参数"]
    assert (missing.value, missing.delta) == ("1", "索赔金额 未知")
    (drafts,) = [m for m in at.metric if m.label == "草稿"]
    assert "金额未知" not in drafts.delta  # every draft here has its amount
    totals = [c.value for c in at.caption if c.value.startswith("索赔金额合计")]
    assert totals and totals[0].endswith("· 另有 1 件金额未知, 未计入"), totals

    at.query_params["state"] = "needs_config"
    at.run()
    assert not at.exception, at.exception
    totals = [c.value for c in at.caption if c.value.startswith("索赔金额合计")]
    assert totals == ["索赔金额合计 未知 · 已赔付合计 ¥0.00"], totals

    (row,) = [r for r in cli_json("claims", "totals", "--now", now.isoformat()) if r["state"] == "needs_config"]
    assert (row["claims"], row["amount"], row["without_amount"]) == (1, None, 1)  # no sum, not 0.00
    table = RUN.invoke(app, ["claims", "totals", "--now", now.isoformat()])
    assert table.exit_code == 0, table.output
    (line,) = [x for x in table.output.splitlines() if "unknown" in x]
    assert "0.00" not in line, table.output


@pytest.mark.parametrize(
    ("header", "state", "claims", "claimed", "paid"),
    [
        # EMS02 still filed, EMS03 and EMS04 paid, EMS05 rejected (EMS01 is a draft)
        ("累计提交", "submitted", 4, "¥445.00", "¥92.00"),
        ("索赔金额", "submitted", 4, "¥445.00", "¥92.00"),
        ("已赔付", "paid", 2, "¥100.00", "¥92.00"),
        ("赔付金额", "paid", 2, "¥100.00", "¥92.00"),
        ("已驳回", "rejected", 1, "¥45.00", "¥0.00"),
    ],
)
def test_a_reconciliation_figure_opens_exactly_its_claims(ledger_db, header, state, claims, claimed, paid):
    """A click on a courier's count, or on the money of those claims, opens the ledger filtered to them: as
    many rows as the count, the ledger's total line the same money as the table."""
    at = login()
    at.switch_page("views/claims.py").run()
    assert not at.exception, at.exception
    assert "点击累计提交、已赔付、已驳回的件数或索赔、赔付金额, 在台账中打开这些理赔" in [c.value for c in at.caption]
    recon = next(d for d in at.dataframe if (d.key or "").startswith("reconciliation_"))
    row = list(recon.value["快递"]).index("EMS")
    shown = recon.value[header][row]
    at.session_state[recon.key] = {"selection": {"rows": [], "columns": [], "cells": [[row, header]]}}
    at.run()
    assert not at.exception, at.exception
    assert (at.query_params["courier"], at.query_params["state"]) == ("ems", state)
    assert f"共 {claims} 条 · 1/1" in [c.value for c in at.caption]
    assert f"索赔金额合计 {claimed} · 已赔付合计 {paid}" in [c.value for c in at.caption]
    opened = {
        "累计提交": claims,
        "已赔付": claims,
        "已驳回": claims,
        "索赔金额": money(claimed),
        "赔付金额": money(paid),
    }
    assert money(shown) == opened[header] if header.endswith("金额") else shown == opened[header]


def test_a_click_on_what_was_paid_short_opens_nothing(ledger_db):
    """Paid short is a part of the paid claims' money, not a list of its own: a click on it stays where it is."""
    at = login()
    at.switch_page("views/claims.py").run()
    recon = next(d for d in at.dataframe if (d.key or "").startswith("reconciliation_"))
    at.session_state[recon.key] = {"selection": {"rows": [], "columns": [], "cells": [[0, "少赔金额"]]}}
    at.run()
    assert not at.exception, at.exception
    assert "state" not in at.query_params and "courier" not in at.query_params
