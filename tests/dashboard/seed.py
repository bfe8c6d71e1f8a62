"""A small seeded database for the board tests: parcels through repo.upsert_parcels, then Core inserts
into tracking_event / flag / claim / alert / audit_log, all relative to `now`."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, select, update

from tracker.domain import ParcelFacts
from tracker.storage import rollups
from tracker.storage.repo import upsert_parcels
from tracker.storage.rows import AlertRow, AuditRow, ClaimRow, FlagRow, ParcelRow, TrackingEventRow

PARCEL, FLAG, CLAIM = ParcelRow.__table__, FlagRow.__table__, ClaimRow.__table__
ALERT, AUDIT, EVENT = AlertRow.__table__, AuditRow.__table__, TrackingEventRow.__table__


def seed(engine: Engine, now: datetime) -> dict[str, Any]:
    """Four parcels: SF1001 stale (flag open, draft claim closing in 2 days), ZTO2002 refused (flag
    escalated, assigned), YTO3003 delivered, SF1004 no first scan (flag open). Returns ids by waybill."""
    h = lambda n: now - timedelta(hours=n)  # noqa: E731
    parcels = [
        ParcelFacts(
            courier="sf",
            waybill="SF1001",
            order_id="O-1001",
            shop="旗舰店",
            province="浙江省",
            goods_value=Decimal("199.00"),
            shipped_at=h(100),
        ),
        ParcelFacts(
            courier="zto",
            waybill="ZTO2002",
            order_id="O-2002",
            shop="旗舰店",
            province="广东省",
            goods_value=Decimal("59.90"),
            shipped_at=h(60),
        ),
        ParcelFacts(
            courier="yto",
            waybill="YTO3003",
            order_id="O-3003",
            shop="专营店",
            province="江苏省",
            goods_value=Decimal("88.00"),
            shipped_at=h(70),
        ),
        ParcelFacts(
            courier="sf",
            waybill="SF1004",
            order_id="O-1004",
            shop="专营店",
            province="浙江省",
            goods_value=Decimal("35.00"),
            shipped_at=h(80),
        ),
    ]
    upsert_parcels(engine, parcels, now=h(120))
    with engine.begin() as conn:
        ids = {w: i for i, w in conn.execute(select(PARCEL.c.id, PARCEL.c.waybill))}
        snap = {
            "SF1001": dict(
                status="in_transit", status_text="【杭州转运中心】已发出", first_scan_at=h(98), last_event_at=h(90)
            ),
            "ZTO2002": dict(status="refused", status_text="收件人拒收", first_scan_at=h(58), last_event_at=h(5)),
            "YTO3003": dict(
                status="delivered",
                status_text="已签收",
                first_scan_at=h(68),
                last_event_at=h(20),
                delivered_at=h(20),
                is_open=False,
            ),
            "SF1004": dict(status="pending", first_scan_at=None, last_event_at=None),
        }
        for waybill, values in snap.items():
            conn.execute(update(PARCEL).where(PARCEL.c.id == ids[waybill]).values(**values))
        events = [
            ("SF1001", h(98), "picked_up", "【杭州】快件已揽收"),
            ("SF1001", h(90), "in_transit", "【杭州转运中心】已发出"),
            ("ZTO2002", h(58), "picked_up", "【广州】已揽收"),
            ("ZTO2002", h(5), "refused", "收件人拒收"),
            ("YTO3003", h(68), "picked_up", "【南京】已揽收"),
            ("YTO3003", h(20), "delivered", "已签收"),
        ]
        conn.execute(
            EVENT.insert(),
            [
                dict(
                    parcel_id=ids[w],
                    event_time=t,
                    status=s,
                    raw_code="",
                    text=x,
                    text_hash=hashlib.sha1(x.encode()).hexdigest()[:16],
                    source="kuaidi100",
                    ingested_at=now,
                )
                for w, t, s, x in events
            ],
        )
        flags = [
            dict(
                parcel_id=ids["SF1001"],
                courier="sf",
                kind="stale",
                severity="warn",
                state="open",
                opened_at=h(18),
                next_action_zh="物流已90小时未更新:电话咨询快递网点",
                next_action_en="No update for 90 h: phone the outlet",
            ),
            dict(
                parcel_id=ids["ZTO2002"],
                courier="zto",
                kind="refused",
                severity="escalate",
                state="acknowledged",
                opened_at=h(5),
                assignee="王芳",
                next_action_zh="联系买家确认拒收原因",
                next_action_en="Ask the buyer why",
            ),
            dict(
                parcel_id=ids["SF1004"],
                courier="sf",
                kind="no_first_scan",
                severity="warn",
                state="open",
                opened_at=h(8),
                next_action_zh="到顺丰官网查询",
                next_action_en="Look it up on the SF site",
            ),
        ]
        for flag in flags:
            conn.execute(FLAG.insert(), flag)
        rollups.rebuild(conn)  # flags written straight: their copy of the parcel's last update (as the rules do)
        flag_ids = {k: i for i, k in conn.execute(select(FLAG.c.id, FLAG.c.kind))}
        conn.execute(
            CLAIM.insert(),
            [
                dict(
                    parcel_id=ids["SF1001"],
                    courier="sf",
                    claim_type="loss",
                    state="draft",
                    amount=Decimal("199.00"),
                    formula="货值 199.00",
                    table_version="test",
                    filing_opens_at=h(10),
                    filing_closes_at=now + timedelta(days=2),
                    reference_no=None,
                    filed_at=None,
                    created_at=h(10),
                    updated_at=h(10),
                ),
                dict(
                    parcel_id=ids["YTO3003"],
                    courier="yto",
                    claim_type="damage",
                    state="filed",
                    amount=Decimal("88.00"),
                    formula="货值 88.00",
                    table_version="test",
                    filing_opens_at=h(20),
                    filing_closes_at=now + timedelta(days=10),
                    reference_no="YT-REF-1",
                    filed_at=h(15),
                    created_at=h(20),
                    updated_at=h(15),
                ),
            ],
        )
        claim_ids = {w: i for i, w in conn.execute(select(CLAIM.c.id, CLAIM.c.claim_type))}
        conn.execute(
            ALERT.insert(),
            [
                dict(
                    flag_id=flag_ids["refused"],
                    parcel_id=ids["ZTO2002"],
                    dedupe_key="refused:1",
                    channel="dingtalk",
                    recipient="客服组",
                    level="escalate",
                    subject="[拒收] ZTO2002",
                    state="sent",
                    attempts=1,
                    sent_at=h(1),
                    error=None,
                    created_at=h(1),
                ),
                dict(
                    flag_id=flag_ids["stale"],
                    parcel_id=ids["SF1001"],
                    dedupe_key="stale:1",
                    channel="email",
                    recipient="lead@example.com",
                    level="warn",
                    subject="[物流不更新] SF1001",
                    state="failed",
                    attempts=3,
                    error="SMTP 550 mailbox unavailable",
                    sent_at=None,
                    created_at=h(2),
                ),
            ],
        )
        conn.execute(
            AUDIT.insert(),
            [
                dict(
                    at=h(18),
                    actor="rules",
                    action="flag.open",
                    entity="flag",
                    entity_id=flag_ids["stale"],
                    detail={"kind": "stale"},
                )
            ],
        )
    return {"parcels": ids, "flags": flag_ids, "claims": claim_ids}


def seed_ageing(engine: Engine, now: datetime) -> dict[str, int]:
    """More parcels for the overview's counts: EMS and ZTO parcels in every ageing bucket (one on a bucket's
    edge, one never scanned), some with two open flags, one whose only flag is resolved, and a draft claim
    whose filing window closed yesterday. Returns parcel ids by waybill."""
    h = lambda n: now - timedelta(hours=n)  # noqa: E731
    # waybill, courier, hours since the last event (None: no event, shipped 30 h ago), open flag kinds, resolved
    plan = [
        ("EMS01", "ems", 10, ["stale"], []),
        ("EMS02", "ems", 30, ["stale", "address_problem"], []),
        ("EMS03", "ems", 48, ["stale"], []),  # exactly on the 48 h edge: in 48–72
        ("EMS04", "ems", 80, ["stale", "lost_suspected"], []),
        ("EMS05", "ems", 120, ["stale"], []),
        ("EMS06", "ems", 200, ["lost_suspected", "stranded"], []),
        ("EMS07", "ems", 12, [], ["stale"]),
        ("EMS08", "ems", 5, [], []),
        ("ZTO11", "zto", 100, ["stale"], []),
        ("ZTO12", "zto", 170, ["stale", "refused"], []),
        ("ZTO13", "zto", None, ["no_first_scan"], []),
    ]
    facts = [
        ParcelFacts(
            courier=c,
            waybill=w,
            order_id=f"O-{w}",
            shop="旗舰店",
            province="湖北省",
            goods_value=Decimal("50.00"),
            shipped_at=h(30 if age is None else age + 2),
        )
        for w, c, age, _, _ in plan
    ]
    upsert_parcels(engine, facts, now=h(300))
    with engine.begin() as conn:
        ids = {w: i for i, w in conn.execute(select(PARCEL.c.id, PARCEL.c.waybill))}
        for w, _, age, _, _ in plan:
            status = "in_transit" if age is not None else "pending"
            values = dict(
                status=status,
                last_event_at=h(age) if age is not None else None,
                first_scan_at=h(age) if age is not None else None,
            )
            conn.execute(update(PARCEL).where(PARCEL.c.id == ids[w]).values(**values))
        flags = [
            dict(
                parcel_id=ids[w],
                courier=c,
                kind=k,
                severity="warn",
                state=state,
                opened_at=h(1),
                next_action_zh="核实",
                next_action_en="Check",
            )
            for w, c, _, kinds, resolved in plan
            for k, state in [*((k, "open") for k in kinds), *((k, "resolved") for k in resolved)]
        ]
        conn.execute(FLAG.insert(), flags)
        rollups.rebuild(conn)
        conn.execute(
            CLAIM.insert(),
            [
                dict(
                    parcel_id=ids["EMS06"],
                    courier="ems",
                    claim_type="loss",
                    state="draft",
                    amount=Decimal("50.00"),
                    formula="货值 50.00",
                    table_version="test",
                    filing_opens_at=h(200),
                    filing_closes_at=now - timedelta(days=1),
                    created_at=h(100),
                    updated_at=h(100),
                ),
            ],
        )
    return ids


# a claim row to seed: waybill, courier, claim type, state, amount, paid amount, filing window closes in days
# (None: no window), and when it was filed (optional)
ClaimSeed = tuple[Any, ...]


def seed_claims(engine: Engine, now: datetime, rows: list[ClaimSeed]) -> None:
    """Claims on already seeded parcels (by waybill); a filed, paid or rejected claim has a reference number."""
    with engine.connect() as conn:
        parcels = dict(conn.execute(select(PARCEL.c.waybill, PARCEL.c.id)).all())
    with engine.begin() as conn:
        for waybill, courier, ctype, state, amount, paid, closes, *filed in rows:
            conn.execute(
                CLAIM.insert(),
                dict(
                    parcel_id=parcels[waybill],
                    courier=courier,
                    claim_type=ctype,
                    state=state,
                    amount=Decimal(amount) if amount else None,
                    paid_amount=Decimal(paid) if paid else None,
                    currency="CNY",
                    formula="",
                    table_version="test",
                    created_at=now,
                    updated_at=now,
                    filing_closes_at=now + timedelta(days=closes) if closes is not None else None,
                    reference_no=f"REF-{waybill}" if state in ("filed", "paid", "rejected") else None,
                    filed_at=filed[0] if filed else None,
                ),
            )
