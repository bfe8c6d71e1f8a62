"""The parcel page's 平台时限 section and fact forms (dashboard/fact_forms.py, issue 16), through AppTest."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from tests.dashboard.test_app import signed_in
from tracker.escape import streamlit_md
from tracker.storage.repo import AUDIT
from tracker.storage.rows import ParcelFactRow

FACT = ParcelFactRow.__table__


def _parcel_page(parcel_id: int, name: str = "lily", password: str = "lily-pw", tab: str | None = None):  # type: ignore[no-untyped-def]
    """The parcel page; with `tab`, that tab of 更多情况 chosen (only the chosen tab's form is drawn)."""
    at = signed_in(name, password, page="views/parcel.py")
    at.query_params["id"] = str(parcel_id)
    if tab:
        at.session_state["ff_tabs"] = tab
    at.run()
    assert not at.exception, at.exception
    return at


def _submit(at):  # type: ignore[no-untyped-def]
    (button,) = [b for b in at.button if b.label == "记录"]  # the chosen tab's form, the only one drawn
    button.click().run()
    assert not at.exception, at.exception
    return at


def test_only_the_chosen_tab_s_form_is_drawn(board_db):
    _, ids = board_db
    at = _parcel_page(ids["parcels"]["YTO3003"])
    assert [t.label for t in at.text_input if t.key and t.key.startswith("ff_")] == ["备注"]  # the first tab's
    at = _parcel_page(ids["parcels"]["YTO3003"], tab="退货称重")
    keys = {t.key for t in at.text_input if t.key and t.key.startswith("ff_")}
    assert keys == {"ff_shipped", "ff_returned"}


def test_delivered_parcel_shows_the_seven_day_window_and_records_a_third_party_signature(board_db):
    engine, ids = board_db
    pid = ids["parcels"]["YTO3003"]  # delivered 20 h before now
    at = _parcel_page(pid, tab="代签/快递柜")
    assert "平台时限" in [h.value for h in at.subheader]
    timers = at.dataframe[-1].value
    assert list(timers["时限"]) == ["七天无理由退换货"] and list(timers["状态"]) == ["进行中"]
    # signed 2026-11-22 12:00 Shanghai (20 h before now): from 11-23 00:00, 168 h
    assert list(timers["起算"]) == ["2026-11-23 00:00"] and list(timers["截止(含)"]) == ["2026-11-30 00:00"]
    assert list(timers["剩余"]) == ["剩余 6 天 12 小时"]  # now is 11-23 12:00

    at.text_input(key="ff_signer").input("门卫")
    at.radio(key="ff_consent").set_value("no")
    _submit(at)
    assert "已记录" in at.success[0].value
    with engine.connect() as conn:
        kind, by, data = conn.execute(
            select(FACT.c.kind, FACT.c.recorded_by, FACT.c.data).where(FACT.c.parcel_id == pid)
        ).one()
        audited = conn.execute(select(AUDIT.c.actor).where(AUDIT.c.action == "fact.signed_without_consent")).scalar()
    assert (kind, by, data["signer"], data["consent"]) == ("signed_without_consent", "lily", "门卫", False)
    assert audited == "lily"
    # the page's facts table names the fact as people say it (the audit table's action names: the board's words)
    shown = " ".join(str(v) for frame in _parcel_page(pid).dataframe for v in frame.value.to_numpy().ravel())
    assert "未经同意代签" in shown


def test_a_bad_weight_is_one_line_and_nothing_is_recorded(board_db):
    engine, ids = board_db
    pid = ids["parcels"]["SF1001"]
    at = _parcel_page(pid, "王芳", "wf-pw", tab="退货称重")  # an agent may record facts
    at.text_input(key="ff_shipped").input("重")
    at.text_input(key="ff_returned").input("0.8")
    _submit(at)
    # what was typed is shown as text, never as Markdown, in the board's words (they were English)
    assert at.error[0].value == streamlit_md("发货重量(公斤, 仓库称重): 应填千克数, 如 1.25 (填的是 '重')")
    for typed in ("nan", "-1", "inf"):  # nan failed the page; a negative weight was refused in English
        at.text_input(key="ff_shipped").input(typed)
        at.text_input(key="ff_returned").input("0.8")
        _submit(at)
        assert not at.exception, at.exception
        assert at.error[0].value == streamlit_md(f"发货重量(公斤, 仓库称重): 应填千克数, 如 1.25 (填的是 '{typed}')")
    at.text_input(key="ff_shipped").input("1.2")
    at.text_input(key="ff_returned").input("0.8")
    _submit(at)
    with engine.connect() as conn:
        data = conn.execute(select(FACT.c.data).where(FACT.c.parcel_id == pid)).scalar_one()
    assert (data["shipped_g"], data["returned_g"]) == (1200, 800)


def test_recording_trade_success_adds_the_complaint_window(board_db):
    engine, ids = board_db
    pid = ids["parcels"]["YTO3003"]
    at = _parcel_page(pid, tab="平台事件")
    at.radio(key="ff_event").set_value("trade_succeeded")
    _submit(at)
    at = _parcel_page(pid)
    timers = at.dataframe[-1].value
    assert list(timers["时限"]) == ["七天无理由退换货", "未收到货维权可发起"]
    assert list(timers["剩余"])[1] == "剩余 15 天 0 小时"  # 交易成功 recorded at now


def test_the_queue_shows_the_soonest_platform_deadline(board_db, now):
    from tests.dashboard.test_app import login as log_in
    from tracker.flags.facts import complaint_opened

    engine, ids = board_db
    # SF1001 (stale flag) gets a 未收到货 complaint opened 60 h before now: 12 h of negotiation left
    complaint_opened(engine, waybill="SF1001", actor="lily", now=now, at=now - timedelta(hours=60))
    at = log_in()
    at.switch_page("views/queue.py").run()
    assert not at.exception, at.exception
    queue = at.dataframe[-1].value if "平台时限" in at.dataframe[-1].value else at.dataframe[0].value
    cells = dict(zip(queue["运单号"], queue["平台时限"], strict=True))
    # the time first: the column sorts by when a timer runs out
    assert cells["SF1001"] == "2026-11-24 00:00 截止 · 未收到货维权协商"  # 11-21 00:00 Shanghai + 72 h
    assert all(v == "" for w, v in cells.items() if w != "SF1001")


def test_a_platform_event_after_now_is_refused_in_the_boards_words(board_db, now):
    """A 交易成功 dated the day after tomorrow: one line in Chinese naming both times on the shop's clock
    (the CLI's words and UTC before), and nothing recorded."""
    engine, ids = board_db
    pid = ids["parcels"]["YTO3003"]
    at = _parcel_page(pid, tab="平台事件")
    at.radio(key="ff_event").set_value("trade_succeeded")
    local_now = now.astimezone(ZoneInfo("Asia/Shanghai"))
    at.date_input(key="ff_platform_day").set_value(local_now.date() + timedelta(days=2))
    _submit(at)
    shown = f"事件时间 {local_now.date() + timedelta(days=2)} 00:00 晚于现在({local_now:%Y-%m-%d %H:%M})"
    assert [e.value for e in at.error] == [streamlit_md(shown)]
    with engine.connect() as conn:
        assert conn.execute(select(FACT.c.id).where(FACT.c.parcel_id == pid)).first() is None
