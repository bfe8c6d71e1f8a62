"""Untrusted words in a `--format table` listing show as written: never read as rich markup, never sent to
the terminal as a control sequence, never an error (cases: data/cli_table_texts.json)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tracker.cli import app
from tracker.commands.context import terminal_text
from tracker.domain import ParcelFacts
from tracker.settings import Settings
from tracker.storage import repo
from tracker.storage.db import make_engine

DATA = Path(__file__).resolve().parent / "data"
CASES = json.loads((DATA / "cli_table_texts.json").read_text(encoding="utf-8"))["texts"]
RUN = CliRunner()
NOW = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)


def _cell(output: str, column: str, marker: str) -> str:
    """The cell under `column` in the table row holding `marker`, its lines (wrapped at spaces) joined."""
    lines = output.splitlines()
    header = [c.strip() for c in next(line for line in lines if f" {column} " in line).split("┃")]
    at = header.index(column)
    start = next(i for i, line in enumerate(lines) if marker in line)
    parts = []
    for i in range(start, len(lines)):
        cells = [c.strip() for c in lines[i].split("│")]
        if len(cells) != len(header) or (i > start and cells[1]):  # the frame, or the next row
            break
        parts.append(cells[at])
    return " ".join(p for p in parts if p)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_a_shop_name_shows_as_written_in_the_parcel_listing(settings: Settings, case: dict[str, str]) -> None:
    assert RUN.invoke(app, ["init"]).exit_code == 0
    engine = make_engine(settings.database_url)
    repo.upsert_parcels(
        engine, [ParcelFacts(courier="zto", waybill="78312345678902", order_id="ORD1", shop=case["text"])], now=NOW
    )
    engine.dispose()
    shown = RUN.invoke(app, ["parcels"])
    assert shown.exit_code == 0, shown.output
    assert not set(shown.output) & {"\x1b", "\x9b", "\x07", "\r"}, repr(shown.output)
    assert _cell(shown.output, "Shop", "ORD1") == case["shown"], shown.output


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_a_providers_words_printed_outside_a_table_carry_no_control_character(case: dict[str, str]) -> None:
    # the poll's error lines and the autonumber's failure (tracker/commands/online.py, core.py) print a
    # provider's message through terminal_text
    printed = terminal_text(case["text"])
    assert not set(printed) & {"\x1b", "\x9b", "\x07", "\r"}
    assert printed == case["shown"]


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_a_poll_s_provider_error_line_prints_the_words_as_text(case: dict[str, str], capsys) -> None:  # type: ignore[no-untyped-def]
    from tracker.commands.online import print_summary
    from tracker.poller import PollSummary, ProviderStats

    stats = ProviderStats("kuaidi100", polled=1, failed=1, errors=[case["text"]])
    print_summary(PollSummary(now=NOW, due=1, retired=0, skipped={}, providers={"kuaidi100": stats}))
    printed = capsys.readouterr().err
    assert case["shown"] in printed and not set(printed) & {"\x1b", "\x9b", "\x07", "\r"}
