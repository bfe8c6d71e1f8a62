"""An import's rows stored by a second process (tracker/import_writer.py): the same parcels, counts, merges and
return buyers as the writer thread stores, pieces grouped into transactions, and every failure said in one
line in the importing process: a piece the database refuses, a database the process cannot open, a process
that dies. On a SQLite file and, in the PostgreSQL pass, on PostgreSQL (whose rows cross pickled)."""

from __future__ import annotations

import re
import sys
import threading
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, func, select
from sqlalchemy.exc import IntegrityError

from tests.test_importer import RETURNS, _import, _write_csv
from tracker import import_writer
from tracker.domain import ParcelFacts
from tracker.import_writer import ProcessWriter, ThreadWriter, WriterGone, writer_for
from tracker.settings import Settings
from tracker.storage import repo
from tracker.storage.repo import AUDIT
from tracker.storage.tables import PARCEL, RETURN_BUYER

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples"))
from make_parcels import HEADERS, generate_rows  # noqa: E402

NOW = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)
MERGED = ("YT7599900000001", "YT7599900000002")  # each named by two orders, far apart in the file


def _orders_file(path: Path, n: int, second: tuple[int, int] | None = None) -> Path:
    """n generated Taobao export rows, and two merged shipments whose second order comes hundreds of rows
    (several pieces) after its first (at rows `second`, default near the end)."""
    rows = list(generate_rows(n, seed=7))
    col = {name: HEADERS.index(name) for name in ("订单编号", "物流单号", "物流公司", "买家实际支付金额")}
    for at, (order, waybill, value) in zip(
        (10, 20, *(second or (n - 30, n - 5))),
        (("9001", MERGED[0], "100.00"), ("9002", MERGED[1], "20.00"), ("9003", MERGED[0], "50.50"),
         ("9004", MERGED[1], "1.00")),
        strict=True,
    ):  # fmt: skip
        row = list(rows[at])
        row[col["订单编号"]], row[col["物流单号"]] = order, waybill
        row[col["物流公司"]], row[col["买家实际支付金额"]] = "圆通速递", value
        rows[at] = row
    return _write_csv(path, HEADERS, rows)


@pytest.fixture
def every_file_in_a_process(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Any file goes to a writer process, sent in pieces of 70 rows; the writers made are listed."""
    made: list[str] = []
    real = writer_for

    def recording(*args: object, **kw: object) -> object:
        writer = real(*args, **kw)  # type: ignore[arg-type]
        made.append(type(writer).__name__)
        return writer

    monkeypatch.setattr(import_writer, "PROCESS_FROM_BYTES", 0)
    monkeypatch.setattr(ProcessWriter, "PIECE_ROWS", 70)
    monkeypatch.setattr("tracker.importer.writer_for", recording)
    return made


def test_a_file_stored_by_the_writer_process_is_stored_as_by_the_thread(
    tmp_path: Path, settings: Settings, db_engine: Engine, every_file_in_a_process: list[str]
) -> None:
    orders = _orders_file(tmp_path / "orders.csv", 600)
    report = _import(orders, settings, db_engine, batch_size=200, second_process=True)
    assert every_file_in_a_process == ["ProcessWriter"]
    # the merged shipments' later rows rewrite what an earlier piece stored: still one new parcel each
    assert (report.rows, report.inserted, report.updated, report.merged, report.error_count) == (600, 598, 0, 2, 0)
    with db_engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(PARCEL)).scalar_one() == 598
        merged = dict(
            conn.execute(select(PARCEL.c.waybill, PARCEL.c.order_id).where(PARCEL.c.waybill.in_(MERGED))).all()
        )
        values = dict(
            conn.execute(select(PARCEL.c.waybill, PARCEL.c.goods_value).where(PARCEL.c.waybill.in_(MERGED))).all()
        )
    # the second order of each shipment came pieces after the first: merged with what the process had stored
    assert merged == {MERGED[0]: "9001,9003", MERGED[1]: "9002,9004"}
    assert values == {MERGED[0]: Decimal("150.50"), MERGED[1]: Decimal("21.00")}

    # the same file again, read by the thread: every parcel is known and nothing changes. A merged shipment's first
    # row is written alone (its one order), and its later row writes the merged shipment back: counted updated
    # (docs/importing.md)
    again = _import(orders, settings, db_engine, batch_size=200, second_process=False)
    assert every_file_in_a_process == ["ProcessWriter", "ThreadWriter"]
    assert (again.inserted, again.updated, again.unchanged) == (0, 2, 596)
    # and once more by the process
    third = _import(orders, settings, db_engine, batch_size=200, second_process=True)
    assert (third.inserted, third.updated, third.unchanged) == (0, 2, 596)
    with db_engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(PARCEL)).scalar_one() == 598
        merged = dict(
            conn.execute(select(PARCEL.c.waybill, PARCEL.c.order_id).where(PARCEL.c.waybill.in_(MERGED))).all()
        )
    assert merged == {MERGED[0]: "9001,9003", MERGED[1]: "9002,9004"}


def test_return_buyers_cross_to_the_writer_process(
    tmp_path: Path, settings: Settings, db_engine: Engine, every_file_in_a_process: list[str]
) -> None:
    """A returns export where two buyers name one return waybill, in different pieces: both are recorded."""
    rows = [
        [f"R{n}", f"48{n:04d}", f"tb_b{n}", "99.00", "2026-11-18 10:00:00", "2026-11-28 10:00:00", "中通快递",
         f"7310000{n:07d}"]
        for n in range(300)
    ]  # fmt: skip
    rows.append(["R9", "489999", "tb_other", "99.00", "2026-11-18 10:00:00", "", "中通快递", "73100000000003"])
    path = tmp_path / "refunds.csv"
    _write_csv(path, RETURNS, rows)
    report = _import(
        path, settings, db_engine, batch_size=100, second_process=True, return_headers=settings.return_waybill_headers
    )
    assert every_file_in_a_process == ["ProcessWriter"]
    assert (report.inserted, report.merged, report.error_count) == (300, 1, 0)
    with db_engine.connect() as conn:
        buyers = conn.execute(
            select(RETURN_BUYER.c.buyer_id).where(RETURN_BUYER.c.waybill == "73100000000003")
        ).scalars()
        assert sorted(buyers) == ["tb_b3", "tb_other"]
        assert conn.execute(select(func.count()).select_from(RETURN_BUYER)).scalar_one() == 301


def _rows(engine: Engine, *waybills: str, courier: str | None = "zto") -> list[list[object]]:
    facts = [ParcelFacts(courier=courier, waybill=w) for w in waybills]  # type: ignore[arg-type]
    return repo.parcel_rows(engine.dialect.name, facts, NOW)


def test_a_refused_piece_is_raised_and_nothing_after_it_is_stored(db_engine: Engine) -> None:
    """As a failed batch stops the thread's import: the transaction is rolled back, the pieces sent after it are
    read and not stored, and every later call says the same error."""
    writer = ProcessWriter(db_engine, NOW, batch_size=1000)
    try:
        writer.submit(_rows(db_engine, "78300000000001", "78300000000002"), {})
        assert writer.wait() == repo.Stored(2, 0, 0)
        writer.submit(_rows(db_engine, "78300000000003", courier=None), {})  # courier is NOT NULL
        writer.submit(_rows(db_engine, "78300000000004"), {})
        with pytest.raises(IntegrityError) as refused:
            writer.wait()
        assert "[parameters" not in str(refused.value)  # the rows (buyers' details) do not travel with it
        with pytest.raises(IntegrityError):
            writer.submit(_rows(db_engine, "78300000000005"), {})
    finally:
        writer.close()
    with db_engine.connect() as conn:
        stored = conn.execute(select(PARCEL.c.waybill).order_by(PARCEL.c.waybill)).scalars().all()
    assert stored == ["78300000000001", "78300000000002"]


def test_a_failed_transaction_of_many_pieces_does_not_hang_the_close(db_engine: Engine) -> None:
    """Pieces of 2,500 wide rows queued past the pipes' sizes, one refused in the middle, and the importer
    closing on the error without reading on: the close ends at once (it used to wait forever)."""
    writer = ProcessWriter(db_engine, NOW, batch_size=20_000)
    pieces = 30

    def piece(k: int) -> list[list[object]]:
        facts = [
            ParcelFacts(
                courier=None if k == 3 and i == 0 else "zto",  # type: ignore[arg-type]
                waybill=f"78{k:04d}{i:08d}",
                shop="悦家旗舰店" * 10,
                address_detail="文三路" * 60,
            )
            for i in range(writer.rows_per_submit)
        ]
        return repo.parcel_rows(db_engine.dialect.name, facts, NOW)

    closed = threading.Event()
    try:
        with pytest.raises(IntegrityError):
            for k in range(pieces):
                writer.submit(piece(k), {})
            writer.wait()
    finally:
        closing = threading.Thread(target=lambda: (writer.close(), closed.set()), daemon=True)
        closing.start()
        closing.join(60)
    assert closed.is_set(), "close() hung"
    with db_engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(PARCEL)).scalar_one() < 3 * writer.rows_per_submit + 1


@pytest.mark.sqlite_only
def test_a_database_the_writer_cannot_open_is_one_error_without_a_traceback(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "not-a-folder").write_text("")
    engine = create_engine(f"sqlite:///{tmp_path / 'not-a-folder' / 'tracker.db'}")
    writer = ProcessWriter(engine, NOW, batch_size=1000)
    try:
        writer.submit(_rows(engine, "78300000000001"), {})
        with pytest.raises(OSError, match="not-a-folder"):
            writer.wait()
    finally:
        writer.close()
    assert "Traceback" not in capfd.readouterr().err


def test_a_writer_process_that_dies_is_said_in_one_line(db_engine: Engine) -> None:
    writer = ProcessWriter(db_engine, NOW, batch_size=1000)
    try:
        writer.submit(_rows(db_engine, "78300000000001"), {})
        assert writer.wait() == repo.Stored(1, 0, 0)
        writer._process.kill()
        writer.submit(_rows(db_engine, "78300000000002"), {})
        with pytest.raises(
            WriterGone, match=r"writer process ended unexpectedly \(exit code -9: killed, perhaps out of memory\)"
        ):
            writer.wait()
    finally:
        writer.close()


def test_small_files_and_memory_databases_keep_the_thread(tmp_path: Path, db_engine: Engine) -> None:
    memory = create_engine("sqlite://")
    kinds = []
    for engine, second_process, size in [
        (db_engine, True, 1 << 30),
        (db_engine, True, 1000),
        (db_engine, False, 1 << 30),
        (memory, True, 1 << 30),
    ]:
        writer = writer_for(engine, NOW, batch_size=10, second_process=second_process, file_bytes=size)
        kinds.append(type(writer))
        writer.close()
    assert kinds == [ProcessWriter, ThreadWriter, ThreadWriter, ThreadWriter]


def test_the_cli_imports_a_big_file_through_the_writer_process(
    tmp_path: Path, settings: Settings, db_engine: Engine, every_file_in_a_process: list[str]
) -> None:
    """`tracker import parcels` asks for the second process ([import] second_process, true in config/)."""
    from typer.testing import CliRunner

    from tracker.cli import app

    assert settings.import_.second_process
    result = CliRunner().invoke(app, ["import", "parcels", str(_orders_file(tmp_path / "orders.csv", 300))])
    assert result.exit_code == 0, result.output
    assert every_file_in_a_process == ["ProcessWriter"]
    assert "300 rows: 298 new, 0 updated, 0 unchanged, 2 merged into another row, 0 rejected" in result.output
    with db_engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(PARCEL)).scalar_one() == 298


@pytest.mark.parametrize(
    ("second_process", "stop_in"),
    [(False, "reading"), (True, "reading"), (True, "waiting")],  # waiting: for the writer process's answers
)
def test_an_import_stopped_by_ctrl_c_says_how_far_it_got(
    tmp_path: Path,
    settings: Settings,
    db_engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    second_process: bool,
    stop_in: str,
) -> None:
    """Ctrl-C during `tracker import parcels` (at the 2,000th row, or while waiting for the writer process; in
    batches of 300, two merged shipments sent again in a later batch): one line naming the rows read and the
    parcels stored, exactly those in the database, and exit 130, by either writer."""
    from tracker import cli, importer, runtime
    from tracker.commands import core

    real_writer, real_import, real_answer = importer.writer_for, core._do_import, ProcessWriter._answer

    def small_batches(engine: Engine, now: datetime, **kw: object) -> object:
        return real_writer(engine, now, **{**kw, "batch_size": 300, "second_process": second_process})  # type: ignore[arg-type]

    def stopped_at_row_2000(app, file, mapping, now, progress):  # type: ignore[no-untyped-def]
        def tick(n: int) -> None:  # the importer says every thousand rows read
            reports.append(n)
            if len(reports) == 2 and stop_in == "reading":
                raise KeyboardInterrupt

        return real_import(app, file, mapping, now, tick)

    def answer(writer: ProcessWriter) -> None:
        answers.append(1)
        if len(answers) == 12 and stop_in == "waiting":  # a piece was just queued: it is stored, and counted
            raise KeyboardInterrupt
        real_answer(writer)

    reports: list[int] = []
    answers: list[int] = []
    monkeypatch.setattr(import_writer, "PROCESS_FROM_BYTES", 0)
    monkeypatch.setattr(ProcessWriter, "PIECE_ROWS", 70)
    monkeypatch.setattr(ProcessWriter, "_answer", answer)
    monkeypatch.setattr(importer, "writer_for", small_batches)
    monkeypatch.setattr(core, "_do_import", stopped_at_row_2000)
    monkeypatch.setattr(runtime, "tune_gc", lambda: None)  # main() would tune this test process's collector
    orders = _orders_file(tmp_path / "o.csv", 3000, second=(700, 800))  # sent again in a later batch
    monkeypatch.setattr(sys, "argv", ["tracker", "import", "parcels", str(orders)])
    with pytest.raises(SystemExit) as stop:
        cli.main()
    assert stop.value.code == 130
    with db_engine.connect() as conn:
        stored = conn.execute(select(func.count()).select_from(PARCEL)).scalar_one()
    assert 500 <= stored < 2000  # the batches handed over before the stop: not the one being gathered
    err = capsys.readouterr().err
    said = re.search(r"^error: o\.csv: import stopped after ([\d,]+) rows; ([\d,]+) parcels from them are stored", err)
    assert said, err
    rows, parcels = (int(n.replace(",", "")) for n in said.groups())
    assert parcels == stored and rows >= stored  # the merged shipments: two rows, one parcel each
    assert rows == 2000 or stop_in == "waiting"
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    # and the audit log says the same
    with db_engine.connect() as conn:
        audit = conn.execute(select(AUDIT.c.action, AUDIT.c.entity, AUDIT.c.detail)).all()
    assert [(a, e, d["rows"], d["parcels_stored"]) for a, e, d in audit] == [("import_stopped", "file", rows, parcels)]
