"""Claim tables: validation names the file and key; versions by effective date."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from decimal import Decimal as D
from pathlib import Path

import pytest

from claims.engine import ClaimInputs, compute_compensation
from claims.tables import load_tables
from tracker.settings import PROJECT_ROOT, ConfigError


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    target = tmp_path / "claims"
    shutil.copytree(PROJECT_ROOT / "config" / "claims", target)
    return target


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.mark.parametrize(
    ("file", "old", "new", "expected"),
    [
        (
            "courier_claims.toml",
            'window = "180d"',
            'window = "half a year"',
            "courier_claims.toml: types.ship_delay.window: a period such as 7d",
        ),
        (
            "courier_claims.toml",
            'scenarios.default.terms = [{ kind = "percent", base = "goods_value", percent = "30"',
            'scenarios.default.terms = [{ kind = "percent", base = "goods_value", percent = "-30"',
            "types.ship_delay.scenarios.default.terms.0.percent",
        ),
        (
            "courier_claims.toml",
            'kind = "fixed" }]\n\n[types.service_attitude]',
            'kind = "bonus" }]\n\n[types.service_attitude]',
            "types.return_delay.scenarios.default.terms.0: kind one of",
        ),
        (
            "freight_insurance.toml",
            'rate = "0.07"',
            'rate = "7%"',
            "freight_insurance.toml: categories.refrigerator.rate",
        ),
        (
            "freight_insurance.toml",
            'min_return = "58.5"',
            'min_return = "500"',
            "categories.refrigerator: each minimum must not exceed its maximum",
        ),
        (
            "contracts.toml",
            'return_delay = "100.00"',
            'return_dely = "100.00"',
            "contracts.toml: fixed.default: unknown claim type(s) ['return_dely']",
        ),
        (
            "contracts.toml",
            'damaged_scenario = "accessory_damaged"',
            'damaged_scenario = "smashed"',
            "contracts.toml: proposals.damaged_scenario",
        ),
    ],
)
def test_invalid_table_names_file_and_key(folder: Path, file: str, old: str, new: str, expected: str) -> None:
    _edit(folder / file, old, new)
    with pytest.raises(ConfigError) as caught:
        load_tables(folder)
    assert expected in str(caught.value), str(caught.value)


def test_a_claim_keeps_the_table_version_in_effect_at_its_anchor(folder: Path) -> None:
    newer = (folder / "courier_claims.toml").read_text(encoding="utf-8")
    newer = newer.replace('version = "002-2026.1"', 'version = "002-2027.1"').replace(
        'effective = "2026-01-01"', "effective = 2027-01-01"
    )
    newer = newer.replace('percent = "30", cap = "500.00"', 'percent = "30", cap = "400.00"')
    (folder / "courier_claims_2027.toml").write_text(newer, encoding="utf-8")
    tables = load_tables(folder)
    old = compute_compensation(
        ClaimInputs(goods_value=D("1899.00"), order_created_at=datetime(2026, 6, 1, tzinfo=UTC)),
        "ship_delay",
        "default",
        tables,
    )
    new = compute_compensation(
        ClaimInputs(goods_value=D("1899.00"), order_created_at=datetime(2027, 2, 1, tzinfo=UTC)),
        "ship_delay",
        "default",
        tables,
    )
    assert (old.table_version, old.amount) == ("002-2026.1", D("500.00"))
    assert (new.table_version, new.amount) == ("002-2027.1", D("400.00"))


def test_contract_fixed_amount_per_courier_overrides_the_default(folder: Path) -> None:
    _edit(
        folder / "contracts.toml",
        '# [fixed.sf]\n# service_attitude = "50.00"',
        '[fixed.sf]\nservice_attitude = "50.00"',
    )
    tables = load_tables(folder)
    at = datetime(2026, 6, 1, tzinfo=UTC)
    sf = compute_compensation(ClaimInputs(courier="sf", order_created_at=at), "service_attitude", "signed", tables)
    yto = compute_compensation(ClaimInputs(courier="yto", order_created_at=at), "service_attitude", "signed", tables)
    assert sf.amount == D("50.00") and yto.amount is None
