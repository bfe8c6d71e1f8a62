"""Pure planning: flags + stored history + config + a frozen clock -> alerts (no database, no network)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tracker.alerts.model import AlertHistory, BookedCall, ClaimFacts, FlagFacts, LastAlert, PlannedAlert
from tracker.alerts.planning import alert_key, episode, parse_alert_key, plan_alerts
from tracker.rules.ladder import Ladder, LadderPosition
from tracker.settings import Settings

SH = ZoneInfo("Asia/Shanghai")
NOON = datetime(2026, 11, 23, 12, 0, tzinfo=SH).astimezone(UTC)  # Monday 12:00 in Shanghai


def local(hour: int, minute: int = 0, day: int = 23) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=SH).astimezone(UTC)


def flag(**kw: Any) -> FlagFacts:
    defaults: dict[str, Any] = {
        "flag_id": 1,
        "parcel_id": 1,
        "kind": "stale",
        "severity": "warn",
        "level": 0,
        "opened_at": NOON - timedelta(hours=1),
        "courier": "yto",
        "waybill": "YT100",
        "courier_name": "圆通速递",
        "courier_name_en": "YTO Express",
        "last_event_at": NOON - timedelta(hours=73),
        "buyer_id": "tb_buyer",
        "shop": "悦家旗舰店",
        "province": "浙江省",
        "next_action_zh": "到官网查询, 联系快递网点",
        "next_action_en": "phone the courier outlet",
    }
    return FlagFacts(**{**defaults, **kw})


def plan(settings: Settings, flags: list[FlagFacts], history: AlertHistory | None = None, now=NOON):  # type: ignore[no-untyped-def]
    return plan_alerts(
        flags,
        history or AlertHistory(),
        config=settings.alerts,
        contact=settings.rules.contact,
        ladders=settings.rules.refund_ladder,
        tz=SH,
        now=now,
    )


def targets(planned: list[PlannedAlert]) -> set[tuple[str, str, str]]:
    return {(p.recipient, p.channel, p.level) for p in planned}


def history_of(planned: list[PlannedAlert], at: datetime) -> AlertHistory:
    """The planned alerts stored and all sent at `at`."""
    last: dict[tuple[str, str, str], LastAlert] = {}
    for p in planned:
        episode_, level, group, _channel, reminder = parse_alert_key(p.dedupe_key)  # type: ignore[misc]
        if (episode_, level, group) not in last or last[(episode_, level, group)].reminder < reminder:
            last[(episode_, level, group)] = LastAlert(reminder, at, waiting=False)
    return AlertHistory(keys=frozenset(p.dedupe_key for p in planned), last_alert=last)


def test_stale_warning_alerts_the_agent_group_with_everything_an_agent_needs(
    plain_settings: Settings,
) -> None:
    [alert] = plan(plain_settings, [flag()])
    assert (alert.recipient, alert.channel, alert.level, alert.state) == ("agents", "ding", "warn", "pending")
    assert alert.due_at == NOON and alert.call_key is None
    assert alert.dedupe_key == alert_key(episode(flag()), "warn", "agents", "ding")
    expected_parts = (
        "YT100",
        "圆通速递",
        "问题: 物流不更新",  # the board's words for the kind (tracker.labels), as the queue shows it
        "3天1小时",
        "距最后一条物流",
        "到官网查询, 联系快递网点",
    )
    for expected in (*expected_parts, "(http://127.0.0.1:8501/parcel?waybill=YT100)"):
        assert expected in alert.body
    assert alert.body.startswith("### 【提醒】物流不更新 YT100")


def test_courier_route_adds_an_english_slack_group(plain_settings: Settings) -> None:
    planned = plan(plain_settings, [flag(courier="sf", waybill="SF1 2/3", courier_name_en="SF Express")])
    assert targets(planned) == {("agents", "ding", "warn"), ("agents_en", "slack", "warn")}
    slack = next(p for p in planned if p.channel == "slack")
    assert slack.body.startswith("*[Warning] Stale SF1 2/3*")
    assert "SF Express" in slack.body and "3 d 1 h (since the last scan)" in slack.body
    assert "<http://127.0.0.1:8501/parcel?waybill=SF1%202%2F3|Open on the board>" in slack.body


def test_escalation_goes_to_the_leads_on_each_of_their_channels(plain_settings: Settings) -> None:
    warned = plan(plain_settings, [flag()])
    escalated = flag(severity="escalate", escalated_at=NOON - timedelta(minutes=5))
    planned = plan(plain_settings, [escalated], history_of(warned, NOON - timedelta(hours=20)))
    assert targets(planned) == {("leads", "wecom", "escalate"), ("leads", "mail", "escalate")}
    mail = next(p for p in planned if p.channel == "mail")
    assert mail.subject == "【升级】物流不更新 YT100" and "http://127.0.0.1:8501/parcel?waybill=YT100" in mail.body


def test_a_stored_alert_is_never_planned_again(plain_settings: Settings) -> None:
    first = plan(plain_settings, [flag()])
    assert plan(plain_settings, [flag()], history_of(first, NOON), now=NOON + timedelta(hours=23)) == []


@pytest.mark.parametrize(
    ("hours_since_sent", "already", "expected_level"),
    [
        (23, 0, None),  # too early for a reminder
        (25, 0, "warn/r1"),
        (25, 1, "warn/r2"),
        (49, 0, "warn/r1"),  # one step at a time: a late run does not skip a reminder
        (200, 2, None),  # at most max_reminders = 2
    ],
)
def test_open_flag_gets_reminders_until_the_cap(
    plain_settings: Settings, hours_since_sent: int, already: int, expected_level: str | None
) -> None:
    sent_at = NOON - timedelta(hours=hours_since_sent)
    stale = flag(opened_at=sent_at - timedelta(days=3))
    keys = {alert_key(episode(stale), "warn", "agents", "ding", n) for n in range(already + 1)}
    last = {(episode(stale), "warn", "agents"): LastAlert(already, sent_at, waiting=False)}
    planned = plan(plain_settings, [stale], AlertHistory(keys=frozenset(keys), last_alert=last))
    assert [p.level for p in planned] == ([expected_level] if expected_level else [])
    if expected_level:
        assert "第" in planned[0].subject and "次提醒" in planned[0].subject


@pytest.mark.parametrize(
    ("sent_hours_ago", "waiting"),
    [
        (None, True),  # the first alert is still held for the morning (or pending, or being retried)
        (60, True),  # the first went long ago, but reminder 1 still waits
        (23, False),  # the previous went 23 h ago: the clock counts from its sending, not from the first
    ],
)
def test_no_reminder_while_the_previous_alert_waits_or_went_out_recently(
    plain_settings: Settings, sent_hours_ago: int | None, waiting: bool
) -> None:
    stale = flag(opened_at=NOON - timedelta(days=4))
    keys = {alert_key(episode(stale), "warn", "agents", "ding")}
    sent_at = None if sent_hours_ago is None else NOON - timedelta(hours=sent_hours_ago)
    last = {(episode(stale), "warn", "agents"): LastAlert(0, sent_at, waiting=waiting)}
    assert plan(plain_settings, [stale], AlertHistory(keys=frozenset(keys), last_alert=last)) == []


def test_suspected_loss_goes_to_leads_with_the_claim_proposal(plain_settings: Settings) -> None:
    claim = ClaimFacts(
        parcel_id=1,
        courier="yto",
        claim_type="goods_lost",
        state="draft",
        amount=Decimal("268.50"),
        currency="CNY",
        filing_closes_at=datetime(2026, 12, 1, 4, 0, tzinfo=UTC),
    )
    planned = plan(plain_settings, [flag(kind="lost_suspected", claims=(claim,))])
    assert {p.recipient for p in planned} == {"leads"}
    assert "索赔建议: 货物丢失 草稿 268.50 CNY (截止 2026-12-01)" in planned[0].body
    without = plan(plain_settings, [flag(kind="lost_suspected")])
    assert "索赔建议: 暂无索赔记录, 请按丢件流程发起索赔" in without[0].body
    # a buyer's return: only a pick-up return is the shop's to claim (docs/claims.md)
    on_return = [p.body for p in plan(plain_settings, [flag(kind="lost_suspected", direction="return")])]
    assert on_return and all("上门取件的退货可发起货物丢失理赔, 买家自寄的由买家向快递协商赔偿" in b for b in on_return)
    assert not any("请按丢件流程发起索赔" in b for b in on_return)


def test_each_refund_ladder_step_alerts_once_and_the_last_goes_to_the_lead(plain_settings: Settings) -> None:
    deadline = NOON + timedelta(days=6, hours=2)
    steps = plain_settings.rules.refund_ladder.express

    def at(step: int) -> dict[str, Any]:
        # the flag as the rules evaluation writes it: 0-based level, the ladder position in details
        where = LadderPosition(Ladder.express, step, steps[step - 1].action, deadline, 6)
        return {
            "kind": "refund_deadline",
            "refund_deadline": deadline,
            "buyer_id": None,
            "level": where.level,
            "details": where.to_details(),
        }

    step1 = plan(plain_settings, [flag(**at(1))])
    assert targets(step1) == {("agents", "ding", "step1")} and step1[0].call_key is not None
    assert "第1步" in step1[0].body and "退款截止还剩 6 天" in step1[0].body
    step2 = plan(plain_settings, [flag(**at(2))], history_of(step1, NOON))
    assert targets(step2) == {("agents", "ding", "step2")}
    last = plan(plain_settings, [flag(**at(4))], history_of(step1 + step2, NOON))
    assert {p.recipient for p in last} == {"leads"} and all(p.call_key is None for p in last)
    # a deadline that has passed says how long ago (it said 退款截止还剩 0 天)
    passed = plan(plain_settings, [flag(**{**at(4), "refund_deadline": NOON - timedelta(days=2, hours=3)})])
    assert passed and all("退款截止已过 2天3小时" in p.body and "还剩" not in p.body for p in passed)


def test_a_ladder_flag_without_the_contract_in_details_is_no_phone_task(plain_settings: Settings) -> None:
    [alert] = plan(plain_settings, [flag(kind="refund_deadline", level=0, details={"ladder": "express"})])
    assert alert.call_key is None and alert.recipient == "agents"


def test_outside_working_hours_agent_alerts_are_held_until_the_next_window(plain_settings: Settings) -> None:
    late = local(22, 30)
    planned = plan(plain_settings, [flag(), flag(flag_id=2, parcel_id=2, severity="escalate")], now=late)
    agents = [p for p in planned if p.recipient == "agents"]
    leads = [p for p in planned if p.recipient == "leads"]
    assert [(p.state, p.due_at) for p in agents] == [("held", local(9, 0, day=24))]
    assert {(p.state, p.due_at) for p in leads} == {("pending", late)}  # leads ignore the schedule


def test_an_alert_that_goes_later_is_worded_as_of_when_it_goes(plain_settings: Settings) -> None:
    """A phone task planned at 21:30 goes at 10:00 the next day, a held alert at 09:00: their days left and
    durations are those of that moment (a phone task said 退款截止还剩 2 天 when one whole day was left)."""
    deadline = local(8, 0, day=26)  # Thursday 08:00; planned Monday 21:30: 58.5 hours, read Tuesday 10:00: 46
    where = LadderPosition(Ladder.express, 1, plain_settings.rules.refund_ladder.express[0].action, deadline, 2)
    ladder = flag(kind="refund_deadline", refund_deadline=deadline, level=where.level, details=where.to_details())
    [call] = [p for p in plan(plain_settings, [ladder], now=local(21, 30)) if p.call_key]
    assert call.due_at == local(10, 0, day=24) and "退款截止还剩 1 天" in call.body, call.body
    [held] = plan(plain_settings, [flag(last_event_at=local(21, 0))], now=local(22, 0))
    assert held.due_at == local(9, 0, day=24) and "持续: 12小时 (距最后一条物流)" in held.body, held.body


@pytest.mark.parametrize(
    ("now", "due"),
    [
        (local(9, 30), local(10, 0)),  # working hours, but before the calling window
        (local(12, 0), local(12, 0)),
        (local(18, 0), local(10, 0, day=24)),  # the window closes at 18:00
        (local(23, 0), local(10, 0, day=24)),
    ],
)
def test_phone_tasks_are_due_only_inside_the_calling_window(
    plain_settings: Settings, now: datetime, due: datetime
) -> None:
    [alert] = plan(plain_settings, [flag(kind="unreachable")], now=now)
    assert (alert.state, alert.due_at) == ("pending", due)
    assert alert.call_key == f"call:{episode(flag())}:warn:r0"
    assert "请在 10:00-18:00 内致电买家 (本案第 1/3 次)" in alert.body


def test_a_case_that_had_its_calls_gets_no_more_phone_tasks(plain_settings: Settings) -> None:
    history = AlertHistory(calls_per_case={"order:O1": 3})
    [alert] = plan(plain_settings, [flag(kind="unreachable", order_id="O1")], history)
    assert alert.call_key is None and "不要再打电话" in alert.body and "致电买家" not in alert.body
    [other_order] = plan(plain_settings, [flag(kind="unreachable", order_id="O2")], history)
    assert other_order.call_key is not None


def test_a_buyer_gets_one_call_a_day_across_cases(plain_settings: Settings) -> None:
    flags = [
        flag(kind="unreachable"),
        flag(flag_id=2, parcel_id=2, kind="unreachable", waybill="YT200", opened_at=NOON - timedelta(minutes=5)),
        flag(flag_id=3, parcel_id=3, kind="unreachable", waybill="YT300", buyer_id="tb_other"),
    ]
    due = {p.flag_id: p.due_at for p in plan(plain_settings, flags)}
    assert due == {1: NOON, 3: NOON, 2: local(10, 0, day=24)}  # the older case is called first
    busy = AlertHistory(calls_per_buyer_day={("tb_buyer", date(2026, 11, 23)): 1})
    [alert] = plan(plain_settings, [flag(kind="unreachable")], busy)
    assert alert.due_at == local(10, 0, day=24)


@pytest.mark.parametrize(
    ("kind", "shop", "province", "ops"),
    [
        ("damaged", "悦家旗舰店", "西藏", True),
        # the export's full name (the route said 西藏: it matched only a parcel stored as 西藏, as the rules'
        # overrides match it by its start)
        ("damaged", "悦家旗舰店", "西藏自治区", True),
        ("damaged", "悦家旗舰店", "浙江省", False),
        ("damaged", "别的店", "西藏", False),
        ("stale", "悦家旗舰店", "西藏", False),
    ],
)
def test_routes_match_kind_shop_and_province(
    plain_settings: Settings, kind: str, shop: str, province: str, ops: bool
) -> None:
    planned = plan(plain_settings, [flag(kind=kind, shop=shop, province=province)])
    assert ("ops" in {p.recipient for p in planned}) is ops
    assert "agents" in {p.recipient for p in planned}


def test_flags_not_open_are_not_alerted(plain_settings: Settings) -> None:
    assert plan(plain_settings, [flag(state="acknowledged"), flag(flag_id=2, state="resolved")]) == []


def test_a_flag_that_resolved_and_opened_again_alerts_afresh(plain_settings: Settings) -> None:
    first = plan(plain_settings, [flag()])
    reopened = flag(opened_at=NOON + timedelta(hours=30))
    again = plan(plain_settings, [reopened], history_of(first, NOON), now=NOON + timedelta(hours=31))
    assert [p.level for p in again] == ["warn"] and again[0].dedupe_key != first[0].dedupe_key


def test_the_planning_core_imports_no_io_library() -> None:
    import subprocess
    import sys

    code = (
        "import sys, tracker.alerts.planning, tracker.alerts.digest, tracker.alerts.messages;"
        "io = ('httpx', 'sqlalchemy', 'sqlmodel', 'smtplib', 'tenacity');"
        "print(sorted(m for m in io if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_groups_without_a_language_use_the_files_language(plain_settings: Settings) -> None:
    english = plain_settings.model_copy(update={"alerts": plain_settings.alerts.model_copy(update={"language": "en"})})
    [alert] = plan(english, [flag()])
    assert alert.subject == "[Warning] Stale YT100" and "YTO Express" in alert.body


def test_a_case_routed_to_two_groups_is_one_groups_phone_task(plain_settings: Settings) -> None:
    """An SF parcel goes to the agents and to the English-speaking agents: one of them phones the buyer (the first
    routed), the other is told at the same time whose call it is, so the buyer is not phoned twice."""
    planned = plan(plain_settings, [flag(kind="unreachable", courier="sf", waybill="SF100")], now=local(12, 0))
    by_group = {p.recipient: p for p in planned}
    assert set(by_group) == {"agents", "agents_en"}
    calling, told = by_group["agents"], by_group["agents_en"]
    assert calling.call_key is not None and "请在 10:00-18:00 内致电买家 (本案第 1/3 次)" in calling.body
    assert told.call_key is None and told.due_at == calling.due_at
    assert (
        "Phone the buyer" not in told.body
        and "Phoning the buyer is a task for Agents: do not call as well" in told.body
    ), told.body


def test_a_phone_task_that_never_reached_the_group_is_the_same_call_again(plain_settings: Settings) -> None:
    """The agents' phone task of Monday 12:00 gave up (the robot refused every try). Tuesday evening the alert is
    due again: it asks for the same call (the case's first), in the next calling window, not for a second one."""
    unreachable = flag(kind="unreachable")
    [stored] = plan(plain_settings, [unreachable], now=local(12, 0))
    assert stored.call_key is not None and "(本案第 1/3 次)" in stored.body
    episode_, level, group, _channel, reminder = parse_alert_key(stored.dedupe_key)  # type: ignore[misc]
    gave_up = LastAlert(reminder, None, waiting=False, counted_from=local(12, 0), told=0)
    booked = {stored.call_key: BookedCall(slot=stored.due_at, number=1, owner="agents")}
    history = AlertHistory(
        keys=frozenset([stored.dedupe_key]),
        last_alert={(episode_, level, group): gave_up},
        calls_per_case={"parcel:1": 1},
        calls_booked=booked,
    )
    [again] = plan(plain_settings, [unreachable], history, now=local(20, 0, day=24))
    assert again.call_key == stored.call_key and again.due_at == local(10, 0, day=25)
    assert "(本案第 1/3 次)" in again.body and "负责" not in again.body, again.body


def test_a_group_told_whose_call_it_is_hears_it_in_its_own_working_days(plain_settings: Settings) -> None:
    """The agents call any day; the English-speaking agents work Monday to Friday. A call booked for Saturday 10:00
    is told to them on Monday morning, held for their working hours (it was pending at Saturday 10:00)."""
    alerts = plain_settings.alerts
    agents = alerts.groups["agents"].model_copy(update={"follows_schedule": False})
    schedule = alerts.schedule.model_copy(update={"weekdays": [1, 2, 3, 4, 5]})
    config = alerts.model_copy(update={"groups": {**alerts.groups, "agents": agents}, "schedule": schedule})
    settings = plain_settings.model_copy(update={"alerts": config})
    friday_evening = local(19, 5, day=27)  # 2026-11-27 is a Friday
    planned = plan(settings, [flag(kind="unreachable", courier="sf", waybill="SF100")], now=friday_evening)
    by_group = {p.recipient: p for p in planned}
    assert by_group["agents"].due_at == local(10, 0, day=28) and by_group["agents"].call_key is not None
    told = by_group["agents_en"]
    assert (told.state, told.due_at, told.call_key) == ("held", local(9, 0, day=30), None)
