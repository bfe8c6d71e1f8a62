"""Push subscriptions: the pure decisions (answers, stops, the safety net, words people read, quota text),
the providers' subscribe replies, and migration 0012 down and up on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, inspect, select

from tracker.labels import PHONE_MISSING
from tracker.providers.base import TrackingStop
from tracker.providers.kdniao.subscribe import parse_subscribe as kdniao_reply
from tracker.providers.kuaidi100.codes import subscribe_error
from tracker.providers.kuaidi100.subscribe import parse_subscribe as kd100_reply
from tracker.providers.track17.codes import error_message as track17_error
from tracker.providers.track17.subscribe import parse_register
from tracker.settings import Settings, SubscriptionsConfig
from tracker.storage.db import downgrade, make_engine, migrate
from tracker.storage.rows import ProviderQuotaRow
from tracker.subscriptions import (
    Outcome,
    State,
    SubscribeAnswer,
    decide_answer,
    decide_stop,
    describe,
    next_poll_with,
    quota_text,
    record_spent,
    served_until,
    states_text,
)

NOW = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)
CN = ZoneInfo("Asia/Shanghai")
CFG = SubscriptionsConfig(max_attempts=3, retry_minutes=30, silent_hours=24)


# --- what to do with a subscribe answer ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("outcome", "attempts", "state", "retry_in"),
    [
        (Outcome.ok, 1, State.active, None),
        (Outcome.duplicate, 1, State.active, None),  # already polling at the provider: pushes come
        (Outcome.retry, 1, State.pending, timedelta(minutes=30)),
        (Outcome.retry, 2, State.pending, timedelta(minutes=30)),
        (Outcome.retry, 3, State.failed, None),  # max_attempts calls made: give up, poll it
        (Outcome.refused, 1, State.failed, None),
    ],
)
def test_decide_answer(outcome: Outcome, attempts: int, state: State, retry_in: timedelta | None) -> None:
    change = decide_answer(SubscribeAnswer("W1", outcome, "", ""), attempts=attempts, now=NOW, cfg=CFG)
    assert change.state is state
    assert change.retry_at == (NOW + retry_in if retry_in else None)
    assert change.subscribed is (state is State.active)


# --- what to do on a stop notice ---------------------------------------------------------------------------


def test_abort_resubscribes_with_kuaidi100s_own_correction_first(settings: Settings) -> None:
    plan = decide_stop(
        TrackingStop("abort", "3天查询无记录"),
        courier="zto",
        corrected="yunda",
        detected="yto",
        resubscribes=0,
        limit=1,
        couriers=settings.couriers,
    )
    assert (plan.state, plan.resubscribe, plan.courier, plan.provider) == (State.aborted, True, "yunda", "kdniao")


def test_abort_resubscribes_with_the_detected_courier_when_kuaidi100_corrected_nothing(settings: Settings) -> None:
    plan = decide_stop(
        TrackingStop("abort", "3天查询无记录"),
        courier="zto",
        corrected=None,
        detected="yto",
        resubscribes=0,
        limit=1,
        couriers=settings.couriers,
    )
    assert (plan.resubscribe, plan.courier, plan.provider) == (True, "yto", "kuaidi100")


@pytest.mark.parametrize(
    ("corrected", "detected", "resubscribes"),
    [
        (None, None, 0),  # nothing points elsewhere
        (None, "zto", 0),  # the number's pattern says the same courier
        ("zto", "zto", 0),
        ("yunda", "yto", 1),  # once only
        ("nosuch", None, 0),  # a company we do not know
    ],
)
def test_stop_falls_back_to_polling(
    settings: Settings, corrected: str | None, detected: str | None, resubscribes: int
) -> None:
    plan = decide_stop(
        TrackingStop("abort", "60天无变化"),
        courier="zto",
        corrected=corrected,
        detected=detected,
        resubscribes=resubscribes,
        limit=1,
        couriers=settings.couriers,
    )
    assert (plan.state, plan.resubscribe) == (State.aborted, False)


def test_track17_stop_is_stopped_not_aborted(settings: Settings) -> None:
    plan = decide_stop(
        TrackingStop("stopped", ""),
        courier="chinapost",
        corrected=None,
        detected="chinapost",
        resubscribes=0,
        limit=1,
        couriers=settings.couriers,
    )
    assert (plan.state, plan.resubscribe) == (State.stopped, False)


# --- the safety net -----------------------------------------------------------------------------------------


def test_only_an_active_subscription_serves_the_parcel_until_its_silence_runs_out() -> None:
    pushed = NOW + timedelta(hours=5)
    assert served_until(state="active", subscribed_at=NOW, last_push_at=pushed, silent_hours=24) == pushed + timedelta(
        hours=24
    )
    assert served_until(state="active", subscribed_at=NOW, last_push_at=None, silent_hours=24) == NOW + timedelta(
        hours=24
    )
    for state in ("pending", "failed", "aborted", "stopped"):
        assert served_until(state=state, subscribed_at=NOW, last_push_at=pushed, silent_hours=24) is None


def test_a_safety_net_poll_waits_silent_hours_for_the_next_one() -> None:
    cadence = NOW + timedelta(hours=2)
    assert next_poll_with(cadence, active=True, now=NOW, silent_hours=24) == NOW + timedelta(hours=24)
    assert next_poll_with(cadence, active=False, now=NOW, silent_hours=24) == cadence
    assert next_poll_with(NOW + timedelta(hours=30), active=True, now=NOW, silent_hours=24) == NOW + timedelta(hours=30)
    assert next_poll_with(None, active=True, now=NOW, silent_hours=24) is None  # delivered: never again


# --- words people read -----------------------------------------------------------------------------------------


def test_describe_says_the_state_in_words_never_the_code() -> None:
    def said(state: str | None, **kw: object) -> str:
        args = {"provider": "kuaidi100", "message": None, "last_push_at": None, **kw}
        return describe(state, tz=CN, **args)  # type: ignore[arg-type]

    assert said("active", last_push_at=NOW) == "推送订阅中（快递100，最近推送 2026-11-23 12:00）"  # with its year
    assert said("active") == "推送订阅中（快递100，尚未收到推送）"
    assert said("aborted", message="3天查询无记录") == "已停止推送（3天查询无记录），改为定时查询"
    assert said("stopped", provider="track17") == "已停止推送（17TRACK），改为定时查询"
    # a provider's refusal as stored (English, for the log) is read back in words, its own quoted
    refusal = subscribe_error("600", "您不是合法的订阅者")
    assert (
        said("failed", message=refusal)
        == "推送订阅失败，改为定时查询（快递100：不是合法的订阅者，请核对 key（原话：您不是合法的订阅者））"
    )
    assert said("failed", message=refusal, lang="en") == (
        "Push subscription failed, polled on a schedule (Kuaidi100: not a valid subscriber (不是合法订阅者): check the"
        " key (its words: 您不是合法的订阅者))"
    )
    # stopped: the provider named with its words, as nothing else names it there
    assert said("stopped", provider="track17", message=track17_error("-18019902", "not registered")) == (
        "已停止推送（17TRACK：单号未注册，需先注册（原话：not registered）），改为定时查询"
    )
    assert said("pending", message=PHONE_MISSING, lang="en").startswith(
        "Push subscription to be sent (Kuaidi100; last time: The consignee's"
    )
    assert said(None) == "未订阅推送（定时查询）"
    for state in State:
        assert state.value not in said(state.value)
    # English where a person reads English (the board's English pages, the CLI's tables): it was Chinese there
    assert said("active", lang="en") == "Subscribed to pushes (Kuaidi100, no push yet)"
    assert said(None, lang="en") == "No push subscription (polled on a schedule)"
    assert said("stopped", provider="track17", lang="en") == "Pushes stopped (17TRACK), polled on a schedule"
    for state in (*State, None):
        assert not any("\u4e00" <= ch <= "\u9fff" for ch in said(state and state.value, lang="en"))


def test_quota_and_state_lines() -> None:
    quota = {"kuaidi100": {"query": 120, "subscribe": 40}, "track17": {"register": 40, "query": 80}}
    assert quota_text(quota) == "今日额度：快递100 查询 120 / 订阅 40；17TRACK 查询 80 / 注册 40"
    assert (
        quota_text(quota, "en")
        == "Quota today: Kuaidi100 queries 120 / subscriptions 40; 17TRACK queries 80 / registers 40"
    )
    assert quota_text({}) == "今日额度：尚未使用"
    counts = {("kuaidi100", "active"): 800, ("kuaidi100", "pending"): 3, ("track17", "stopped"): 2}
    assert states_text(counts) == "推送订阅：快递100 待订阅 3 / 推送中 800；17TRACK 已停止推送 2"


# --- the providers' answers (shapes: Kuaidi100 §2.2, Kdniao 8008 §3.1, 17TRACK register §4.1) ----------------


@pytest.mark.parametrize(
    ("reply", "outcome"),
    [
        ({"result": True, "returnCode": "200", "message": "提交成功"}, Outcome.ok),
        # relayed through the Java SDK bean: `result` false next to a success code (spec §0a)
        ({"result": False, "returnCode": "200", "message": "提交成功"}, Outcome.ok),
        ({"result": False, "returnCode": "501", "message": "重复订阅"}, Outcome.duplicate),
        ({"result": False, "returnCode": "500", "message": "服务器错误"}, Outcome.retry),
        ({"result": False, "returnCode": "600", "message": "您不是合法的订阅者（即授权Key出错）"}, Outcome.refused),
        ({"result": False, "returnCode": "601", "message": "POLL:KEY已过期"}, Outcome.refused),
        ({"result": False, "returnCode": "700", "message": "订阅参数错误"}, Outcome.refused),
        ({"result": False, "returnCode": "701", "message": "拒绝订阅的快递公司"}, Outcome.refused),
        ({"result": False, "returnCode": "702", "message": "POLL:识别不到该单号对应的快递公司"}, Outcome.refused),
    ],
)
def test_kuaidi100_subscribe_answers(reply: dict[str, object], outcome: Outcome) -> None:
    answer = kd100_reply(json.dumps(reply, ensure_ascii=False), "78316600000001")
    assert (answer.waybill, answer.outcome, answer.code) == ("78316600000001", outcome, reply["returnCode"])
    if outcome is not Outcome.ok:
        assert str(reply["message"]) in answer.message and f"returnCode {reply['returnCode']}" in answer.message


def test_kuaidi100_unreadable_answer_is_asked_again() -> None:
    answer = kd100_reply("<html>502 Bad Gateway</html>", "78316600000001")
    assert answer.outcome is Outcome.retry and "unreadable" in answer.message


def test_kdniao_8008_answers() -> None:
    ok = {
        "EBusinessID": "1000001",
        "UpdateTime": "2026-11-23 12:00:03",
        "Success": True,
        "Reason": "",
        "EstimatedDeliveryTime": "2026-11-25",
    }
    assert kdniao_reply(json.dumps(ok), "4316600000001").outcome is Outcome.ok
    sparse = {"EBusinessID": "1000001", "UpdateTime": "2026-11-23 12:00:03", "Success": True, "Reason": None}
    assert kdniao_reply(json.dumps(sparse), "4316600000001").outcome is Outcome.ok
    refused = {
        "EBusinessID": "1000001",
        "Success": False,
        "Reason": "暂不支持该快递公司：XYZ",
        "ResultCode": "105",
        "UpdateTime": "2026-11-23 12:00:03",
    }
    answer = kdniao_reply(json.dumps(refused, ensure_ascii=False), "4316600000001")
    assert answer.outcome is Outcome.retry and "暂不支持该快递公司" in answer.message
    bad_user = {"EBusinessID": "9", "Success": False, "Reason": "用户不存在或未开通该接口", "ResultCode": "104"}
    assert kdniao_reply(json.dumps(bad_user, ensure_ascii=False), "4316600000001").outcome is Outcome.refused
    # the account's daily limit passes tomorrow: ask again later (polled meanwhile), not refused for good
    limit = {"EBusinessID": "1000001", "Success": False, "Reason": "今日订阅量已达上限", "ResultCode": "405"}
    answer = kdniao_reply(json.dumps(limit, ensure_ascii=False), "4316600000001")
    assert answer.outcome is Outcome.retry and "daily query limit" in answer.message


def test_track17_register_answers_each_number() -> None:
    reply = {
        "code": 0,
        "data": {
            "accepted": [{"origin": 1, "number": "9816600000001", "carrier": 3011}],
            "rejected": [
                {
                    "number": "9816600000002",
                    "error": {
                        "code": -18019901,
                        "message": "The tracking number '9816600000002' is already registered.",
                    },
                },
                {"number": "9816600000003", "error": {"code": -18019903, "message": "Carrier cannot be detected."}},
            ],
        },
    }
    answers = parse_register(json.dumps(reply), ["9816600000001", "9816600000002", "9816600000003", "9816600000004"])
    assert [a.outcome for a in answers] == [Outcome.ok, Outcome.duplicate, Outcome.refused, Outcome.retry]
    assert "already registered" in answers[1].message and answers[2].code == "-18019903"


def test_track17_top_level_error_answers_for_every_number() -> None:
    reply = {"code": -18010002, "data": {"errors": [{"code": -18010002, "message": "Invalid security key."}]}}
    answers = parse_register(json.dumps(reply), ["A1", "A2"])
    assert [a.outcome for a in answers] == [Outcome.refused, Outcome.refused]
    assert "17token security key is invalid" in answers[0].message


# --- quota ------------------------------------------------------------------------------------------------------


def test_spent_counters_add_up_per_day_and_drain(db_engine: Engine) -> None:
    spent: Counter[str] = Counter(query=3, subscribe=2)
    assert record_spent(db_engine, "kuaidi100", spent, now=NOW, tz=CN) == {"query": 3, "subscribe": 2}
    assert +spent == Counter()  # drained: the next run does not count them again
    spent.update(query=4)
    record_spent(db_engine, "kuaidi100", spent, now=NOW + timedelta(hours=1), tz=CN)
    record_spent(db_engine, "kuaidi100", Counter(query=1), now=NOW + timedelta(hours=13), tz=CN)  # next day in China
    with db_engine.connect() as conn:
        rows = {(r.day, r.kind): r.count for r in conn.execute(select(ProviderQuotaRow.__table__))}
    assert rows == {("2026-11-23", "query"): 7, ("2026-11-23", "subscribe"): 2, ("2026-11-24", "query"): 1}


# --- migration 0012 down and up --------------------------------------------------------------------------------


def _down_and_up(engine: Engine) -> None:
    migrate(engine)
    assert {"subscription", "provider_quota"} <= set(inspect(engine).get_table_names())
    assert {"ix_subscription_pending", "ix_subscription_state"} <= {
        ix["name"] for ix in inspect(engine).get_indexes("subscription")
    }
    downgrade(engine, "0011_drop_return_waybill_index")
    assert not {"subscription", "provider_quota"} & set(inspect(engine).get_table_names())
    migrate(engine)
    record_spent(engine, "track17", Counter(register=40), now=NOW, tz=CN)
    record_spent(engine, "track17", Counter(register=2), now=NOW, tz=CN)  # the upsert works on this database
    with engine.connect() as conn:
        assert conn.execute(select(ProviderQuotaRow.count)).scalar_one() == 42


def test_migration_0012_down_and_up_on_sqlite(tmp_path) -> None:  # noqa: ANN001
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    try:
        _down_and_up(engine)
    finally:
        engine.dispose()


def test_migration_0012_down_and_up_on_postgresql(pg_url: str) -> None:
    engine = make_engine(pg_url)
    try:
        _down_and_up(engine)
    finally:
        engine.dispose()


@pytest.mark.parametrize("meanwhile", ["push", "stop"])
def test_an_answer_yields_to_what_came_during_the_call(db_engine: Engine, settings: Settings, meanwhile: str) -> None:
    """A subscribe call takes seconds, and the provider may speak meanwhile. A push made the subscription
    active: the call's later refusal is not stored over it, and the parcel stays served by pushes (not polled
    again). A stop notice set a re-subscription with Kuaidi100's corrected courier for later: the call's later
    "ok" (for the old courier) does not make it active, and the parcel is not held off as if pushes came."""
    from tracker.domain import ParcelFacts
    from tracker.storage.repo import upsert_parcels
    from tracker.storage.rows import ParcelRow, SubscriptionRow
    from tracker.subscriptions import apply_answers, ensure_rows, record_push, record_stop, select_due

    upsert_parcels(db_engine, [ParcelFacts(courier="zto", waybill="7700000000001")], now=NOW)
    assert ensure_rows(db_engine, settings, now=NOW) == 1
    asked = select_due(db_engine, now=NOW, limit=10)
    assert [(a.waybill, a.provider) for a in asked] == [("7700000000001", "kuaidi100")]
    later = NOW + timedelta(seconds=2)
    if meanwhile == "push":
        record_push(db_engine, settings, "kuaidi100", [("7700000000001", "zto")], now=later)
        answer, expected = SubscribeAnswer("7700000000001", Outcome.refused, "501", "服务器错误"), ("active", "zto")
    else:
        stop = TrackingStop("abort", "3天查询无记录")
        record_stop(db_engine, settings, "kuaidi100", "7700000000001", "zto", stop, corrected="yunda", now=later)
        answer, expected = SubscribeAnswer("7700000000001", Outcome.ok, "200", ""), ("pending", "yunda")
    sub, parcel = SubscriptionRow.__table__, ParcelRow.__table__
    with db_engine.connect() as conn:
        due_before = conn.execute(select(parcel.c.next_poll_at)).scalar_one()
    apply_answers(db_engine, settings, asked, {asked[0].parcel_id: answer}, now=NOW)  # the cycle's time, as asked
    with db_engine.connect() as conn:
        assert conn.execute(select(sub.c.state, sub.c.courier)).one() == expected
        assert conn.execute(select(parcel.c.next_poll_at)).scalar_one() == due_before  # the answer moved nothing
