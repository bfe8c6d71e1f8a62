"""The exception queue: filters from the URL, paging, and every bulk action landing in the database and
the audit log under the logged-in user's name."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.dashboard.seed import AUDIT, FLAG
from tests.dashboard.test_app import signed_in, tick


def open_queue(**params):
    at = signed_in(page="views/queue.py")
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, at.exception
    return at


def shown_waybills(at) -> list[str]:
    return list(at.dataframe[0].value["运单号"])


def flag(engine, flag_id):
    with engine.connect() as conn:
        return dict(conn.execute(select(FLAG).where(FLAG.c.id == flag_id)).one()._mapping)


def audit(engine, flag_id):
    with engine.connect() as conn:
        rows = conn.execute(select(AUDIT).where(AUDIT.c.entity == "flag", AUDIT.c.entity_id == flag_id)).all()
    return [(r.actor, r.action) for r in rows]


def test_queue_lists_unresolved_flags_escalated_first_with_next_action(board_db):
    at = open_queue()
    assert shown_waybills(at) == ["ZTO2002", "SF1004", "SF1001"]
    assert "联系买家确认拒收原因" in list(at.dataframe[0].value["下一步"])


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"courier": "sf"}, {"SF1004", "SF1001"}),
        ({"kind": "refused"}, {"ZTO2002"}),
        ({"shop": "专营店"}, {"SF1004"}),
        ({"region": "广东省"}, {"ZTO2002"}),
        ({"min_age_hours": "72"}, {"SF1001", "SF1004"}),
        ({"assignee": "王芳"}, {"ZTO2002"}),
        ({"assignee": "-"}, {"SF1001", "SF1004"}),
        ({"state": "acknowledged"}, {"ZTO2002"}),
    ],
)
def test_queue_filters_from_query_params(board_db, params, expected):
    at = open_queue(**params)
    assert set(shown_waybills(at)) == expected
    assert any(c.value.startswith(f"共 {len(expected)} 条") for c in at.caption)


def test_filter_widget_narrows_the_queue_and_updates_the_url(board_db):
    at = open_queue()
    assert not [s for s in at.selectbox if s.key == "q_courier"]  # folded: no filter widget drawn
    at.session_state["q_filters"] = True  # a lead opens the folded filters: their widgets are drawn then
    at.run()
    at.selectbox(key="q_courier").select("zto").run()
    assert shown_waybills(at) == ["ZTO2002"]
    assert at.query_params["courier"] in ("zto", ["zto"])
    at.selectbox(key="q_sort").select("oldest").run()
    assert [e.label for e in at.get("expander")][:1] == ["筛选"]  # the same fold, still open: same label
    at.session_state["q_filters"] = False  # folded again: the URL's filters and the sort last chosen hold
    at.run()
    assert not at.exception, at.exception
    assert shown_waybills(at) == ["ZTO2002"] and at.session_state["q_sort_kept"] == "oldest"
    assert "已设 1 个筛选条件" in [c.value for c in at.caption]


def act(at, button: str, flag_ids, **inputs):
    tick(at, "queue_table", flag_ids, id_label="异常编号")
    for key, value in inputs.items():
        at.text_input(key=key).input(value)
    at.button(key=button).click().run()
    assert not at.exception, at.exception
    return at


def test_bulk_acknowledge_with_note(board_db):
    engine, ids = board_db
    stale, nfs = ids["flags"]["stale"], ids["flags"]["no_first_scan"]
    at = act(open_queue(), "q_add_note", [stale], q_note="网点说周三补扫")  # an earlier line, kept by the ack's
    at = act(at, "q_ack", [stale, nfs], q_note="已电话网点")
    # two rows are more than board.confirm_above (1): named and asked first, nothing changed yet
    assert at.warning[0].value == "确认对 2 项执行「确认」, 运单: SF1004、SF1001"
    assert flag(engine, stale)["state"] == "open"
    at.button(key="queue_table_confirm").click().run()
    assert not at.exception, at.exception
    assert at.success[0].value == "已处理 2 条"
    for fid in (stale, nfs):
        assert flag(engine, fid)["state"] == "acknowledged"
        assert ("lily", "flag.ack") in audit(engine, fid)
    # the note given with the acknowledgement is a line added to each flag's note, never in its place
    assert flag(engine, stale)["note"] == "lily: 网点说周三补扫\nlily: 已电话网点"
    assert flag(engine, nfs)["note"] == "lily: 已电话网点"


def test_a_fault_on_one_row_names_it_and_the_rest_are_done(board_db, monkeypatch):
    """A fault on one of the ticked rows: that row named in one line, the others done and counted, the queue read
    afresh (the fault escaped: 页面出错, with no word of the rows already done)."""
    from tracker.flags import lifecycle

    engine, ids = board_db
    stale, nfs = ids["flags"]["stale"], ids["flags"]["no_first_scan"]
    real = lifecycle.acknowledge

    def flaky(engine, *, flag_id, **kw):  # type: ignore[no-untyped-def]
        if flag_id == nfs:
            raise RuntimeError("a fault of this row's")
        return real(engine, flag_id=flag_id, **kw)

    monkeypatch.setattr(lifecycle, "acknowledge", flaky)
    at = act(open_queue(), "q_ack", [stale, nfs])
    at.button(key="queue_table_confirm").click().run()
    assert not at.exception, at.exception
    assert [e.value for e in at.error] == ["已处理 1 条 · 失败: SF1004: 处理出错, 详情已记录到服务器日志"]
    assert (flag(engine, stale)["state"], flag(engine, nfs)["state"]) == ("acknowledged", "open")


def test_the_database_gone_stops_the_action_and_names_the_rows_not_tried(board_db, monkeypatch):
    """The database locked or gone: the first row named, the others not tried (each would wait its own timeout)
    and named, nothing counted as done."""
    from sqlalchemy.exc import OperationalError

    from tracker.flags import lifecycle

    engine, ids = board_db
    stale, nfs = ids["flags"]["stale"], ids["flags"]["no_first_scan"]
    calls = []

    def locked(engine, *, flag_id, **kw):  # type: ignore[no-untyped-def]
        calls.append(flag_id)
        raise OperationalError("UPDATE flag", {}, Exception("database is locked"))

    monkeypatch.setattr(lifecycle, "acknowledge", locked)
    at = act(open_queue(), "q_ack", [stale, nfs])
    at.button(key="queue_table_confirm").click().run()
    assert not at.exception, at.exception
    [line] = [e.value for e in at.error]
    assert line.startswith("已处理 0 条 · 失败: ") and "未处理 (数据库暂不可用, 请稍后再试): " in line, line
    assert len(calls) == 1 and {"SF1001", "SF1004"} <= set(line.replace("、", " ").replace(":", " ").split())


def test_the_note_box_starts_empty_after_an_action(board_db):
    """The note typed for one action is not given again with the next (it was added a second time to the flag)."""
    engine, ids = board_db
    fid = ids["flags"]["stale"]
    at = act(open_queue(), "q_ack", [fid], q_note="已电话网点")
    assert at.text_input(key="q_note").value == ""
    act(at, "q_assign", [fid], q_to="王芳")
    assert (flag(engine, fid)["assignee"], flag(engine, fid)["note"]) == ("王芳", "lily: 已电话网点")


def test_bulk_assign(board_db):
    engine, ids = board_db
    fid = ids["flags"]["stale"]
    act(open_queue(), "q_assign", [fid], q_to=" 王芳 ")  # spaces typed around the name: one person, 王芳
    assert flag(engine, fid)["assignee"] == "王芳"
    assert ("lily", "flag.assign") in audit(engine, fid)


def test_add_note_keeps_earlier_lines(board_db):
    engine, ids = board_db
    fid = ids["flags"]["stale"]
    at = act(open_queue(), "q_add_note", [fid], q_note="网点说明天派送")
    act(at, "q_add_note", [fid], q_note="买家已知悉")
    assert flag(engine, fid)["note"] == "lily: 网点说明天派送\nlily: 买家已知悉"
    assert audit(engine, fid).count(("lily", "flag.note")) == 2


def test_bulk_resolve_removes_rows_from_the_unresolved_queue(board_db):
    engine, ids = board_db
    fid = ids["flags"]["no_first_scan"]
    at = act(open_queue(), "q_resolve", [fid], q_note="已揽收")
    got = flag(engine, fid)
    assert (got["state"], got["resolved_by"]) == ("resolved", "lily")
    assert ("lily", "flag.resolve") in audit(engine, fid)
    assert "SF1004" not in shown_waybills(at)


def test_action_without_selection_warns_and_changes_nothing(board_db):
    engine, ids = board_db
    at = act(open_queue(), "q_resolve", [])
    assert at.warning[0].value == "请先在表格中勾选行"
    assert flag(engine, ids["flags"]["stale"])["state"] == "open"


def test_agent_cannot_assign(board_db):
    at = signed_in("王芳", "wf-pw", page="views/queue.py")
    at.run()
    assert at.button(key="q_assign").disabled
    assert not at.button(key="q_ack").disabled
