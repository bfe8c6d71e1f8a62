"""Every time threshold, the exact second on both sides of it (超过 strict, 以上/后/内 inclusive, as
docs/domain.md words them), and past escalation: the pure rule and the SQL
path (evaluate_all on a real SQLite file) give the same answer."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from tracker.flags import evaluate_all
from tracker.rules import RULES, Fact
from tracker.status import Direction, FactKind, FlagKind, TrackingStatus
from tracker.storage.tables import FLAG

NOW = datetime.fromisoformat("2026-11-23T04:00:00+00:00")
H, D, M, S = timedelta(hours=1), timedelta(days=1), timedelta(minutes=1), timedelta(seconds=1)
K = FlagKind
SCANNED = {"status": TrackingStatus.in_transit}


def scanned(at: datetime, **kw: Any) -> dict[str, Any]:
    return {"first_scan_at": at - 10 * H, "last_event_at": at, **SCANNED, **kw}


def agreed(at: datetime, **kw: Any) -> dict[str, Any]:
    return {"return_agreed_at": at, "status": TrackingStatus.delivered, "is_open": False, **kw}


def ret(**kw: Any) -> dict[str, Any]:
    return {"direction": Direction.ret, "waybill": "YT9000000000001", **kw}


# (case id, kind, parcel columns, unreachable attempts, expected (severity, level) or None)
CASES: list[tuple[str, FlagKind, dict[str, Any], int, tuple[str, int] | None]] = [
    ("no_first_scan 72h-1s", K.no_first_scan, {"shipped_at": NOW - 72 * H + S}, 0, None),
    ("no_first_scan 72h", K.no_first_scan, {"shipped_at": NOW - 72 * H}, 0, ("warn", 0)),
    ("no_first_scan 96h-1s", K.no_first_scan, {"shipped_at": NOW - 96 * H + S}, 0, ("warn", 0)),
    ("no_first_scan 96h", K.no_first_scan, {"shipped_at": NOW - 96 * H}, 0, ("escalate", 1)),
    ("no_first_scan 200h", K.no_first_scan, {"shipped_at": NOW - 200 * H}, 0, ("escalate", 1)),
    ("no_first_scan closed", K.no_first_scan, {"shipped_at": NOW - 200 * H, "is_open": False}, 0, None),
    ("stale 72h-1s", K.stale, scanned(NOW - 72 * H + S), 0, None),
    ("stale 96h-1s", K.stale, scanned(NOW - 96 * H + S), 0, ("warn", 0)),
    ("stale 72h", K.stale, scanned(NOW - 72 * H), 0, ("warn", 0)),
    ("stale 96h", K.stale, scanned(NOW - 96 * H), 0, ("escalate", 1)),
    ("stale on the return leg", K.stale, ret(**scanned(NOW - 80 * H, status=TrackingStatus.returning)), 0, ("warn", 0)),
    ("stale not when delivered", K.stale, scanned(NOW - 200 * H, status=TrackingStatus.delivered), 0, None),
    ("lost_suspected 168h-1s", K.lost_suspected, scanned(NOW - 168 * H + S), 0, None),
    ("lost_suspected 168h", K.lost_suspected, scanned(NOW - 168 * H), 0, ("escalate", 0)),
    (
        "lost_suspected provider says lost",
        K.lost_suspected,
        scanned(NOW - 5 * H, status=TrackingStatus.lost, is_open=False),
        0,
        ("escalate", 0),
    ),
    ("late_shipment 72h-1s", K.late_shipment, {"paid_at": NOW - 72 * H + S}, 0, None),
    ("late_shipment 72h", K.late_shipment, {"paid_at": NOW - 72 * H}, 0, ("warn", 0)),
    (
        "late_shipment promise not yet",
        K.late_shipment,
        {"paid_at": NOW - 100 * H, "promised_ship_by": NOW + S},
        0,
        None,
    ),
    # 000 "超过官方规定的发货时间": the promised second itself is on time, the next one late
    (
        "late_shipment at the promise",
        K.late_shipment,
        {"paid_at": NOW - 10 * H, "promised_ship_by": NOW},
        0,
        None,
    ),
    (
        "late_shipment promise passed",
        K.late_shipment,
        {"paid_at": NOW - 10 * H, "promised_ship_by": NOW - S},
        0,
        ("warn", 0),
    ),
    # 001 (七) "交易成功后15天内": a closed parcel stays watched up to and including 15 x 24 h after its last event
    (
        "watch: refused, closed exactly 15d ago",
        K.refused,
        {"status": TrackingStatus.refused, "is_open": False, "last_event_at": NOW - 15 * D},
        0,
        ("warn", 0),
    ),
    (
        "watch: refused, closed 15d+1s ago",
        K.refused,
        {"status": TrackingStatus.refused, "is_open": False, "last_event_at": NOW - 15 * D - S},
        0,
        None,
    ),
    ("late_shipment shipped", K.late_shipment, {"paid_at": NOW - 100 * H, "shipped_at": NOW - H}, 0, None),
    ("return_no_waybill 2d-1s", K.return_no_waybill, agreed(NOW - 2 * D + S), 0, None),
    ("return_no_waybill exactly 2d (超过: not yet)", K.return_no_waybill, agreed(NOW - 2 * D), 0, None),
    ("return_no_waybill 2d+1s", K.return_no_waybill, agreed(NOW - 2 * D - S), 0, ("warn", 0)),
    (
        "return_no_movement exactly 10d (超过: not yet)",
        K.return_no_movement,
        ret(return_agreed_at=NOW - 10 * D),
        0,
        None,
    ),
    ("return_no_movement 10d+1s", K.return_no_movement, ret(return_agreed_at=NOW - 10 * D - S), 0, ("warn", 0)),
    (
        "return_no_movement scanned",
        K.return_no_movement,
        ret(return_agreed_at=NOW - 12 * D, **scanned(NOW - H)),
        0,
        None,
    ),
    ("return_abandoned 20d-1s", K.return_abandoned, agreed(NOW - 20 * D + S), 2, None),
    ("return_abandoned 20d", K.return_abandoned, agreed(NOW - 20 * D), 2, ("escalate", 0)),
    ("return_abandoned one attempt", K.return_abandoned, agreed(NOW - 25 * D), 1, None),
    ("return_abandoned return parcel", K.return_abandoned, ret(return_agreed_at=NOW - 21 * D), 3, ("escalate", 0)),
    ("ordinary ladder 9d left", K.refund_deadline, agreed(NOW - D, refund_deadline=NOW + 9 * D), 0, None),
    ("ordinary ladder 8d left", K.refund_deadline, agreed(NOW - D, refund_deadline=NOW + 9 * D - S), 0, ("warn", 0)),
    ("ordinary ladder 7d left", K.refund_deadline, agreed(NOW - D, refund_deadline=NOW + 7 * D), 0, ("warn", 0)),
    (
        "ordinary ladder 6d left",
        K.refund_deadline,
        agreed(NOW - D, refund_deadline=NOW + 7 * D - S),
        0,
        ("escalate", 1),
    ),
    ("ordinary ladder past deadline", K.refund_deadline, agreed(NOW - D, refund_deadline=NOW - D), 0, ("escalate", 1)),
    (
        "express ladder 9d left",
        K.refund_deadline,
        agreed(NOW - D, refund_deadline=NOW + 9 * D, refund_express=True),
        0,
        None,
    ),
    (
        "express ladder 8d left",
        K.refund_deadline,
        agreed(NOW - D, refund_deadline=NOW + 9 * D - S, refund_express=True),
        0,
        ("warn", 0),
    ),
    (
        "express ladder 7d left",
        K.refund_deadline,
        agreed(NOW - D, refund_deadline=NOW + 7 * D, refund_express=True),
        0,
        ("warn", 0),
    ),
    (
        "express ladder 6d left",
        K.refund_deadline,
        agreed(NOW - D, refund_deadline=NOW + 7 * D - M, refund_express=True),
        0,
        ("escalate", 1),
    ),
    (
        "express ladder 4d left",
        K.refund_deadline,
        agreed(NOW - D, refund_deadline=NOW + 4 * D, refund_express=True),
        0,
        ("escalate", 1),
    ),
    (
        "express ladder 3d left",
        K.refund_deadline,
        agreed(NOW - D, refund_deadline=NOW + 4 * D - S, refund_express=True),
        0,
        ("escalate", 2),
    ),
    (
        "express ladder 2d left",
        K.refund_deadline,
        agreed(NOW - D, refund_deadline=NOW + 2 * D, refund_express=True),
        0,
        ("escalate", 2),
    ),
    (
        "express ladder 1d left",
        K.refund_deadline,
        agreed(NOW - D, refund_deadline=NOW + 2 * D - S, refund_express=True),
        0,
        ("escalate", 3),
    ),
    (
        "ladder stops once the return moves",
        K.refund_deadline,
        ret(return_agreed_at=NOW - D, refund_deadline=NOW + 2 * D, **scanned(NOW - H)),
        0,
        None,
    ),
]

RULE = {rule.kind: rule.evaluate for rule in RULES}


@pytest.mark.parametrize(("kind", "cols", "attempts", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_pure_rule_fires_at_its_threshold(view, policy, kind, cols, attempts, expected) -> None:  # type: ignore[no-untyped-def]
    facts = tuple(Fact(i + 1, FactKind.buyer_unreachable, NOW - H) for i in range(attempts))
    flag = RULE[kind](view(**cols, facts=facts), now=NOW, policy=policy)
    assert (None if flag is None else (str(flag.severity), flag.level)) == expected


@pytest.mark.parametrize(("kind", "cols", "attempts", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_sql_rule_fires_at_its_threshold(sqlite_db, settings, kind, cols, attempts, expected) -> None:  # type: ignore[no-untyped-def]
    cols = {"waybill": "YT1234567890123", **cols}
    parcel_id = sqlite_db.parcel(created=NOW - 30 * D, **{k: str(v) if k == "status" else v for k, v in cols.items()})
    for _ in range(attempts):
        sqlite_db.fact(parcel_id, FactKind.buyer_unreachable, NOW - H)
    evaluate_all(sqlite_db.engine, now=NOW, settings=settings)
    with sqlite_db.engine.connect() as conn:
        row = conn.execute(
            select(FLAG.c.severity, FLAG.c.level).where(FLAG.c.parcel_id == parcel_id, FLAG.c.kind == str(kind))
        ).first()
    assert (None if row is None else (row.severity, row.level)) == expected
