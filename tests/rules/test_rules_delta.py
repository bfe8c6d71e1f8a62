"""The incremental evaluation guarded by a chain check (both databases).

`evaluate_all` with no `parcel_ids` reads again, when it can, only the parcels whose rule inputs changed since
the previous evaluation (marked by the database's triggers) and the ones whose time thresholds were crossed
between the previous evaluation's `now` and this one's (its mode "delta"). A varied sample of parcels goes
through a seeded chain of steps: time moves on (a minute, hours, days, and exactly onto a parcel's threshold,
both sides of the rules' `<=` and `<`), a few changes are made through the code paths a user causes (tracking
events ingested, an order file imported again, facts recorded, a person resolving or acknowledging a flag, a
plain UPDATE of parcel columns), and the incremental evaluation runs. Then a full evaluation at the same `now`
must change nothing: no flag change, and the whole flag table, every column, as the incremental one left it.
Some steps chain two incremental evaluations before the check, some evaluate the parcels an ingest changed
(mode "scope") in between, another late-shipment compensation (stored in the flags' texts) holds from one step
on, and other rule thresholds or an earlier `now` must fall back to a full evaluation. A failure names the
step, what it did, each differing flag column and the parcels concerned."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, select

from tests.rules.conftest import DB
from tests.rules.sample import FACTS, NOW, STATUSES, TEXTS, WEIGHINGS, sample_parcels, sample_settings
from tracker.domain import ParcelFacts, TrackingEvent
from tracker.flags import EvaluationSummary, evaluate_all
from tracker.flags.facts import record_fact, return_agreed
from tracker.flags.lifecycle import acknowledge, resolve
from tracker.ingest import ingest
from tracker.providers.base import ParsedWaybill
from tracker.settings import Settings, WarnEscalate
from tracker.status import FINAL_STATUSES, Direction, FactKind, FlagState, TrackingStatus
from tracker.storage import repo
from tracker.storage.tables import FLAG, PARCEL

SEED = 20261124
PARCELS = 240
STEPS = 18
COMPENSATION_STEP = 5  # from here on another late-shipment compensation (stored in the flags' texts)
CONFIG_STEP = 9  # evaluated with other thresholds (then the step's settings again, the step after): full twice
BACKWARDS_STEP = 14  # evaluated an hour before the previous evaluation: full

# The times a rule compares with `now` (tracker/flags/queries.py, candidates.py, details.py) and the offsets
# at which one of them crosses a threshold or a counted day, with sample_settings' overrides: landing exactly
# there tests both sides of each `<=` and `<`.
H, D = timedelta(hours=1), timedelta(days=1)
THRESHOLDS = {
    "shipped_at": [72 * H, 96 * H, 120 * H, 168 * H],  # no_first_scan (西藏 120/168)
    "last_event_at": [
        72 * H,
        96 * H,
        150 * H,
        168 * H,
        200 * H,
        15 * D,
    ],  # stale (ems 96/168, 拉萨 150/200), lost_suspected, watch
    "paid_at": [72 * H],  # late_shipment
    "promised_ship_by": [0 * H],
    "return_agreed_at": [2 * D, 5 * D, 10 * D, 20 * D],  # return_no_waybill, _no_movement (sf 5 d), _abandoned
    "created_at": [5 * D, 10 * D, 20 * D],  # a return parcel's case without an agreement time
    "refund_deadline": [-n * D for n in range(10)],  # the refund ladder's steps and its days left
}
# what a courier says, as the ingest reads it
SAID = [
    (TrackingStatus.picked_up, "【杭州】已揽收"),
    (TrackingStatus.in_transit, "【杭州】已收入"),
    (TrackingStatus.in_transit, "快件到达【上海转运中心】"),
    (TrackingStatus.out_for_delivery, "派送中"),
    (TrackingStatus.delivered, "已签收"),
    (TrackingStatus.unknown, "该地址超区，无法派送"),
    (TrackingStatus.unknown, "快件已被收件人拒收，退回中"),
    (TrackingStatus.unknown, "当地无网点"),
    (TrackingStatus.stranded, "网点暂停派送"),
    (TrackingStatus.available_for_pickup, "已到驿站，请取件"),
    (TrackingStatus.locker_overdue, "驿站滞留超时"),
    (TrackingStatus.lost, "快件丢失"),
    (TrackingStatus.returned, "已退回寄件人"),
]
PROVINCES = [None, "西藏自治区", "浙江省"]
CITIES = [None, "拉萨市", "杭州市"]
STAFF = "客服小王"
LEAD = "组长李"


@dataclass
class Chain:
    """The chain's state: the database, the clock, what each step did, and what the evaluations did."""

    db: DB
    settings: Settings
    rng: random.Random
    now: datetime = NOW
    log: list[str] = field(default_factory=list)
    modes: list[tuple[int, str, str]] = field(default_factory=list)  # (step, what, mode)
    changes: Counter[str] = field(default_factory=Counter)  # the incremental evaluations' changes by action
    people: Counter[str] = field(default_factory=Counter)  # the people's resolutions and acknowledgements
    serial: int = 0
    step: int = 0

    @property
    def engine(self) -> Engine:
        return self.db.engine

    def next_serial(self) -> int:
        self.serial += 1
        return self.serial

    def parcels(self) -> dict[int, dict[str, Any]]:
        with self.engine.connect() as conn:
            return {r.id: dict(r._mapping) for r in conn.execute(select(PARCEL).order_by(PARCEL.c.id))}

    def pick(self, where: Callable[[dict[str, Any]], bool] = lambda p: True) -> dict[str, Any] | None:
        found = [p for p in self.parcels().values() if where(p)]
        return self.rng.choice(found) if found else None

    def note(self, text: str) -> None:
        self.log.append(text)


def _utc(value: Any) -> Any:
    """A time as an aware UTC datetime (SQLite's may come back naive); any other value as it is."""
    return value.replace(tzinfo=UTC) if isinstance(value, datetime) and value.tzinfo is None else value


def _ago(ch: Chain, **delta: float) -> datetime:
    return ch.now - timedelta(**delta)


def _who(p: dict[str, Any]) -> str:
    return f"parcel {p['id']} ({p['direction']} {p['courier']} {p['waybill']}, order {p['order_id']})"


# --- the changes a step makes ----------------------------------------------------------------------------


def ingest_events(ch: Chain) -> None:
    """Tracking events through the ingest: a new newest event, now and then one older than the last (it
    arrives late), or a provider error with no events; sometimes then the parcels it changed evaluated alone."""
    rng = ch.rng
    parsed, names = [], []
    for _ in range(rng.choice([1, 1, 2, 3])):
        p = ch.pick(lambda p: p["is_open"] or rng.random() < 0.2)
        if p is None:
            return
        if p["direction"] == str(Direction.ret) and rng.random() < 0.2:
            error = rng.choice(["查无此单", "单号不存在", "接口超时"])
            parsed.append(ParsedWaybill("kuaidi100", p["waybill"], None, p["courier"], (), error))
            names.append(f"{_who(p)}: error {error!r}")
            continue
        status, text = rng.choice(SAID)
        at = (
            _ago(ch, minutes=rng.choice([0, 1, 30, 90]))
            if rng.random() < 0.8
            else _ago(ch, hours=rng.choice([71, 95, 100]))
        )
        parsed.append(
            ParsedWaybill("kuaidi100", p["waybill"], None, p["courier"], (TrackingEvent(at, status, "", text),))
        )
        names.append(f"{_who(p)}: {status} {text!r} at {at:%m-%d %H:%M:%S}")
    result = ingest(ch.engine, parsed, now=ch.now, source="kuaidi100")
    ch.note("ingest " + "; ".join(names) + f" -> changed {result.changed_parcel_ids}")
    if result.changed_parcel_ids and rng.random() < 0.3:  # as `tracker db` evaluates the parcels it changed
        summary = evaluate_all(ch.engine, now=ch.now, settings=ch.settings, parcel_ids=result.changed_parcel_ids)
        ch.note(f"  scope evaluation of {result.changed_parcel_ids}: {summary.rows()}")
        ch.modes.append((ch.step, "scope", summary.mode))


def _facts_of(p: dict[str, Any], **changed: Any) -> ParcelFacts:
    """The parcel as an order file names it again, with `changed` (an import keeps what a file leaves empty)."""
    named = {"direction": Direction(p["direction"]), "order_id": p["order_id"], "buyer_id": p["buyer_id"]}
    return ParcelFacts(courier=p["courier"], waybill=p["waybill"], **{**named, **changed})


def import_again(ch: Chain) -> None:
    """An order file imported again: a return parcel for a known order, a return's other buyer (a shared
    return waybill), a new order, or new shipping, payment, promise, agreement or refund times."""
    rng, now = ch.rng, ch.now
    what = rng.choice(["return", "return", "buyer", "relink", "order", "times", "times", "times"])
    if what == "return":  # a return waybill recorded for an order (its return case then has logistics)
        p = ch.pick(
            lambda p: p["direction"] == "outbound" and p["order_id"] and (p["return_agreed_at"] or rng.random() < 0.3)
        )
        if p is None:
            return
        waybill = rng.choice(["KA", "YT", "YT"]) + f"{90_000_000_000 + ch.next_serial():011d}"
        new = ParcelFacts(
            courier=rng.choice(["yto", "sf", "ems"]),
            waybill=waybill,
            direction=Direction.ret,
            order_id=p["order_id"],
            buyer_id=p["buyer_id"] or "tb_x",
            return_agreed_at=rng.choice([None, _utc(p["return_agreed_at"]), _ago(ch, days=rng.choice([1, 3, 11]))]),
            refund_deadline=rng.choice([None, now + timedelta(days=rng.choice([1, 4, 8]), hours=rng.randrange(24))]),
        )
        repo.upsert_parcels(ch.engine, [new], now=now)
        ch.note(f"import: return {new.courier} {waybill} for order {p['order_id']} of {_who(p)}")
    elif what == "buyer":  # the same return waybill named by another buyer
        p = ch.pick(lambda p: p["direction"] == "return")
        if p is None:
            return
        buyer = f"tb_{rng.choice('xyz')}{ch.next_serial()}"
        if rng.random() < 0.5:
            repo.upsert_parcels(ch.engine, [_facts_of(p, buyer_id=buyer)], now=now)
            ch.note(f"import: {_who(p)} again with buyer {buyer}")
        else:  # at another courier
            courier = "zto" if p["courier"] != "zto" else "yto"
            new = ParcelFacts(
                courier=courier, waybill=p["waybill"], direction=Direction.ret, order_id=f"R{ch.serial}", buyer_id=buyer
            )
            repo.upsert_parcels(ch.engine, [new], now=now)
            ch.note(f"import: return {courier} {p['waybill']} (as {_who(p)}) for buyer {buyer}")
    elif what == "relink":  # a return parcel named with another order, or a parcel named a return
        p = ch.pick()
        if p is None:
            return
        if p["direction"] == "return":
            other = ch.pick(lambda o: o["direction"] == "outbound" and o["return_agreed_at"] is not None)
            order = other["order_id"] if other else f"R{ch.next_serial()}"
            repo.upsert_parcels(ch.engine, [_facts_of(p, order_id=order)], now=now)
            ch.note(f"import: {_who(p)} now for order {order}")
        else:
            repo.upsert_parcels(ch.engine, [_facts_of(p, direction=Direction.ret)], now=now)
            ch.note(f"import: {_who(p)} now a return parcel")
    elif what == "order":  # a new order, paid, maybe shipped
        n = ch.next_serial()
        new = ParcelFacts(
            courier=rng.choice(["yto", "ems", "sf"]),
            waybill=f"YT9{n:012d}",
            order_id=f"N{n}",
            buyer_id="tb_n",
            province=rng.choice(PROVINCES),
            paid_at=_ago(ch, hours=rng.choice([1, 70, 72, 80])),
            shipped_at=rng.choice([None, _ago(ch, hours=rng.choice([1, 71, 95, 119]))]),
            goods_value=rng.choice([None, Decimal("899.00")]),
            return_agreed_at=rng.choice([None, None, _ago(ch, days=rng.choice([1, 2, 9]))]),
        )
        repo.upsert_parcels(ch.engine, [new], now=now)
        ch.note(f"import: new order {new.order_id} {new.courier} {new.waybill}")
    else:
        p = ch.pick()
        if p is None:
            return
        outbound = p["direction"] == "outbound"
        column = rng.choice(
            ["shipped_at", "paid_at", "promised_ship_by", "return_agreed_at", "refund_deadline"]
            if outbound
            else ["return_agreed_at", "refund_deadline"]
        )
        value = {
            "shipped_at": lambda: _ago(ch, hours=rng.choice([0, 1, 71, 72, 95, 119, 167])),
            "paid_at": lambda: _ago(ch, hours=rng.choice([1, 48, 71, 72, 100])),
            "promised_ship_by": lambda: now + timedelta(hours=rng.choice([-2, 0, 1, 5, 30])),
            "return_agreed_at": lambda: _ago(
                ch, days=rng.choice([0, 1, 2, 4, 10, 19, 21]), minutes=rng.choice([0, 1, -1])
            ),
            "refund_deadline": lambda: (
                now + timedelta(days=rng.choice([0, 1, 2, 3, 5, 6, 7, 8, 9]), hours=rng.randrange(24))
            ),
        }[column]()
        repo.upsert_parcels(ch.engine, [_facts_of(p, **{column: value})], now=now)
        ch.note(f"import: {_who(p)} {column} {_utc(p[column])} -> {value}")


def record(ch: Chain) -> None:
    """A fact recorded by a person (a return case's unanswered calls more often), or a return agreed on a
    parcel's order: its agreement time, refund deadline and ladder (express or not) set with the fact."""
    rng = ch.rng
    p = ch.pick()
    if p is None:
        return
    if rng.random() < 0.2:
        deadline = ch.now + timedelta(days=rng.choice([1, 3, 6, 8, 9]), hours=rng.randrange(24))
        agreed = _ago(ch, days=rng.choice([0, 1, 2, 9, 19]), hours=rng.choice([0, 0, 5]))
        express = rng.random() < 0.5
        fact = return_agreed(
            ch.engine,
            waybill=p["waybill"],
            courier=p["courier"],
            actor=STAFF,
            now=ch.now,
            refund_deadline=deadline,
            express=express,
            agreed_at=agreed,
        )
        ch.note(f"fact {fact}: return agreed on {_who(p)} at {agreed}, deadline {deadline}, express {express}")
        return
    case = p["direction"] == "return" or p["return_agreed_at"] is not None
    kind = FactKind.buyer_unreachable if case and rng.random() < 0.4 else rng.choice(FACTS)
    data = rng.choice(WEIGHINGS) if kind == FactKind.return_weighed else None
    fact = record_fact(
        ch.engine, waybill=p["waybill"], courier=p["courier"], kind=kind, actor=STAFF, now=ch.now, data=data
    )
    ch.note(f"fact {fact}: {kind} on {_who(p)}")


def person(ch: Chain) -> None:
    """A person resolves a flag by hand (it stays resolved while the same occurrence holds) or acknowledges it
    (an escalation opens it again)."""
    with ch.engine.connect() as conn:
        flags = conn.execute(
            select(FLAG.c.id, FLAG.c.parcel_id, FLAG.c.kind, FLAG.c.state)
            .where(FLAG.c.state != str(FlagState.resolved))
            .order_by(FLAG.c.id)
        ).all()
    if not flags:
        return
    flag = ch.rng.choice(flags)
    if flag.state == str(FlagState.open) and ch.rng.random() < 0.4:
        acknowledge(ch.engine, flag_id=flag.id, actor=LEAD, now=ch.now, note="在跟进")
        ch.people["acknowledged"] += 1
        ch.note(f"acknowledged flag {flag.id} ({flag.kind} of parcel {flag.parcel_id})")
    else:
        resolve(ch.engine, flag_id=flag.id, actor=LEAD, now=ch.now, note="已处理")
        ch.people["resolved"] += 1
        ch.note(f"resolved by hand flag {flag.id} ({flag.kind} of parcel {flag.parcel_id}, was {flag.state})")


def update_columns(ch: Chain) -> None:
    """A plain UPDATE of parcel columns (tests/rules/conftest.py DB.set): status, open state, last event,
    text, provider error, region."""
    rng = ch.rng
    p = ch.pick()
    if p is None:
        return
    change: dict[str, Any]
    what = rng.choice(["status", "status", "open", "last_event", "text", "error", "region"])
    if what == "status":
        status = rng.choice(STATUSES)
        change = {"status": status, "is_open": status not in FINAL_STATUSES}
    elif what == "open":
        change = {"is_open": not p["is_open"]}
    elif what == "last_event":
        at = _ago(ch, hours=rng.choice([0, 1, 70, 72, 96, 100, 168, 170]))
        change = {"last_event_at": at, "first_scan_at": _utc(p["first_scan_at"]) or at}
    elif what == "text":
        change = {"status_text": rng.choice(TEXTS)}
    elif what == "error":
        change = {"provider_error": rng.choice([None, "查无此单", "单号不存在", "接口超时"])}
    else:
        change = {"province": rng.choice(PROVINCES), "city": rng.choice(CITIES)}
    ch.db.set(p["id"], **change)
    was = {k: _utc(p[k]) for k in change}
    ch.note(f"update {_who(p)}: {was} -> {change}")


MUTATIONS = [ingest_events, ingest_events, import_again, import_again, record, person, update_columns, update_columns]


# --- the clock ---------------------------------------------------------------------------------------


def _crossings(ch: Chain, horizon: timedelta) -> list[tuple[datetime, str]]:
    """The moments within `horizon` after now at which a parcel's time reaches one of THRESHOLDS."""
    found = []
    for p in ch.parcels().values():
        for column, offsets in THRESHOLDS.items():
            at = _utc(p[column])
            if at is None or (column == "created_at" and p["direction"] != "return"):
                continue
            for offset in offsets:
                if ch.now < at + offset <= ch.now + horizon:
                    found.append((at + offset, f"{column} {_span(offset)} of {_who(p)}"))
    return sorted(found)


def _span(offset: timedelta) -> str:
    hours = offset / timedelta(hours=1)
    return f"{hours:+.0f} h" if hours % 24 else f"{hours / 24:+.0f} d"


def advance(ch: Chain) -> None:
    """Move the clock: onto a threshold (a third of the time), else by a minute, hours, about a day or three
    days (sometimes not at all)."""
    rng = ch.rng
    if rng.random() < 0.35:
        crossings = _crossings(ch, timedelta(days=3))
        if crossings:
            ch.now, why = rng.choice(crossings)
            ch.note(f"now {ch.now:%m-%d %H:%M:%S.%f}: exactly {why}")
            return
    step = rng.choice(
        [
            timedelta(0),
            timedelta(minutes=1),
            timedelta(hours=rng.randint(2, 7), minutes=rng.randrange(60)),
            timedelta(days=1, minutes=rng.randint(-30, 30)),
            timedelta(days=1),
            timedelta(days=3, hours=rng.randint(-3, 3)),
        ]
    )
    ch.now += step
    ch.note(f"now {ch.now:%m-%d %H:%M:%S.%f}: +{step}")


# --- the flag table and its differences ----------------------------------------------------------------


def flag_table(engine: Engine) -> dict[tuple[int, str], dict[str, Any]]:
    """Every flag, every column, by (parcel, kind)."""
    with engine.connect() as conn:
        rows = conn.execute(select(FLAG).order_by(FLAG.c.parcel_id, FLAG.c.kind)).all()
    return {(r.parcel_id, r.kind): {k: _utc(v) for k, v in r._mapping.items()} for r in rows}


SHOWN_LINES = 40  # differing columns shown at most
PARCEL_SHOWN = (
    "courier", "waybill", "direction", "order_id", "province", "city", "status", "status_text", "is_open",
    "first_scan_at", "last_event_at", "shipped_at", "paid_at", "promised_ship_by", "return_agreed_at",
    "refund_deadline", "refund_express", "provider_error", "created_at",
)  # fmt: skip


def differences(
    ch: Chain, delta: dict[tuple[int, str], dict[str, Any]], full: dict[tuple[int, str], dict[str, Any]]
) -> str:
    """What the full evaluation changed in the table the incremental one left, readable: each flag's differing
    columns, then the parcels concerned."""
    lines, parcels = [], set()
    for key in sorted(delta.keys() | full.keys()):
        a, b = delta.get(key), full.get(key)
        if a == b:
            continue
        parcels.add(key[0])
        if a is None or b is None:
            lines.append(f"  parcel {key[0]} {key[1]}: after the delta evaluation {a}; after the full one {b}")
            continue
        for column in a:
            if a[column] != b[column]:
                lines.append(
                    f"  parcel {key[0]} {key[1]} (flag {a['id']}, {a['state']}) {column}: delta {a[column]!r}, full {b[column]!r}"
                )
    if len(lines) > SHOWN_LINES:
        lines[SHOWN_LINES:] = [f"  ... and {len(lines) - SHOWN_LINES} more"]
    rows = ch.parcels()
    shown = [
        f"  parcel {pid}: " + ", ".join(f"{c}={_utc(rows[pid][c])!s}" for c in PARCEL_SHOWN)
        for pid in sorted(parcels)[:SHOWN_LINES]
    ]
    return "\n".join(["flags the full evaluation changed:", *lines, "their parcels:", *shown])


# --- the chain ---------------------------------------------------------------------------------------


def _count(ch: Chain, summary: EvaluationSummary) -> None:
    for action in ("opened", "reopened", "escalated", "resolved"):
        ch.changes[action] += sum(getattr(summary, action).values())


def other_compensation(settings: Settings) -> Settings:
    compensation = settings.tmall.late_shipment_compensation.model_copy(update={"percent": Decimal("40")})
    tmall = settings.tmall.model_copy(update={"late_shipment_compensation": compensation})
    return settings.model_copy(update={"tmall": tmall})


def other_thresholds(settings: Settings) -> Settings:
    rules = settings.rules.model_copy(update={"stale": WarnEscalate(warn_hours=70, escalate_hours=90)})
    return settings.model_copy(update={"rules": rules})


def test_incremental_evaluation_agrees_with_a_full_one(db: DB, settings: Settings) -> None:
    rng = random.Random(SEED)
    settings = sample_settings(settings)
    sample_parcels(db, rng, PARCELS)
    ch = Chain(db=db, settings=settings, rng=rng)
    first = evaluate_all(db.engine, now=ch.now, settings=settings)
    assert first.mode == "full" and first.changes > 0  # nothing evaluated before: every parcel
    history: list[str] = []
    for step in range(STEPS):
        ch.step, ch.log = step, [f"step {step}:"]
        if step == COMPENSATION_STEP:  # what the evaluation writes changes, not what the rules raise
            settings = other_compensation(settings)
        ch.settings = step_settings = other_thresholds(settings) if step == CONFIG_STEP else settings
        expected = {"full"} if step in (CONFIG_STEP, CONFIG_STEP + 1, BACKWARDS_STEP) else {"delta"}
        if step == COMPENSATION_STEP:
            expected = {"delta", "full"}
        rounds = 2 if expected == {"delta"} and rng.random() < 0.3 else 1  # two incremental evaluations, one check
        for _ in range(rounds):
            if step == BACKWARDS_STEP:
                ch.now -= timedelta(hours=1)
                ch.note(f"now {ch.now:%m-%d %H:%M:%S.%f}: an hour before the previous evaluation")
            else:
                advance(ch)
            for mutate in rng.sample(MUTATIONS, rng.randint(2, 5)):
                mutate(ch)
            summary = evaluate_all(db.engine, now=ch.now, settings=step_settings)
            ch.modes.append((step, "chain", summary.mode))
            ch.note(f"  evaluation ({summary.mode}): {summary.rows()}")
            if summary.mode == "delta":
                _count(ch, summary)
            assert summary.mode in expected, "\n".join([*history[-2:], *ch.log])
        kept = flag_table(db.engine)
        check = evaluate_all(db.engine, now=ch.now, settings=step_settings, full=True)
        assert check.mode == "full"
        found = flag_table(db.engine)
        context = "\n".join([*history[-1:], *ch.log, f"full evaluation's changes: {check.rows()}"])
        assert check.changes == 0 and found == kept, context + "\n" + differences(ch, kept, found)
        history.append("\n".join(ch.log))
    # the chain did something: each kind of change happened in the incremental evaluations, people acted, the
    # incremental mode carried most evaluations, and an evaluation of some parcels was one of them alone
    assert all(ch.changes[a] > 0 for a in ("opened", "reopened", "escalated", "resolved")), ch.changes
    assert ch.people["resolved"] > 0 and ch.people["acknowledged"] > 0, ch.people
    modes = Counter(mode for _, what, mode in ch.modes if what == "chain")
    assert modes["delta"] >= 0.75 * sum(modes.values()), ch.modes
    scopes = [mode for _, what, mode in ch.modes if what == "scope"]
    assert scopes and set(scopes) == {"scope"}, ch.modes
