"""A varied sample of parcels for the rule tests that compare whole evaluations (tests/rules/
test_rules_sql_agrees.py: the SQL path against the pure rules; test_rules_delta.py: the incremental
evaluation against a full one): every status, outbound and return parcels, times on both sides of the rules'
thresholds as of NOW, facts, return cases, and settings with courier and region overrides."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from tracker.settings import RuleOverride, Settings, WarnEscalate
from tracker.status import FINAL_STATUSES, FactKind

NOW = datetime.fromisoformat("2026-11-23T04:00:00+00:00")
HOURS = [1, 47, 48, 71, 72, 95, 96, 120, 167, 168, 200, 24 * 9, 24 * 11, 24 * 21]
# return cases' ages in days, on both sides of returns.no_waybill_days, no_movement_days and abandoned_days
DAYS = [1, 2, 3, 9, 10, 11, 19, 20, 21, 30]
STATUSES = [
    "pending",
    "in_transit",
    "in_transit",
    "delivered",
    "out_of_area",
    "returning",
    "returned",
    "refused",
    "lost",
    "stranded",
    "damaged",
    "unreachable",
    "locker_overdue",
    "address_problem",
]
TEXTS = [None, "【杭州】已收入", "超区件", "收件人拒收", "当地无网点", "网点暂停派送", "地址不详", "已退回"]
FACTS = [FactKind.loss_confirmed, FactKind.not_received, FactKind.buyer_unreachable, FactKind.return_short,
         FactKind.waybill_invalid, FactKind.buyer_reached, FactKind.signed_without_consent,
         FactKind.signed_with_consent, FactKind.return_weighed, FactKind.buyer_unreachable]  # fmt: skip
# a return's weighing (grams): lighter than shipped by less than, exactly, and more than the tolerance
WEIGHINGS = [{"shipped_g": 1000, "returned_g": g} for g in (990, 950, 949, 400)]


def sample_settings(settings: Settings) -> Settings:
    """The project's settings with courier and region overrides in force (stale, no_first_scan, returns)."""
    overrides = [
        RuleOverride(courier="ems", stale=WarnEscalate(warn_hours=96, escalate_hours=168)),
        RuleOverride(province="西藏", no_first_scan=WarnEscalate(warn_hours=120, escalate_hours=168)),
        # a municipality named as the full name, stored by its short name (tracker.regions.region_prefix)
        RuleOverride(province="上海市", stale=WarnEscalate(warn_hours=60, escalate_hours=100)),
        # a city named with its 市, stored with or without it (a file's own 城市 column): region_prefix
        RuleOverride(courier="ems", city="拉萨市", stale=WarnEscalate(warn_hours=150, escalate_hours=200)),
        RuleOverride(courier="sf", returns=settings.rules.returns.model_copy(update={"no_movement_days": 5})),
    ]
    return settings.model_copy(update={"rules": settings.rules.model_copy(update={"overrides": overrides})})


def sample_parcels(db, rng: random.Random, n: int) -> list[int]:  # type: ignore[no-untyped-def]
    """About `n` parcels put into `db` (tests/rules/conftest.py DB), outbound and return, in every status, with
    times on both sides of the rules' thresholds as of NOW, some facts and return cases; their ids."""
    ids = []
    for i in range(n):
        h = lambda: NOW - timedelta(hours=rng.choice(HOURS), minutes=rng.choice([0, 0, 1, -1]))  # noqa: E731
        d = lambda: NOW - timedelta(days=rng.choice(DAYS), minutes=rng.choice([0, 0, 1, -1]))  # noqa: E731
        is_return = rng.random() < 0.3
        status = rng.choice(STATUSES)
        scanned = status != "pending" and rng.random() < 0.85
        last = h() if scanned else None
        cols: dict[str, Any] = {
            "courier": rng.choice(["yto", "ems", "sf", "zto"]),
            "province": rng.choice([None, "西藏自治区", "浙江省", "上海"]),
            "city": rng.choice([None, "拉萨市", "拉萨", "杭州市"]),
            "status": status,
            "status_text": rng.choice(TEXTS),
            "is_open": status not in FINAL_STATUSES if rng.random() < 0.9 else status in FINAL_STATUSES,
            "first_scan_at": last - timedelta(hours=5) if last else None,
            "last_event_at": last,
            "order_id": f"O{rng.randrange(n // 2)}",
            "buyer_id": rng.choice(["tb_a", "tb_b", "tb_c", None]),
        }
        if is_return:
            cols.update(
                direction="return",
                waybill=rng.choice(["KA", "YT", "YT"]) + f"{rng.randrange(40):011d}",
                return_agreed_at=rng.choice([None, h(), d()]),
                provider_error=rng.choice([None, None, "查无此单"]),
            )
        else:
            cols.update(
                waybill=f"YT{i:013d}",
                shipped_at=rng.choice([None, h(), h()]),
                paid_at=rng.choice([None, h()]),
                goods_value=rng.choice([None, Decimal("899.00"), Decimal("1899.00")]),
                promised_ship_by=rng.choice([None, None, NOW - timedelta(minutes=1), NOW + timedelta(hours=1)]),
                return_agreed_at=rng.choice([None, None, h(), d()]),
            )
        if cols.get("return_agreed_at") or is_return:
            cols["refund_deadline"] = rng.choice([None, NOW + timedelta(days=rng.choice([0, 1, 2, 3, 5, 6, 7, 8, 9]))])
            cols["refund_express"] = rng.random() < 0.5
        waybill, courier = cols.pop("waybill"), cols.pop("courier")
        try:
            parcel_id = db.parcel(
                created=NOW - timedelta(days=rng.choice([3, 12])), waybill=waybill, courier=courier, **cols
            )
        except Exception:  # a repeated (waybill, courier) of the random return waybills: updated, fine
            continue
        for _ in range(rng.choice([0, 0, 0, 1, 2, 3])):
            kind = rng.choice(FACTS)
            data = rng.choice(WEIGHINGS) if kind == FactKind.return_weighed else None
            db.fact(parcel_id, kind, NOW - timedelta(hours=2), data)
        if (cols.get("return_agreed_at") or is_return) and rng.random() < 0.5:
            # a return case where the buyer was called again and again (return_abandoned counts the attempts)
            for _ in range(rng.choice([1, 2, 2, 3])):
                db.fact(parcel_id, FactKind.buyer_unreachable, NOW - timedelta(hours=1))
        ids.append(parcel_id)
    return sorted(set(ids))
