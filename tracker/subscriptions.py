"""Push subscriptions, the production path: each new waybill is subscribed with the provider serving its
courier (config/couriers.toml `provider`); its pushes then replace polling, except for a safety-net poll
when an active subscription has been silent for [subscriptions] silent_hours (config/providers.toml).

    subscribe_due()          pending rows -> provider calls (Kuaidi100 POST /poll, Kdniao 8008, 17TRACK
                             register) -> decide_answer() -> state; active parcels are not due until
                             their silence runs out (next_poll_at = now + silent_hours)
    record_push()            a push arrived: last_push_at, and the safety net moves on
    record_stop()            Kuaidi100 abort / 17TRACK TRACKING_STOPPED -> decide_stop(): re-subscribe
                             once with a corrected courier, or fall back to polling (due now)
    record_spent()           quota spent per provider and day (queries, subscriptions, registers)

States: pending (to subscribe; again at retry_at), active, failed (refused for good), aborted, stopped.
The pure decisions (decide_answer, decide_stop, next_poll_with, describe, quota_text) take `now` and
plain values; the rest is the shell around the database and the provider clients. See
docs/push-subscriptions.md.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, Table, and_, bindparam, case, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from tracker.providers.base import DueSubscription, Outcome, SubscribeAnswer
from tracker.settings import CourierConfig, Settings, SubscriptionsConfig
from tracker.storage.repo import asked_phone
from tracker.storage.tables import PARCEL, QUOTA
from tracker.storage.tables import SUBSCRIPTION as SUB

if TYPE_CHECKING:
    from tracker.providers.base import TrackingStop

log = logging.getLogger("tracker.subscriptions")

QUOTA_KINDS = {"query": "查询", "subscribe": "订阅", "register": "注册"}


def push_providers() -> tuple[str, ...]:
    """The registered providers that take subscriptions and push (tracker/providers/registry.py); the
    others are polled, and "spider" couriers are crawled."""
    from tracker.providers.registry import specs

    return tuple(name for name, spec in specs().items() if spec.subscribe is not None)


def push_path(provider: str) -> str:
    """The push receiver's path for `provider` (tracker/push.py routes /push/<name>)."""
    return f"/push/{provider}"


def provider_name(provider: str, lang: str = "zh") -> str:
    """A provider as people read it: 快递100 / Kuaidi100 (the registry's labels); the slug if unknown."""
    from tracker.providers.registry import specs

    spec = specs().get(provider)
    if spec is None:
        return provider
    return spec.label if lang == "zh" else (spec.label_en or spec.name)


class State(StrEnum):
    pending = "pending"
    active = "active"
    failed = "failed"
    aborted = "aborted"
    stopped = "stopped"


STATE_WORDS = {
    State.pending: "待订阅",
    State.active: "推送中",
    State.failed: "订阅失败",
    State.aborted: "已中止推送",
    State.stopped: "已停止推送",
}


@dataclass(frozen=True, slots=True)
class Change:
    """What a subscription becomes after an answer."""

    state: State
    retry_at: datetime | None
    subscribed: bool  # subscribed_at is set to now


def decide_answer(answer: SubscribeAnswer, *, attempts: int, now: datetime, cfg: SubscriptionsConfig) -> Change:
    """`attempts` counts this call. ok/duplicate -> active; a passing failure -> pending again after
    retry_minutes until max_attempts calls were made (then failed); refused -> failed."""
    if answer.outcome in (Outcome.ok, Outcome.duplicate):
        return Change(State.active, None, True)
    if answer.outcome is Outcome.retry and attempts < cfg.max_attempts:
        return Change(State.pending, now + timedelta(minutes=cfg.retry_minutes), False)
    return Change(State.failed, None, False)


@dataclass(frozen=True, slots=True)
class StopPlan:
    """After a stop notice: re-subscribe with `courier` (served by `provider`), or poll (resubscribe False)."""

    state: State  # aborted | stopped: what the stop leaves on the subscription
    resubscribe: bool
    courier: str | None = None
    provider: str | None = None


def stop_state(stop: TrackingStop) -> State:
    return State.aborted if stop.kind == "abort" else State.stopped


def decide_stop(
    stop: TrackingStop,
    *,
    courier: str,
    corrected: str | None,
    detected: str | None,
    resubscribes: int,
    limit: int,
    couriers: Mapping[str, CourierConfig],
) -> StopPlan:
    """Re-subscribe once (`limit`) when another courier is plausible: the provider's own correction
    (Kuaidi100 comNew) first, else the courier the number's pattern points at; both must differ from the
    courier subscribed with and be served by a provider that pushes. Otherwise poll again."""
    state = stop_state(stop)
    if resubscribes >= limit:
        return StopPlan(state, False)
    for candidate in (corrected, detected):
        if not candidate or candidate == courier or candidate not in couriers:
            continue
        provider = couriers[candidate].provider
        if provider in push_providers():
            return StopPlan(state, True, candidate, provider)
    return StopPlan(state, False)


def served_until(
    *, state: str, subscribed_at: datetime | None, last_push_at: datetime | None, silent_hours: float
) -> datetime | None:
    """Until when pushes serve the parcel (no poll before): the last sign of life + silent_hours; None when
    the subscription does not serve it (pending, failed, aborted, stopped)."""
    if state != State.active:
        return None
    heard = max((t for t in (subscribed_at, last_push_at) if t is not None), default=None)
    return heard + timedelta(hours=silent_hours) if heard else None


def next_poll_with(cadence: datetime | None, *, active: bool, now: datetime, silent_hours: float) -> datetime | None:
    """The next poll of a parcel just polled: its cadence, but an active subscription's parcel (polled as a
    safety net) waits silent_hours for the next one. None (final, retired) stays None."""
    if cadence is None or not active:
        return cadence
    return max(cadence, now + timedelta(hours=silent_hours))


def describe(
    state: str | None,
    *,
    provider: str | None,
    message: str | None,
    last_push_at: datetime | None,
    tz: tzinfo,
    lang: str = "zh",
) -> str:
    """The subscription in words a person reads (never the state code), in `lang` ("zh" or "en"); the provider's
    own message is quoted as it came."""
    zh = lang == "zh"
    if not state:
        return "未订阅推送（定时查询）" if zh else "No push subscription (polled on a schedule)"
    name = provider_name(provider or "", lang)
    if message:  # a provider's coded answer in words (after the provider's name here), its own words quoted
        from tracker.labels import provider_answer

        message = provider_answer(message, lang, named=state not in (State.pending, State.failed))
    if state == State.active:
        if zh:
            heard = f"，最近推送 {last_push_at.astimezone(tz):%Y-%m-%d %H:%M}" if last_push_at else "，尚未收到推送"
            return f"推送订阅中（{name}{heard}）"
        heard = f", last push {last_push_at.astimezone(tz):%Y-%m-%d %H:%M}" if last_push_at else ", no push yet"
        return f"Subscribed to pushes ({name}{heard})"
    if state == State.pending:
        if zh:
            return f"推送订阅待提交（{name}{'，上次' + message if message else ''}）"
        return f"Push subscription to be sent ({name}{'; last time: ' + message if message else ''})"
    if state == State.failed:
        if zh:
            return f"推送订阅失败，改为定时查询（{name}{'：' + message if message else ''}）"
        return f"Push subscription failed, polled on a schedule ({name}{': ' + message if message else ''})"
    if zh:
        return f"已停止推送（{message or name}），改为定时查询"
    return f"Pushes stopped ({message or name}), polled on a schedule"


def callback_url(cfg: SubscriptionsConfig, provider: str) -> str:
    return cfg.callback_base_url.rstrip("/") + push_path(provider)


# --- quota ---------------------------------------------------------------------------------------------------


def quota_day(now: datetime, tz: tzinfo) -> str:
    """The provider's day (China time) a request counts against."""
    return now.astimezone(tz).strftime("%Y-%m-%d")


QUOTA_KINDS_EN = {"query": "queries", "subscribe": "subscriptions", "register": "registers"}
STATE_WORDS_EN = {
    "pending": "to subscribe",
    "active": "pushing",
    "failed": "refused",
    "aborted": "aborted",
    "stopped": "stopped",
}


def quota_text(quota: Mapping[str, Mapping[str, int]], lang: str = "zh") -> str:
    """'今日额度：快递100 查询 120 / 订阅 40；17TRACK 查询 80 / 注册 40' (providers and kinds in a fixed
    order); lang "en": 'Quota today: Kuaidi100 queries 120 / subscriptions 40; ...'."""
    zh = lang == "zh"
    kinds_words = QUOTA_KINDS if zh else QUOTA_KINDS_EN
    parts = []
    for provider in sorted(quota, key=_registry_order):
        kinds = quota.get(provider) or {}
        spent = [f"{kinds_words[k]} {kinds[k]}" for k in QUOTA_KINDS if kinds.get(k)]
        if spent:
            parts.append(f"{provider_name(provider, lang)} {' / '.join(spent)}")
    if zh:
        return "今日额度：" + ("；".join(parts) if parts else "尚未使用")
    return "Quota today: " + ("; ".join(parts) if parts else "none used")


def _registry_order(provider: str) -> tuple[int, str]:
    from tracker.providers.registry import names

    order = names()
    return (order.index(provider) if provider in order else len(order), provider)


def states_text(counts: Mapping[tuple[str, str], int], lang: str = "zh") -> str:
    """'推送订阅：快递100 推送中 800 / 待订阅 3；17TRACK 已停止推送 2' (what the subscriptions are doing)."""
    zh = lang == "zh"
    parts = []
    for provider in push_providers():
        said = [
            f"{STATE_WORDS[s] if zh else STATE_WORDS_EN[s.value]} {counts[(provider, s.value)]}"
            for s in State
            if counts.get((provider, s.value))
        ]
        if said:
            parts.append(f"{provider_name(provider, lang)} {' / '.join(said)}")
    if zh:
        return "推送订阅：" + ("；".join(parts) if parts else "无")
    return "Push subscriptions: " + ("; ".join(parts) if parts else "none")


def _insert(engine_or_conn: Any, table: Table) -> Any:
    return postgresql.insert(table) if engine_or_conn.dialect.name == "postgresql" else sqlite.insert(table)


def record_spent(engine: Engine, provider: str, spent: Counter[str], *, now: datetime, tz: tzinfo) -> dict[str, int]:
    """Move a client's spent counter into provider_quota (adds to the day's counts); returns what it moved."""
    moved = {kind: n for kind, n in spent.items() if n}
    spent.subtract(moved)
    if not moved:
        return {}
    day = quota_day(now, tz)
    rows = [{"provider": provider, "day": day, "kind": kind, "count": n} for kind, n in moved.items()]
    stmt = _insert(engine, QUOTA)
    stmt = stmt.on_conflict_do_update(
        index_elements=["provider", "day", "kind"], set_={"count": QUOTA.c.count + stmt.excluded.count}
    )
    with engine.begin() as conn:
        conn.execute(stmt, rows)
    return moved


def quota_on(engine: Engine, *, now: datetime, tz: tzinfo) -> dict[str, dict[str, int]]:
    """{provider: {kind: count}} spent on `now`'s day."""
    return quota_day_counts(engine, day=quota_day(now, tz))


def quota_day_counts(engine: Engine, *, day: str) -> dict[str, dict[str, int]]:
    """{provider: {kind: count}} spent on `day` (YYYY-MM-DD)."""
    out: dict[str, dict[str, int]] = defaultdict(dict)
    stmt = select(QUOTA.c.provider, QUOTA.c.kind, QUOTA.c.count).where(QUOTA.c.day == day)
    with engine.connect() as conn:
        for provider, kind, count in conn.execute(stmt):
            out[provider][kind] = int(count)
    return dict(out)


# --- the shell: rows -------------------------------------------------------------------------------------------


def ensure_rows(engine: Engine, settings: Settings, *, now: datetime, limit: int | None = None) -> int:
    """Give open, still polled parcels of push-served couriers without a subscription a pending one."""
    served = sorted(slug for slug, c in settings.couriers.items() if c.provider in push_providers())
    if not served:
        return 0
    has = select(SUB.c.parcel_id).where(SUB.c.parcel_id == PARCEL.c.id).exists()
    pick = (
        select(PARCEL.c.id, PARCEL.c.courier)
        .where(PARCEL.c.is_open.is_(True), PARCEL.c.next_poll_at.is_not(None), PARCEL.c.courier.in_(served), ~has)
        .order_by(PARCEL.c.id)
    )
    if limit:
        pick = pick.limit(limit)
    with engine.begin() as conn:
        rows = [
            {
                "parcel_id": pid,
                "provider": settings.couriers[courier].provider,
                "courier": courier,
                "state": State.pending.value,
                "attempts": 0,
                "resubscribes": 0,
                "retry_at": now,
                "updated_at": now,
            }
            for pid, courier in conn.execute(pick)
        ]
        if not rows:
            return 0
        # a subscription a push added between the pick and the insert is kept as it is (and not counted)
        added = _insert(conn, SUB).on_conflict_do_nothing(index_elements=["parcel_id"]).returning(SUB.c.parcel_id)
        return len(conn.execute(added, rows).all())


def select_due(engine: Engine, *, now: datetime, limit: int) -> list[DueSubscription]:
    stmt = (
        select(SUB.c.parcel_id, SUB.c.provider, SUB.c.courier, PARCEL.c.waybill, asked_phone(), SUB.c.attempts)
        .join(PARCEL, PARCEL.c.id == SUB.c.parcel_id)
        .where(SUB.c.state == State.pending.value, SUB.c.retry_at <= now, PARCEL.c.is_open.is_(True))
        .order_by(SUB.c.retry_at)
        .limit(limit)
    )
    with engine.connect() as conn:
        return [DueSubscription(*row) for row in conn.execute(stmt)]


@dataclass
class SubscribeSummary:
    """What one subscribe run did, per provider and outcome."""

    created: int = 0
    no_phone: int = 0  # not asked: the provider refuses the courier without the phone's last 4 digits
    outcomes: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    errors: list[str] = field(default_factory=list)

    def count(self, outcome: Outcome | str) -> int:
        return sum(c[str(outcome)] for c in self.outcomes.values())

    @property
    def active(self) -> int:
        return self.count(Outcome.ok) + self.count(Outcome.duplicate)


def apply_answers(
    engine: Engine,
    settings: Settings,
    asked: Sequence[DueSubscription],
    answers: Mapping[int, SubscribeAnswer],
    *,
    now: datetime,
) -> None:
    """Store the answers (one per asked parcel id); parcels now push-served are not due until the safety net."""
    cfg = settings.providers.subscriptions
    values, served = [], []
    for sub in asked:
        answer = answers.get(sub.parcel_id)
        if answer is None:  # not asked after all (the provider is paused): stays pending as it was
            continue
        attempts = sub.attempts + 1
        change = decide_answer(answer, attempts=attempts, now=now, cfg=cfg)
        values.append({
            "pid": sub.parcel_id, "v_courier": sub.courier, "v_state": change.state.value, "v_attempts": attempts,
            "v_retry": change.retry_at,
            "v_code": answer.code[:32] or None, "v_message": answer.message or None,
            "v_subscribed": now if change.subscribed else None,
        })  # fmt: skip
        if change.state is State.active:
            served.append(sub.parcel_id)
    if not values:
        return
    # each answer stored on a subscription as it was asked (select_due: pending, due by `now`, this courier): a
    # push that came during the call (seconds) made it active, a stop notice stopped it or set a re-subscription
    # with a corrected courier for later; either said more than the answer, and is kept
    stmt = (
        update(SUB)
        .where(
            SUB.c.parcel_id == bindparam("pid"),
            SUB.c.state == State.pending.value,
            SUB.c.retry_at <= now,
            SUB.c.courier == bindparam("v_courier"),
        )
        .values(
            state=bindparam("v_state"),
            attempts=bindparam("v_attempts"),
            retry_at=bindparam("v_retry"),
            code=bindparam("v_code"),
            message=bindparam("v_message"),
            subscribed_at=func.coalesce(bindparam("v_subscribed", type_=SUB.c.subscribed_at.type), SUB.c.subscribed_at),
            updated_at=now,
        )
    )
    with engine.begin() as conn:
        conn.execute(stmt, values)
        if served:  # those the answers made active (one stopped meanwhile is polled as before)
            active = SUB.c.parcel_id.in_(served), SUB.c.state == State.active.value
            served = list(conn.execute(select(SUB.c.parcel_id).where(*active)).scalars())
        if served:
            _serve(conn, served, until=now + timedelta(hours=cfg.silent_hours))


def hold_phoneless(engine: Engine, held: Sequence[DueSubscription], *, now: datetime, cfg: SubscriptionsConfig) -> None:
    """Subscriptions the provider would refuse for want of the phone's last 4 digits (the parcel has none):
    not asked, no attempt counted; pending again after retry_minutes with PHONE_MISSING as their message."""
    from tracker.labels import PHONE_MISSING

    stmt = (
        update(SUB)
        .where(SUB.c.parcel_id.in_([sub.parcel_id for sub in held]), SUB.c.state == State.pending.value)
        .values(retry_at=now + timedelta(minutes=cfg.retry_minutes), message=PHONE_MISSING, updated_at=now)
    )
    with engine.begin() as conn:
        conn.execute(stmt)


# the statements a push group runs are built once (building one cost more than running it for a small group)
_SERVE = (
    update(PARCEL)
    .where(
        PARCEL.c.id.in_(bindparam("ids", expanding=True)),
        PARCEL.c.is_open.is_(True),
        PARCEL.c.next_poll_at.is_not(None),
    )
    .values(next_poll_at=bindparam("until", type_=PARCEL.c.next_poll_at.type))
)


def _serve(conn: Any, ids: Sequence[int], *, until: datetime) -> None:
    """Open, still polled parcels served by pushes: not due before `until` (the safety-net poll)."""
    if ids:
        conn.execute(_SERVE, {"ids": list(ids), "until": until})


async def subscribe_due(
    engine: Engine,
    settings: Settings,
    clients: Mapping[str, Any],
    *,
    now: datetime,
    limit: int | None = None,
) -> SubscribeSummary:
    """Create pending rows for new parcels, then ask each provider to push the due ones; stores the answers
    and the quota spent. `clients` maps provider -> its client (Kuaidi100Client, KdniaoClient, Track17Client)."""
    import asyncio

    from tracker.providers.registry import get

    cfg = settings.providers.subscriptions
    limit = limit or cfg.per_cycle
    summary = SubscribeSummary()
    summary.created = await asyncio.to_thread(ensure_rows, engine, settings, now=now, limit=limit)
    due = await asyncio.to_thread(select_due, engine, now=now, limit=limit)
    groups: dict[str, list[DueSubscription]] = defaultdict(list)
    held: list[DueSubscription] = []
    for sub in due:
        if sub.provider in clients and sub.courier in settings.couriers:
            if settings.couriers[sub.courier].refused_without(sub.provider, sub.phone_last4):
                held.append(sub)  # a certain refusal: not asked until an import brings the phone
            else:
                groups[sub.provider].append(sub)
    if held:
        await asyncio.to_thread(hold_phoneless, engine, held, now=now, cfg=cfg)
        summary.no_phone = len(held)

    async def run(provider: str, subs: list[DueSubscription]) -> dict[int, SubscribeAnswer]:
        subscribe = get(provider).subscribe
        assert subscribe is not None  # only push providers get subscription rows
        return await subscribe(clients[provider], subs, settings.couriers, callback_url(cfg, provider))

    results = await asyncio.gather(*(run(p, subs) for p, subs in groups.items()))
    for (provider, subs), answers in zip(groups.items(), results, strict=True):
        await asyncio.to_thread(apply_answers, engine, settings, subs, answers, now=now)
        for answer in answers.values():
            summary.outcomes[provider][answer.outcome.value] += 1
            if answer.outcome in (Outcome.retry, Outcome.refused) and len(summary.errors) < 20:
                summary.errors.append(f"{answer.waybill}: {answer.message}")
    for provider, client in clients.items():
        if hasattr(client, "spent"):
            await asyncio.to_thread(record_spent, engine, provider, client.spent, now=now, tz=settings.tz)
    if due:
        log.info("subscribed %d waybills: %s", len(due), {p: dict(c) for p, c in summary.outcomes.items()})
    return summary


# --- the shell: pushes and stops ----------------------------------------------------------------------------------


_FIND_PARCELS = (
    select(PARCEL.c.id, PARCEL.c.waybill, PARCEL.c.courier, SUB.c.state)
    .select_from(PARCEL.outerjoin(SUB, SUB.c.parcel_id == PARCEL.c.id))
    .where(PARCEL.c.waybill.in_(bindparam("numbers", expanding=True)))
)


def _find_parcels(conn: Any, named: Iterable[tuple[str, str | None]]) -> dict[str, tuple[int, str, str | None]]:
    """waybill -> (parcel id, courier, subscription state or None) for the (waybill, courier) pairs a push names;
    a lone parcel with the number matches. One read: the parcels with their subscriptions."""
    named = list(named)
    numbers = {w for w, _ in named}
    if not numbers:
        return {}
    rows = conn.execute(_FIND_PARCELS, {"numbers": list(numbers)})
    candidates: dict[str, list[tuple[int, str, str | None]]] = defaultdict(list)
    for pid, waybill, courier, state in rows:
        candidates[waybill].append((pid, courier, state))
    found = {}
    for waybill, courier in named:
        rows_for = candidates.get(waybill, [])
        exact = [row for row in rows_for if row[1] == courier]
        if exact:
            found[waybill] = exact[0]
        elif len(rows_for) == 1:
            found[waybill] = rows_for[0]
    return found


# a push heard: a pending subscription becomes active (the provider pushes), and every one was heard from now
_PENDING = SUB.c.state == State.pending.value
_NOW = bindparam("now", type_=SUB.c.last_push_at.type)
_HEARD = (
    update(SUB)
    .where(SUB.c.parcel_id.in_(bindparam("ids", expanding=True)))
    .values(
        last_push_at=_NOW,
        updated_at=_NOW,
        state=case((_PENDING, State.active.value), else_=SUB.c.state),
        subscribed_at=case((_PENDING, func.coalesce(SUB.c.subscribed_at, _NOW)), else_=SUB.c.subscribed_at),
    )
)


def record_push(
    engine: Engine, settings: Settings, provider: str, named: Iterable[tuple[str, str | None]], *, now: datetime
) -> int:
    """A push named these (waybill, courier): the subscription heard from now (a pending one, or none, becomes
    active: the provider pushes); their parcels are not due before now + silent_hours. Returns parcels found.
    Three statements for a whole group of pushes: the read, the new and heard subscriptions, the parcels."""
    cfg = settings.providers.subscriptions
    with engine.begin() as conn:
        found = _find_parcels(conn, named)
        if not found:
            return 0
        parcels = {pid: (courier, state) for pid, courier, state in found.values()}
        fresh = [
            {
                "parcel_id": pid,
                "provider": provider,
                "courier": courier,
                "state": State.active.value,
                "attempts": 0,
                "resubscribes": 0,
                "subscribed_at": now,
                "last_push_at": now,
                "updated_at": now,
            }
            for pid, (courier, state) in parcels.items()
            if state is None
        ]
        if fresh:
            conn.execute(SUB.insert(), fresh)
        heard = [pid for pid, (_, state) in parcels.items() if state is not None]
        if heard:
            conn.execute(_HEARD, {"ids": heard, "now": now})
        served = (State.active.value, State.pending.value)
        active = [pid for pid, (_, state) in parcels.items() if state is None or state in served]
        _serve(conn, active, until=now + timedelta(hours=cfg.silent_hours))
    return len(found)


def detected_courier(settings: Settings, waybill: str) -> str | None:
    """The one courier the number's pattern points at (tracker.couriers.detect), or None."""
    from tracker.couriers.detect import CourierIndex, UnknownCourier

    try:
        return CourierIndex(settings.couriers).detect(waybill).slug
    except UnknownCourier:
        return None


def courier_of_company(settings: Settings, provider: str, company: str | None) -> str | None:
    """Our courier slug for a provider's company code (Kuaidi100 comNew), or None."""
    if not company:
        return None
    for slug, cfg in settings.couriers.items():
        if getattr(cfg, provider, None) == company:
            return slug
    return None


def record_stop(
    engine: Engine,
    settings: Settings,
    provider: str,
    waybill: str,
    courier: str | None,
    stop: TrackingStop,
    *,
    corrected: str | None,
    now: datetime,
) -> StopPlan | None:
    """A provider stopped tracking the waybill: keep the stop on the subscription, then re-subscribe once with
    a corrected courier (after retry_minutes: Kuaidi100 wants 30 minutes) or make the parcel due now."""
    cfg = settings.providers.subscriptions
    with engine.begin() as conn:
        found = _find_parcels(conn, [(waybill, courier)])
        if waybill not in found:
            return None
        pid, parcel_courier, _ = found[waybill]
        row = conn.execute(select(SUB).where(SUB.c.parcel_id == pid)).mappings().first()
        current = row["courier"] if row else parcel_courier
        plan = decide_stop(
            stop,
            courier=current,
            corrected=corrected,
            detected=detected_courier(settings, waybill),
            resubscribes=row["resubscribes"] if row else 0,
            limit=cfg.resubscribe_limit,
            couriers=settings.couriers,
        )
        reason = stop.reason or "服务商停止跟踪"
        if plan.resubscribe:
            name = settings.couriers[plan.courier or ""].name
            values = {"state": State.pending.value, "provider": plan.provider, "courier": plan.courier,
                      "attempts": 0, "retry_at": now + timedelta(minutes=cfg.retry_minutes),
                      "message": f"{reason}；改按{name}重新订阅"}  # fmt: skip
        else:
            values = {"state": plan.state.value, "message": reason, "retry_at": None}
        values.update(stopped_at=now, updated_at=now, code=stop.kind[:32])
        if row:
            if plan.resubscribe:
                values["resubscribes"] = row["resubscribes"] + 1
            conn.execute(update(SUB).where(SUB.c.parcel_id == pid).values(**values))
        else:
            base = {"parcel_id": pid, "provider": provider, "courier": current, "attempts": 0, "resubscribes": 0}
            conn.execute(SUB.insert().values(**{**base, **values, "resubscribes": int(plan.resubscribe)}))
        # polled as today until pushes serve it again
        conn.execute(
            update(PARCEL)
            .where(PARCEL.c.id == pid, PARCEL.c.is_open.is_(True), PARCEL.c.next_poll_at.is_not(None))
            .values(next_poll_at=now)
        )
    log.info("%s stopped %s (%s): %s", provider, waybill, reason, "re-subscribe" if plan.resubscribe else "poll")
    return plan


# --- what people read ---------------------------------------------------------------------------------------------


def active_ids(engine: Engine, ids: Sequence[int]) -> set[int]:
    """Which of these parcels have an active subscription (the poller's schedule reads it)."""
    if not ids:
        return set()
    stmt = select(SUB.c.parcel_id).where(SUB.c.parcel_id.in_(list(ids)), SUB.c.state == State.active.value)
    with engine.connect() as conn:
        return {pid for (pid,) in conn.execute(stmt)}


def descriptions(engine: Engine, ids: Sequence[int], *, tz: tzinfo, lang: str = "zh") -> dict[int, str]:
    """parcel id -> its subscription in words, in `lang` (parcels without one: "未订阅推送（定时查询）")."""
    if not ids:
        return {}
    cols = (SUB.c.parcel_id, SUB.c.state, SUB.c.provider, SUB.c.message, SUB.c.last_push_at)
    with engine.connect() as conn:
        rows = {r[0]: r for r in conn.execute(select(*cols).where(SUB.c.parcel_id.in_(list(ids))))}
    out = {}
    for pid in ids:
        r = rows.get(pid)
        out[pid] = (
            describe(r[1], provider=r[2], message=r[3], last_push_at=r[4], tz=tz, lang=lang)
            if r
            else describe(None, provider=None, message=None, last_push_at=None, tz=tz, lang=lang)
        )
    return out


def state_counts(engine: Engine) -> dict[tuple[str, str], int]:
    """(provider, state) -> subscriptions."""
    stmt = select(SUB.c.provider, SUB.c.state, func.count()).group_by(SUB.c.provider, SUB.c.state)
    with engine.connect() as conn:
        return {(p, s): int(n) for p, s, n in conn.execute(stmt)}


def silent_active(engine: Engine, *, now: datetime, silent_hours: float) -> int:
    """Active subscriptions not heard from for silent_hours (their parcels get safety-net polls)."""
    cutoff = now - timedelta(hours=silent_hours)
    heard = func.coalesce(SUB.c.last_push_at, SUB.c.subscribed_at)
    stmt = select(func.count()).where(and_(SUB.c.state == State.active.value, heard < cutoff))
    with engine.connect() as conn:
        return int(conn.execute(stmt).scalar_one())
