"""The compensation engine: every claim type and scenario, caps and floors, filing windows, missing inputs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from pathlib import Path

import pytest

from claims.engine import ClaimInputs, compute_compensation, compute_insurance
from claims.tables import ClaimTables, load_tables
from tracker.settings import PROJECT_ROOT

ORDER = datetime(2026, 1, 31, 10, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def tables() -> ClaimTables:
    return load_tables(PROJECT_ROOT / "config" / "claims")


def _inputs(**kw: object) -> ClaimInputs:
    base: dict[str, object] = {"order_created_at": ORDER, "order_issued_at": ORDER, "courier": "yto"}
    base.update(kw)
    return ClaimInputs(**base)  # type: ignore[arg-type]


# --- the spec's worked examples (spec/claims.md) -------------------------------------------------------


@pytest.mark.parametrize(
    ("goods", "amount", "formula"),
    [
        ("1000.00", "300.00", "30% × 1,000.00 = 300.00"),
        ("1899.00", "500.00", "30% × 1,899.00 = 569.70, capped at 500.00"),
        # the text says the amount claimed: 30.045 rounds half up (Python's own formatting said 30.04)
        ("100.15", "30.05", "30% × 100.15 = 30.05"),
    ],
)
def test_example_1_ship_delay(tables: ClaimTables, goods: str, amount: str, formula: str) -> None:
    comp = compute_compensation(_inputs(goods_value=D(goods)), "ship_delay", "default", tables)
    assert comp.amount == D(amount) and comp.formula == formula and comp.currency == "CNY"


def test_example_2_goods_lost(tables: ClaimTables) -> None:
    assert compute_compensation(_inputs(goods_value=D("268.50")), "goods_lost", "default", tables).amount == D("268.50")


@pytest.mark.parametrize(
    ("category", "amount", "scenario", "expected"),
    [
        ("refrigerator", "3299.00", "return", "300.21"),  # example 3: 300.209 -> 300.21
        ("washing_machine", "500.00", "refusal", "40.00"),  # example 4: 30.00 -> floor 40.00
        ("flat_panel_tv", "6000.00", "return", "162.50"),  # example 5: 214.50 -> cap 162.50
        ("冰箱", "3299.00", "return", "300.21"),  # the Chinese category names are accepted
    ],
)
def test_examples_3_to_5_freight_insurance(
    tables: ClaimTables, category: str, amount: str, scenario: str, expected: str
) -> None:
    assert compute_insurance(_inputs(order_amount=D(amount)), category, scenario, tables).amount == D(expected)


def test_example_6_freight_and_its_window(tables: ClaimTables) -> None:
    comp = compute_compensation(
        _inputs(forward_freight=D("12.00"), reverse_freight=D("15.00")), "freight", "default", tables
    )
    assert comp.amount == D("27.00")
    assert comp.filing_opens == ORDER + timedelta(days=7)
    assert comp.filing_closes == datetime(2027, 1, 31, 10, 0, tzinfo=UTC)  # 1 year, calendar arithmetic


# --- caps and floors: just under, at, over --------------------------------------------------------------


@pytest.mark.parametrize(("goods", "expected"), [("1666.63", "499.99"), ("1666.67", "500.00"), ("1666.70", "500.00")])
def test_ship_delay_cap_edges(tables: ClaimTables, goods: str, expected: str) -> None:
    assert compute_compensation(_inputs(goods_value=D(goods)), "ship_delay", "default", tables).amount == D(expected)


@pytest.mark.parametrize(
    ("category", "scenario", "low", "high", "rate", "mult"),
    [
        ("flat_panel_tv", "return", "49.4", "162.5", "0.0275", "1.3"),
        ("flat_panel_tv", "refusal", "38", "125", "0.0275", "1"),
        ("other_tv", "return", "49.4", "162.5", "0.0275", "1.3"),
        ("other_tv", "refusal", "38", "125", "0.0275", "1"),
        ("refrigerator", "return", "58.5", "364", "0.07", "1.3"),
        ("refrigerator", "refusal", "45", "280", "0.07", "1"),
        ("washing_machine", "return", "52", "234", "0.06", "1.3"),
        ("washing_machine", "refusal", "40", "180", "0.06", "1"),
    ],
)
def test_insurance_floor_and_cap_edges(
    tables: ClaimTables, category: str, scenario: str, low: str, high: str, rate: str, mult: str
) -> None:
    per_yuan = D(rate) * D(mult)

    def pay(raw: D) -> D | None:
        return compute_insurance(_inputs(order_amount=raw / per_yuan), category, scenario, tables).amount

    cent = D("0.01")
    assert pay(D(low) - cent) == D(low).quantize(cent)  # just under the floor: raised to it
    assert pay(D(low)) == D(low).quantize(cent)
    assert pay(D(low) + cent) == (D(low) + cent).quantize(cent)
    assert pay(D(high) - cent) == (D(high) - cent).quantize(cent)
    assert pay(D(high)) == D(high).quantize(cent)
    assert pay(D(high) + cent) == D(high).quantize(cent)  # over the cap: capped


# --- every type and scenario -------------------------------------------------------------------------------

FULL = dict(
    goods_value=D("500.00"),
    supplier_value=D("320.00"),
    forward_freight=D("12.00"),
    reverse_freight=D("15.00"),
    loss_value=D("100.00"),
)


@pytest.mark.parametrize(
    ("claim_type", "scenario", "came_back", "expected", "missing"),
    [
        ("ship_delay", "default", False, "150.00", ()),
        ("return_delay", "default", False, "100.00", ()),  # seed: fixed 100 CNY
        ("service_attitude", "signed", False, None, ("fixed amount not configured",)),
        ("service_attitude", "refused", False, None, ("fixed amount not configured",)),
        ("service_attitude", "assault", False, None, ("fixed amount not configured",)),
        ("service_attitude", "property_damage", False, None, ("fixed amount not configured",)),
        ("install_grab", "default", False, None, ("fixed amount not configured",)),
        ("freight", "default", False, "27.00", ()),
        ("not_to_door", "signed", False, None, ("fixed amount not configured",)),
        ("not_to_door", "refused", False, None, ("fixed amount not configured",)),
        ("not_to_door", "other_loss", False, None, ("ratio not_to_door_other_loss not configured",)),
        ("pickup_late", "default", False, None, ("fixed amount not configured",)),
        ("power_on_check", "signed_intact", False, None, ("fixed amount not configured",)),
        ("power_on_check", "refused_damaged", True, None, ("fixed amount not configured",)),
        ("wrong_item", "unrecoverable", False, "500.00", ()),  # 货款金额 defaults to the goods value
        ("wrong_item", "signed_accepted", False, None, ("fixed amount not configured",)),
        ("goods_lost", "default", False, "500.00", ()),
        ("goods_lost", "pickup_return_lost", False, "500.00", ()),
        ("goods_lost", "accessory_damaged", False, "320.00", ()),  # 供货商货值
    ],
)
def test_every_type_and_scenario(
    tables: ClaimTables, claim_type: str, scenario: str, came_back: bool, expected: str | None, missing: tuple[str, ...]
) -> None:
    comp = compute_compensation(_inputs(came_back=came_back, **FULL), claim_type, scenario, tables)
    assert comp.amount == (None if expected is None else D(expected))
    assert comp.missing == missing
    assert comp.table_version == "002-2026.1"


def test_unset_fixed_amount_shows_the_known_part(tables: ClaimTables) -> None:
    comp = compute_compensation(_inputs(**FULL), "service_attitude", "refused", tables)
    assert comp.amount is None and comp.known_part == D("27.00")
    assert (
        comp.formula
        == "F + forward freight 12.00 + reverse freight 15.00: 27.00 known; missing: fixed amount not configured"
    )


def test_freight_incurred_adds_reverse_only_when_the_parcel_came_back(tables: ClaimTables) -> None:
    fixed = {"fixed_amount": D("50.00")}
    kept = compute_compensation(_inputs(**FULL, **fixed), "power_on_check", "signed_damaged", tables)
    assert "freight 12.00" in kept.formula and "12.00 + 15.00" not in kept.formula
    back = compute_compensation(_inputs(came_back=True, **FULL, **fixed), "power_on_check", "signed_damaged", tables)
    assert "freight 12.00 + 15.00" in back.formula


def test_a_refusal_scenario_counts_the_return_leg_whatever_the_status(tables: ClaimTables) -> None:
    """客户拒收货物退回 (seed 002: 赔付运费+固定金额): drafted while the parcel still read refused or returning, the
    claim counts both legs, or asks for the return leg's freight; it is never the forward freight alone."""
    fixed = {"fixed_amount": D("50.00")}
    both = compute_compensation(_inputs(**FULL, **fixed), "wrong_item", "refused_returned", tables)
    assert both.amount == D("77.00") and "freight 12.00 + 15.00" in both.formula
    unknown = {**FULL, "reverse_freight": None}
    asks = compute_compensation(_inputs(**unknown, **fixed), "wrong_item", "refused_returned", tables)
    assert asks.amount is None and asks.missing == ("reverse freight",)


@pytest.mark.parametrize(
    ("claim_type", "scenario", "inputs", "missing"),
    [
        ("goods_lost", "default", {}, ("goods payment",)),  # 货款金额 (seed 002)
        ("freight", "default", {"forward_freight": D("12.00")}, ("reverse freight",)),
        ("ship_delay", "default", {}, ("goods value",)),
        ("goods_lost", "accessory_damaged", {"goods_value": D("10")}, ("supplier value",)),
    ],
)
def test_missing_input_is_never_a_silent_zero(
    tables: ClaimTables, claim_type: str, scenario: str, inputs: dict, missing: tuple
) -> None:  # type: ignore[type-arg]
    comp = compute_compensation(_inputs(**inputs), claim_type, scenario, tables)
    assert comp.amount is None and comp.missing == missing and "missing" in comp.formula


def test_insurance_without_an_amount_says_so(tables: ClaimTables) -> None:
    comp = compute_insurance(_inputs(), "refrigerator", "return", tables)
    assert comp.amount is None and comp.missing == ("order amount",)


@pytest.mark.parametrize(
    ("claim_type", "scenario", "message"),
    [
        ("nope", "default", "unknown claim type 'nope'"),
        ("freight", "refused", "freight has scenarios default, not 'refused'"),
        ("unbox_check", "default", "has no amounts in the claim table"),
    ],
)
def test_unknown_type_or_scenario_is_an_error(
    tables: ClaimTables, claim_type: str, scenario: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        compute_compensation(_inputs(goods_value=D(1)), claim_type, scenario, tables)


def test_unknown_insurance_category(tables: ClaimTables) -> None:
    with pytest.raises(ValueError, match="unknown freight-insurance category '空调'"):
        compute_insurance(_inputs(order_amount=D(100)), "空调", "return", tables)


# --- filing windows -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("claim_type", "anchor_field", "opens", "closes"),
    [
        ("ship_delay", "order_created_at", timedelta(0), datetime(2026, 7, 30, 10, 0, tzinfo=UTC)),  # 0 .. 180 d
        ("return_delay", "order_created_at", timedelta(0), datetime(2026, 2, 14, 10, 0, tzinfo=UTC)),  # 14 d
        ("service_attitude", "order_created_at", timedelta(days=7), datetime(2026, 3, 17, 10, 0, tzinfo=UTC)),  # 45 d
        ("pickup_late", "order_created_at", timedelta(days=7), datetime(2026, 3, 2, 10, 0, tzinfo=UTC)),  # 30 d
        ("wrong_item", "order_issued_at", timedelta(days=7), datetime(2026, 7, 31, 10, 0, tzinfo=UTC)),  # 6 months
        ("goods_lost", "order_issued_at", timedelta(days=7), datetime(2027, 1, 31, 10, 0, tzinfo=UTC)),  # 1 year
    ],
)
def test_filing_window(
    tables: ClaimTables, claim_type: str, anchor_field: str, opens: timedelta, closes: datetime
) -> None:
    comp = compute_compensation(
        _inputs(**FULL), claim_type, next(iter(tables.courier_tables[0].types[claim_type].scenarios)), tables
    )
    assert comp.filing_opens == ORDER + opens and comp.filing_closes == closes


def test_month_arithmetic_clamps_to_the_month_end(tables: ClaimTables) -> None:
    issued = datetime(2026, 8, 24, 9, 0, tzinfo=UTC)  # + 7 d = 08-31; window 6 m from the anchor
    comp = compute_compensation(
        ClaimInputs(goods_value=D(1), order_issued_at=issued), "wrong_item", "unrecoverable", tables
    )
    assert comp.filing_closes == datetime(2027, 2, 24, 9, 0, tzinfo=UTC)
    from claims.tables import parse_period

    assert parse_period("6m").add(datetime(2026, 8, 31, tzinfo=UTC)) == datetime(2027, 2, 28, tzinfo=UTC)


@pytest.mark.parametrize(
    ("claim", "issued", "closes"),
    [
        # 6 months (发货错误 投诉时效:6个月) from an order issued at 05:00 on 1 March in Shanghai: 1 September there
        ("wrong_item", "2026-03-01T05:00:00+08:00", "2026-09-01T05:00:00+08:00"),
        # 1 year (货物丢失 投诉时效:1年) from 05:00 on 1 March 2027: 1 March 2028, not 29 February
        ("goods_lost", "2027-03-01T05:00:00+08:00", "2028-03-01T05:00:00+08:00"),
        # the other way: 01:00 on 31 August in Shanghai is still 30 August in UTC; 6 months: 28 February
        ("wrong_item", "2026-08-31T01:00:00+08:00", "2027-02-28T01:00:00+08:00"),
    ],
)
def test_months_and_years_are_counted_on_the_shop_s_calendar(
    tables: ClaimTables, claim: str, issued: str, closes: str
) -> None:
    """The seed's 6个月 and 1年 are calendar months in Shanghai: counted on the UTC date, an order issued before
    08:00 lost up to three days of its window (or gained them)."""
    comp = compute_compensation(
        ClaimInputs(goods_value=D(1), order_issued_at=datetime.fromisoformat(issued).astimezone(UTC)),
        claim,
        next(iter(tables.table_at(None).types[claim].scenarios)),
        tables,
    )
    assert comp.filing_closes == datetime.fromisoformat(closes)


def test_anchor_falls_back_to_the_time_that_is_known(tables: ClaimTables) -> None:
    comp = compute_compensation(ClaimInputs(goods_value=D(1), order_created_at=ORDER), "goods_lost", "default", tables)
    assert comp.filing_opens == ORDER + timedelta(days=7)


def test_window_counted_from_opening_when_configured(tmp_path: Path) -> None:
    import shutil

    folder = tmp_path / "claims"
    shutil.copytree(PROJECT_ROOT / "config" / "claims", folder)
    path = folder / "courier_claims.toml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("window_from_opening = false", "window_from_opening = true"),
        encoding="utf-8",
    )
    comp = compute_compensation(_inputs(**FULL), "freight", "default", load_tables(folder))
    assert comp.filing_closes == datetime(2027, 2, 7, 10, 0, tzinfo=UTC)


# --- the formula in Chinese, from the same parts as the English (packets, the zh board) -----------------------


def test_days_left_count_the_shop_s_calendar() -> None:
    """A window closing at 05:00 tomorrow in Shanghai has 1 day left at 22:00 tonight (7 hours, 0 whole days);
    one closing at 23:00 tonight has 0; a closed one is negative."""
    from zoneinfo import ZoneInfo

    from claims.claimable import days_left

    shanghai = ZoneInfo("Asia/Shanghai")
    now = datetime(2026, 12, 4, 22, 0, tzinfo=shanghai)
    assert days_left(datetime(2026, 12, 5, 5, 0, tzinfo=shanghai), now, shanghai) == 1
    assert days_left(datetime(2026, 12, 4, 23, 0, tzinfo=shanghai), now, shanghai) == 0
    assert days_left(datetime(2026, 12, 3, 23, 0, tzinfo=shanghai), now, shanghai) == -1
    assert days_left(datetime(2026, 12, 4, 21, 0), now.astimezone(UTC), shanghai) == 1  # naive: stored UTC
