"""spec/rules.md "Worked examples" 1-5, end to end through evaluate_all on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from sqlalchemy import select

from tracker.flags import evaluate_all, next_action
from tracker.storage.tables import FLAG, PARCEL

CN = ZoneInfo("Asia/Shanghai")


def t(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=CN)


def flags(engine, settings, parcel_id: int, now: datetime) -> dict:  # type: ignore[no-untyped-def,type-arg]
    """The parcel's flags by kind as read at `now` (next actions rendered: tracker/flags/next_action.py)."""
    query = select(FLAG, PARCEL.c.waybill).join(PARCEL, PARCEL.c.id == FLAG.c.parcel_id)
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(query.where(FLAG.c.parcel_id == parcel_id))]
    next_action.fill(rows, settings, now)
    return {r["kind"]: SimpleNamespace(**r) for r in rows}


def test_example_1_no_first_scan_warns_at_72h_and_escalates_at_96h(db, settings) -> None:  # type: ignore[no-untyped-def]
    p = db.parcel(created=t("2026-11-01 09:00"), waybill="YT0000000000001", shipped_at=t("2026-11-01 09:00"))
    evaluate_all(db.engine, now=t("2026-11-04 08:59"), settings=settings)
    assert flags(db.engine, settings, p, t("2026-11-04 08:59")) == {}
    evaluate_all(db.engine, now=t("2026-11-04 09:00"), settings=settings)
    flag = flags(db.engine, settings, p, t("2026-11-04 09:00"))["no_first_scan"]
    assert (flag.severity, flag.state) == ("warn", "open")
    assert "发货后3天仍无" in flag.next_action_zh and "圆通速递" in flag.next_action_zh
    summary = evaluate_all(db.engine, now=t("2026-11-05 09:00"), settings=settings)
    assert dict(summary.escalated) == {"no_first_scan": 1}
    flag = flags(db.engine, settings, p, t("2026-11-05 09:00"))["no_first_scan"]
    assert (flag.severity, flag.escalated_at) == ("escalate", t("2026-11-05 09:00"))


def test_example_2_stale_warns_and_a_new_event_resolves_it(db, settings) -> None:  # type: ignore[no-untyped-def]
    last = t("2026-11-10 12:00")
    p = db.parcel(created=last, waybill="YT0000000000002", status="in_transit", first_scan_at=last, last_event_at=last)
    evaluate_all(db.engine, now=t("2026-11-13 12:00"), settings=settings)
    assert flags(db.engine, settings, p, t("2026-11-13 12:00"))["stale"].severity == "warn"
    db.set(p, last_event_at=t("2026-11-13 13:00"))
    summary = evaluate_all(db.engine, now=t("2026-11-13 13:00"), settings=settings)
    assert dict(summary.resolved) == {"stale": 1}
    flag = flags(db.engine, settings, p, t("2026-11-13 13:00"))["stale"]
    assert (flag.state, flag.resolved_by) == ("resolved", "rules")


def test_example_3_out_of_area_without_stale_until_the_time_is_up(db, settings) -> None:  # type: ignore[no-untyped-def]
    last = t("2026-11-10 12:00")
    p = db.parcel(
        created=last,
        waybill="YT0000000000003",
        status="out_of_area",
        status_text="快件超区,无法派送",
        first_scan_at=last,
        last_event_at=last,
    )
    evaluate_all(db.engine, now=t("2026-11-11 12:00"), settings=settings)
    assert set(flags(db.engine, settings, p, t("2026-11-11 12:00"))) == {"out_of_area"}
    evaluate_all(db.engine, now=t("2026-11-13 12:00"), settings=settings)
    assert {k for k, f in flags(db.engine, settings, p, t("2026-11-13 12:00")).items() if f.state == "open"} == {
        "out_of_area",
        "stale",
    }


def test_example_4_surface_mail_return_waybill(db, settings) -> None:  # type: ignore[no-untyped-def]
    p = db.parcel(created=t("2026-11-10 12:00"), waybill="KA123456789CN", courier="ems", direction="return")
    evaluate_all(db.engine, now=t("2026-11-10 13:00"), settings=settings)
    flag = flags(db.engine, settings, p, t("2026-11-10 13:00"))["return_surface_mail"]
    assert "KA123456789CN" in flag.next_action_zh and "平邮" in flag.next_action_zh


def test_example_5_six_days_before_the_refund_deadline_is_the_phone_step(db, settings) -> None:  # type: ignore[no-untyped-def]
    p = db.parcel(
        created=t("2026-11-10 00:00"),
        waybill="YT0000000000005",
        status="delivered",
        is_open=False,
        return_agreed_at=t("2026-11-13 00:00"),
        refund_deadline=t("2026-11-20 00:00"),
    )
    evaluate_all(db.engine, now=t("2026-11-14 00:00"), settings=settings)
    flag = flags(db.engine, settings, p, t("2026-11-14 00:00"))["refund_deadline"]
    assert (flag.level, flag.severity) == (1, "escalate")
    assert flag.next_action_zh == "退款截止还剩6天,仍无退货物流:电话联系买家"
    assert flag.next_action_en.startswith("6 days left before the refund deadline") and "phone" in flag.next_action_en
