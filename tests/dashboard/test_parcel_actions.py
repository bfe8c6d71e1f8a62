"""The parcel page acts (issue 15 item 5): per flag acknowledge / assign / note / resolve with the next action
in full, facts (loss confirmed, buyer says not received, return agreed) evaluated at once, and opening the
claims the flags call for with the amount and formula shown before the confirmation. Everything lands in the
database under the logged-in user's name; a refused action is one line."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select, update

from dashboard import parcel_actions
from tests.dashboard.seed import AUDIT, CLAIM, FLAG, PARCEL
from tests.dashboard.test_app import signed_in
from tracker.storage.rows import ParcelFactRow

FACT = ParcelFactRow.__table__


def parcel_page(ids, waybill, user="lily", password="lily-pw", *, facts_open=False):
    """The parcel page of `waybill`; with `facts_open`, its 记录情况 folds opened (each draws its form only then)."""
    at = signed_in(user, password, page="views/parcel.py")
    at.query_params["id"] = str(ids["parcels"][waybill])
    if facts_open:
        for label, _ in parcel_actions.FACT_FORMS:
            at.session_state[parcel_actions.fold_key(label)] = True
    at.run()
    assert not at.exception, at.exception
    return at


def press(at, label: str):
    """Click the (first) button labelled `label` and run the script."""
    button = next(b for b in at.button if b.label == label)
    button.click().run()
    assert not at.exception, at.exception
    return at


def flag(engine, flag_id):
    with engine.connect() as conn:
        return conn.execute(select(FLAG).where(FLAG.c.id == flag_id)).one()


def claims_of(engine, parcel_id):
    with engine.connect() as conn:
        return conn.execute(select(CLAIM).where(CLAIM.c.parcel_id == parcel_id).order_by(CLAIM.c.id)).all()


def test_each_open_flag_shows_its_whole_next_action_and_acts_on_that_flag_only(board_db):
    engine, ids = board_db
    at = parcel_page(ids, "ZTO2002")
    assert "下一步: 联系买家确认拒收原因" in [m.value for m in at.markdown]  # whole, not a table cell
    fid = ids["flags"]["refused"]
    at.text_input(key=f"p_to_{fid}").input("张伟")
    at.text_input(key=f"p_note_{fid}").input("买家说地址错了")
    press(at, "分配")
    assert at.success[0].value == "已处理 1 条"
    row = flag(engine, fid)
    assert (row.assignee, row.note) == ("张伟", "lily: 买家说地址错了")  # a line of the note, with its author
    others = [flag(engine, ids["flags"][k]) for k in ("stale", "no_first_scan")]
    assert [r.assignee for r in others] == [None, None]
    with engine.connect() as conn:
        audit = conn.execute(select(AUDIT.c.actor, AUDIT.c.action).where(AUDIT.c.entity_id == fid)).all()
    assert ("lily", "flag.assign") in [tuple(a) for a in audit]


def test_resolve_from_the_parcel_page_and_an_empty_note_is_one_line(board_db):
    engine, ids = board_db
    fid = ids["flags"]["no_first_scan"]
    at = parcel_page(ids, "SF1004")
    press(at, "添加备注")  # nothing typed: refused, one line, nothing changed
    assert len(at.error) == 1 and "\n" not in at.error[0].value
    assert flag(engine, fid).note is None
    at.text_input(key=f"p_note_{fid}").input("顺丰已补扫")
    press(at, "解决")
    row = flag(engine, fid)
    assert (row.state, row.resolved_by, row.note) == ("resolved", "lily", "lily: 顺丰已补扫")
    assert not any(b.label == "解决" for b in at.button)  # a resolved flag has no buttons left


def test_confirm_loss_then_open_the_claim_with_its_amount_shown_before_confirming(board_db):
    engine, ids = board_db
    pid = ids["parcels"]["SF1001"]
    at = parcel_page(ids, "SF1001", facts_open=True)
    assert "当前异常无需发起新的理赔" in [c.value for c in at.caption]  # a stale parcel calls for no claim
    at.text_input(key="f_lost_note").input("顺丰客服工号 8812 确认")
    press(at, "快递确认丢件")
    with engine.connect() as conn:
        fact = conn.execute(select(FACT).where(FACT.c.parcel_id == pid)).one()
        lost = conn.execute(select(FLAG).where(FLAG.c.parcel_id == pid, FLAG.c.kind == "lost")).one()
    assert (fact.kind, fact.recorded_by, fact.data["note"]) == ("loss_confirmed", "lily", "顺丰客服工号 8812 确认")
    assert lost.state == "open"  # evaluated at once: the lost flag is on the page now
    assert any(m.value.startswith("丢件 #") for m in at.markdown)

    # the claim the lost flag calls for: its amount and formula are on the page before anything is asked
    preview = next(d for d in at.dataframe if "计算方式" in d.value.columns and "申请期限" in d.value.columns).value
    assert list(preview["金额"]) == [199.0]  # a money column, shown ¥199.00
    assert "199" in preview["计算方式"].iloc[0]
    before = len(claims_of(engine, pid))
    press(at, "发起理赔")
    assert at.warning[0].value == "确认为运单 SF1001 发起 1 件理赔, 合计 ¥199.00"
    assert len(claims_of(engine, pid)) == before  # asked, not done
    press(at, "确认执行")
    assert at.success[0].value == "已处理 1 条"
    new = claims_of(engine, pid)[-1]
    assert (new.claim_type, new.state, new.amount) == ("goods_lost", "draft", Decimal("199.00"))
    with engine.connect() as conn:
        audit = conn.execute(select(AUDIT.c.actor).where(AUDIT.c.entity == "claim", AUDIT.c.entity_id == new.id))
        assert [a for (a,) in audit] == ["lily"]
    assert "当前异常无需发起新的理赔" in [c.value for c in at.caption]  # opened: nothing left to open


def test_the_claims_preview_says_what_is_missing_in_the_page_s_words(board_db):
    engine, ids = board_db
    pid = ids["parcels"]["SF1001"]
    with engine.begin() as conn:  # no goods value in the export: the loss claim cannot be computed yet
        conn.execute(update(PARCEL).where(PARCEL.c.id == pid).values(goods_value=None))
    at = parcel_page(ids, "SF1001", facts_open=True)
    press(at, "快递确认丢件")
    preview = next(d for d in at.dataframe if "计算方式" in d.value.columns and "申请期限" in d.value.columns).value
    assert list(preview["缺少的数据"]) == ["货款金额"]  # it said "goods payment", in English


def test_cancel_opens_nothing(board_db):
    engine, ids = board_db
    pid = ids["parcels"]["ZTO2002"]  # refused: a freight claim only when it was late; a lost fact makes it goods
    at = parcel_page(ids, "ZTO2002", facts_open=True)
    press(at, "快递确认丢件")
    before = len(claims_of(engine, pid))
    press(at, "发起理赔")
    press(at, "取消")
    assert not at.warning and len(claims_of(engine, pid)) == before


def test_buyer_not_received_and_return_agreed_are_recorded_as_the_user(board_db):
    engine, ids = board_db
    pid = ids["parcels"]["YTO3003"]
    at = parcel_page(ids, "YTO3003", "王芳", "wf-pw", facts_open=True)
    at.checkbox(key="f_nr_short").check()
    at.text_input(key="f_nr_signer").input("菜鸟驿站")
    press(at, "买家称未收到")
    at.checkbox(key="f_ra_express").check()
    press(at, "已同意退货")
    with engine.connect() as conn:
        facts = conn.execute(select(FACT).where(FACT.c.parcel_id == pid).order_by(FACT.c.id)).all()
        parcel = conn.execute(select(PARCEL).where(PARCEL.c.id == pid)).one()
        flags = conn.execute(select(FLAG.c.kind).where(FLAG.c.parcel_id == pid)).scalars().all()
    assert [(f.kind, f.recorded_by) for f in facts] == [("not_received", "王芳"), ("return_agreed", "王芳")]
    assert facts[0].data["short"] is True and facts[0].data["signer"] == "菜鸟驿站"
    assert parcel.refund_express is True and parcel.refund_deadline is not None
    assert "delivered_disputed" in flags  # evaluated at once


def test_the_fact_forms_are_drawn_once_their_fold_is_opened(board_db):
    _, ids = board_db
    at = parcel_page(ids, "SF1001")
    folds = [e.label for e in at.get("expander")]
    assert {"快递确认丢件", "买家称未收到", "已同意退货"} <= set(folds)
    assert not any(b.label == "快递确认丢件" for b in at.button)  # folded: no form drawn on the first render
    at.session_state[parcel_actions.fold_key("fact_lost")] = True  # a person opens one fold
    at.run()
    assert not at.exception, at.exception
    labels = [b.label for b in at.button]
    assert "快递确认丢件" in labels and "买家称未收到" not in labels  # that fold's form only


def test_an_agent_sees_the_lead_only_buttons_disabled(board_db):
    _, ids = board_db
    at = parcel_page(ids, "ZTO2002", "王芳", "wf-pw", facts_open=True)
    buttons = {b.label: b.disabled for b in at.button}
    assert buttons["分配"] is True  # leads assign
    assert buttons["确认"] is False and buttons["快递确认丢件"] is False


def test_a_flags_note_shows_each_line_as_a_line(board_db):
    """A note of two lines (an agent's, then a lead's with the acknowledgement) reads as two lines, each as text."""
    from tracker.flags import lifecycle

    engine, ids = board_db
    fid = ids["flags"]["refused"]
    now = flag(engine, fid).opened_at
    lifecycle.add_note(engine, flag_id=fid, text="买家说*周三*在家", actor="agent.li", now=now)
    lifecycle.acknowledge(engine, flag_id=fid, actor="lily", now=now, note="已电话快递")
    at = parcel_page(ids, "ZTO2002")
    [caption] = [c.value for c in at.caption if c.value.startswith("备注: ")]
    # escaped (Markdown shows it as typed), a line break between the lines
    assert caption == "备注: agent\\.li\\: 买家说\\*周三\\*在家  \nlily\\: 已电话快递", caption
