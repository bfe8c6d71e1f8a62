"""Both refund ladders end to end through the real CLI (docs/domain.md "Refund-deadline ladders"): an order
export imported, the return agreed (imported for the ordinary refund, recorded as a fact for the express
one), then every morning `tracker evaluate`, `tracker alert --dry-run` (what we check) and `tracker alert`
(so the next day's plan sees what was sent). The project's own config: board channel, calls 10:00-18:00,
at most 3 calls per case."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from tracker.cli import app
from tracker.settings import Settings
from tracker.storage.rows import AlertRow

ORDERS = """订单编号,买家会员名,物流公司,物流单号,收货省份,买家实际支付金额,同意退货时间,退款截止时间
E1001,tb_express,圆通速递,YT8800000000011,浙江省,299.00,,
O2002,tb_ordinary,圆通速递,YT8800000000022,江苏省,159.00,2026-11-20 15:00,2026-12-01 20:00
"""
EXPRESS, ORDINARY = "YT8800000000011", "YT8800000000022"


@pytest.fixture
def cli(settings: Settings, db_engine: Engine, tmp_path: Path):  # type: ignore[no-untyped-def]
    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(app, ["--config", str(settings.config_dir), *args])
        assert result.exit_code == 0, (args, result.output, result.exception)
        return result.output

    orders = tmp_path / "orders.csv"
    orders.write_text(ORDERS, encoding="utf-8")
    run("import", "parcels", str(orders), "--now", "2026-11-20T16:00")
    run(
        "fact",
        "return-agreed",
        EXPRESS,
        "--deadline",
        "2026-12-01 20:00",
        "--express",
        "--agreed-at",
        "2026-11-20 15:00",
        "--by",
        "agent.li",
        "--now",
        "2026-11-20T16:00",
    )
    return run


def _last_alert_id(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.coalesce(func.max(AlertRow.id), 0))).scalar_one()


def _bodies_since(engine: Engine, after: int) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(select(AlertRow.body).where(AlertRow.id > after).order_by(AlertRow.id)).scalars())


PLAN = re.compile(r"^  plan  (\w+)\s+due (\S+ \S+)  (\w+)/(\w+)  (.*)$")


def morning(run, engine: Engine, day: int) -> dict[str, list[dict[str, str]]]:  # type: ignore[no-untyped-def]
    """Evaluate at 08:30 (Asia/Shanghai) of 2026-11-<day> (or 12-01 for day 32), then dry-run and send at 08:30
    and again at 10:30 (after the calling window opens, so the day's calls go out and a reminder, counted from
    when the previous alert was sent, can come): the refund-ladder alerts the dry runs planned, per waybill."""
    date = f"2026-11-{day}" if day <= 30 else f"2026-12-{day - 30:02d}"
    run("evaluate", "--now", f"{date}T08:30")
    flags = {
        json.loads(line)["waybill"]: json.loads(line)
        for line in run("flags", "--format", "json", "--kind", "refund_deadline", "--state", "open").splitlines()
    }
    plans: dict[str, list[dict[str, str]]] = {}
    for at in (f"{date}T08:30", f"{date}T10:30"):
        out = run("alert", "--now", at, "--dry-run")
        planned: list[tuple[str, dict[str, str]]] = []
        for line in out.splitlines():
            m = PLAN.match(line)
            if m and "退款时限" in m.group(5):
                waybill = EXPRESS if EXPRESS in m.group(5) else ORDINARY
                planned.append(
                    (waybill, {"state": m.group(1), "due": m.group(2), "to": m.group(3), "subject": m.group(5)})
                )
        seen = _last_alert_id(engine)
        run("alert", "--now", at)
        stored = _bodies_since(engine, seen)  # the alerts the run stored, as the dry run planned them
        for waybill, item in planned:
            item["action"] = flags[waybill]["next_action_zh"]
            item["bodies"] = "\n".join(body for body in stored if waybill in body)
            plans.setdefault(waybill, []).append(item)
    return plans


def test_express_and_ordinary_ladders_from_import_to_the_alert_plan(cli, db_engine: Engine) -> None:  # type: ignore[no-untyped-def]
    days = {day: morning(cli, db_engine, day) for day in range(21, 33)}
    express = {day: plans.get(EXPRESS, []) for day, plans in days.items()}
    ordinary = {day: plans.get(ORDINARY, []) for day, plans in days.items()}
    # nothing before 8 days are left (deadline 12-01 20:00: at 11-23 08:30, 8 days 11.5 h are left)
    assert not express[21] and not express[22] and not ordinary[22]

    # express step 1 (8 days left): the message first, as its own alert when the agents' day starts (09:00),
    # then the phone call, due at 10:00 (calling window): "先旺旺上留言...留言后再电话联系提醒下"
    [message, step1] = express[23]
    assert message["to"] == "agents" and message["due"] == "2026-11-23 09:00"
    assert "现在先给买家旺旺留言" in message["bodies"]
    assert step1["to"] == "agents" and step1["due"] == "2026-11-23 10:00"
    assert "先给买家留言,再电话提醒" in step1["action"] and "还剩8天" in step1["action"]
    assert "第1步" in step1["bodies"] and "本案第 1/3 次" in step1["bodies"]
    # the next day, 24 h after the call task went out: the step's reminder, the text one day further down,
    # and no new call
    [again] = express[24]
    assert "还剩7天" in again["action"] and "致电买家" not in again["bodies"]
    # step 2 (6 days left) and step 3 (3 days left) are the 2nd and 3rd calls, at 10:00
    [step2] = express[25]
    assert step2["due"] == "2026-11-25 10:00" and "还剩6天" in step2["action"] and "本案第 2/3 次" in step2["bodies"]
    [step3] = express[28]
    assert step3["due"] == "2026-11-28 10:00" and "还剩3天" in step3["action"] and "本案第 3/3 次" in step3["bodies"]
    # step 4 (1 day left): to the lead, not a call
    [step4] = express[30]
    assert step4["to"] == "leads" and "交组长处理" in step4["action"] and "还剩1天" in step4["action"]
    assert "致电买家" not in step4["bodies"]
    calls = [p for plans in express.values() for p in plans if "致电买家" in p["bodies"] and p is not message]
    assert len(calls) == 3
    with db_engine.connect() as conn:  # three phone tasks stored for the case, no fourth
        tasks = conn.execute(
            select(func.count(AlertRow.call_key.distinct())).where(
                AlertRow.call_key.is_not(None), AlertRow.body.contains(EXPRESS)
            )
        ).scalar_one()
    assert tasks == 3

    # ordinary step 1 (8 days left): a message, no call, sent when the agents' day starts (09:00)
    [first] = ordinary[23]
    assert first["to"] == "agents" and "给买家留言" in first["action"] and "致电买家" not in first["bodies"]
    # step 2 (6 days left): the phone call at 10:00
    [phone] = ordinary[25]
    assert phone["due"] == "2026-11-25 10:00" and "本案第 1/3 次" in phone["bodies"]
    # the text counts down day by day (reminders, and the board's next action) instead of freezing
    left = {day: plans[0]["action"] for day, plans in ordinary.items() if plans}
    assert "还剩6天" in left[25] and "还剩5天" in left[26] and "还剩4天" in left[27]


def test_a_fourth_call_on_the_case_is_stopped_at_three(cli, db_engine: Engine) -> None:  # type: ignore[no-untyped-def]
    """After the express ladder's three calls, another flag of the same order whose action is a call (the
    courier cannot reach the buyer) gets its alert without a phone task, saying the case had its 3 calls."""
    from sqlalchemy import update

    from tracker.storage import rollups
    from tracker.storage.repo import PARCEL

    for day in (23, 25, 28):
        morning(cli, db_engine, day)
    with db_engine.begin() as conn:  # the courier's 206: cannot reach the consignee (marked as the ingest marks)
        conn.execute(update(PARCEL).where(PARCEL.c.waybill == EXPRESS).values(status="unreachable", is_open=True))
        rollups.mark_parcels(conn, select(PARCEL.c.id).where(PARCEL.c.waybill == EXPRESS))
    seen = _last_alert_id(db_engine)
    cli("evaluate", "--now", "2026-11-29T08:30")
    cli("alert", "--now", "2026-11-29T08:30")
    with db_engine.connect() as conn:
        new = conn.execute(select(AlertRow.body, AlertRow.call_key).where(AlertRow.id > seen)).all()
        tasks = conn.execute(
            select(func.count(AlertRow.call_key.distinct())).where(
                AlertRow.call_key.is_not(None), AlertRow.body.contains(EXPRESS)
            )
        ).scalar_one()
    about = [(body, key) for body, key in new if "联系不上" in body or "收件人" in body]
    assert about and all(key is None for _, key in about)
    assert all("本案已致电 3 次, 不要再打电话" in body for body, _ in about)
    assert tasks == 3
