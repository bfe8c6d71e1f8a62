"""The set-based SQL path and the pure per-rule functions agree on a mixed sample (both databases),
with courier and region overrides in force."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy import func, select, update

from tests.rules.sample import NOW, STATUSES, TEXTS, sample_parcels, sample_settings
from tracker.domain import TrackingEvent
from tracker.flags import evaluate_all, marks, next_action
from tracker.flags.candidates import text_regex
from tracker.flags.details import exposure_extra
from tracker.flags.rulesql import Context
from tracker.flags.text_hits import PATTERNS_KEY, fingerprint
from tracker.flags.views import load_views
from tracker.ingest import ingest
from tracker.providers.base import ParsedWaybill
from tracker.rules import RULES, evaluate_parcel, resolve_policy
from tracker.rules.actions import render
from tracker.rules.late_shipment import WITH_EXPOSURE
from tracker.rules.tmall_timers import late_shipment_exposure
from tracker.settings import ActionText, Settings
from tracker.status import FINAL_STATUSES, FlagState, TrackingStatus
from tracker.storage import rollups
from tracker.storage.tables import FLAG, PARCEL, ROLLUP_STATE, RULE_MARK


def _pure(engine, settings: Settings, ids: list[int], now: datetime) -> dict:  # type: ignore[no-untyped-def,type-arg]
    expected = {}
    for parcel_id, parcel in load_views(engine, ids).items():
        policy = resolve_policy(settings.rules, courier=parcel.courier, province=parcel.province, city=parcel.city)
        for flag in evaluate_parcel(parcel, now=now, policy=policy):
            extra = None
            if flag.action == WITH_EXPOSURE and parcel.goods_value is not None:  # filled after the evaluation
                extra = exposure_extra(
                    late_shipment_exposure(parcel.goods_value, settings.tmall.late_shipment_compensation)
                )
            zh, en = render(
                flag,
                courier=parcel.courier,
                waybill=parcel.waybill,
                actions=settings.next_actions,
                couriers=settings.couriers,
                extra=extra,
                now=now,
            )
            expected[(parcel_id, str(flag.kind))] = (str(flag.severity), flag.level, zh, en)
    return expected


def _stored(engine, settings: Settings, now: datetime = NOW) -> dict:  # type: ignore[no-untyped-def,type-arg]
    """The unresolved flags as read at `now` (their next actions rendered: tracker/flags/next_action.py)."""
    query = (
        select(FLAG, PARCEL.c.waybill)
        .join(PARCEL, PARCEL.c.id == FLAG.c.parcel_id)
        .where(FLAG.c.state != str(FlagState.resolved))
    )
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(query)]
    next_action.fill(rows, settings, now)
    return {
        (r["parcel_id"], r["kind"]): (r["severity"], r["level"], r["next_action_zh"], r["next_action_en"]) for r in rows
    }


def test_sql_evaluation_matches_the_pure_rules(db, settings) -> None:  # type: ignore[no-untyped-def]
    settings = sample_settings(settings)
    ids = sample_parcels(db, random.Random(20261123), 260)
    with db.engine.connect() as conn:  # a loss the provider reported is not final: open, and older than 168 h
        lost = PARCEL.c.status == str(TrackingStatus.lost)
        old = PARCEL.c.last_event_at <= NOW - timedelta(hours=168)
        assert conn.execute(select(func.count()).where(lost, PARCEL.c.is_open.is_(True), old)).scalar_one() > 0
    evaluate_all(db.engine, now=NOW, settings=settings)
    expected = _pure(db.engine, settings, ids, NOW)
    stored = _stored(db.engine, settings)
    assert {k: v for k, v in stored.items() if expected.get(k) != v} == {
        k: v for k, v in expected.items() if stored.get(k) != v
    }
    assert {kind for _, kind in expected} == {str(rule.kind) for rule in RULES}  # every rule fires somewhere
    texts = " ".join(v[2] or "" for v in stored.values())  # and so are the issue-16 facts and the exposure
    assert "未经买家同意代签" in texts and "买家同意" in texts and "退货称重" in texts and "天猫积分" in texts

    # a day and a half later: escalations, new flags and resolutions still match, and so do the next actions
    # read then: the hours and days of the flags opened before are counted at the reading's now
    later = NOW + timedelta(hours=36)
    evaluate_all(db.engine, now=later, settings=settings)
    again = _pure(db.engine, settings, ids, later)
    stored = _stored(db.engine, settings, later)
    assert {k: v for k, v in stored.items() if again.get(k) != v} == {
        k: v for k, v in again.items() if stored.get(k) != v
    }


def test_evaluating_some_parcels_touches_only_their_flags(db, settings) -> None:  # type: ignore[no-untyped-def]
    old = NOW - timedelta(hours=100)
    a = db.parcel(created=old, waybill="YT0000000000001", shipped_at=old)
    b = db.parcel(created=old, waybill="YT0000000000002", shipped_at=old)
    summary = evaluate_all(db.engine, now=NOW, settings=settings, parcel_ids=[a])
    assert dict(summary.opened) == {"no_first_scan": 1}
    assert set(_stored(db.engine, settings)) == {(a, "no_first_scan")}
    db.set(a, first_scan_at=NOW, last_event_at=NOW, status=str(TrackingStatus.in_transit))
    summary = evaluate_all(db.engine, now=NOW, settings=settings, parcel_ids=[b])
    assert dict(summary.opened) == {"no_first_scan": 1} and not summary.resolved
    summary = evaluate_all(db.engine, now=NOW, settings=settings, parcel_ids=[a])
    assert dict(summary.resolved) == {"no_first_scan": 1}


def test_next_action_texts_match_the_pure_fill_on_every_path(db, settings) -> None:  # type: ignore[no-untyped-def]
    """The key and number an evaluation stores, rendered when read, give the pure rules' text, also for an
    unknown courier, a brace in a courier name or a waybill, and a template with three placeholders."""
    odd = settings.couriers["sf"].model_copy(update={"name": "奇{waybill}怪", "name_en": "Odd {days}"})
    actions = dict(settings.next_actions)
    actions["stale"] = ActionText(zh="{hours}小时:{waybill}/{hours}/{courier}", en=actions["stale"].en)
    settings = settings.model_copy(update={"couriers": {**settings.couriers, "odd": odd}, "next_actions": actions})
    last = NOW - timedelta(hours=100)
    ids = [
        db.parcel(
            created=last, waybill=waybill, courier=courier, status="in_transit", first_scan_at=last, last_event_at=last
        )
        for courier, waybill in [("sf", "SF1"), ("zjs", "ZJ1"), ("yto", "YT{hours}9"), ("odd", "OD1"), ("sf", "SF{")]
    ]
    evaluate_all(db.engine, now=NOW, settings=settings)
    expected = _pure(db.engine, settings, ids, NOW)
    assert {k for k in expected if k[1] == "stale"} == {(i, "stale") for i in ids}
    assert _stored(db.engine, settings) == expected


def _text_state(engine) -> tuple[str | None, int]:  # type: ignore[no-untyped-def]
    """The kept text scan's pattern fingerprint and how many parcels are marked for it."""
    with engine.connect() as conn:
        stored = conn.execute(select(ROLLUP_STATE.c.value).where(ROLLUP_STATE.c.name == PATTERNS_KEY)).scalar()
        return stored, conn.execute(select(func.count()).select_from(RULE_MARK)).scalar_one()


def _agrees(engine, settings: Settings, ids: list[int]) -> dict:  # type: ignore[no-untyped-def,type-arg]
    """Evaluate at NOW; the stored unresolved flags equal the pure rules' (kinds and levels), which are returned."""
    evaluate_all(engine, now=NOW, settings=settings)
    expected = {k: v[:2] for k, v in _pure(engine, settings, ids, NOW).items()}
    assert {k: v[:2] for k, v in _stored(engine, settings).items()} == expected
    return expected


def test_kept_text_hits_follow_every_change_and_new_patterns(db, settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The steady evaluation matches only the parcels marked since the last one (tracker/flags/text_hits.py).
    Texts, statuses and open states changed by the ingest and by a writer that marks what it changed, and
    parcels inserted with a text, are read again; rows changed around the tracker are read again after
    `rebuild-rollups`; new patterns read every text again. Each time the evaluation agrees with the pure
    rules."""
    settings = sample_settings(settings)
    rng = random.Random(20261203)
    ids = sample_parcels(db, rng, 200)
    evaluate_all(db.engine, now=NOW, settings=settings)
    pattern = fingerprint(text_regex(Context(now=NOW, config=settings.rules)))
    assert _text_state(db.engine) == (pattern, 0)

    changed = rng.sample(ids, 80)
    for parcel_id in changed[:40]:  # a writer that marks (tests/rules/conftest.py set_parcel)
        change: dict[str, object] = {"status_text": rng.choice(TEXTS)}
        if rng.random() < 0.5:
            change["status"] = status = rng.choice(STATUSES)
            change["is_open"] = status not in FINAL_STATUSES
        db.set(parcel_id, **change)
    views = load_views(db.engine, changed[40:])
    said = [(TrackingStatus.in_transit, "【杭州】已收入"), (TrackingStatus.unknown, "快件已被收件人拒收，退回中"),
            (TrackingStatus.unknown, "该地址超区，无法派送"), (TrackingStatus.delivered, "已签收")]  # fmt: skip
    replies = []
    for parcel_id in changed[40:]:  # the ingest: a new newest event
        status, text = rng.choice(said)
        event = TrackingEvent(NOW - timedelta(minutes=rng.randrange(1, 90)), status, "", text)
        view = views[parcel_id]
        replies.append(ParsedWaybill("kuaidi100", view.waybill, None, view.courier, (event,)))
    ingest(db.engine, replies, now=NOW, source="test")
    with db.engine.begin() as conn:  # parcels that arrive with a text (no import writes one), marked
        rows = [
            {"courier": "zto", "waybill": f"78{i:012d}", "status": "in_transit", "status_text": text,
             "is_open": True, "created_at": NOW, "updated_at": NOW, "last_event_at": NOW - timedelta(hours=2)}
            for i, text in enumerate(["收件人拒收", "【杭州】已收入", "超区件"])
        ]  # fmt: skip
        new = list(conn.execute(PARCEL.insert().returning(PARCEL.c.id), rows).scalars())
    ids += new
    assert _text_state(db.engine)[1] > 3  # marked: the changed ones and the new ones
    expected = _agrees(db.engine, settings, ids)
    assert _text_state(db.engine) == (pattern, 0)
    assert (new[0], "refused") in expected and (new[2], "out_of_area") in expected

    # more parcels marked than FULL_MARKS: every text read again, the marks cleared
    monkeypatch.setattr(marks, "FULL_MARKS", 1)
    db.set(new[0], status_text="地址不详，联系不上收件人")
    db.set(new[2], status_text="【杭州】已收入")
    assert (new[0], "address_problem") in _agrees(db.engine, settings, ids)
    assert _text_state(db.engine) == (pattern, 0)
    monkeypatch.undo()

    # around the tracker: a restore's rows, then `tracker db rebuild-rollups` (every text read again)
    with db.engine.begin() as conn:
        conn.execute(update(PARCEL).where(PARCEL.c.id == new[1]).values(status_text="网点暂停派送"))
    rollups.rebuild_all(db.engine)
    assert (new[1], "stranded") in _agrees(db.engine, settings, ids)
    assert _text_state(db.engine) == (pattern, 0)

    # other patterns: "已收入" now reads as refused; every text is read again
    patterns = {**settings.rules.text_patterns, "refused": [*settings.rules.text_patterns["refused"], "已收入"]}
    settings = settings.model_copy(update={"rules": settings.rules.model_copy(update={"text_patterns": patterns})})
    with db.engine.begin() as conn:
        conn.execute(update(PARCEL).where(PARCEL.c.id == new[1]).values(status_text="【杭州】已收入"))
    assert (new[1], "refused") in _agrees(db.engine, settings, ids)
    assert _text_state(db.engine) == (fingerprint(text_regex(Context(now=NOW, config=settings.rules))), 0)
