"""`run_alerts` end to end: flags in a real database, messages to real local receivers, a frozen clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import httpx
import pytest
from alertkit import Receiver, SmtpSink, add_claim, add_flag, add_parcel, set_flag
from sqlalchemy import Engine, func, select

from tracker.alerts.service import RunReport, run_alerts
from tracker.rules.ladder import Ladder, LadderPosition
from tracker.settings import Settings
from tracker.storage.db import make_engine, migrate
from tracker.storage.rows import AlertRow

SH = ZoneInfo("Asia/Shanghai")


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=SH).astimezone(UTC)


NOON = local(23, 12)


@pytest.fixture
def db(alert_settings: Settings) -> Engine:
    engine = make_engine(alert_settings.database_url)
    migrate(engine)
    yield engine
    engine.dispose()


def run(engine: Engine, settings: Settings, env: dict[str, str], now: datetime, **kw) -> RunReport:  # type: ignore[no-untyped-def]
    with httpx.Client() as client:
        return run_alerts(engine, settings, now=now, env=env, client=client, sleep=lambda _: None, **kw)


def flag_sends(report: RunReport) -> list:  # type: ignore[type-arg]
    """Deliveries about flags (the daily digest also goes out at the first run of a working day)."""
    return [d for d in report.sent if not d.keys[0].startswith("digest:")]


def ding_texts(receiver: Receiver) -> list[str]:
    return [r.body["markdown"]["text"] for r in receiver.delivered("/dingtalk")]


def alert_states(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return dict(conn.execute(select(AlertRow.state, func.count()).group_by(AlertRow.state)).all())


def stale_flag(engine: Engine, waybill: str = "YT100", **kw) -> int:  # type: ignore[no-untyped-def]
    parcel = add_parcel(engine, waybill, now=NOON - timedelta(days=5), buyer_id="tb_1", **kw)
    return add_flag(engine, parcel, "stale", opened_at=NOON - timedelta(hours=2))


def test_a_flag_alerts_once_however_often_the_job_runs(
    engine: Engine, alert_settings: Settings, alert_env: dict[str, str], receiver: Receiver
) -> None:
    stale_flag(engine)
    report = run(engine, alert_settings, alert_env, NOON)
    assert [d.recipient for d in flag_sends(report)] == ["agents"]
    for later in (NOON, NOON + timedelta(minutes=5), NOON + timedelta(hours=3)):
        assert run(engine, alert_settings, alert_env, later).sent == []
    [text] = [t for t in ding_texts(receiver) if "YT100" in t]
    assert text.startswith("### 【提醒】物流不更新 YT100") and receiver.bad_signatures == 0
    assert alert_states(engine) == {"sent": 3}  # the alert and two daily digests (agents, agents_en)


def test_escalation_goes_to_leads_and_reminders_follow(
    db: Engine,
    alert_settings: Settings,
    alert_env: dict[str, str],
    receiver: Receiver,
    smtp_sink: tuple[SmtpSink, int],
) -> None:
    flag_id = stale_flag(db)
    run(db, alert_settings, alert_env, NOON)
    set_flag(db, flag_id, severity="escalate", escalated_at=NOON + timedelta(hours=1))
    report = run(db, alert_settings, alert_env, NOON + timedelta(hours=1))
    assert {(d.recipient, d.channel) for d in report.sent} == {("leads", "wecom"), ("leads", "mail")}
    assert "【升级】" in receiver.delivered("/wecom")[0].body["markdown"]["content"]
    assert len(smtp_sink[0].messages) == 1
    report = run(db, alert_settings, alert_env, NOON + timedelta(hours=26))
    sent = {(d.recipient, d.channel) for d in flag_sends(report)}
    assert sent == {("leads", "wecom"), ("leads", "mail")}  # once escalated, the lead is reminded
    assert all("第1次提醒" in d.subject for d in flag_sends(report))


def test_alerts_held_at_night_go_out_as_one_digest_in_the_morning(
    db: Engine, alert_settings: Settings, alert_env: dict[str, str], receiver: Receiver
) -> None:
    stale_flag(db, "YT100")
    stale_flag(db, "YT200")
    resolved = stale_flag(db, "YT300")
    night = run(db, alert_settings, alert_env, local(23, 22))
    assert night.sent == [] and night.held == 3 and receiver.requests == []
    set_flag(db, resolved, state="resolved", resolved_at=local(23, 23))
    assert run(db, alert_settings, alert_env, local(24, 8, 59)).sent == []
    morning = run(db, alert_settings, alert_env, local(24, 9))
    [bundle] = flag_sends(morning)
    assert bundle.subject == "非工作时间暂存的提醒 2 条" and len(bundle.ids) == 2
    texts = ding_texts(receiver)
    held_text = next(t for t in texts if "非工作时间暂存" in t)
    assert "YT100" in held_text and "YT200" in held_text and "YT300" not in held_text
    assert any(t.startswith("### 每日异常汇总 2026-11-24") for t in texts)  # the daily digest, same morning
    assert alert_states(db) == {"sent": 2 + 2, "cancelled": 1}  # 2 held alerts + 2 daily digests


def test_a_failing_channel_is_retried_later_and_delivers_exactly_once(
    db: Engine, alert_settings: Settings, alert_env: dict[str, str], receiver: Receiver
) -> None:
    stale_flag(db)
    receiver.script["/dingtalk"] = [503, 503, 503]  # one run's three tries (the alert goes first)
    first = run(db, alert_settings, alert_env, NOON)
    assert flag_sends(first) == [] and len(first.failed) == 1
    with db.connect() as conn:
        row = conn.execute(select(AlertRow).where(AlertRow.flag_id.is_not(None))).one()
    assert (row.state, row.attempts, row.due_at) == ("failed", 1, NOON + timedelta(minutes=5))
    assert "HTTP 503" in row.error
    assert run(db, alert_settings, alert_env, NOON + timedelta(minutes=1)).sent == []  # backoff not over
    assert len(run(db, alert_settings, alert_env, NOON + timedelta(minutes=6)).sent) == 1
    assert run(db, alert_settings, alert_env, NOON + timedelta(hours=2)).sent == []
    assert len([t for t in ding_texts(receiver) if "YT100" in t]) == 1
    ding_posts = [r for r in receiver.requests if r.path == "/dingtalk" and "YT100" in r.body["markdown"]["text"]]
    assert len(ding_posts) == 4  # three failed tries, one success
    with db.connect() as conn:
        row = conn.execute(select(AlertRow).where(AlertRow.flag_id.is_not(None))).one()
    assert (row.state, row.attempts, row.error) == ("sent", 2, None)


def test_a_missing_secret_fails_visibly_and_is_kept(
    db: Engine, alert_settings: Settings, alert_env: dict[str, str], receiver: Receiver
) -> None:
    stale_flag(db)
    env = {k: v for k, v in alert_env.items() if k != "T_DING_SECRET"}
    report = run(db, alert_settings, env, NOON)
    assert "T_DING_SECRET" in report.failed[0][1]
    assert [r for r in receiver.requests if r.path == "/dingtalk"] == []
    assert len(flag_sends(run(db, alert_settings, alert_env, NOON + timedelta(minutes=10)))) == 1


def test_dry_run_stores_and_sends_nothing(
    db: Engine, alert_settings: Settings, alert_env: dict[str, str], receiver: Receiver
) -> None:
    stale_flag(db)
    report = run(db, alert_settings, alert_env, NOON, dry_run=True)
    assert [p.level for p in report.planned] == ["warn", "digest", "digest"]
    assert len(report.would_send) == 3
    delivery, payload = report.would_send[0]
    assert delivery.channel == "ding" and "YT100" in payload and "SEC" not in payload
    assert alert_states(db) == {} and receiver.requests == []


def test_phone_tasks_respect_the_per_buyer_daily_limit_across_runs(
    db: Engine, alert_settings: Settings, alert_env: dict[str, str], receiver: Receiver
) -> None:
    for waybill in ("YT100", "YT200"):
        parcel = add_parcel(db, waybill, now=NOON, buyer_id="tb_same")
        add_flag(db, parcel, "unreachable", opened_at=NOON - timedelta(hours=1))
    today = run(db, alert_settings, alert_env, NOON)
    assert len(flag_sends(today)) == 1 and today.scheduled == 1
    assert flag_sends(run(db, alert_settings, alert_env, local(24, 9, 59))) == []
    tomorrow = run(db, alert_settings, alert_env, local(24, 10))
    assert len(flag_sends(tomorrow)) == 1
    texts = [r.body["markdown"]["text"] for r in receiver.delivered("/dingtalk")]
    assert all("致电买家" in t for t in texts if "YT" in t)


def test_daily_digest_counts_new_exceptions_claim_deadlines_and_claimable_money(
    db: Engine, alert_settings: Settings, alert_env: dict[str, str], receiver: Receiver
) -> None:
    morning = local(24, 9, 30)
    p1 = add_parcel(db, "YT100", now=NOON)
    p2 = add_parcel(db, "YT200", now=NOON)
    p3 = add_parcel(db, "YT300", now=NOON)
    add_flag(db, p1, "stale", opened_at=morning - timedelta(hours=3))
    add_flag(db, p2, "stale", opened_at=morning - timedelta(hours=5))
    add_flag(db, p3, "refused", opened_at=morning - timedelta(hours=1))
    add_flag(db, p3, "damaged", opened_at=morning - timedelta(days=3), state="resolved")
    add_claim(db, p1, now=NOON, amount=Decimal("199.00"), filing_closes_at=morning + timedelta(days=3))
    add_claim(db, p2, now=NOON, amount=Decimal("100.50"), claim_type="freight")
    add_claim(db, p3, now=NOON, amount=Decimal("999.00"), state="filed", filing_closes_at=morning)
    p4 = add_parcel(db, "YT400", now=NOON)  # a draft whose filing window closed yesterday: not claimable
    add_claim(db, p4, now=NOON, amount=Decimal("50.00"), filing_closes_at=morning - timedelta(days=1))
    report = run(db, alert_settings, alert_env, morning)
    digests = [d for d in report.sent if d.subject.startswith("每日异常汇总")]
    assert {d.recipient for d in digests} == {"agents", "agents_en"} or {d.recipient for d in digests} == {"agents"}
    text = next(d.body for d in digests if d.recipient == "agents")
    assert "自 2026-11-23 09:30 以来新增异常 3 件" in text
    assert "物流不更新: 2" in text and "拒收: 1" in text and "破损" not in text
    assert "7天内截止的索赔 1 件" in text and "YT100 货物丢失 截止 2026-11-27 09:30" in text
    assert "可索赔金额(草稿, 申报期未过) 299.50 CNY" in text
    again = run(db, alert_settings, alert_env, morning + timedelta(hours=2))
    assert not [d for d in again.sent if d.subject.startswith("每日异常汇总")]


def test_an_alert_another_run_is_sending_is_not_sent_twice(
    db: Engine, alert_settings: Settings, alert_env: dict[str, str], receiver: Receiver
) -> None:
    from tracker.alerts import store
    from tracker.alerts.service import plan

    stale_flag(db)
    store.insert_planned(db, plan(db, alert_settings, now=NOON), now=NOON)
    due = store.due_alerts(db, now=NOON, max_attempts=10)
    ids = [row["id"] for row in due]
    assert store.take(db, ids, now=NOON, until=NOON + timedelta(minutes=10))  # the other run
    assert not store.take(db, ids, now=NOON, until=NOON + timedelta(minutes=10))
    assert run(db, alert_settings, alert_env, NOON + timedelta(minutes=1)).sent == []
    assert receiver.requests == []
    # the other run died: after the lease the alerts are due again and go out once
    assert len(run(db, alert_settings, alert_env, NOON + timedelta(minutes=11)).sent) == len(ids)


def test_more_due_alerts_than_a_robot_takes_go_out_partly_bundled(plain_settings: Settings) -> None:
    from tracker.alerts.service import group_deliveries

    alerts = plain_settings.alerts
    ding = alerts.channels["ding"].model_copy(update={"max_per_run": 3})
    config = alerts.model_copy(update={"channels": {**alerts.channels, "ding": ding}})
    rows = [
        {
            "id": i,
            "recipient": "agents",
            "channel": "ding",
            "state": "pending",
            "subject": f"S{i}",
            "body": f"### YT{i}",
            "dedupe_key": f"k{i}",
            "call_key": None,
            "attempts": 0,
        }
        for i in range(1, 7)
    ]
    deliveries = group_deliveries(rows, config)
    assert [d.ids for d in deliveries] == [[3, 4, 5, 6], [1], [2]]
    assert deliveries[0].subject == "待处理提醒 4 条" and "### YT6" in deliveries[0].body
    held = [{**row, "state": "held"} for row in rows[:2]] + rows[2:3]
    assert [d.ids for d in group_deliveries(held, config)] == [[1, 2], [3]]


def test_a_case_gets_at_most_three_calls_across_its_parcels_and_days(
    db: Engine, alert_settings: Settings, alert_env: dict[str, str], receiver: Receiver
) -> None:
    outbound = add_parcel(db, "YT100", now=NOON, buyer_id="tb_1", order_id="O1")
    add_flag(db, outbound, "unreachable", opened_at=NOON - timedelta(hours=1))
    for day in (23, 24, 25):  # the call, then two daily reminders: three calls
        run(db, alert_settings, alert_env, local(day, 12, 5))
    back = add_parcel(db, "YT900", now=NOON, buyer_id="tb_1", order_id="O1", direction="return")
    phone = LadderPosition(Ladder.ordinary, 2, "phone", local(30, 12), 4)  # as the rules evaluation writes it
    add_flag(db, back, "refund_deadline", opened_at=local(26, 11), level=phone.level, details=phone.to_details())
    run(db, alert_settings, alert_env, local(26, 12))
    texts = [t for t in ding_texts(receiver) if "YT" in t]
    calls = [t for t in texts if "致电买家" in t]
    assert len(calls) == 3 and all("YT100" in t for t in calls)
    [ladder] = [t for t in texts if "YT900" in t]
    assert "本案已致电 3 次, 不要再打电话" in ladder


def test_a_bundle_too_big_for_wecom_is_split_not_cut(plain_settings: Settings) -> None:
    from tracker.alerts.service import group_deliveries

    body = "### 退款截止临近\n" + "- 运单: YT100 (圆通速递) 物流停滞\n" * 20  # ~800 bytes
    rows = [
        {
            "id": i,
            "recipient": "leads",
            "channel": "wecom",
            "state": "held",
            "subject": f"S{i}",
            "body": body,
            "dedupe_key": f"k{i}",
            "call_key": None,
            "attempts": 0,
        }
        for i in range(1, 13)
    ]
    deliveries = group_deliveries(rows, plain_settings.alerts)
    assert sorted(i for d in deliveries for i in d.ids) == list(range(1, 13))
    assert len(deliveries) > 1 and all(len(d.body.encode()) <= 4096 for d in deliveries)


@pytest.mark.parametrize("url", ["::not a url", "ftp://127.0.0.1/x", "http://[::1/robot"])
def test_a_malformed_webhook_url_fails_the_alert_without_stopping_the_run(
    db: Engine, alert_settings: Settings, alert_env: dict[str, str], receiver: Receiver, url: str
) -> None:
    stale_flag(db)
    report = run(db, alert_settings, {**alert_env, "T_DING_URL": url}, NOON)
    assert [d.channel for d, _ in report.failed] == ["ding", "ding"]  # the alert and the daily digest
    assert {d.channel for d in report.sent} == {"slack"}  # the English group's digest still went out
    assert alert_states(db) == {"failed": 2, "sent": 1}


def test_mondays_digest_counts_a_weekend_flag_already_resolved(
    db: Engine, alert_settings: Settings, alert_env: dict[str, str], receiver: Receiver
) -> None:
    """A group working Monday to Friday: a flag opened on Saturday and resolved on Sunday is one of Monday's new
    exceptions (the flags were read back 24 hours only: Monday's digest said none)."""
    alerts = alert_settings.alerts
    weekdays = alerts.model_copy(update={"schedule": alerts.schedule.model_copy(update={"weekdays": [1, 2, 3, 4, 5]})})
    settings = alert_settings.model_copy(update={"alerts": weekdays})
    parcel = add_parcel(db, "YT500", now=local(20, 12))
    add_flag(db, parcel, "stale", opened_at=local(21, 15), state="resolved")  # Saturday, resolved since
    report = run(db, settings, alert_env, local(23, 9, 30))  # Monday
    text = next(d.body for d in report.sent if d.recipient == "agents" and d.subject.startswith("每日异常汇总"))
    assert "自 2026-11-20 09:30 以来新增异常 1 件" in text, text


def agents_digests(report: RunReport) -> list[str]:
    return [d.body for d in report.sent if d.recipient == "agents" and d.subject.startswith("每日异常汇总")]


def test_a_digest_counts_from_the_previous_digest_not_from_a_day_before_it(
    db: Engine, alert_settings: Settings, alert_env: dict[str, str], receiver: Receiver
) -> None:
    """Monday's digest went at 09:03, a flag opened at 09:05 and Tuesday's run came at 09:08: the flag is one of
    Tuesday's new exceptions (counted from a day before 09:08 it was in neither digest)."""
    assert agents_digests(run(db, alert_settings, alert_env, local(23, 9, 3))) != []  # Monday's digest
    parcel = add_parcel(db, "YT501", now=local(20, 12))
    add_flag(db, parcel, "stale", opened_at=local(23, 9, 5), state="resolved")
    [tuesday] = agents_digests(run(db, alert_settings, alert_env, local(24, 9, 8)))
    assert "自 2026-11-23 09:03 以来新增异常 1 件" in tuesday, tuesday


def test_a_group_routed_a_case_later_is_told_whose_call_it_is(
    db: Engine, alert_settings: Settings, alert_env: dict[str, str], receiver: Receiver
) -> None:
    """The agents were given an SF parcel's phone task at 12:00; at 12:05 the SF route to the English-speaking
    agents is added: they are told the call is the agents' (they were asked to phone the buyer as well, and the
    case counted a second call)."""
    routes = alert_settings.alerts.routes
    without_sf = alert_settings.model_copy(
        update={
            "alerts": alert_settings.alerts.model_copy(update={"routes": [r for r in routes if r.couriers != ["sf"]]})
        }
    )
    parcel = add_parcel(db, "SF100", now=local(20, 12), courier="sf", buyer_id="tb_1")
    add_flag(db, parcel, "unreachable", courier="sf", opened_at=local(23, 11))
    first = run(db, without_sf, alert_env, local(23, 12))
    assert [p.recipient for p in first.planned if p.call_key] == ["agents"]
    later = run(db, alert_settings, alert_env, local(23, 12, 5))
    [told] = [p for p in later.planned if p.recipient == "agents_en"]
    assert told.call_key is None and "Phoning the buyer is a task for Agents: do not call as well" in told.body, (
        told.body
    )
    assert "Phone the buyer" not in told.body
    with db.connect() as conn:
        calls = conn.execute(select(func.count(func.distinct(AlertRow.call_key)))).scalar_one()
    assert calls == 1
