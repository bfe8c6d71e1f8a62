"""A listing's filter with a value nobody configured (a typo) is one error line naming what is accepted; it used
to list nothing, exit 0, as if there were nothing to do (`tracker parcels --courier 火星`)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from typer.testing import CliRunner

from tracker.cli import app
from tracker.settings import Settings

RUN = CliRunner()
NOW = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["parcels", "--status", "bogus"], "--status: expected a status (pending, "),
        (["parcels", "--courier", "火星"], "--courier: expected a courier (sf, "),
        (["parcels", "--direction", "sideways"], "--direction: expected a direction (outbound, return)"),
        (["flags", "--courier", "bogus"], "--courier: expected a courier (sf, "),
        (["claims", "list", "--state", "bogus"], "--state: expected a claim state (draft, needs_config, "),
        (["claims", "list", "--courier", "火星"], "--courier: expected a courier (sf, "),
        (["claims", "export", "--out", "x.xlsx", "--state", "bogus"], "--state: expected a claim state (draft, "),
        (["claims", "compute", "--type", "ship_delay", "--goods-value", "100", "--courier", "bogus"], "--courier: "),
    ],
)
def test_an_unknown_filter_value_is_named(args: list[str], said: str, settings: Settings) -> None:
    RUN.invoke(app, ["init"])
    result = RUN.invoke(app, args)
    assert result.exit_code != 0
    assert said in str(result.exception) and "got " in str(result.exception), result.output


def test_known_values_still_list(settings: Settings) -> None:
    RUN.invoke(app, ["init"])
    for args in (
        ["parcels", "--courier", "sf", "--status", "in_transit", "--direction", "return"],
        ["flags", "--courier", "zto"],
        ["claims", "list", "--state", "needs_config", "--courier", "yto"],
    ):
        result = RUN.invoke(app, args)
        assert result.exit_code == 0, (args, result.output)


def test_a_courier_only_stored_parcels_name_still_lists(settings: Settings) -> None:
    """A courier removed from config/couriers.toml: the parcels stored under it are still listed by it."""
    from tracker.domain import ParcelFacts
    from tracker.storage import repo
    from tracker.storage.db import make_engine

    RUN.invoke(app, ["init"])
    engine = make_engine(settings.database_url)
    repo.upsert_parcels(engine, [ParcelFacts(courier="oldco", waybill="OC1234567890")], now=NOW)
    engine.dispose()
    result = RUN.invoke(app, ["parcels", "--courier", "oldco", "--format", "json"])
    assert result.exit_code == 0 and "OC1234567890" in result.output, result.output


def test_a_courier_is_named_as_an_export_names_it(settings: Settings) -> None:
    """`--courier 顺丰` lists SF's parcels, as the importer reads 顺丰 in a file (it was refused as unknown); the
    refusal lists each courier once (the configured ones were listed again among the stored ones)."""
    from tracker.domain import ParcelFacts
    from tracker.storage import repo
    from tracker.storage.db import make_engine

    RUN.invoke(app, ["init"])
    engine = make_engine(settings.database_url)
    repo.upsert_parcels(engine, [ParcelFacts(courier="sf", waybill="SF1234567890123")], now=NOW)
    engine.dispose()
    for name in ("顺丰", "顺丰速运", "SF"):
        result = RUN.invoke(app, ["parcels", "--courier", name, "--format", "json"])
        assert result.exit_code == 0 and "SF1234567890123" in result.output, (name, result.output)
    refused = str(RUN.invoke(app, ["parcels", "--courier", "火星"]).exception)
    assert refused.count("sf,") == 1, refused
