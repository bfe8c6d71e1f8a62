"""Tmall's platform timers as dated deadlines, and the shop's exposure for a late shipment (docs/domain.md,
"Tmall's timers"; numbers from config/claims/tmall.toml via tracker.tmall). Pure: plain values in, `now`
passed in where a state is asked for; no I/O.

- seven-day no-reason return: from 00:00 (the platform's zone) of the day after signing, plus `hours`;
- 未收到货 complaint window: `complaint_days` x 24 h after 交易成功, the last second inside (0-15天内);
- negotiation of a 未收到货 complaint: `negotiate_hours` after it was opened; a change of the amount after
  the first `fixed_hours` moves the deadline to the change plus `extension_hours` (从修改点顺延24小时);
- late-shipment exposure: `percent` of the price, capped at `cap`, rounded once to 0.01, in CNY and points.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Any

from tracker.rules.common import is_return
from tracker.rules.model import ParcelView
from tracker.status import CENT, FactKind
from tracker.tmall import LateShipmentCompensation, NotReceived, SevenDayReturn, TmallRules


class TimerKind(StrEnum):  # in words: tracker.labels.TIMERS
    seven_day_return = "seven_day_return"  # 七天无理由退换货
    complaint_window = "complaint_window"  # 未收到货维权 can be opened
    negotiation = "negotiation"  # 未收到货维权 negotiation before the platform steps in


@dataclass(frozen=True, slots=True)
class Deadline:
    kind: TimerKind
    starts_at: datetime  # the moment the period counts from
    due_at: datetime  # the last moment inside the period (inclusive)
    extended: bool = False  # negotiation: moved by an amount change in its last part

    def is_open(self, now: datetime) -> bool:
        return now <= self.due_at

    def seconds_left(self, now: datetime) -> int:
        return max(0, int((self.due_at - now).total_seconds()))

    def to_details(self) -> dict[str, Any]:
        return {
            "kind": str(self.kind),
            "starts_at": self.starts_at.isoformat(),
            "due_at": self.due_at.isoformat(),
            "extended": self.extended,
        }


def seven_day_return(signed_at: datetime, rules: SevenDayReturn) -> Deadline:
    """Counted "自买家签收商品的次日零时开始起算,满168小时为七天": 00:00 of the next calendar day in the platform's
    zone, plus `hours` (counted in real hours)."""
    local = signed_at.astimezone(rules.tz)
    start = datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=rules.tz).astimezone(UTC)
    return Deadline(TimerKind.seven_day_return, start, start + timedelta(hours=rules.hours))


def complaint_window(trade_succeeded_at: datetime, rules: NotReceived) -> Deadline:
    """The window "交易状态为'交易成功'的0-15天内": open from 交易成功 until complaint_days x 24 h later, inclusive."""
    start = trade_succeeded_at.astimezone(UTC)
    return Deadline(TimerKind.complaint_window, start, start + timedelta(days=rules.complaint_days))


def negotiation(opened_at: datetime, amount_changes: Iterable[datetime], rules: NotReceived) -> Deadline:
    """72 h from the complaint; a change of the amount strictly after the first 48 h (前48小时内 is inclusive)
    and not after the current deadline moves the deadline to the change + 24 h. Changes before the
    complaint or after its deadline change nothing."""
    start = opened_at.astimezone(UTC)
    due = start + timedelta(hours=rules.negotiate_hours)
    fixed_until = start + timedelta(hours=rules.fixed_hours)
    extended = False
    for change in sorted(c.astimezone(UTC) for c in amount_changes):
        if fixed_until < change <= due:
            moved = change + timedelta(hours=rules.extension_hours)
            if moved > due:
                due, extended = moved, True
    return Deadline(TimerKind.negotiation, start, due, extended)


@dataclass(frozen=True, slots=True)
class Exposure:
    price: Decimal
    cny: Decimal  # what the shop pays the buyer, in CNY
    points: int  # the same in Tmall points
    capped: bool
    percent: Decimal
    cap: Decimal

    def to_details(self) -> dict[str, Any]:
        return {
            "price": str(self.price),
            "exposure_cny": str(self.cny),
            "exposure_points": self.points,
            "percent": str(self.percent),
            "cap": str(self.cap),
            "capped": self.capped,
        }


def late_shipment_exposure(price: Decimal, rules: LateShipmentCompensation) -> Exposure:
    """percent x price, capped, rounded once to 0.01 (ROUND_HALF_UP): 899.00 -> 269.70; 1,899.00 -> 500.00."""
    raw = price * rules.percent / Decimal(100)
    capped = raw > rules.cap
    cny = (rules.cap if capped else raw).quantize(CENT, rounding=ROUND_HALF_UP)
    points = int((cny * rules.points_per_cny).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return Exposure(price, cny, points, capped, rules.percent, rules.cap)


def _at(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def _fact_times(parcel: ParcelView, kind: FactKind) -> list[datetime]:
    return [t for f in parcel.facts_of(kind) if (t := _at(f.data.get("at"))) is not None]


def parcel_timers(parcel: ParcelView, rules: TmallRules) -> list[Deadline]:
    """The timers that apply to a parcel, from what it holds: the signing time (delivered_at), the newest
    `trade_succeeded` fact, and the newest `complaint_opened` fact with the amount changes recorded after it.
    A buyer's return parcel delivered (to the shop) starts no seven-day return: that counts from the buyer's
    signature of the order's own parcel."""
    out: list[Deadline] = []
    if parcel.delivered_at is not None and not is_return(parcel):
        out.append(seven_day_return(parcel.delivered_at, rules.seven_day_return))
    succeeded = _fact_times(parcel, FactKind.trade_succeeded)
    if succeeded:
        out.append(complaint_window(succeeded[-1], rules.not_received))
    opened = _fact_times(parcel, FactKind.complaint_opened)
    if opened:
        start = opened[-1]
        changes = [t for t in _fact_times(parcel, FactKind.complaint_amount_changed) if t >= start]
        out.append(negotiation(start, changes, rules.not_received))
    return out


def next_open(deadlines: Iterable[Deadline], now: datetime) -> Deadline | None:
    """The soonest deadline still open at `now` (None when all have passed)."""
    open_ = [d for d in deadlines if d.is_open(now)]
    return min(open_, key=lambda d: d.due_at) if open_ else None
