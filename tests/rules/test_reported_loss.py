"""A loss the courier's words report is a suspicion, not the end of tracking (docs/domain.md): the parcel stays
open and polled, raises lost_suspected, and moves on when the courier finds it again. Only a loss a person
confirmed (fact lost) makes it final. Real database, the real phrase book reading the courier's words."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from tracker.domain import TrackingEvent
from tracker.flags import evaluate_all
from tracker.ingest import ingest
from tracker.phrases import load_phrasebook
from tracker.providers.base import ParsedWaybill
from tracker.schedule import next_poll_time
from tracker.settings import PROJECT_ROOT
from tracker.status import FactKind, FlagKind, TrackingStatus
from tracker.storage.tables import FLAG, PARCEL

NOW = datetime.fromisoformat("2026-11-23T04:00:00+00:00")
H = timedelta(hours=1)
BOOK = load_phrasebook(PROJECT_ROOT / "config" / "phrases.toml")


def _reply(waybill: str, *said: tuple[datetime, str]) -> ParsedWaybill:
    events = tuple(
        TrackingEvent(at, BOOK.classify(text) or TrackingStatus.unknown, "", text, None) for at, text in said
    )
    return ParsedWaybill("kuaidi100", waybill, "yuantong", "yto", events, None)


def _parcel(db, waybill: str) -> int:  # type: ignore[no-untyped-def]
    return db.parcel(created=NOW - 80 * H, waybill=waybill, order_id=f"O{waybill}", shipped_at=NOW - 72 * H)


def _flags(db, parcel_id: int) -> dict[str, str]:  # type: ignore[no-untyped-def]
    with db.engine.connect() as conn:
        rows = conn.execute(select(FLAG.c.kind, FLAG.c.state).where(FLAG.c.parcel_id == parcel_id)).all()
    return {str(kind): str(state) for kind, state in rows}


def _snapshot(db, parcel_id: int):  # type: ignore[no-untyped-def]
    with db.engine.connect() as conn:
        return conn.execute(select(PARCEL).where(PARCEL.c.id == parcel_id)).mappings().one()


MOVING = (
    (NOW - 70 * H, "【杭州市萧山区公司】的王师傅已揽收"),
    (NOW - 60 * H, "快件离开【杭州转运中心】已发往【成都转运中心】"),
)


def test_a_reported_loss_stays_polled_and_moves_on_when_found(db, settings) -> None:  # type: ignore[no-untyped-def]
    pid = _parcel(db, "YT7100000000001")
    ingest(
        db.engine,
        [_reply("YT7100000000001", *MOVING, (NOW - 10 * H, "您的快件已丢失，给您带来不便深表歉意"))],
        now=NOW,
        source="kuaidi100",
    )
    row = _snapshot(db, pid)
    assert (row["status"], row["is_open"]) == ("lost", True)
    polled = {k: row[k] for k in ("status", "is_open", "shipped_at", "created_at", "first_scan_at", "last_event_at")}
    assert next_poll_time(**polled, now=NOW, cfg=settings.providers.polling) is not None
    evaluate_all(db.engine, now=NOW, settings=settings)
    assert _flags(db, pid) == {FlagKind.lost_suspected: "open"}  # a suspicion; `lost` waits for a person

    later = NOW + 20 * H
    found = (later - 2 * H, "遗失快件已找回，正在派送，派件员：李师傅，电话：13800000000")
    ingest(db.engine, [_reply("YT7100000000001", found)], now=later, source="kuaidi100")
    row = _snapshot(db, pid)
    assert (row["status"], row["is_open"]) == ("out_for_delivery", True)
    evaluate_all(db.engine, now=later, settings=settings)
    assert _flags(db, pid) == {FlagKind.lost_suspected: "resolved"}


def test_only_a_confirmed_loss_is_final(db, settings) -> None:  # type: ignore[no-untyped-def]
    """Reported lost 100 h ago: stale and suspected lost, as any parcel the courier lost sight of. Once a person
    records the courier's confirmation, the parcel is final: `lost` alone, and the stale flags resolve."""
    pid = _parcel(db, "YT7100000000002")
    said = ((NOW - 110 * H, "【杭州市萧山区公司】的王师傅已揽收"), (NOW - 100 * H, "快件丢失，已上报"))
    ingest(db.engine, [_reply("YT7100000000002", *said)], now=NOW - 99 * H, source="kuaidi100")
    evaluate_all(db.engine, now=NOW, settings=settings)
    assert _flags(db, pid) == {FlagKind.stale: "open", FlagKind.lost_suspected: "open"}
    db.fact(pid, str(FactKind.loss_confirmed), NOW)
    evaluate_all(db.engine, now=NOW + H, settings=settings)
    assert _flags(db, pid) == {FlagKind.stale: "resolved", FlagKind.lost_suspected: "resolved", FlagKind.lost: "open"}


def test_a_surface_mail_return_confirmed_lost_raises_nothing_more(db, settings, view, policy) -> None:  # type: ignore[no-untyped-def]
    """A buyer's return sent by surface mail (KA...) that the courier reported lost stays open and flagged as
    surface mail; once a person confirms the loss it is final for that rule too, on the pure and the SQL path."""
    from tracker.rules import RULES
    from tracker.rules.model import Fact

    rule = {r.kind: r.evaluate for r in RULES}[FlagKind.return_surface_mail]
    reported = {"direction": "return", "is_open": True, "status": TrackingStatus.lost, "waybill": "KA710000000003"}
    assert rule(view(**reported), now=NOW, policy=policy) is not None
    confirmed = view(**reported, facts=(Fact(1, FactKind.loss_confirmed, NOW, {}),))
    assert rule(confirmed, now=NOW, policy=policy) is None
    pid = db.parcel(
        created=NOW - 80 * H,
        waybill="KA710000000003",
        direction="return",
        order_id="OKA3",
        status="lost",
        is_open=True,
        first_scan_at=NOW - 60 * H,
        last_event_at=NOW - 10 * H,
    )
    evaluate_all(db.engine, now=NOW, settings=settings)
    assert _flags(db, pid)[FlagKind.return_surface_mail] == "open"
    db.fact(pid, str(FactKind.loss_confirmed), NOW)
    evaluate_all(db.engine, now=NOW + H, settings=settings)
    assert _flags(db, pid)[FlagKind.return_surface_mail] == "resolved"
