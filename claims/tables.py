"""Claim tables from config/claims/*.toml (docs/claims.md), validated on load into frozen values.

Several versions of the courier table may coexist (`courier_claims*.toml`); the one in effect at the
claim's anchor time applies and the claim keeps its version. Errors name the file and the key.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from tracker.settings import ConfigError, Settings, read_toml, validate_file

_PERIOD = re.compile(r"^(\d+)([dmy])$")
TERM_KINDS = ("percent", "value", "fixed", "forward_freight", "reverse_freight", "freight_incurred", "ratio")
VALUE_BASES = ("goods_value", "goods_payment", "supplier_value", "loss_value")
CATEGORY_ALIASES = {
    "平板电视": "flat_panel_tv",
    "其它电视机": "other_tv",
    "其他电视机": "other_tv",
    "冰箱": "refrigerator",
    "洗衣机": "washing_machine",
}


# The seed's months and years are the shop's calendar (a 6-month window from an order at 05:00 on 1 March in
# Shanghai ends on 1 September there): the zone they are counted in when the caller names none.
CLAIM_ZONE = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True, slots=True)
class Period:
    """'7d', '6m', '1y': days are 24 h; months and years are calendar arithmetic on the local date in `tz`
    (not on the UTC date, which is the day before for a time before 08:00 in Shanghai), the day clamped to the
    month's end."""

    count: int
    unit: str

    def add(self, at: datetime, tz: tzinfo = CLAIM_ZONE) -> datetime:
        if self.unit == "d":
            return at + timedelta(days=self.count)
        local = at.astimezone(tz) if at.tzinfo is not None else at
        months = self.count * (12 if self.unit == "y" else 1)
        month0 = local.month - 1 + months
        year, month = local.year + month0 // 12, month0 % 12 + 1
        day = min(local.day, calendar.monthrange(year, month)[1])
        moved = local.replace(year=year, month=month, day=day)
        return moved.astimezone(at.tzinfo) if at.tzinfo is not None else moved

    def __str__(self) -> str:
        return f"{self.count}{self.unit}"


def parse_period(text: str) -> Period:
    match = _PERIOD.match(text)
    if not match:
        raise ValueError(f"a period such as 7d, 6m or 1y, got {text!r}")
    return Period(int(match.group(1)), match.group(2))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Term(_Strict):
    kind: str
    base: str | None = None
    percent: Decimal | None = Field(default=None, gt=0)
    cap: Decimal | None = Field(default=None, ge=0)
    ratio_key: str | None = None

    @model_validator(mode="after")
    def _complete(self) -> Term:
        if self.kind not in TERM_KINDS:
            raise ValueError(f"kind one of {', '.join(TERM_KINDS)}, got {self.kind!r}")
        if self.kind in ("percent", "value", "ratio") and self.base not in VALUE_BASES:
            raise ValueError(f"a {self.kind} term needs base one of {', '.join(VALUE_BASES)}")
        if self.kind == "percent" and self.percent is None:
            raise ValueError("a percent term needs percent")
        if self.kind == "ratio" and not self.ratio_key:
            raise ValueError("a ratio term needs ratio_key")
        return self


class Scenario(_Strict):
    terms: tuple[Term, ...] = Field(min_length=1)
    # the scenario itself says the parcel went back to the sender (客户拒收...退回): a bare 运费 (freight_incurred)
    # counts the return leg too, whatever the parcel's status read when the claim was drafted
    came_back: bool = False


# the documents (单据类型) a claim is filed against, by the direction of the parcel they go with
DOCUMENT_DIRECTIONS = {
    "交易出库单": "outbound",
    "换货出库单": "outbound",
    "普通出库单": "outbound",
    "退货入库单": "return",
}


class ClaimType(_Strict):
    code: str = ""
    name_zh: str
    documents: tuple[str, ...] = ()
    anchor: str = Field(pattern="^(order_created|order_issued)$")
    filing_start: str
    window: str
    computable: bool = True
    scenarios: dict[str, Scenario] = {}

    @field_validator("filing_start", "window")
    @classmethod
    def _period(cls, value: str) -> str:
        parse_period(value)
        return value

    @model_validator(mode="after")
    def _scenarios(self) -> ClaimType:
        if self.computable and not self.scenarios:
            raise ValueError("a computable claim type needs at least one scenario")
        return self

    def fits(self, direction: str) -> bool:
        """Whether a parcel of this direction ("outbound" or "return") can carry the claim: its documents (单据类型)
        name one of that direction (a 退货入库单 is the return's, a 交易/换货/普通出库单 the shipment's). A type
        without documents, or naming one the table does not know (a contract's own), fits any parcel."""
        sides = {DOCUMENT_DIRECTIONS.get(name) for name in self.documents}
        return not sides or None in sides or direction in sides

    @property
    def start(self) -> Period:
        return parse_period(self.filing_start)

    @property
    def period(self) -> Period:
        return parse_period(self.window)


class CourierTable(_Strict):
    version: str = Field(min_length=1)
    effective: date
    currency: str = Field(default="CNY", pattern="^[A-Z]{3}$")
    window_from_opening: bool = False
    types: dict[str, ClaimType]


class InsuranceCategory(_Strict):
    name_zh: str
    rate: Decimal = Field(gt=0, lt=1)
    min_return: Decimal = Field(ge=0)
    min_refusal: Decimal = Field(ge=0)
    max_return: Decimal = Field(gt=0)
    max_refusal: Decimal = Field(gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> InsuranceCategory:
        if self.min_return > self.max_return or self.min_refusal > self.max_refusal:
            raise ValueError("each minimum must not exceed its maximum")
        return self


class InsuranceTable(_Strict):
    version: str = Field(min_length=1)
    effective: date
    currency: str = Field(default="CNY", pattern="^[A-Z]{3}$")
    return_multiplier: Decimal = Field(gt=0)
    categories: dict[str, InsuranceCategory]


class Proposals(_Strict):
    # as config/claims/contracts.toml ships it (seed 002: 配件类货品破损按照供货商货值), if a site leaves it out
    damaged_scenario: str = "accessory_damaged"
    late_delivery_hours: int = Field(default=72, gt=0)
    closing_soon_days: int = Field(default=3, ge=0)


class Filing(_Strict):
    """Who files: what the couriers' claim forms ask of the merchant (docs/exports.md), printed on packets."""

    merchant: str = ""  # 寄件人 / 商家名称
    address: str = ""  # 寄件地址 (the warehouse)
    contact: str = ""  # 联系人
    phone: str = Field(default="", pattern=r"^[0-9+\- ]*$")  # 联系电话
    accounts: dict[str, str] = {}  # courier slug -> 月结账号 / 客户编码


class Contracts(_Strict):
    fixed: dict[str, dict[str, Decimal]] = {}
    ratios: dict[str, Decimal] = {}
    switches: dict[str, bool] = {}
    proposals: Proposals = Proposals()
    filing: Filing = Filing()


@dataclass(frozen=True)
class ClaimTables:
    courier_tables: tuple[CourierTable, ...]  # newest effective date first
    insurance: InsuranceTable
    contracts: Contracts
    tz: tzinfo = CLAIM_ZONE  # the shop's calendar: the tables' effective dates, the windows' months and years

    def table_at(self, at: datetime | None) -> CourierTable:
        """The courier table in effect at `at` (the newest when `at` is unknown or before them all), by the
        local date of `at` in the shop's zone."""
        if at is not None:
            day = at.astimezone(self.tz).date() if at.tzinfo is not None else at.date()
            for table in self.courier_tables:
                if table.effective <= day:
                    return table
        return self.courier_tables[0]

    def table_for(self, version: str | None, anchor: datetime | None) -> CourierTable:
        """A claim's courier table: the version it was computed with, else the one in effect at its anchor."""
        return self.table_version(version) if version else self.table_at(anchor)

    def table_version(self, version: str) -> CourierTable:
        """The courier table of this version (a claim keeps the version it was computed with)."""
        for table in self.courier_tables:
            if table.version == version:
                return table
        known = ", ".join(t.version for t in self.courier_tables)
        raise ValueError(f"claim table version {version!r} is no longer in config/claims (have {known})")

    def fixed_amount(self, courier: str | None, claim_type: str) -> Decimal | None:
        """The contract's fixed amount: [fixed.<courier>] first, then [fixed.default]; None when unset."""
        for scope in (courier or "", "default"):
            value = self.contracts.fixed.get(scope, {}).get(claim_type)
            if value is not None:
                return value
        return None

    @property
    def freight_incurred_includes_reverse(self) -> bool:
        return self.contracts.switches.get("freight_incurred_includes_reverse", True)

    def category(self, name: str) -> str:
        code = CATEGORY_ALIASES.get(name.strip(), name.strip())
        if code not in self.insurance.categories:
            known = ", ".join(self.insurance.categories)
            raise ValueError(
                f"unknown freight-insurance category {name!r} (one of {known}, or 平板电视/其它电视机/冰箱/洗衣机)"
            )
        return code


def _validate(model: type[BaseModel], data: dict[str, Any], path: Path) -> Any:
    return validate_file(model, data, path)


def load_tables(claims_dir: Path, tz: tzinfo = CLAIM_ZONE) -> ClaimTables:
    """Load and validate every claims table; raise ConfigError naming the file and key at fault. `tz`: the
    shop's zone (tracker.toml timezone), the calendar of the tables' dates and of the windows' months."""
    paths = sorted(claims_dir.glob("courier_claims*.toml"))
    if not paths:
        raise ConfigError(f"{claims_dir}: no courier_claims*.toml claim table")
    tables = []
    for path in paths:
        raw = read_toml(path)
        for code, body in (raw.get("types") or {}).items():
            if isinstance(body, dict):
                body.setdefault("code", code)
        tables.append(_validate(CourierTable, raw, path))
    versions = [t.version for t in tables]
    if len(set(versions)) != len(versions):
        raise ConfigError(f"{claims_dir}: courier claim tables share a version: {versions}")
    insurance_path = claims_dir / "freight_insurance.toml"
    contracts_path = claims_dir / "contracts.toml"
    insurance = _validate(InsuranceTable, read_toml(insurance_path), insurance_path)
    contracts = _validate(Contracts, read_toml(contracts_path), contracts_path)
    tables.sort(key=lambda t: t.effective, reverse=True)
    for path_table in tables:
        known = set(path_table.types)
        for scope, amounts in contracts.fixed.items():
            unknown = sorted(set(amounts) - known)
            if unknown:
                raise ConfigError(f"{contracts_path}: fixed.{scope}: unknown claim type(s) {unknown}")
        if contracts.proposals.damaged_scenario not in path_table.types["goods_lost"].scenarios:
            raise ConfigError(
                f"{contracts_path}: proposals.damaged_scenario: a goods_lost scenario, got "
                f"{contracts.proposals.damaged_scenario!r}"
            )
    return ClaimTables(tuple(tables), insurance, contracts, tz)


def tables_of(settings: Settings) -> ClaimTables:
    """The claim tables of these settings: their config folder's claims/, on the shop's calendar (timezone)."""
    return load_tables(settings.config_dir / "claims", settings.tz)
