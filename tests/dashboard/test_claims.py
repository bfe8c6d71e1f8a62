"""Claims from the board: open claims from the queue, then file, record payout, reject, withdraw and
export from the ledger; each lands in the claim table and the audit log under the user's name."""

from __future__ import annotations

import io
import json
from datetime import date, timedelta
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, update

from dashboard import actions
from dashboard.context import Board, settings
from tests.dashboard.seed import AUDIT, CLAIM, FLAG, PARCEL
from tests.dashboard.test_app import signed_in, tick
from tracker.errors import TrackerError
from tracker.escape import streamlit_md as md


def claim(engine, claim_id):
    with engine.connect() as conn:
        return conn.execute(select(CLAIM).where(CLAIM.c.id == claim_id)).one()


def audited(engine, claim_id):
    with engine.connect() as conn:
        rows = conn.execute(select(AUDIT).where(AUDIT.c.entity == "claim", AUDIT.c.entity_id == claim_id)).all()
    return [(r.actor, r.action) for r in rows]


def ledger(user="lily", password="lily-pw"):
    at = signed_in(user, password, page="views/claims.py")
    at.run()
    assert not at.exception, at.exception
    return at


def act(at, button, claim_ids, **inputs):
    tick(at, "claims_table", claim_ids, id_label="编号").run()  # the actions are drawn once claims are ticked
    for key, value in inputs.items():
        at.text_input(key=key).input(value)
    at.button(key=button).click().run()
    assert not at.exception, at.exception
    return at


def test_ledger_shows_days_left_and_filing_window(board_db):
    at = ledger()
    table = at.dataframe[0].value
    row = table[table["运单号"] == "SF1001"].iloc[0]
    # numbers, so a click on the header sorts by value (as text ¥99.00 came after ¥1,000.00), money shown ¥199.00
    assert row["剩余天数"] == 2 and row["金额"] == 199.0
    shown = json.loads(at.dataframe[0].proto.columns)
    assert shown["金额"]["type_config"] == {"type": "number", "format": "¥%,.2f"}
    assert at.dataframe[0].proto.placeholder == ""  # no amount: an empty cell, not Streamlit's English "None"
    assert set(table["赔付金额"]) == {""}  # a column without any value stays text: empty cells
    assert row["计算方式"] == "货值 199.00"


def test_file_claim_with_reference_number(board_db):
    engine, ids = board_db
    cid = ids["claims"]["loss"]
    at = act(ledger(), "c_file", [cid], c_reference="SF-CLM-1")
    assert at.success[0].value == "已处理 1 条"
    got = claim(engine, cid)
    assert (got.state, got.reference_no) == ("filed", "SF-CLM-1")
    assert ("lily", "claim.filed") in audited(engine, cid)


def test_record_payout_amount_and_date(board_db):
    engine, ids = board_db
    cid = ids["claims"]["damage"]  # filed
    at = ledger()
    tick(at, "claims_table", [cid], id_label="编号").run()
    # filed 2026-11-22 21:00 in Shanghai (the seed): a payout dated two days before is refused, in the board's words
    at.date_input(key="c_paid_on").set_value(date(2026, 11, 20))
    act(at, "c_pay", [cid], c_amount="80.5")
    assert claim(engine, cid).state == "filed"
    shown = [e.value.replace("\\", "") for e in at.error]  # Markdown-escaped on the board
    assert any("赔付日期 2026-11-20 00:00 早于提交日期 2026-11-22 21:00" in line for line in shown), shown
    at = ledger()
    tick(at, "claims_table", [cid], id_label="编号").run()
    at.date_input(key="c_paid_on").set_value(date(2026, 11, 23))
    act(at, "c_pay", [cid], c_amount="80.5")
    got = claim(engine, cid)
    assert (got.state, got.paid_amount) == ("paid", Decimal("80.50"))
    assert got.paid_at.isoformat().startswith("2026-11-22T16:00")  # 2026-11-23 00:00 Asia/Shanghai
    assert ("lily", "claim.paid") in audited(engine, cid)


def test_payout_needs_a_number(board_db):
    engine, ids = board_db
    for typed in ("eighty", "80.555", "-80"):  # read as every amount is: two decimals at most, not negative
        at = act(ledger(), "c_pay", [ids["claims"]["damage"]], c_amount=typed)
        assert at.error[0].value == f"赔付金额: {md(repr(typed))} (请填写金额, 如 1899.00, 最多两位小数)"
        assert claim(engine, ids["claims"]["damage"]).state == "filed"


def test_reject_with_reason(board_db):
    engine, ids = board_db
    cid = ids["claims"]["damage"]
    act(ledger(), "c_reject", [cid], c_reason="超过时效")
    got = claim(engine, cid)
    assert (got.state, got.reject_reason) == ("rejected", "超过时效")
    assert ("lily", "claim.rejected") in audited(engine, cid)


def test_withdraw(board_db):
    engine, ids = board_db
    cid = ids["claims"]["loss"]
    act(ledger(), "c_withdraw", [cid])
    assert claim(engine, cid).state == "withdrawn"
    assert ("lily", "claim.withdrawn") in audited(engine, cid)


def test_a_refused_action_names_the_claim_and_changes_nothing(board_db):
    engine, ids = board_db
    cid = ids["claims"]["loss"]  # draft: cannot be paid
    at = act(ledger(), "c_pay", [cid], c_amount="10")
    # named by its waybill (the claim's id is a column off the screen), the claim's own number in the reason
    assert at.error[0].value == f"已处理 0 条 · 失败: SF1001: 理赔 {cid} 当前为「草稿」, 不能改为「已赔付」"
    assert claim(engine, cid).state == "draft"


def test_export_packets_for_the_selection(board_db, now):
    _, ids = board_db
    at = ledger()
    tick(at, "claims_table", [ids["claims"]["loss"]], id_label="编号").run()
    labels = [d.proto.label for d in at.get("download_button")]
    assert "导出理赔材料 (XLSX)" in labels and "导出理赔台账 (XLSX) (2)" in labels  # the packet and the ledger
    # the button's bytes come from claims.export through the same action the view calls
    b = Board(settings=settings(), lang="zh", user="lily", role="lead", now=now)
    book = load_workbook(io.BytesIO(actions.export_packets(b, [ids["claims"]["loss"]])))
    assert book.sheetnames == ["索赔清单", f"#{ids['claims']['loss']} SF1001"]
    header = [c.value for c in book["索赔清单"][1]]
    row = dict(zip(header, [c.value for c in book["索赔清单"][2]], strict=True))
    assert (row["运单号"], row["快递公司"], row["状态"]) == ("SF1001", "顺丰速运", "草稿")
    timeline = [r[2] for r in book.worksheets[1].iter_rows(values_only=True) if r and len(r) > 3]
    assert "【杭州转运中心】已发出" in timeline


def test_the_actions_are_drawn_once_a_claim_is_ticked(board_db):
    _, ids = board_db
    at = ledger()
    assert not [w.key for w in (*at.text_input, *at.button) if (w.key or "").startswith("c_")]
    assert "在表格左侧勾选要处理的行" in [c.value for c in at.caption]
    tick(at, "claims_table", [ids["claims"]["loss"]], id_label="编号").run()
    assert {"c_reference", "c_amount", "c_reason"} <= {i.key for i in at.text_input}
    assert {"c_file", "c_reject", "c_withdraw"} <= {b.key for b in at.button}


def test_agent_cannot_file_or_pay(board_db):
    _, ids = board_db
    at = ledger("王芳", "wf-pw")
    tick(at, "claims_table", [ids["claims"]["loss"]], id_label="编号").run()
    assert at.button(key="c_file").disabled
    assert at.button(key="c_pay").disabled


def test_open_claims_from_the_queue_drafts_a_claim_for_a_lost_parcel(board_db):
    engine, ids = board_db
    with engine.begin() as conn:  # SF1004's flag becomes a suspected loss
        conn.execute(update(FLAG).where(FLAG.c.id == ids["flags"]["no_first_scan"]).values(kind="lost_suspected"))
    at = signed_in(page="views/queue.py")
    at.run()
    tick(at, "queue_table", [ids["flags"]["no_first_scan"]], id_label="异常编号")
    at.button(key="q_open_claims").click().run()
    assert not at.exception, at.exception
    # opening claims always asks first, naming the count and the waybill; nothing is opened before
    assert at.warning[0].value == "确认对 1 项执行「发起理赔」, 运单: SF1004"
    with engine.connect() as conn:
        assert conn.execute(select(CLAIM).where(CLAIM.c.parcel_id == ids["parcels"]["SF1004"])).first() is None
    at.button(key="queue_table_confirm").click().run()
    assert not at.exception, at.exception
    assert at.success[0].value == "已处理 1 条"
    with engine.connect() as conn:
        new = conn.execute(select(CLAIM).where(CLAIM.c.parcel_id == ids["parcels"]["SF1004"])).one()
    assert (new.claim_type, new.state, new.amount) == ("goods_lost", "draft", Decimal("35.00"))
    assert ("lily", "claim.draft") in audited(engine, new.id)
    # again on the same parcel: its claim is there already, and the line says so rather than "done"
    tick(at, "queue_table", [ids["flags"]["no_first_scan"]], id_label="异常编号")
    at.button(key="q_open_claims").click().run()
    at.button(key="queue_table_confirm").click().run()
    assert not at.exception, at.exception
    assert at.success[0].value == "已处理 0 条 · 已有, 未重复创建: SF1004"


def test_file_a_claim_then_pick_another_never_crashes(board_db):
    """Issue 15: after filing a claim, picking another one in the ledger raised TypeError (the picker's
    choice was the claim's label, which changed with its state). Now a tick is a row of the table."""
    engine, ids = board_db
    loss, damage = ids["claims"]["loss"], ids["claims"]["damage"]
    at = act(ledger(), "c_file", [loss], c_reference="SF-CLM-1")
    assert claim(engine, loss).state == "filed"
    # the table starts unticked after the action: the filed claim is no longer picked
    assert "在表格左侧勾选要处理的行" in [c.value for c in at.caption]
    at = act(at, "c_reject", [damage], c_reason="超过时效")
    assert not at.error, [e.value for e in at.error]
    assert (claim(engine, loss).state, claim(engine, damage).state) == ("filed", "rejected")


def test_a_tick_never_outlives_its_rows(board_db):
    """A tick is kept under a key made of the rows it was given on: once an action changed them, nothing is
    ticked, so the actions are gone rather than acting on whichever claim moved into that position."""
    engine, ids = board_db
    loss, damage = ids["claims"]["loss"], ids["claims"]["damage"]
    at = act(ledger(), "c_withdraw", [loss])
    assert claim(engine, loss).state == "withdrawn"
    at.run()
    assert "c_withdraw" not in [b.key for b in at.button]
    assert "在表格左侧勾选要处理的行" in [c.value for c in at.caption]
    assert claim(engine, damage).state == "filed"


def test_cancel_a_confirmation_changes_nothing(board_db):
    engine, ids = board_db
    loss, damage = ids["claims"]["loss"], ids["claims"]["damage"]
    at = act(ledger(), "c_withdraw", [loss, damage])
    assert at.warning[0].value.startswith("确认对 2 项执行「撤回」, 运单: ")
    assert {"SF1001", "YTO3003"} == set(at.warning[0].value.split(": ", 1)[1].split("、"))
    at.button(key="claims_table_cancel").click().run()
    assert not at.warning and not at.success
    assert (claim(engine, loss).state, claim(engine, damage).state) == ("draft", "filed")


def test_the_state_figures_say_they_are_claimed_amounts(board_db):
    """Each state's figure is the claims' own amount, and says so: under 已赔付 it is what was claimed, not what the
    courier paid (the ledger's line says both), and it is no change, so no arrow."""
    at = ledger()
    assert at.metric, "the ledger shows a figure per claim state"
    for metric in at.metric:
        assert metric.proto.delta.startswith("索赔金额 ¥"), metric.proto.delta
        assert metric.proto.direction == metric.proto.MetricDirection.NONE  # no up arrow on a second figure


def test_each_state_figure_opens_its_claims(board_db):
    """A state's figure links to the ledger filtered to that state, and the ledger then lists as many claims as the
    figure counts (the figures linked nowhere)."""
    from urllib.parse import parse_qsl

    from dashboard.i18n import state_label

    at = ledger()
    figures = {metric.label: int(metric.value) for metric in at.metric}
    links = [dict(parse_qsl(link.proto.query_string)) for link in at.get("page_link") if link.proto.label == "只看这些"]
    assert len(links) == len(figures) and all(set(params) == {"state"} for params in links), links
    for fold_open in (False, True):  # the open filters' widgets follow the link too (they kept what was picked)
        at.session_state["c_filters"] = fold_open
        for params in links:
            at.query_params.clear()
            at.query_params.update(params)
            at.run()
            assert not at.exception, at.exception
            assert len(at.dataframe[0].value) == figures[state_label(params["state"], "zh")], (fold_open, params)
            if fold_open:
                assert at.selectbox(key="c_state").value == params["state"]


def test_a_filtered_ledger_says_so_while_its_filters_are_folded(board_db):
    """/claims?courier=yto&state=claimable from the overview: the folded filters said nothing, so the cards above
    (every courier's) and the list (one courier's) seemed to disagree."""
    at = signed_in(page="views/claims.py")
    at.query_params.update({"courier": "yto", "state": "claimable"})
    at.run()
    assert not at.exception, at.exception
    assert "已设 2 个筛选条件" in [c.value for c in at.caption]


def test_a_claim_missing_inputs_takes_them_on_the_ledger(board_db, now):
    """A claim drafted without its inputs (缺参数: here the contract's fixed amount and both freights of 未送货上门)
    gets them on the ledger as `tracker claims set-input` gives them: the form asks for exactly what the formula
    lacks, says what is still missing, then what the claim comes to; a mistyped amount is refused, naming it."""
    from claims import service
    from claims.tables import tables_of

    engine, ids = board_db
    pid = ids["parcels"]["ZTO2002"]
    with engine.begin() as conn:  # ordered ten days ago: 未送货入户 may be filed from the seventh day
        conn.execute(update(PARCEL).where(PARCEL.c.id == pid).values(order_created_at=now - timedelta(days=10)))
    cid = service.open_claim(
        engine, parcel_id=pid, claim_type="not_to_door", scenario="refused", tables=tables_of(settings()),
        actor="lily", now=now,
    )  # fmt: skip
    assert claim(engine, cid).state == "needs_config"
    assert tuple(service.inputs_missing(claim(engine, cid).formula)) == (
        "fixed_amount",
        "forward_freight",
        "reverse_freight",
    )

    def ticked():
        at = ledger()
        return tick(at, "claims_table", [cid], id_label="编号").run()

    at = ticked()
    assert [t.label for t in at.text_input if t.key.startswith(f"c_in_{cid}_")] == ["固定金额", "正向运费", "逆向运费"]
    # the freights may come by import instead (a fixed amount is a contract's: no column for it)
    assert any("也可以导入带有 运费 / 退货运费 列的文件" in c.value for c in at.caption), [c.value for c in at.caption]
    at.text_input(key=f"c_in_{cid}_forward_freight").input("12.345")
    at.button(key=f"c_in_go_{cid}").click().run()
    shown = " ".join(e.value for e in at.error).replace("\\", "")
    assert "正向运费: '12.345'" in shown and "最多两位小数" in shown, shown
    assert claim(engine, cid).state == "needs_config"

    at = ticked()
    at.text_input(key=f"c_in_{cid}_forward_freight").input("12")
    at.button(key=f"c_in_go_{cid}").click().run()
    assert not at.exception, at.exception
    assert [w.value.replace("\\", "") for w in at.warning] == ["运单 ZTO2002: 仍缺少 固定金额未配置, 逆向运费"]

    at = ticked()  # the form now asks for what is still missing
    assert [t.label for t in at.text_input if t.key.startswith(f"c_in_{cid}_")] == ["固定金额", "逆向运费"]
    at.text_input(key=f"c_in_{cid}_fixed_amount").input("100")
    at.text_input(key=f"c_in_{cid}_reverse_freight").input("¥15.00")
    at.button(key=f"c_in_go_{cid}").click().run()
    assert [s.value.replace("\\", "") for s in at.success] == ["运单 ZTO2002: 理赔金额 ¥127.00, 可以提交"]
    got = claim(engine, cid)
    assert (got.state, got.amount, got.missing) == ("draft", Decimal("127.00"), None)
    assert audited(engine, cid).count(("lily", "claim.set_input")) == 2

    at = ticked()  # complete: no form left
    assert not [t for t in at.text_input if t.key.startswith(f"c_in_{cid}_")]


def test_an_agent_sees_the_inputs_but_cannot_save_them(board_db, now):
    from claims import service
    from claims.tables import tables_of

    engine, ids = board_db
    cid = service.open_claim(
        engine, parcel_id=ids["parcels"]["ZTO2002"], claim_type="not_to_door", scenario="refused",
        tables=tables_of(settings()), actor="lily", now=now,
    )  # fmt: skip
    at = signed_in("王芳", page="views/claims.py")
    at.run()
    tick(at, "claims_table", [cid], id_label="编号").run()
    assert at.button(key=f"c_in_go_{cid}").disabled
    with pytest.raises(TrackerError):
        agent = Board(settings=settings(), lang="zh", user="王芳", role="agent", now=now)
        actions.set_claim_inputs(agent, cid, forward_freight=Decimal("12"))
    assert claim(engine, cid).state == "needs_config"


def test_a_claim_lacking_configuration_says_so_instead_of_a_form(board_db, now):
    """大运险 on a parcel without a category the table lists lacks no input of the claim: ticked, it shows no form
    but a line saying where the category comes from (the export's 类目, or the insurance table)."""
    from claims import service
    from claims.tables import tables_of

    engine, ids = board_db
    cid = service.open_claim(
        engine, parcel_id=ids["parcels"]["ZTO2002"], claim_type="freight_insurance", scenario="default",
        tables=tables_of(settings()), actor="lily", now=now,
    )  # fmt: skip
    assert claim(engine, cid).state == "needs_config"
    at = ledger()
    tick(at, "claims_table", [cid], id_label="编号").run()
    assert not [t for t in at.text_input if t.key.startswith(f"c_in_{cid}_")]
    shown = [c.value.replace("\\", "") for c in at.caption]
    assert any(
        c.startswith(
            "大运险按品类赔付, 这个包裹没有品类 (导出表的「类目」列为空): 填写「类目」后重新导入; 赔付表的品类: "
        )
        for c in shown
    )


def test_a_claim_lacking_the_contract_s_ratio_points_to_the_contract(board_db, now):
    """未送货入户 with another loss pays the contract's ratio of the loss (unset by default): given the loss value,
    the claim lacks only the ratio, which is configuration: no form, a line naming it and where it is set."""
    from claims import service
    from claims.tables import tables_of

    engine, ids = board_db
    cid = service.open_claim(
        engine, parcel_id=ids["parcels"]["ZTO2002"], claim_type="not_to_door", scenario="other_loss",
        tables=tables_of(settings()), actor="lily", now=now, loss_value=Decimal("80.00"),
    )  # fmt: skip
    assert service.inputs_missing(claim(engine, cid).formula) == {}
    at = ledger()
    tick(at, "claims_table", [cid], id_label="编号").run()
    assert not [t for t in at.text_input if t.key.startswith(f"c_in_{cid}_")]
    shown = [c.value.replace("\\", "") for c in at.caption]
    assert (
        "这条理赔缺少的不是单条理赔的参数: 合同比例未配置; 在 config/claims/contracts.toml 配置合同比例后, 用 "
        f"tracker claims set-input {cid} --loss-value 金额 重新计算"
    ) in shown
