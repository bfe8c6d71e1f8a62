"""Reading an order export row by row in bounded memory: CSV streamed line by line, XLSX in read-only mode
after its zip sizes are checked. A row that cannot be read (an unterminated quote, an over-long field, a
NUL byte or control character, too many columns) becomes a `BadRow` with its number and reason; the rows
after it are still read. Rows are numbered as a spreadsheet shows them: the header is row 1.

The limits are data: [import] in config/tracker.toml (docs/importing.md).
"""

from __future__ import annotations

import codecs
import csv
import re
import zipfile
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from tracker.errors import TrackerError

# C0 controls except tab, line feed and carriage return (a tab guards numbers in Taobao exports), and DEL
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CHUNK = 1 << 20


# a cell formula in a worksheet's XML (<f>, or with a namespace prefix: <x:f>)
_FORMULA_TAG = re.compile(rb"<(?:\w+:)?f[\s>/]")


@dataclass(frozen=True, slots=True)
class UnsavedFormula:
    """An XLSX cell holding a formula without the value it computes (a workbook written by a program, not saved
    by Excel since): read blank, its value would be lost without a word. The importer refuses a row with one in
    a column it reads. Its text is the formula (what the rejects file writes)."""

    formula: str

    def __str__(self) -> str:
        return self.formula


class ImportFileError(TrackerError):
    """The file as a whole cannot be imported (unreadable, no header, no waybill column, a zip bomb)."""


@dataclass(frozen=True, slots=True)
class ReadLimits:
    max_field_chars: int = 4096
    max_row_chars: int = 131_072
    max_columns: int = 512
    max_row_lines: int = 20  # physical lines one quoted CSV row may span (a cell with line breaks)
    max_xlsx_unzipped_bytes: int = 512 * 1024 * 1024
    max_xlsx_ratio: int = 100  # unzipped / zipped size of one member over 1 MiB


@dataclass(frozen=True, slots=True)
class BadRow:
    """A row that cannot be read: `field` is the column's header ('' for the whole row), `value` an excerpt."""

    field: str
    value: str
    reason: str
    values: tuple[str, ...] = ()  # what could be read of the row, for the rejects file


def excerpt(text: str, limit: int = 60) -> str:
    """A short, printable piece of `text` for a one-line message."""
    text = CONTROL.sub("\ufffd", text).replace("\r", "\\r").replace("\n", "\\n")
    return text if len(text) <= limit else text[:limit] + f"… ({len(text):,} characters)"


def check_row(values: Sequence[Any], header: Sequence[str], limits: ReadLimits) -> BadRow | None:
    """Over-long text, a NUL byte or a control character in any cell, or more cells than allowed."""
    if len(values) > limits.max_columns:
        return BadRow("", "", f"{len(values)} columns, more than the limit of {limits.max_columns}")
    if values and all(type(v) is str for v in values):  # a CSV row: one length check and one scan for all cells
        if max(map(len, values)) <= limits.max_field_chars and not CONTROL.search("".join(values)):
            return None
    for index, value in enumerate(values):
        if not isinstance(value, str):
            continue
        name = excerpt(header[index], 40) if index < len(header) and header[index] else f"column {index + 1}"
        if len(value) > limits.max_field_chars:
            return BadRow(name, excerpt(value), f"longer than {limits.max_field_chars:,} characters")
        found = CONTROL.search(value)
        if found:
            what = "a NUL byte" if found.group() == "\x00" else f"a control character (U+{ord(found.group()):04X})"
            return BadRow(name, excerpt(value), f"contains {what}")
    return None


def check_csv_row(values: list[str], header: Sequence[str], limits: ReadLimits) -> BadRow | None:
    """check_row for a CSV row, whose cells are all text: one length check and one scan of the whole row
    (`isprintable` first: it is true for nearly every row and much faster than the pattern). A row no longer
    than a field may be has no cell too long: a row of an export is about 300 characters."""
    if len(values) <= limits.max_columns:
        text = "".join(values)
        if (len(text) <= limits.max_field_chars or max(map(len, values)) <= limits.max_field_chars) and (
            text.isprintable() or not CONTROL.search(text)
        ):
            return None
    return check_row(values, header, limits)


# --- CSV ---------------------------------------------------------------------------------------------------


def detect_encoding(path: Path) -> str:
    """UTF-8 (with or without BOM) when the whole file decodes, else GBK (as GB18030, its superset); read in
    chunks, so a big file is never held whole. A file whose Chinese text is UTF-8 up to some line and not after
    it (two exports pasted together) is refused, naming that line: GB18030 decodes almost any bytes, so read
    as GBK the UTF-8 lines, the header among them, would turn to nonsense ("no waybill column")."""
    failure = 0
    for encoding in ("utf-8-sig", "gb18030"):
        decoder = codecs.getincrementaldecoder(encoding)()
        offset = 0
        try:
            with path.open("rb") as fh:
                while chunk := fh.read(_CHUNK):
                    decoder.decode(chunk)
                    offset += len(chunk)
                decoder.decode(b"", final=True)
            return encoding
        except UnicodeDecodeError as exc:
            failure = failure or offset + exc.start
            line = _utf8_until(path, failure) if encoding == "utf-8-sig" else None
            if line is not None:
                raise ImportFileError(
                    f"line {line:,} is not UTF-8 though the Chinese text before it is: a file put together from a "
                    "UTF-8 and a GBK export? Save it again as one file in one encoding (CSV UTF-8)"
                ) from None
    with path.open("rb") as fh:
        start = fh.read(8)
    for magic, what in _NOT_CSV:  # a file that is something else, named, rather than a byte offset
        if start.startswith(magic):
            raise ImportFileError(what)
    raise ImportFileError(f"not UTF-8 or GBK text (byte {failure})")


_HIGH_BYTES = bytes(range(0x80, 0x100))  # the bytes of non-ASCII text, in UTF-8 as in GBK
_MIXED_AFTER = 6  # bytes of UTF-8 text (two Chinese characters) in whole lines before one that is not: a mixed file


def _utf8_until(path: Path, failure: int) -> int | None:
    """The line holding byte `failure`, where UTF-8 decoding failed, when a whole line before it holds Chinese text
    (UTF-8 then: a mixed file); None otherwise (a GBK file: its first Chinese characters may read as UTF-8 by
    chance for a few bytes, rarely for a whole line, and a header such as 物流单号 fails at once)."""
    lines = wide = 0
    pending = 0  # high bytes of the line not finished yet
    with path.open("rb") as fh:
        while failure > 0 and (chunk := fh.read(min(_CHUNK, failure))):
            failure -= len(chunk)
            breaks = chunk.count(b"\n")
            if breaks:
                end = chunk.rindex(b"\n")
                done = chunk[:end]
                wide += pending + len(done) - len(done.translate(None, _HIGH_BYTES))
                tail = chunk[end:]
                pending = len(tail) - len(tail.translate(None, _HIGH_BYTES))
            else:
                pending += len(chunk) - len(chunk.translate(None, _HIGH_BYTES))
            lines += breaks
    return lines + 1 if wide >= _MIXED_AFTER else None


# files a lead may hand over as CSV that are no text of ours: what each is, and what to do with it
_NOT_CSV = (
    (b"\xd0\xcf\x11\xe0", "an Excel 97-2003 workbook (.xls): save it as .xlsx or as CSV"),
    (b"PK\x03\x04", "a zip file, such as an XLSX workbook named otherwise: name it .xlsx"),
    (b"\xff\xfe", "UTF-16 text (Excel's 'Unicode text'): save it as CSV UTF-8 or as .xlsx"),
    (b"\xfe\xff", "UTF-16 text: save it as CSV UTF-8 or as .xlsx"),
)


class _Lines:
    """Physical lines for csv.reader, at most `max_chars` each (a longer one is skipped in chunks and marked),
    at most `max_lines` per row; lines can be pushed back to be read again as rows of their own."""

    def __init__(self, fh: IO[str], limits: ReadLimits) -> None:
        self.fh = fh
        self.max_chars = limits.max_row_chars
        self.max_lines = limits.max_row_lines
        self.back: deque[tuple[bool, str]] = deque()
        self.taken: list[tuple[bool, str]] = []  # (too long, text) of the row being read
        self.ran_out = False  # the row wanted another line and there was none (or it had too many)

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        if len(self.taken) >= self.max_lines:
            self.ran_out = True
            raise StopIteration
        if self.back:
            item = self.back.popleft()
        else:
            text = self.fh.readline(self.max_chars + 1)
            if not text:
                if self.taken:
                    self.ran_out = True
                raise StopIteration
            too_long = len(text) > self.max_chars and len(text.rstrip("\r\n")) > self.max_chars
            if too_long:
                while text and not text.endswith(("\n", "\r")):
                    text = self.fh.readline(_CHUNK)
                text = "\n"
            item = (too_long, text)
        self.taken.append(item)
        return item[1]

    def start_row(self) -> None:
        self.taken = []
        self.ran_out = False

    def push_back_after_first(self) -> None:
        """The row was a mistake (an unterminated quote): its lines after the first are rows of their own."""
        self.back.extendleft(reversed(self.taken[1:]))


def _csv_rows(fh: IO[str], limits: ReadLimits) -> Iterator[list[str] | BadRow]:
    """Rows (lists of fields) or BadRow, header first."""
    lines = _Lines(fh, limits)
    reader = csv.reader(lines)
    width: int | None = None  # the header's number of fields
    while True:
        lines.start_row()
        try:
            fields = next(reader)
        except StopIteration:
            if not lines.taken:
                return
            fields = []
        except csv.Error as exc:
            first = lines.taken[0][1] if lines.taken else ""
            lines.push_back_after_first()
            yield BadRow("", excerpt(first), f"not readable as CSV ({exc})", (first.rstrip("\r\n"),))
            continue
        taken = lines.taken
        if taken[0][0] if len(taken) == 1 else any(too_long for too_long, _ in taken):
            yield BadRow("", "", f"longer than {lines.max_chars:,} characters")
            continue
        if lines.ran_out or (len(taken) > 1 and not _well_formed([text for _, text in taken], fields, width)):
            first = taken[0][1].rstrip("\r\n")
            lines.push_back_after_first()
            more = "" if len(taken) == 1 else f"; the {len(taken) - 1} line(s) after it are read as rows of their own"
            cells = tuple(next(csv.reader([first]), []))  # the line alone, for the rejects file
            yield BadRow("", excerpt(first), f"unterminated quote: a quoted field never closes{more}", cells)
            continue
        if width is None:
            width = len(fields)
        yield fields


def _well_formed(lines: list[str], fields: list[str], width: int | None) -> bool:
    """A row spanning several lines is believed only when it is strictly valid CSV with the header's number
    of fields: an unterminated quote swallows the next lines until some later quote, which almost never
    closes the field cleanly (`"ORD1,shop1<newline>SF2,sf,"ORD2"` is not CSV). A swallowed line in the
    middle that is a whole row by itself (no quote, the header's number of commas) gives it away too."""
    if width is not None and len(fields) != width:
        return False
    if width and width > 1 and any('"' not in line and line.count(",") == width - 1 for line in lines[1:-1]):
        return False
    # in valid CSV quotes come in pairs inside a quoted cell: the line opening the cell and the line closing
    # it hold an odd number of them, the lines between an even number
    if lines[-1].count('"') % 2 == 0 or any(line.count('"') % 2 for line in lines[1:-1]):
        return False
    try:
        strict = next(csv.reader(lines, strict=True))
    except (csv.Error, StopIteration):
        return False
    return strict == fields


def _header_error(problem: BadRow | None) -> ImportFileError:
    where = f", {problem.field}" if problem and problem.field else ""
    return ImportFileError(f"row 1 (the header){where}: {problem.reason if problem else 'unreadable'}")


def read_csv(path: Path, limits: ReadLimits) -> tuple[list[str], Iterator[tuple[int, Sequence[Any] | BadRow]]]:
    encoding = detect_encoding(path)
    fh = path.open(encoding=encoding, newline="", buffering=_CHUNK)
    fh._CHUNK_SIZE = _CHUNK  # type: ignore[attr-defined]  # decoded a MiB at a time: 30 reads for 30 MB, not 3,600
    rows = _csv_rows(fh, limits)
    first = next(rows, None)
    if first is None:
        fh.close()
        raise ImportFileError("the file is empty")
    problem = first if isinstance(first, BadRow) else check_row(first, first, limits)
    if problem is not None or isinstance(first, BadRow):
        fh.close()
        raise _header_error(first if isinstance(first, BadRow) else problem)
    header = [h.strip() for h in first]

    def numbered() -> Iterator[tuple[int, Sequence[Any] | BadRow]]:
        with fh:
            for row_no, row in enumerate(rows, start=2):
                yield row_no, (row if isinstance(row, BadRow) else check_csv_row(row, header, limits) or row)

    return header, numbered()


# --- XLSX --------------------------------------------------------------------------------------------------


def check_zip(path: Path, limits: ReadLimits) -> None:
    """Refuse a workbook that would expand beyond the limits, before anything is expanded. The sizes are the
    zip's own: Python's zipfile never inflates a member beyond its stated size."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise ImportFileError(f"not a readable XLSX workbook ({exc})") from None
    total = sum(m.file_size for m in members)
    if total > limits.max_xlsx_unzipped_bytes:
        raise ImportFileError(
            f"the workbook expands to {total:,} bytes, more than the limit of {limits.max_xlsx_unzipped_bytes:,}"
        )
    for member in members:
        if member.file_size > _CHUNK and member.file_size > limits.max_xlsx_ratio * max(member.compress_size, 1):
            ratio = member.file_size // max(member.compress_size, 1)
            raise ImportFileError(
                f"{member.filename} expands {ratio:,} times ({member.compress_size:,} -> {member.file_size:,} bytes), "
                f"more than the limit of {limits.max_xlsx_ratio}: refused as a zip bomb"
            )


def has_formulas(path: Path, part: str | None) -> bool:
    """Whether the worksheet `part` of the workbook (the zip member; None: every worksheet) holds a cell formula:
    its XML read in chunks (sizes checked before, check_zip), stopping at the first. An export written by a
    shop's back office holds none."""
    overlap = 64
    with zipfile.ZipFile(path) as archive:
        for member in archive.infolist():
            if member.filename != part and (part is not None or not member.filename.startswith("xl/worksheets/")):
                continue
            tail = b""
            with archive.open(member) as data:
                while chunk := data.read(_CHUNK):
                    if _FORMULA_TAG.search(tail + chunk):
                        return True
                    tail = chunk[-overlap:]
    return False


def _first_sheet(book: Any) -> Any:
    sheet = book.worksheets[0]
    sheet.reset_dimensions()  # a forged dimension must not pad every row to 16,384 columns
    return sheet


def _formula_text(said: Any) -> str | None:
    """The formula a cell read with its formulas holds ('=...'), or None when it holds none."""
    from openpyxl.worksheet.formula import ArrayFormula, DataTableFormula

    if isinstance(said, str):
        return said if said[:1] == "=" else None
    if isinstance(said, ArrayFormula):
        return said.text or "="
    if isinstance(said, DataTableFormula):
        return "=TABLE()"
    return None


def _with_unsaved(cells: Iterator[tuple[Any, ...]], texts: Iterator[tuple[Any, ...]]) -> Iterator[tuple[Any, ...]]:
    """The rows' values from their cells, a formula cell without a saved value as UnsavedFormula: `texts` are the
    same rows read with their formulas. A formula whose saved result is empty text (Excel and LibreOffice write
    t="str" and an empty value: IFERROR(...,"")) reads as ''; a program writing a formula writes no type."""
    for row, written in zip(cells, texts, strict=False):
        values = tuple(cell.value for cell in row)
        if None not in values:
            yield values
            continue
        said = tuple(written) + (None,) * (len(values) - len(written))
        pairs = zip(row, said, strict=False)  # `said` padded to the row: as long as it, or longer
        yield tuple(_blank_cell(cell, text) if cell.value is None else cell.value for cell, text in pairs)


def _blank_cell(cell: Any, said: Any) -> Any:
    """What a cell read without a value holds: '' for a formula whose saved result is empty text (t="str"), an
    UnsavedFormula for a formula never computed (`said`: the cell read with its formulas), else None."""
    if getattr(cell, "data_type", None) == "str":
        return ""
    formula = _formula_text(said)
    return None if formula is None else UnsavedFormula(formula)


def read_xlsx(path: Path, limits: ReadLimits) -> tuple[list[str], Iterator[tuple[int, Sequence[Any] | BadRow]]]:
    check_zip(path, limits)
    from openpyxl import load_workbook

    books: list[Any] = []

    def close() -> None:
        for opened in books:
            opened.close()

    try:
        book = load_workbook(path, read_only=True, data_only=True)
        books.append(book)
        sheet = _first_sheet(book)
        rows: Iterator[tuple[Any, ...]]
        if has_formulas(path, getattr(sheet, "_worksheet_path", None)):
            # read a second time beside it, with the formulas: which blank cells are formulas never computed
            formulas = load_workbook(path, read_only=True, data_only=False)
            books.append(formulas)
            rows = _with_unsaved(sheet.iter_rows(), _first_sheet(formulas).iter_rows(values_only=True))
        else:
            rows = sheet.iter_rows(values_only=True)
        first = next(rows, None)
    except Exception as exc:  # openpyxl raises several unrelated types for a bad file
        close()
        raise ImportFileError(f"not a readable XLSX workbook ({type(exc).__name__}: {excerpt(str(exc))})") from None
    if first is None:
        close()
        raise ImportFileError("the first sheet is empty")
    header = [h.strip() if isinstance(h, str) else "" if h is None else str(h) for h in _trim(first)]
    problem = check_row(header, header, limits)
    if problem:
        close()
        raise ImportFileError(f"row 1 (the header){', ' + problem.field if problem.field else ''}: {problem.reason}")

    def numbered() -> Iterator[tuple[int, Sequence[Any] | BadRow]]:
        try:
            for row_no, row in enumerate(rows, start=2):
                values = _trim(row)
                yield row_no, check_row(values, header, limits) or values
        finally:
            close()

    return header, numbered()


def _trim(row: Sequence[Any]) -> Sequence[Any]:
    """Without the empty cells at the end (styled but empty cells are still cells in XLSX)."""
    end = len(row)
    while end and row[end - 1] is None:
        end -= 1
    return row[:end]


def read_table(
    path: Path, limits: ReadLimits | None = None
) -> tuple[list[str], Iterator[tuple[int, Sequence[Any] | BadRow]]]:
    """Header names and the numbered rows (values, or BadRow) of a CSV or XLSX file."""
    limits = limits or ReadLimits()
    if not path.is_file():
        raise ImportFileError("file not found")
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        return read_xlsx(path, limits)
    return read_csv(path, limits)
