"""Order and return exports (CSV in UTF-8/UTF-8-BOM/GBK, XLSX) -> parcels, with a per-row error report.

`read_table` and `RowParser` are the pure-ish core (no database); `import_parcels` is the shell that
stores good rows in batches, writes the rejects CSV beside the input and returns a report.
Rows are numbered as a spreadsheet shows them: the header is row 1.
"""

from __future__ import annotations

import csv
import heapq
import logging
import re
import unicodedata
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from decimal import Decimal
from operator import itemgetter
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from tracker.couriers.detect import CourierIndex, Detection, UnknownCourier
from tracker.domain import AWAITING_COURIER, AWAITING_PREFIX, WAYBILL_WIDTH, ParcelFacts, awaiting_waybill
from tracker.errors import TrackerError
from tracker.exports import GUARD, kept_whole, safe_row, unguard
from tracker.import_writer import BatchWriter, writer_for
from tracker.masking import mask_address, mask_name, mask_phone
from tracker.regions import province_name, split_address
from tracker.sheets import local_time
from tracker.tablefile import CONTROL, BadRow, ImportFileError, ReadLimits, UnsavedFormula, read_table

__all__ = ["ImportFileError", "ImportReport", "ReadLimits", "RowError", "import_parcels", "read_table"]
from tracker.status import Direction
from tracker.storage import repo
from tracker.values import ValueProblem, parse_bool, parse_local_time, parse_money

log = logging.getLogger("tracker.importer")

CANONICAL = (
    "waybill", "courier", "order_id", "shop", "buyer_id", "recipient", "address", "province", "city", "district",
    "phone", "goods_title", "goods_value", "supplier_value", "currency", "category", "forward_freight",
    "return_freight",
    "order_created_at", "issued_at", "paid_at", "shipped_at", "promised_ship_by", "freight_insured",
    "refund_deadline", "return_agreed_at", "direction", "trade_succeeded_at", "order_status",
)  # fmt: skip
MONEY_FIELDS = ("goods_value", "supplier_value", "forward_freight", "return_freight")
TIME_FIELDS = (
    "order_created_at",
    "issued_at",
    "paid_at",
    "shipped_at",
    "promised_ship_by",
    "refund_deadline",
    "return_agreed_at",
)
# times of what happened (not a deadline or a promise): none can be later than the import
HAPPENED_FIELDS = frozenset({"order_created_at", "issued_at", "paid_at", "shipped_at", "return_agreed_at"})
FUTURE_GRACE = timedelta(days=1)  # an export's clock may run a little ahead of ours
_WAYBILL_SPLIT = re.compile(r"[,，;；/\s]+")
_WAYBILL_OK = re.compile(r"^[A-Za-z0-9-]{6,32}$")
_WAYBILL_PREFIX = re.compile(r"^(No[:：.]?)", re.IGNORECASE)
# a cell holding one number, perhaps after the export's 'No:' (taken whole, as clean_waybill would)
_ONE_WAYBILL = re.compile(r"(?i:No[:：.]?)?+([A-Za-z0-9-]{6,32})")
_CURRENCY = re.compile(r"[A-Z]{3}")
_NOT_DIGIT = re.compile(r"\D")
_DIRECTIONS = {
    "outbound": Direction.outbound,
    "发货": Direction.outbound,
    "return": Direction.ret,
    "退货": Direction.ret,
    "退回": Direction.ret,
}


@dataclass(frozen=True, slots=True)
class RowError:
    row: int
    field: str
    value: str
    reason: str


EXACT_DIGITS_LIMIT = 10**15  # Excel keeps 15 significant digits of a number: a longer one has lost the rest
UNSAVED_FORMULA = (
    "a formula whose value was never saved (a workbook written by a program): open the file in Excel and save it, "
    "or paste the values over the formulas"
)
LOST_DIGITS = "a number of more than 15 digits, whose last digits Excel does not keep: format the column as text"
# a long number Excel saved in scientific notation (3.91235E+18): its digits are gone; a CSV opened and saved in
# Excel (a rejects file fixed there) writes an order number so
SCIENTIFIC = re.compile(r"\d(?:\.\d+)?[eE]\+\d+")
SCIENTIFIC_LOST = (
    "a number in Excel's scientific notation, whose digits are lost: format the column as text in Excel, "
    "type the number again, and save"
)
NUMBER_FIELDS = ("order_id", "phone", "buyer_id")  # texts of digits a spreadsheet may take for a number
# columns only a shop's order export has (its rows are the shop's shipments): a file with none of them (a courier's
# bill of waybills and charges) says nothing of a parcel's direction
SHOP_EXPORT_FIELDS = ("order_id", "buyer_id", "recipient", "address", "paid_at", "order_created_at", "shipped_at")
KEEP = 1000  # problems and detections kept in the report (all of them are counted; rejects go to the file)


@dataclass
class ImportReport:
    path: Path
    rows: int = 0
    inserted: int = 0  # parcels new to the database
    updated: int = 0  # known parcels the file changed
    unchanged: int = 0  # known parcels the file holds as they were stored (a file imported again)
    merged: int = 0  # rows folded into another row of the same parcel (merged shipping)
    detected: list[tuple[int, str, str]] = field(default_factory=list)  # (row, waybill, courier: pattern)
    errors: list[RowError] = field(default_factory=list)  # the first KEEP problems
    rejects_path: Path | None = None
    rejects_problem: str | None = None  # why the rejects file could not be written (open in Excel ...)
    # the file's own header of each field read (canonical name -> header as written): problems name it
    headers: dict[str, str] = field(default_factory=dict)
    rejected_rows: int = 0
    not_shipped: int = 0  # rows of orders not shipped yet (no waybill; 订单状态 says so): skipped, not rejected
    # rows of orders paid and awaiting shipment, kept as the parcel each will become (among the parcels above)
    awaiting: int = 0
    awaiting_closed: int = 0  # orders kept awaiting their parcel that a row says closed: no longer awaited
    # returns-export rows of a refund agreed on an order still awaiting its parcel: the order's waiting closed
    refunded_before_shipping: int = 0
    # parcels whose row says shipped (订单状态) without a 发货时间: shipped by this import at the latest
    shipped_by_import: int = 0
    error_count: int = 0  # every problem, kept or not
    detected_count: int = 0
    # returns-export rows with no return waybill yet: a return agreed on the order (docs/importing.md)
    return_cases: int = 0  # rows recorded as return-agreed cases on the order's outbound parcels
    trades_succeeded: int = 0  # 交易成功 times recorded as facts (the complaint window; docs/domain.md)
    # waybills now stored under two couriers or more (this file's rows, or a row and an earlier import): the
    # first KEEP, each with its couriers' slugs, and how many (repo.Stored.same_waybill)
    same_waybill: dict[str, tuple[str, ...]] = field(default_factory=dict)
    same_waybill_count: int = 0
    # rows stored under the courier they name whose number reads as another courier's (SF... under 中通): the
    # first KEEP as (row, waybill, courier named, the courier the number reads as), and how many
    courier_doubts: list[tuple[int, str, str, Detection]] = field(default_factory=list)
    courier_doubts_count: int = 0
    # waybills whose rows are orders of two buyers (merged shipping joins one buyer's): the first KEEP, each with
    # its orders, and how many
    two_buyers: dict[str, tuple[str, ...]] = field(default_factory=dict)
    two_buyers_count: int = 0
    # waybills with two rows of the same order(s) giving the goods or supplier value differently (an export of
    # product lines: the later row is stored): the first KEEP as waybill -> (field, earlier value, later value)
    two_values: dict[str, tuple[str, Decimal, Decimal]] = field(default_factory=dict)
    two_values_count: int = 0

    @property
    def stored(self) -> int:
        """The file's parcels now in the database, whether they changed or not."""
        return self.inserted + self.updated + self.unchanged


# --- headers -------------------------------------------------------------------------------------------


def _norm_header(name: str) -> str:
    """A header as compared: full-width letters read as ASCII (NFKC: ｗａｙｂｉｌｌ), no spaces or underscores, no
    trailing colon, lower case."""
    return re.sub(r"[\s_]+", "", unicodedata.normalize("NFKC", name)).rstrip(":").lower()


def is_returns_file(header: Sequence[str], columns: Mapping[str, int], return_headers: Sequence[str]) -> bool:
    """The returns export names its waybill column 退货物流单号: its parcels travel buyer -> warehouse."""
    wanted = {_norm_header(name) for name in return_headers}
    return "direction" not in columns and _norm_header(header[columns["waybill"]]) in wanted


def returns_first(
    header: Sequence[str], aliases: Mapping[str, Sequence[str]], return_headers: Sequence[str]
) -> Mapping[str, Sequence[str]]:
    """The aliases as a file reads them: a file with a return waybill column (退货物流单号: the returns export)
    reads it, and a return courier column (退货物流公司), before the shipment's 物流单号 and 物流公司 it may
    also carry (map_headers reads the name listed first)."""
    wanted = {_norm_header(name) for name in return_headers}
    if not any(_norm_header(str(name)) in wanted for name in header):
        return aliases
    ranked = dict(aliases)
    for name_of in ("waybill", "courier"):
        names = list(aliases.get(name_of, ()))
        ranked[name_of] = sorted(names, key=lambda name: not (_norm_header(name) in wanted or "退货" in name))
    return ranked


def map_headers(header: Sequence[str], aliases: Mapping[str, Sequence[str]]) -> dict[str, int]:
    """Canonical field -> column index. Canonical English names always work; unknown columns are ignored.
    A column that is read and whose header appears twice is an error naming it (which one holds the data?);
    of two different names for one field the one listed first in import.toml is read, wherever it stands
    (Taobao's 联系手机 before its often blank 联系电话, 买家应付货款 before 买家实际支付金额, which adds the
    postage)."""
    # normalized header -> (field, rank: the canonical name first, then the aliases in their order)
    lookup: dict[str, tuple[str, int]] = {_norm_header(name): (name, -1) for name in CANONICAL}
    for canonical, names in aliases.items():
        for rank, name in enumerate(names):
            lookup.setdefault(_norm_header(name), (canonical, rank))
    columns: dict[str, int] = {}
    ranks: dict[str, int] = {}
    seen: dict[str, int] = {}
    duplicates: list[str] = []
    for index, name in enumerate(header):
        key = _norm_header(name)
        found = lookup.get(key)
        if not found:
            continue
        if key in seen:
            duplicates.append(f"{name!r} (columns {seen[key] + 1} and {index + 1})")
            continue
        seen[key] = index
        field, rank = found
        if field not in columns or rank < ranks[field]:
            columns[field], ranks[field] = index, rank
    if duplicates:
        raise ImportFileError(f"row 1 (the header): duplicate column {', '.join(duplicates)}; keep one of each")
    if "waybill" not in columns:
        wanted = ", ".join(["waybill", *aliases.get("waybill", [])])
        if any("\t" in str(name) for name in header):  # the whole header in one cell: tabs, not commas
            raise ImportFileError(
                f"no waybill column: the header is separated by tabs, not commas; save the file as CSV (逗号分隔) "
                f"or XLSX (expected a header named one of {wanted})"
            )
        raise ImportFileError(f"no waybill column: expected a header named one of {wanted}")
    return columns


# --- parsing one row (pure) ---------------------------------------------------------------------------


def clean_waybill(raw: str) -> list[str]:
    """Strip the export's guards ('No:', "'", '=\"...\"', tabs) and split several numbers in one cell."""
    text = raw.strip().strip("'\"=\t")
    text = _WAYBILL_PREFIX.sub("", text).strip()
    return [part.strip("'\"=") for part in _WAYBILL_SPLIT.split(text) if part.strip("'\"=")]


def _cells_getter(indices: Sequence[int]) -> Callable[[Sequence[Any]], tuple[Any, ...]]:
    """The cells at `indices` of a row, as a tuple (itemgetter alone returns a bare cell for one index)."""
    if len(indices) == 1:
        (index,) = indices
        return lambda values: (values[index],)
    return itemgetter(*indices)


@dataclass
class RowParser:
    """Turns one export row into parcels, or into the row's errors."""

    columns: Mapping[str, int]
    couriers: CourierIndex
    tz: tzinfo
    currency: str = "CNY"
    direction: Direction = Direction.outbound  # when the file has no direction column
    # number -> Kuaidi100 autonumber company codes, asked when the patterns cannot decide (None: offline)
    autonumber: Callable[[str], Sequence[str]] | None = None
    not_shipped: Sequence[str] = ()  # 订单状态 words of an order not shipped yet (import.toml [orders])
    # the import's time: a row saying something happened a day or more after it is refused (a mistyped year)
    now: datetime | None = None
    # 订单状态 words of an order paid and awaiting shipment, kept as its parcel to come; of an order closed before it
    # shipped (import.toml [orders] awaiting_shipment, closed): both read as not shipped too
    awaiting: Sequence[str] = ()
    closed: Sequence[str] = ()
    # 订单状态 words of an order shipped (import.toml [orders] shipped): a row with a waybill and no 发货时间 (the
    # classic 已卖出的宝贝 export has no such column) shipped by the import at the latest
    shipped: Sequence[str] = ()

    def __post_init__(self) -> None:
        # read once per parser, not per cell: which columns hold text, which hold times, which values to read
        self._texts = tuple((name, i) for name, i in self.columns.items() if name not in TIME_FIELDS)
        self._times = tuple((name, i) for name, i in self.columns.items() if name in TIME_FIELDS)
        self._latest = None if self.now is None else self.now + FUTURE_GRACE  # later than this cannot have happened
        self._text_names = tuple(name for name, _ in self._texts)
        self._take_texts = _cells_getter([i for _, i in self._texts])
        self._width = max(self.columns.values()) + 1  # a row this long holds every mapped column
        self._money = tuple(name for name in MONEY_FIELDS if name in self.columns)
        self._blank = dict.fromkeys(CANONICAL, "")
        self._says_insured = "freight_insured" in self.columns
        shop_export = "direction" in self.columns or any(name in self.columns for name in SHOP_EXPORT_FIELDS)
        self._direction: Direction | None = self.direction if shop_export or self.direction is Direction.ret else None
        self._slugs: dict[str, str] = {}  # courier name as written -> slug (the names a file uses repeat)
        # (row, waybill, courier named, the courier its number reads as) of the rows parsed since the caller took
        # them: the courier named and the number's format disagree (CourierIndex.contradicts)
        self.doubts: list[tuple[int, str, str, Detection]] = []
        # (courier, waybill) of the parcels parsed since the caller took them whose shipping time is the import's
        self.shipped_by: list[tuple[str, str]] = []

    def parse(
        self, row_no: int, values: Sequence[Any], succeeded: datetime | None = None
    ) -> tuple[list[ParcelFacts], list[RowError], str]:
        """(parcels, errors, detection note). A row with any error yields no parcel. `succeeded`: the row's
        交易成功 time, read already (parse_trade_succeeded), which bounds a shipping time the row does not give."""
        cell = self.texts(values)
        waybills, errors = self._waybills(row_no, cell["waybill"])
        if type(values) is not list:  # an XLSX row: a long number may have lost digits in Excel
            errors += self._lost_digits(row_no, values)
        if "+" in cell["order_id"] or "+" in cell["phone"] or "+" in cell["buyer_id"]:  # rare: a look closer
            for name in NUMBER_FIELDS:
                if SCIENTIFIC.fullmatch(cell[name]):
                    errors.append(RowError(row_no, name, cell[name], SCIENTIFIC_LOST))
        if errors:
            return [], errors, ""
        slugs, note, errors = self._couriers(row_no, cell["courier"], waybills)
        fields = self._values(row_no, cell, values, errors)
        if errors:
            return [], errors, ""
        direction = fields.get("direction", self._direction)  # a returns export's: said by the file's kind
        by_import = "shipped_at" not in fields and direction != Direction.ret and self._says_shipped(values)
        if by_import:  # shipped, the export does not say when: by the import at the latest, by 交易成功 if sooner
            sooner = succeeded is not None and self.now is not None and succeeded < self.now
            fields["shipped_at"] = succeeded if sooner else self.now
        base = self._facts(cell, fields, slugs[0], waybills[0])
        if by_import:
            self.shipped_by += [(slug, number.upper()) for slug, number in zip(slugs, waybills, strict=True)]
        if len(waybills) == 1:
            return [base], [], note
        # One order shipped in several parcels: the goods value (nor the supplier's) cannot be split honestly, so
        # it is left unknown on each parcel (a claim will say the value is missing).
        parcels = [
            base._replace(courier=slug, waybill=number.upper(), goods_value=None, supplier_value=None)
            for slug, number in zip(slugs, waybills, strict=True)
        ]
        return parcels, [], note

    def _says_shipped(self, values: Sequence[Any]) -> bool:
        """Whether the row's 订单状态 says the order shipped ([orders] shipped in import.toml; never without the
        import's time to bound it)."""
        return self.now is not None and self._status_says(values, self.shipped)

    def _status_says(self, values: Sequence[Any], words: Sequence[str]) -> bool:
        """Whether the row's 订单状态 contains one of `words`."""
        status = self.raw(values, "order_status") if words else None
        return isinstance(status, str) and any(word in status for word in words)

    def future_problem(self, value: datetime | None, name: str) -> str | None:
        """Why a time of field `name` cannot be: something that happened (HAPPENED_FIELDS) more than a day after
        the import (a mistyped year); None when it can."""
        latest, now = self._latest, self.now
        if value is None or latest is None or now is None or value <= latest or name not in HAPPENED_FIELDS:
            return None
        return f"a time after the import ({local_time(now, self.tz)}): a wrong date?"

    def not_shipped_yet(self, values: Sequence[Any], errors: Sequence[RowError]) -> bool:
        """Whether the row's only problem is a blank waybill and its 订单状态 says the order has not shipped
        ([orders] not_shipped, awaiting_shipment or closed in import.toml): a full order export lists such orders
        too."""
        if len(errors) != 1 or errors[0].field != "waybill" or errors[0].value:
            return False
        return self._status_says(values, (*self.not_shipped, *self.awaiting, *self.closed))

    def unshipped(self, row_no: int, values: Sequence[Any]) -> ParcelFacts | str | list[RowError] | None:
        """What a row of an order not shipped yet (not_shipped_yet) says: an order paid and awaiting shipment as
        the parcel it will become (no courier, its number in the waybill's place: domain.awaiting_waybill), or the
        row's errors (a wrong date: the 延迟发货 clock would run from it); the number of an order closed before it
        shipped (str); None for any other (unpaid: nothing to watch) or a row without an order number."""
        cell = self.texts(values)
        order = order_number(cell)
        if not order:
            return None
        if self._status_says(values, self.closed):
            return order
        if not self._status_says(values, self.awaiting):
            return None
        first = ORDER_SEPARATORS.split(order)[0].strip()  # an ERP's merged orders (A,B): waiting under the first
        if not first or len(awaiting_waybill(first)) > WAYBILL_WIDTH:
            most = WAYBILL_WIDTH - len(AWAITING_PREFIX)
            return [RowError(row_no, "order_id", order, f"an order number of at most {most} characters")]
        errors: list[RowError] = self._lost_digits(row_no, values) if type(values) is not list else []
        fields = self._values(row_no, cell, values, errors)
        if errors:
            return errors
        return self._facts(cell, fields, AWAITING_COURIER, awaiting_waybill(first))

    def unsaved(self, row_no: int, values: Sequence[Any]) -> list[RowError]:
        """The cells of the columns read that hold a formula without its value (tablefile.UnsavedFormula: a
        workbook written by a program): read blank, the value would be lost, so the row is refused until the
        file is saved by Excel (which computes them) or the values pasted over the formulas."""
        return [
            RowError(row_no, name, str(values[index]), UNSAVED_FORMULA)
            for name, index in self.columns.items()
            if index < len(values) and type(values[index]) is UnsavedFormula
        ]

    def _lost_digits(self, row_no: int, values: Sequence[Any]) -> list[RowError]:
        """An order, waybill or phone number an XLSX holds as a number of more than 15 digits: Excel keeps 15
        significant digits, so the last ones are gone (3900000000000055433 reads 3900000000000054784); the row
        is refused rather than stored under a number that is not the order's."""
        count, errors = len(values), []
        for name, index in self._texts:
            raw = values[index] if index < count else None
            if isinstance(raw, int | float) and not isinstance(raw, bool) and name not in MONEY_FIELDS:
                if abs(raw) >= EXACT_DIGITS_LIMIT:
                    text = str(int(raw)) if isinstance(raw, int) or raw.is_integer() else str(raw)
                    errors.append(RowError(row_no, name, text, LOST_DIGITS))
        return errors

    def _waybills(self, row_no: int, raw: str) -> tuple[list[str], list[RowError]]:
        """The cell's waybill numbers, or why they are not numbers (full-width letters and digits, as a Chinese
        keyboard in full-width mode types them, read as ASCII)."""
        if not raw.isascii():
            raw = unicodedata.normalize("NFKC", raw)
        one = _ONE_WAYBILL.fullmatch(raw)
        if one:  # the usual cell: one number, perhaps after 'No:' (what clean_waybill makes of it)
            return [one[1]], []
        waybills = clean_waybill(raw) if raw else []
        if not waybills:
            return [], [RowError(row_no, "waybill", raw, "missing waybill number")]
        reason = "not a waybill number (6-32 letters/digits)"
        return waybills, [RowError(row_no, "waybill", n, reason) for n in waybills if not _WAYBILL_OK.match(n)]

    def _couriers(self, row_no: int, name: str, waybills: list[str]) -> tuple[list[str], str, list[RowError]]:
        """Each number's courier: the named one, else detected from the number (with a note saying how)."""
        if name:
            try:
                slug = self._resolve(name)
            except UnknownCourier as exc:
                return [], "", [RowError(row_no, "courier", name, str(exc))]
            for number in waybills:  # the courier named and the number's own format disagree: said, not refused
                other = self.couriers.contradicts(slug, number)
                if other is not None:
                    self.doubts.append((row_no, number.upper(), slug, other))  # as stored
            return [slug] * len(waybills), "", []
        slugs: list[str] = []
        note = ""
        for number in waybills:
            try:
                found = self._detect(number)
            except UnknownCourier as exc:
                return (
                    slugs,
                    note,
                    [RowError(row_no, "courier", name, f"courier is blank and {exc}; fill in the courier")],
                )
            slugs.append(found.slug)
            note = f"{self.couriers.name(found.slug)} ({round(found.confidence * 100)}%, {found.pattern})"
        return slugs, note, []

    def _values(
        self, row_no: int, cell: Mapping[str, str], values: Sequence[Any], errors: list[RowError]
    ) -> dict[str, Any]:
        """The amounts, times, flag and direction of the row that it fills in; each bad one appends its error."""
        fields: dict[str, Any] = {}
        for name in self._money:
            text = cell[name]
            if text:
                try:
                    fields[name] = parse_money(text)
                except ValueProblem as exc:
                    errors.append(RowError(row_no, name, text, f"expected {exc}"))
        count, latest = len(values), self._latest
        for name, index in self._times:
            raw = values[index] if index < count else None
            if raw is not None and not blank(raw):
                try:
                    value = fields[name] = parse_local_time(raw, self.tz)
                except ValueProblem as exc:
                    errors.append(RowError(row_no, name, str(raw), f"expected {exc}"))
                    continue
                if latest is not None and value > latest:
                    problem = self.future_problem(value, name)
                    if problem:
                        errors.append(RowError(row_no, name, str(raw), problem))
        shipped, created = fields.get("shipped_at"), fields.get("order_created_at")
        if shipped is not None and created is not None and shipped < created:
            raw = values[self.columns["shipped_at"]]
            errors.append(RowError(row_no, "shipped_at", str(raw), "before the order was created: a wrong date?"))
        if "refund_deadline" in fields:  # a returns export's row (few): its deadline after its agreement
            problem = deadline_problem(fields.get("return_agreed_at"), fields["refund_deadline"])
            if problem:
                raw = values[self.columns["refund_deadline"]]
                errors.append(RowError(row_no, "refund_deadline", str(raw), problem))
        insured = cell["freight_insured"]
        if insured:
            try:
                fields["freight_insured"] = parse_bool(insured)
            except ValueProblem as exc:
                errors.append(RowError(row_no, "freight_insured", insured, f"expected {exc}"))
        elif self._says_insured:  # the column is there and the cell blank: not insured (no column: not said)
            fields["freight_insured"] = False
        direction = cell["direction"]
        if direction:
            found_direction = _DIRECTIONS.get(direction.lower())
            if found_direction is None:
                errors.append(RowError(row_no, "direction", direction, "expected outbound/return (发货/退货)"))
            else:
                fields["direction"] = found_direction
        currency = cell["currency"].upper()
        if currency and not _CURRENCY.fullmatch(currency):
            errors.append(RowError(row_no, "currency", currency, "expected an ISO code such as CNY"))
        return fields

    def _facts(self, cell: Mapping[str, str], fields: dict[str, Any], courier: str, waybill: str) -> ParcelFacts:
        """The parcel of a row without errors: its texts, the buyer's details masked, then `fields`."""
        province, city, district = cell["province"] or None, cell["city"] or None, cell["district"] or None
        region = split_address(cell["address"])
        street = region.street
        if not (province or city):
            province, city, district = region.province, region.city, district or region.district
        elif region.province is None:  # the file's own region columns, and the street alone in the address
            street = " ".join(cell["address"].split()) or None
        province = province_name(province) if province else None  # 浙江 and 浙江省: one province
        digits = _NOT_DIGIT.sub("", cell["phone"])
        # a returns export says its parcels are returns, a file with a direction column or an order export (the
        # shop's shipments) that they are outbound; a file of waybills alone (a courier's bill of 运费) says
        # nothing: a new parcel is outbound, a stored one keeps its direction (repo.UNSAID_DEFAULTS: a bill
        # listing a buyer's return made it outbound)
        fields.setdefault("direction", self._direction)
        return ParcelFacts(
            courier=courier,
            waybill=waybill.upper(),
            order_id=order_number(cell) or None,
            shop=cell["shop"] or None,
            buyer_id=cell["buyer_id"] or None,
            province=province,
            city=city,
            district=district,
            phone_last4=digits[-4:] if len(digits) >= 4 else None,
            # masked here, so the clear name, number and street are never stored (tracker/masking.py)
            recipient=mask_name(cell["recipient"]),
            phone_masked=mask_phone(cell["phone"]),
            address_detail=mask_address(street),
            goods_title=cell["goods_title"][:200] or None,
            currency=cell["currency"].upper() or self.currency,
            category=cell["category"] or None,
            **fields,
        )

    def texts(self, values: Sequence[Any]) -> dict[str, str]:
        """Every canonical field's cell as text ('' when the file has no such column or the row ends before
        it): stripped, a spreadsheet guard taken off, a whole float from XLSX written without '.0'."""
        cells = self._blank.copy()
        if type(values) is list and len(values) >= self._width:  # a whole CSV row: every cell is text
            texts = [raw.strip() for raw in self._take_texts(values)]
            if GUARD in "".join(texts):  # rare: some cell may start with the guard
                texts = [unguard(text) if text[:1] == GUARD else text for text in texts]
            cells.update(zip(self._text_names, texts, strict=True))
            return cells
        count = len(values)
        for name, index in self._texts:
            if index >= count:
                continue
            raw = values[index]
            if raw is None:
                continue
            if type(raw) is str:
                text = raw.strip()
                cells[name] = unguard(text) if text[:1] == GUARD else text
            elif isinstance(raw, float) and raw.is_integer() and name not in MONEY_FIELDS:
                cells[name] = str(int(raw))
            else:
                cells[name] = unguard(str(raw).strip())
        return cells

    def raw(self, values: Sequence[Any], name: str) -> Any:
        """The cell of field `name` as the file holds it (a time stays a datetime); None when absent."""
        index = self.columns.get(name)
        if index is None or index >= len(values):
            return None
        return values[index]

    def _resolve(self, name: str) -> str:
        slug = self._slugs.get(name)
        if slug is None:
            slug = self._slugs[name] = self.couriers.resolve(name)  # UnknownCourier is raised, not kept
        return slug

    def _detect(self, number: str) -> Detection:
        """The courier from the number's patterns; when they cannot decide and `autonumber` is set
        ([detection] import_autonumber), Kuaidi100's suggestions decide instead."""
        try:
            return self.couriers.detect(number)
        except UnknownCourier as exc:
            if self.autonumber is None:
                raise
            undecided = exc
        suggested = self.couriers.from_autonumber(self.autonumber(number))
        if not suggested:
            raise undecided
        try:
            return self.couriers.decide(number, suggested)
        except UnknownCourier as exc:
            raise UnknownCourier(f"{exc} (Kuaidi100's suggestions)", exc.candidates) from None


@dataclass(frozen=True, slots=True)
class ReturnCase:
    """A returns-export row without a return waybill: the return was agreed on this order and the buyer has
    not sent it yet. Exactly the case the 2-day rule is for (002 "超过2天没有物流单"; docs/domain.md)."""

    row: int
    order_id: str
    agreed_at: datetime | None  # 同意退货时间; None: the import time
    refund_deadline: datetime | None


def parse_return_case(parser: RowParser, row_no: int, values: Sequence[Any]) -> ReturnCase | list[RowError] | None:
    """A returns-file row with a blank waybill and an order id: the case (or its errors); None for any other row."""
    if parser.direction != Direction.ret:
        return None
    cell = parser.texts(values)
    if cell["waybill"] or cell["direction"]:
        return None
    order_id = order_number(cell)
    if not order_id:
        return [RowError(row_no, "waybill", "", "missing waybill number, and no order id to record the return on")]
    times: dict[str, datetime | None] = {}
    errors = []
    if SCIENTIFIC.fullmatch(order_id):  # the order it names would match no parcel
        errors.append(RowError(row_no, "order_id", order_id, SCIENTIFIC_LOST))
    for name in ("return_agreed_at", "refund_deadline"):
        raw = parser.raw(values, name)
        times[name] = None
        if not blank(raw):
            try:
                times[name] = parse_local_time(raw, parser.tz)
            except ValueProblem as exc:
                errors.append(RowError(row_no, name, str(raw), f"expected {exc}"))
    problem = parser.future_problem(times["return_agreed_at"], "return_agreed_at")
    if problem:
        errors.append(RowError(row_no, "return_agreed_at", str(parser.raw(values, "return_agreed_at")), problem))
    problem = deadline_problem(times["return_agreed_at"], times["refund_deadline"])
    if problem:
        errors.append(RowError(row_no, "refund_deadline", str(parser.raw(values, "refund_deadline")), problem))
    if errors:
        return errors
    return ReturnCase(row_no, order_id, times["return_agreed_at"], times["refund_deadline"])


def deadline_problem(agreed: datetime | None, deadline: datetime | None) -> str | None:
    """Why a return's refund deadline (超时时间) cannot be: before the return was agreed (the ladder would say
    还剩0天 from the first day)."""
    if agreed is not None and deadline is not None and deadline < agreed:
        return "before the return was agreed (卖家同意退货时间): a wrong date?"
    return None


def order_number(cell: Mapping[str, str]) -> str:
    """The row's order number without the guards an export puts around it (a leading ' or =, quotes)."""
    return cell["order_id"].lstrip("'=\"").strip('"')


ORDER_SEPARATORS = re.compile(r"[,，、;；]")  # between the orders of one cell (an ERP's merged orders)


def parse_trade_succeeded(parser: RowParser, row_no: int, values: Sequence[Any]) -> datetime | RowError | None:
    """The row's 交易成功 time (交易成功时间 / 确认收货时间), its error, or None when the row has none."""
    raw = parser.raw(values, "trade_succeeded_at")
    if blank(raw):
        return None
    try:
        return parse_local_time(raw, parser.tz)
    except ValueProblem as exc:
        return RowError(row_no, "trade_succeeded_at", str(raw), f"expected {exc}")


def new_orders(first: ParcelFacts, other: ParcelFacts) -> list[str]:
    """The order ids of `other` that `first` (an earlier row of its parcel) does not list."""
    ids = (first.order_id or "").split(",")
    return [i for i in (other.order_id or "").split(",") if i and i not in ids]


def merge_same_parcel(first: ParcelFacts, other: ParcelFacts) -> ParcelFacts:
    """Two rows for one parcel: merged shipping of several orders (order ids listed, values add up: the goods'
    and the supplier's), or a repeated row (the later row's values; the orders merged so far stay). A shipping
    time the later row leaves blank is the earlier row's (one parcel ships once: a blank cell erased it)."""
    if other.shipped_at is None and first.shipped_at is not None:
        other = other._replace(shipped_at=first.shipped_at)
    if not (other.order_id and first.order_id):
        return other
    ids = first.order_id.split(",")
    new = new_orders(first, other)
    if not new:
        if len(ids) == 1:
            return other
        return other._replace(
            order_id=first.order_id, goods_value=first.goods_value, supplier_value=first.supplier_value
        )
    return other._replace(
        order_id=",".join(ids + new),
        goods_value=_sum(first.goods_value, other.goods_value),
        supplier_value=_sum(first.supplier_value, other.supplier_value),
    )


def _sum(a: Decimal | None, b: Decimal | None) -> Decimal | None:
    """Two orders' values of one parcel: unknown when either is."""
    return None if a is None or b is None else a + b


# --- the shell ------------------------------------------------------------------------------------------


def import_parcels(
    path: Path,
    *,
    engine: Engine,
    couriers: CourierIndex,
    aliases: Mapping[str, Sequence[str]],
    tz: tzinfo,
    now: datetime,
    currency: str = "CNY",
    return_headers: Sequence[str] = (),
    batch_size: int = 2000,
    actor: str = "import",
    progress: Callable[[int], None] | None = None,
    autonumber: Callable[[str], Sequence[str]] | None = None,
    limits: ReadLimits | None = None,
    second_process: bool = False,
    not_shipped: Sequence[str] = (),
    awaiting: Sequence[str] = (),
    closed: Sequence[str] = (),
    shipped: Sequence[str] = (),
) -> ImportReport:
    """Import one file: good rows are upserted in batches, each bad row is reported and skipped.

    Re-importing a file updates the same parcels (key: courier + waybill) and creates no duplicates.
    The rejects CSV (`<name>.rejects.csv`) is written beside the input, row by row, when a row is rejected.
    `autonumber` (number -> Kuaidi100 company codes) is asked for a blank courier the patterns cannot decide.
    The file is read row by row: memory does not grow with its size (`limits`: [import] in tracker.toml).
    `second_process`: a big file's batches are stored by a second process while the next rows are read
    (tracker/import_writer.py; [import] second_process). `not_shipped`: the 订单状态 words of an order not
    shipped yet, whose row without a waybill is counted and skipped; `awaiting`: of an order paid and awaiting
    shipment, kept as its parcel to come (domain.AWAITING_COURIER); `closed`: of an order closed before it shipped,
    whose waiting is closed; `shipped`: of an order shipped, whose row without a 发货时间 shipped by the import
    (import.toml [orders]).
    """
    header, rows = read_table(path, limits)
    columns = map_headers(header, returns_first(header, aliases, return_headers))
    direction = Direction.ret if is_returns_file(header, columns, return_headers) else Direction.outbound
    parser = RowParser(
        columns, couriers, tz, currency, direction, autonumber, not_shipped, now, awaiting, closed, shipped
    )
    writer = writer_for(
        engine, now, batch_size=batch_size, second_process=second_process, file_bytes=path.stat().st_size
    )
    shown = {name: str(header[index]).strip() for name, index in columns.items()}
    rejects = _Rejects(rejects_path_for(path), header, shown)
    run = _FileImport(ImportReport(path=path, headers=shown), engine, now, actor, rejects, writer)
    try:
        try:
            for row_no, values in rows:
                run.read_row(parser, row_no, values)
                if progress and run.report.rows % 1000 == 0:
                    progress(1000)
            run.flush()
            run.settle()  # the batch in flight is stored: the cases and trades below read its parcels
            run.record_trades_and_cases()
            run.close_awaiting()
        finally:
            run.close()  # the rows handed to the writer are stored first, whatever stopped the import
    except KeyboardInterrupt:
        stopped = ImportStopped(path, run.report.rows, run.stored_parcels())
        run.audit_stop(path, stopped)
        raise stopped from None
    if progress:
        progress(run.report.rows % 1000)
    run.audit(path)
    return run.report


class ImportStopped(TrackerError):
    """Ctrl-C during an import: how far it got, in one line (the CLI exits 130, as for any interrupted command).
    The parcels handed to the writer before the stop are stored; the rows read after them are not."""

    exit_status = 130

    def __init__(self, path: Path, rows: int, parcels: int) -> None:
        super().__init__(
            f"{path.name}: import stopped after {rows:,} rows; {parcels:,} parcels from them are stored, the "
            "rest are not. Import the file again to store the rest (the same parcels are updated, not duplicated)",
            code="import_stopped",
            file=path.name,
            rows=rows,
            parcels=parcels,
        )


def _named(kept: dict[str, Any], counted: set[str], waybill: str, what: Any) -> int:
    """A waybill one of the import's warnings names: counted once, and kept with `what` among the first KEEP (what
    a later row says of a kept one replaces it); returns how many that warning counts."""
    counted.add(waybill)
    if waybill in kept or len(kept) < KEEP:
        kept[waybill] = what
    return len(counted)


class _FileImport:
    """The state of one file's import: the batch being gathered, the batch being written, the rejects file,
    and the rows recorded after the parcels (return cases, 交易成功 times)."""

    def __init__(
        self,
        report: ImportReport,
        engine: Engine,
        now: datetime,
        actor: str,
        rejects: _Rejects,
        writer: BatchWriter,
    ) -> None:
        self.report, self.engine, self.now, self.actor = report, engine, now, actor
        self.rejects = rejects
        self.pending: dict[tuple[str, str], ParcelFacts] = {}
        # the parcels earlier batches of this file stored: a merged shipment's rows may fall into different
        # batches, and a later row is merged with what the earlier batch stored (read back from the database)
        self.flushed = SeenKeys()
        self.batches: list[tuple[int, int]] = []  # each batch submitted: its parcels, and how many were resent
        # parcels of the batch being gathered that an earlier batch stored already, sent again merged with a later
        # row: counted once (repo.store_rows_in)
        self.resent: list[tuple[str, str]] = []
        self.cases: list[tuple[ReturnCase, Sequence[Any]]] = []  # returns rows without a waybill (few)
        self.trades: list[tuple[str, str, datetime]] = []  # (courier, waybill, 交易成功) from the order export
        # every buyer a return parcel's rows name: the merged row keeps one buyer_id, return_buyer keeps them all
        self.buyers: dict[tuple[str, str], dict[str, str | None]] = {}
        # stores the batches while the next ones are read (tracker/import_writer.py)
        self.writer = writer
        self.dialect = engine.dialect.name
        self.counted_waybills: set[str] = set()  # under two couriers: each counted once (a few, if any)
        self.counted_two_buyers: set[str] = set()  # with two buyers' orders: each counted once (a few, if any)
        self.counted_two_values: set[str] = set()  # two rows of one order, two values: each counted once
        self.closed_orders: list[str] = []  # orders closed before they shipped (import.toml [orders] closed)
        # the gathered parcels whose shipping time is the import's (RowParser.shipped_by): a stored one keeps its own
        self.shipped_by: set[tuple[str, str]] = set()

    def read_row(self, parser: RowParser, row_no: int, values: Sequence[Any] | BadRow) -> None:
        """One numbered row of the file: rejected, kept for later (a return case), or its parcels gathered."""
        report = self.report
        if isinstance(values, BadRow):
            report.rows += 1
            self.reject([RowError(row_no, values.field, values.value, values.reason)], values.values)
            return
        if type(values) is list:
            if not any(values):
                return  # blank line (a CSV row is a list of str)
        elif not any(v not in (None, "") and type(v) is not UnsavedFormula for v in values):
            return  # blank row (an XLSX row may hold a 0; a formula filled down past the data, never computed)
        report.rows += 1
        if type(values) is not list and (unsaved := parser.unsaved(row_no, values)):  # XLSX: a value never saved
            self.reject(unsaved, values)
            return
        case = parse_return_case(parser, row_no, values)
        if isinstance(case, list):
            self.reject(case, values)
            return
        if case is not None:
            self.cases.append((case, values))
            return
        succeeded = parse_trade_succeeded(parser, row_no, values)
        if isinstance(succeeded, RowError):
            self.reject([succeeded], values)
            return
        parcels, errors, note = parser.parse(row_no, values, succeeded)
        if parser.doubts:  # said of a row stored, not of one refused for its own reasons
            if not errors:
                report.courier_doubts_count += len(parser.doubts)
                report.courier_doubts += parser.doubts[: max(0, KEEP - len(report.courier_doubts))]
            parser.doubts.clear()
        if parser.shipped_by:
            report.shipped_by_import += len(parser.shipped_by)
            self.shipped_by.update(parser.shipped_by)
            parser.shipped_by.clear()
        if errors and parser.not_shipped_yet(values, errors):
            self.unshipped(parser, row_no, values)
            return
        if errors:
            self.reject(errors, values)
        elif succeeded is not None:
            self.trades.extend((p.courier, p.waybill, succeeded) for p in parcels)
        if note:
            report.detected_count += 1
            if len(report.detected) < KEEP:
                report.detected.append((row_no, parcels[0].waybill if parcels else "", note))
        for parcel in parcels:
            self.gather(parcel)
        if len(self.pending) >= self.writer.rows_per_submit:
            self.flush()

    def unshipped(self, parser: RowParser, row_no: int, values: Sequence[Any]) -> None:
        """A row of an order not shipped yet: an order awaiting shipment gathered as its parcel to come, a closed
        one's number kept to close its waiting after the parcels are stored, any other counted and skipped."""
        found = parser.unshipped(row_no, values)
        if isinstance(found, list):
            self.reject(found, values)
        elif isinstance(found, ParcelFacts):
            self.report.awaiting += 1
            self.gather(found)
            if len(self.pending) >= self.writer.rows_per_submit:
                self.flush()
        else:
            self.report.not_shipped += 1
            if found is not None:
                self.closed_orders.append(found)

    def gather(self, parcel: ParcelFacts) -> None:
        """Add a parcel to the batch, merged with an earlier row of the same parcel (in this batch or stored)."""
        key = (parcel.courier, parcel.waybill)
        if parcel.direction == Direction.ret and parcel.buyer_id:
            self.buyers.setdefault(key, {}).setdefault(parcel.buyer_id, parcel.order_id)
        if key in self.pending:
            self.two_buyers(self.pending[key], parcel)
            self.two_values(self.pending[key], parcel)
            self.pending[key] = merge_same_parcel(self.pending[key], parcel)
            self.report.merged += 1
            return
        if key in self.flushed:
            # the same parcel in an earlier batch of this file: merged with what that batch stored
            self.settle()
            before = parcel._replace(**repo.parcel_order(self.engine, *key))
            self.two_buyers(before, parcel)
            self.two_values(before, parcel)
            parcel = merge_same_parcel(before, parcel)
            self.report.merged += 1
            self.resent.append(key)
        self.pending[key] = parcel

    def two_buyers(self, first: ParcelFacts, other: ParcelFacts) -> None:
        """Rows of one waybill whose orders are two buyers': merged shipping joins one buyer's orders, so one of
        the waybills is likely mistyped (the parcel keeps the later row's buyer). Named by the orders, each
        waybill once."""
        if not (first.buyer_id and other.buyer_id) or first.buyer_id == other.buyer_id:
            return
        orders = [o for o in (first.order_id or "").split(",") + [other.order_id or ""] if o]
        report = self.report
        report.two_buyers_count = _named(
            report.two_buyers, self.counted_two_buyers, other.waybill, tuple(dict.fromkeys(orders))
        )

    def two_values(self, first: ParcelFacts, other: ParcelFacts) -> None:
        """A row repeating the order(s) of an earlier row of its waybill with another goods or supplier value: an
        export of product lines (two products of one order, each its own row), of which the parcel keeps the later
        row's value, so a claim would be paid on one product's. Named with both values, each waybill once."""
        if not other.order_id or new_orders(first, other):
            return  # another order: merged shipping, its values add up (merge_same_parcel)
        for name in ("supplier_value", "goods_value"):
            was, now = getattr(first, name), getattr(other, name)
            if was is not None and now is not None and was != now:
                report = self.report
                report.two_values_count = _named(report.two_values, self.counted_two_values, other.waybill,
                                                 (name, was, now))  # fmt: skip
                return

    def reject(self, errors: Sequence[RowError], values: Sequence[Any]) -> None:
        report = self.report
        report.rejected_rows += 1
        report.error_count += len(errors)
        report.errors.extend(errors[: max(0, KEEP - len(report.errors))])
        self.rejects.write(errors, values)

    def settle(self) -> None:
        """Wait for the batches handed to the writer (an error is raised here) and count them."""
        stored, report = self.writer.wait(), self.report
        report.inserted += stored.inserted
        report.updated += stored.updated
        report.unchanged += stored.unchanged
        for waybill, couriers in stored.same_waybill:  # named again by a later batch: its couriers as they are now
            report.same_waybill_count = _named(report.same_waybill, self.counted_waybills, waybill, couriers)

    def flush(self) -> None:
        """Hand the gathered batch to the writer."""
        if not self.pending:
            return
        pending, buyers = self.pending, self.buyers
        named = {key: buyers[key] for key in pending if key in buyers}
        self.batches.append((len(pending), len(self.resent)))
        by_import = [key for key in pending if key in self.shipped_by] if self.shipped_by else []
        rows = repo.parcel_rows(self.dialect, pending.values(), self.now)
        self.flushed.update(pending)
        # the parcels let go before the rows are sent: a value only its row holds is encoded (marshal) without a
        # look-up in the table of shared values, and 100,000 rows encode in 0.11 s instead of 0.19 s in the reading
        # process, the import's slower one (bench/import.py: the whole import about 2% faster)
        self.pending = {}
        del pending
        self.writer.submit(rows, named, self.resent, by_import)
        self.shipped_by.difference_update(by_import)
        self.resent = []
        for key in named:
            del buyers[key]  # stored; a later batch records its own buyers beside them

    def stored_parcels(self) -> int:
        """The file's parcels stored once the writer is closed: those of the batches it was handed (each counted
        once, though a merged shipment's may be sent again)."""
        rows, parcels = self.writer.rows_handed, 0
        for size, resent in self.batches:
            if rows < size:
                break
            rows -= size
            parcels += size - resent
        return parcels

    def record_trades_and_cases(self) -> None:
        """The 交易成功 times and the returns agreed without a waybill, once the parcels they name are stored."""
        report, now = self.report, self.now
        report.trades_succeeded = repo.record_trade_succeeded(self.engine, self.trades, now=now, actor=self.actor)
        for case, values in self.cases:
            if repo.record_return_case(
                self.engine,
                case.order_id,
                agreed_at=case.agreed_at or now,
                refund_deadline=case.refund_deadline,
                now=now,
                actor=self.actor,
            ):
                report.return_cases += 1
            elif repo.close_awaiting(self.engine, [case.order_id], now=now):
                # agreed before the order shipped (仅退款): nothing to come back, and the order will not ship
                report.refunded_before_shipping += 1
            else:
                reason = "no return waybill yet, and no outbound parcel of this order: import the order export first"
                self.reject([RowError(case.row, "order_id", case.order_id, reason)], values)

    def close_awaiting(self) -> None:
        """The orders kept awaiting their parcel that a row of this file says closed before they shipped: no
        longer awaited (their 延迟发货 resolves by itself)."""
        if self.closed_orders:
            self.report.awaiting_closed = repo.close_awaiting(self.engine, self.closed_orders, now=self.now)

    def close(self) -> None:
        try:
            self.writer.close()  # an error elsewhere: the rows handed over are still stored first
        finally:  # a second Ctrl-C while waiting for it still closes the rejects file
            self.rejects.close()
            self.report.rejects_path = self.rejects.path if self.rejects.opened else None
            self.report.rejects_problem = self.rejects.problem

    def audit_stop(self, path: Path, stopped: ImportStopped) -> None:
        """The audit line of a stopped import: the rows read and the parcels stored. Best effort: the stop's
        own line is said whatever happens here (a database gone, or a second Ctrl-C)."""
        params = stopped.params
        try:
            self._audit(path, action="import_stopped", rows=params["rows"], parcels_stored=params["parcels"])
        except (Exception, KeyboardInterrupt):
            log.warning("%s: the stopped import's audit line was not written", path.name, exc_info=True)

    def audit(self, path: Path) -> None:
        r = self.report
        self._audit(
            path,
            action="import_parcels",
            rows=r.rows,
            inserted=r.inserted,
            updated=r.updated,
            unchanged=r.unchanged,
            rejected_rows=r.rejected_rows,
            return_cases=r.return_cases,
        )

    def _audit(self, path: Path, *, action: str, **detail: object) -> None:
        line = {"file": str(path), **detail}
        repo.record_audit(self.engine, at=self.now, actor=self.actor, action=action, entity="file", detail=line)


class SeenKeys:
    """A set of (courier, waybill) in bounded memory: 8 bytes a key (the key's 64-bit hash in a sorted array)
    instead of two strings and a tuple, so a file of a million parcels needs 8 MB, not 300. The hash is
    Python's own (the same for the whole import, and the strings' hashes are already computed). Two keys
    sharing a hash (odds about 1 in 30 million for a million keys) would only make a row read back what its
    parcel holds before merging."""

    def __init__(self, merge_at: int = 65_536) -> None:
        self._sorted = array("q")
        self._recent: set[int] = set()
        self._merge_at = merge_at

    def add(self, key: tuple[str, str]) -> None:
        self.update((key,))

    def update(self, keys: Iterable[tuple[str, str]]) -> None:
        self._recent.update(map(hash, keys))
        if len(self._recent) >= self._merge_at:
            self._sorted = array("q", heapq.merge(self._sorted, sorted(self._recent)))
            self._recent.clear()

    def __contains__(self, key: tuple[str, str]) -> bool:
        digest = hash(key)
        if digest in self._recent:
            return True
        at = bisect_left(self._sorted, digest)
        return at < len(self._sorted) and self._sorted[at] == digest


class _Rejects:
    """The rejects CSV beside the input (UTF-8 with BOM, so Excel shows the Chinese), written row by row: one
    line per rejected row (its problems joined: the file is for fixing and importing again, so each row is in
    it once): row, field, value, reason, then the original row. Fields are named by the file's own headers.
    Opened at the first rejected row; a clean import writes no file. A file that cannot be written (still open
    in Excel, a read-only folder) stops only the rejects file: `problem` says why, the import goes on."""

    def __init__(self, path: Path, header: Sequence[str], shown: Mapping[str, str]) -> None:
        self.path, self.header, self.shown = path, header, shown
        self.opened = False
        self.problem: str | None = None
        self._fh: Any = None
        self._writer: Any = None

    def write(self, errors: Sequence[RowError], values: Sequence[Any]) -> None:
        if self.problem is not None:
            return
        try:
            if self._writer is None:
                self._fh = self.path.open("w", encoding="utf-8-sig", newline="")
                self._writer = csv.writer(self._fh)
                self._writer.writerow(safe_row(["row", "field", "value", "reason", *self.header]))
                self.opened = True
            original = [CONTROL.sub("\ufffd", v) if isinstance(v, str) else v for v in values]
            # one entry per problem, in the same order in each column (a field, its value and its reason line up)
            parts = [
                "; ".join(header_of(e.field, self.shown) for e in errors),
                "; ".join(e.value for e in errors),
                "; ".join(e.reason for e in errors),
            ]
            # opened in Excel to be fixed: long numbers kept whole (a tab before them), or it saves them mangled;
            # the row's own cells never cut (exports.within_cell): imported again, a cut cell would be stored so
            row = safe_row([errors[0].row, *parts, *original], whole=True)
            self._writer.writerow([kept_whole(cell) for cell in row])
        except OSError as exc:
            self.problem = f"{self.path}: {exc.strerror or exc}"
            self.close()

    def close(self) -> None:
        if self._fh is not None:
            try:
                self._fh.close()
            except OSError as exc:  # the disk filled up as the last lines went out
                self.problem = self.problem or f"{self.path}: {exc.strerror or exc}"
            self._fh = None


def blank(raw: Any) -> bool:
    """A cell with nothing in it: absent, empty, or spaces only (no time, no value)."""
    return raw is None or (type(raw) is str and (not raw or raw.isspace()))


def header_of(name: str, shown: Mapping[str, str]) -> str:
    """A field as the person's file names it (买家实际支付金额), else its canonical name (goods_value)."""
    return shown.get(name) or name


def rejects_path_for(path: Path) -> Path:
    return path.with_name(f"{path.stem}.rejects.csv")
