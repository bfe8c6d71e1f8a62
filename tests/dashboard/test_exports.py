"""Whole-set XLSX exports of the queue and the ledger, read back with openpyxl: every filtered row (more than a
page), the table's filters, the reader's language, money as yuan numbers, times in China, no formula cell."""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from claims.formula import dumps, part
from dashboard import data
from dashboard.data import QueueFilter
from dashboard.export_buttons import claims_xlsx, queue_xlsx
from tests.dashboard.seed import CLAIM, FLAG, PARCEL, seed
from tracker.domain import ParcelFacts
from tracker.settings import load_settings
from tracker.storage import rollups
from tracker.storage.repo import upsert_parcels

SETTINGS = load_settings()
COURIERS = SETTINGS.couriers
TZ = SETTINGS.tz
PAGE = SETTINGS.board.page_size


def _many(engine, now, n: int) -> None:
    """n more parcels of ZTO with an open stale flag each and a draft claim each; one note is a formula."""
    upsert_parcels(
        engine,
        [
            ParcelFacts(
                courier="zto",
                waybill=f"ZT9{i:06d}",
                order_id=f"O-9{i:05d}",
                shop="旗舰店",
                province="广东省",
                goods_value=Decimal("12.50") + i,
                shipped_at=now - timedelta(hours=50 + i % 40),
            )
            for i in range(n)
        ],
        now=now - timedelta(hours=200),
    )
    with engine.begin() as conn:
        ids = [pid for (pid,) in conn.execute(select(PARCEL.c.id).where(PARCEL.c.waybill.like("ZT9%")))]
        conn.execute(
            FLAG.insert(),
            [
                dict(
                    parcel_id=pid,
                    courier="zto",
                    kind="stale",
                    severity="warn",
                    state="open",
                    opened_at=now - timedelta(hours=3),
                    next_action_zh="电话咨询网点",
                    next_action_en="Phone the outlet",
                    note='=HYPERLINK("http://x")' if k == 0 else None,
                )
                for k, pid in enumerate(ids)
            ],
        )
        rollups.rebuild(conn)  # flags written straight: their copy of the parcel's last update
        conn.execute(
            CLAIM.insert(),
            [
                dict(
                    parcel_id=pid,
                    courier="zto",
                    claim_type="goods_lost",
                    scenario="default",
                    state="draft",
                    amount=Decimal("12.50"),
                    formula=dumps([part("value", name="goods_value", amount="12.50")]),
                    table_version="t",
                    filing_opens_at=now - timedelta(days=1),
                    filing_closes_at=now + timedelta(days=30),
                    created_at=now,
                    updated_at=now,
                )
                for pid in ids
            ],
        )


def _read(blob: bytes):
    book = load_workbook(io.BytesIO(blob))
    return book, book.worksheets[0]


def _no_formulas(book) -> None:
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"{sheet.title}!{cell.coordinate} is a formula: {cell.value!r}"


@pytest.fixture
def many(engine, now):
    seed(engine, now)
    _many(engine, now, PAGE * 2 + 7)
    return engine


def test_queue_export_holds_every_filtered_row_in_chinese(many, now):
    f = QueueFilter(courier="zto")
    total = data.queue_count(many, f, now=now)
    assert total > PAGE  # more than one page of the board
    book, sheet = _read(
        queue_xlsx(
            many,
            f,
            now=now,
            sort="escalated",
            lang="zh",
            tz=TZ,
            couriers=COURIERS,
            actions=SETTINGS.next_actions,
            limit=SETTINGS.board.export_max_rows,
        )
    )
    header = [c.value for c in sheet[1]]
    assert header[:7] == ["异常编号", "运单号", "订单号", "快递", "异常类型", "级别", "状态"]
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert len(rows) == total
    first_page = data.queue_page(many, f, now=now, sort="escalated", limit=PAGE)
    assert [r[0] for r in rows[:PAGE]] == [r["flag_id"] for r in first_page]  # the table's own order
    by = dict(zip(header, rows[-1], strict=True))
    assert by["快递"] == "中通快递" and by["异常类型"] in ("物流不更新", "拒收")
    assert {r[header.index("状态")] for r in rows} <= {"待处理", "已确认"}
    assert {r[header.index("物流状态")] for r in rows} <= {"待揽收", "拒收"}
    assert all(not str(v).startswith(("zto", "stale", "open")) for r in rows for v in r if v is not None)
    # times in Asia/Shanghai: opened 3 h before the pinned clock
    assert (now - timedelta(hours=3)).astimezone(TZ).strftime("%Y-%m-%d %H:%M") in {
        r[header.index("发现时间")] for r in rows
    }
    notes = [r[0] for r in book.worksheets[1].iter_rows(values_only=True)]
    assert f"导出行数: {total:,}" in notes and any("中通快递" in line for line in notes)
    _no_formulas(book)
    assert any(v == '\'=HYPERLINK("http://x")' for r in rows for v in r)  # guarded, kept as text


def test_queue_export_in_english_and_cut_at_the_bound(many, now):
    f = QueueFilter()
    total = data.queue_count(many, f, now=now)
    book, sheet = _read(
        queue_xlsx(
            many,
            f,
            now=now,
            sort="oldest",
            lang="en",
            tz=TZ,
            couriers=COURIERS,
            actions=SETTINGS.next_actions,
            limit=60,
        )
    )
    assert [c.value for c in sheet[1]][:4] == ["Flag", "Waybill", "Order", "Courier"]
    assert sheet.max_row == 61
    assert {r[3] for r in sheet.iter_rows(min_row=2, values_only=True)} <= {"ZTO Express", "SF Express"}
    notes = [r[0] for r in book.worksheets[1].iter_rows(values_only=True)]
    assert any(f"{total:,} rows match" in line and "only the first 60" in line for line in notes)


@pytest.mark.parametrize(
    ("lang", "said"), [("en", "…(cut: {n} characters in the original)"), ("zh", "…(已截断,原文{n}字)")]
)
def test_a_note_longer_than_a_cell_holds_is_cut_saying_so_in_the_readers_language(many, now, lang, said):
    """A flag's notes grow a line per action with a note; past what an Excel cell holds the export keeps their
    start and says how long they were, in the export's language (no Chinese words in an English file)."""
    note = "电话联系网点,对方说明天派送。" * 3_000
    with many.begin() as conn:
        flag_id = conn.execute(select(FLAG.c.id).where(FLAG.c.courier == "zto").limit(1)).scalar_one()
        conn.execute(FLAG.update().where(FLAG.c.id == flag_id).values(note=note))
    f = QueueFilter()
    blob = queue_xlsx(
        many,
        f,
        now=now,
        sort="oldest",
        lang=lang,
        tz=TZ,
        couriers=COURIERS,
        actions=SETTINGS.next_actions,
        limit=10_000,
    )
    book, sheet = _read(blob)
    cells = [c for row in sheet.iter_rows(min_row=2, values_only=True) for c in row if isinstance(c, str)]
    cut = [c for c in cells if c.startswith("电话联系网点") and len(c) < len(note)]
    assert len(cut) == 1 and cut[0].endswith(said.format(n=len(note))) and len(cut[0]) == 32_767


def test_ledger_export_holds_every_claim_with_money_as_yuan(many, now):
    total = data.claims_count(many, courier="zto")
    assert total > PAGE
    book, sheet = _read(
        claims_xlsx(
            many,
            now=now,
            lang="zh",
            tz=TZ,
            couriers=COURIERS,
            total=total,
            limit=SETTINGS.board.export_max_rows,
            filters={"courier": "zto"},
        )
    )
    header = [c.value for c in sheet[1]]
    assert header[:9] == ["编号", "运单号", "订单号", "快递", "理赔类型", "情形", "状态", "金额", "计算方式"]
    rows = list(sheet.iter_rows(min_row=2))
    assert len(rows) == total
    amount = rows[0][header.index("金额")]
    assert amount.value == Decimal("12.50") or amount.value == 12.5
    assert amount.data_type == "n" and "¥" in amount.number_format
    values = {header[i]: c.value for i, c in enumerate(rows[0])}
    assert values["理赔类型"] == "货物丢失" and values["状态"] == "草稿" and values["情形"] == "一般情形"
    assert values["计算方式"] == "货值 12.50" and values["剩余天数"] == 30
    notes = [r[0] for r in book.worksheets[1].iter_rows(values_only=True)]
    assert "筛选条件: 快递: 中通快递" in notes and f"导出行数: {total:,}" in notes
    _no_formulas(book)


@pytest.mark.parametrize(
    ("lang", "state", "line"),
    [
        (
            "zh",
            data.CLAIMABLE,
            "筛选条件: 运单号 / 订单号 / 理赔单号: ZTO; 状态: 可索赔(草稿, 申报期未过); 几天内截止(待提交, 0 = 不限): 3",
        ),
        (
            "en",
            data.CLAIMABLE,
            "Filters: Waybill / order / reference no.: ZTO; State: Claimable (drafts in their window); "
            "Closing within days (to file; 0 = any): 3",
        ),
        (  # a reconciliation count's claims
            "zh",
            data.SUBMITTED,
            "筛选条件: 运单号 / 订单号 / 理赔单号: ZTO; 状态: 累计提交(已提交、已赔付、已驳回); 几天内截止(待提交, 0 = 不限): 3",
        ),
        (
            "en",
            data.SUBMITTED,
            "Filters: Waybill / order / reference no.: ZTO; State: Filed in all (still filed, paid, rejected); "
            "Closing within days (to file; 0 = any): 3",
        ),
    ],
)
def test_the_ledger_export_names_its_filters_as_the_ledger_does(many, now, lang, state, line):
    """The notes sheet says which filters made the file in the ledger's own words: no field name, no state code."""
    f = data.LedgerFilter(text="ZTO", state=state, closes_within_days=3)
    book, _ = _read(
        claims_xlsx(
            many,
            now=now,
            lang=lang,
            tz=TZ,
            couriers=COURIERS,
            total=data.claims_count(many, f=f, now=now),
            limit=SETTINGS.board.export_max_rows,
            filters={"f": f},
        )
    )
    notes = [r[0] for r in book.worksheets[1].iter_rows(values_only=True)]
    assert line in notes, notes


def test_the_pages_offer_the_whole_set_and_say_when_it_is_cut(board_db, board_config):
    from tests.dashboard.test_app import signed_in

    board_toml = board_config / "board.toml"
    text = board_toml.read_text(encoding="utf-8").replace("export_max_rows = 200000", "export_max_rows = 2")
    board_toml.write_text(text, encoding="utf-8")
    at = signed_in(page="views/queue.py")
    at.run()
    assert not at.exception, at.exception
    assert [d.proto.label for d in at.get("download_button")] == ["导出全部筛选结果 (XLSX) (2)"]
    assert "共 3 条, 超过导出上限, 只导出前 2 条; 请缩小筛选范围" in [c.value for c in at.caption]
    at = signed_in(page="views/queue.py")
    at.query_params["courier"] = "zto"
    at.run()
    assert [d.proto.label for d in at.get("download_button")] == ["导出全部筛选结果 (XLSX) (1)"]
    assert not [c.value for c in at.caption if "超过导出上限" in c.value]
    at = signed_in(page="views/claims.py")  # the ledger reads ?courier= too: a fresh session without the queue's filter
    at.run()
    assert not at.exception, at.exception
    assert "导出理赔台账 (XLSX) (2)" in [d.proto.label for d in at.get("download_button")]


def test_a_filter_object_is_named_field_by_field_and_the_clock_is_not_a_filter(now):
    from dashboard.export_buttons import _filter_items

    items = _filter_items({"f": QueueFilter(courier="zto", min_age_hours=96), "now": now, "state": None})
    assert items == [("courier", "zto"), ("min_age_hours", 96), ("state", "unresolved")]


def test_the_ledger_export_names_a_scorecards_filters_in_words_not_its_zone(many, now):
    """Opened from a courier scorecard (filed claims of a shipping period): the notes name those filters as the
    ledger's line does, and never the time zone the days are read in."""
    f = data.LedgerFilter(filed="1", shipped_from="2026-11-01", shipped_to="2026-11-30", zone="Asia/Shanghai")
    book, _ = _read(
        claims_xlsx(
            many,
            now=now,
            lang="zh",
            tz=TZ,
            couriers=COURIERS,
            total=data.claims_count(many, f=f, now=now),
            limit=SETTINGS.board.export_max_rows,
            filters={"f": f},
        )
    )
    notes = [r[0] for r in book.worksheets[1].iter_rows(values_only=True)]
    assert "筛选条件: 已提交索赔: 是; 发货日期从: 2026-11-01; 发货日期到: 2026-11-30" in notes, notes
    assert not any("Asia/Shanghai" in str(line) for line in notes)


def test_the_ledger_export_of_one_parcels_claims_names_the_parcel_not_its_row(many, now):
    """Opened from a parcel's page: the file holds that parcel's claims only, its notes name it by courier and
    waybill (never the parcel's row number)."""
    with many.connect() as conn:
        parcel_id = conn.execute(select(PARCEL.c.id).where(PARCEL.c.waybill == "SF1001")).scalar_one()
    f = data.LedgerFilter(parcel=parcel_id)
    total = data.claims_count(many, f=f, now=now)
    book, sheet = _read(
        claims_xlsx(
            many,
            now=now,
            lang="zh",
            tz=TZ,
            couriers=COURIERS,
            total=total,
            limit=SETTINGS.board.export_max_rows,
            filters={"f": f},
        )
    )
    notes = [r[0] for r in book.worksheets[1].iter_rows(values_only=True)]
    assert "筛选条件: 包裹: 顺丰速运 SF1001" in notes, notes
    waybills = {row[1] for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert total >= 1 and waybills == {"SF1001"}


def test_the_notes_count_the_rows_the_file_holds_not_the_pages_earlier_count(many, now):
    """The page counted its rows before the click; the rules may have resolved some since: the notes say how many
    rows the file holds (they said the page's count)."""
    f = QueueFilter(courier="zto")
    held = data.queue_count(many, f, now=now)
    book, sheet = _read(
        queue_xlsx(
            many,
            f,
            now=now,
            sort="escalated",
            lang="zh",
            tz=TZ,
            couriers=COURIERS,
            actions=SETTINGS.next_actions,
            limit=SETTINGS.board.export_max_rows,
            total=held + 3,  # the page's count, read before three of them were resolved
        )
    )
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    notes = [r[0] for r in book.worksheets[1].iter_rows(values_only=True)]
    assert len(rows) == held and f"导出行数: {held:,}" in notes, notes


def test_an_export_that_fails_is_a_file_saying_so_in_the_readers_words() -> None:
    from dashboard.export_buttons import failed_export

    for lang, words in (("zh", "导出失败, 详情已记录到服务器日志"), ("en", "The export failed")):
        book = load_workbook(io.BytesIO(failed_export(lang, TZ)))
        cells = [c for row in book.worksheets[0].iter_rows(values_only=True) for c in row if c]
        assert any(str(c).startswith(words) for c in cells), cells
