"""`tracker db reread`: stored events read again with the current phrase book (tracker/reread.py), on SQLite and
PostgreSQL; the CLI on a real SQLite file."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from tracker.cli import app
from tracker.domain import ParcelFacts, TrackingEvent
from tracker.flags import evaluate_all
from tracker.ingest import ingest
from tracker.phrases import default_phrasebook
from tracker.providers.base import ParsedWaybill
from tracker.reread import reread
from tracker.status import Direction
from tracker.status import TrackingStatus as S
from tracker.storage.repo import upsert_parcels
from tracker.storage.tables import EVENT, FLAG, PARCEL

NOW = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)
H = timedelta(hours=1)
PICKED = "【杭州市萧山区公司】的王师傅已揽收"
REFUSED = "收件人拒收，快件将退回"  # stored `unknown`: a book that did not know 拒收 read it
SHOP = "您的退货已由商家签收，退货签收完成"


def _event(hours_ago: float, status: S, text: str, code: str = "") -> TrackingEvent:
    return TrackingEvent(NOW - hours_ago * H, status, code, text, None)


def _store(engine: Engine) -> None:
    """What an older phrase book left: the refusal unread; a refusal a provider's code gave (kept whatever its
    words); a return the shop signed for read as returned; an old closed parcel misread the same way."""
    facts = [
        ParcelFacts(courier="yto", waybill="YT7300000000001", shipped_at=NOW - 60 * H),
        ParcelFacts(courier="yto", waybill="YT7300000000002", shipped_at=NOW - 60 * H),
        ParcelFacts(courier="yto", waybill="YT7300000000003", direction=Direction.ret),
        ParcelFacts(courier="yto", waybill="YT7300000000004", direction=Direction.ret),
        ParcelFacts(courier="zto", waybill="73000000000005", shipped_at=NOW - 60 * H),
        ParcelFacts(courier="yto", waybill="YT7300000000006", shipped_at=NOW - 60 * H),
    ]
    upsert_parcels(engine, facts, now=NOW - 70 * H)
    replies = [
        ("YT7300000000001", (_event(50, S.picked_up, PICKED), _event(5, S.unknown, REFUSED))),
        ("YT7300000000002", (_event(50, S.picked_up, PICKED), _event(5, S.in_transit, REFUSED, "1002"))),
        ("YT7300000000003", (_event(50, S.picked_up, PICKED), _event(5, S.returned, SHOP))),
        ("YT7300000000004", (_event(24 * 45, S.picked_up, PICKED), _event(24 * 40, S.returned, SHOP))),
        # Kdniao read this trace's station text with its remark (收件人拒收) and stored the station text alone
        ("73000000000005", (_event(50, S.picked_up, PICKED), _event(5, S.refused, "【成都武侯】派件员正在派件"))),
        # signed for, then a scan the old book could not read: the parcel closed on the signature
        ("YT7300000000006", (_event(50, S.picked_up, PICKED), _event(30, S.delivered, "已签收，签收人：本人"))),
        ("YT7300000000006", (_event(3, S.unknown, "快件已被收回，收件人拒收"),)),
    ]
    couriers = {"YT": ("yuantong", "yto"), "73": ("zhongtong", "zto")}
    parsed = [ParsedWaybill("kuaidi100", w, *couriers[w[:2]], events, None) for w, events in replies]
    # stored as they were read then (the current book would read the return parcels' words for their direction)
    ingest(engine, parsed, now=NOW, source="kuaidi100", phrases=_PlainBook())
    with engine.begin() as conn:  # the old closed parcel's last event 40 days ago
        conn.execute(PARCEL.update().where(PARCEL.c.waybill == "YT7300000000004").values(is_open=False))
        # the poller's schedule() leaves a parcel closed by its signature no next poll
        conn.execute(PARCEL.update().where(PARCEL.c.waybill == "YT7300000000006").values(next_poll_at=None))


class _PlainBook:
    """A phrase book that reads no direction (as the tracker did before [return_parcel])."""

    def on_return_parcel(self, status: str, text: str | None) -> str:
        return status


def _parcels(engine: Engine) -> dict[str, tuple[Any, ...]]:
    with engine.connect() as conn:
        rows = conn.execute(select(PARCEL.c.waybill, PARCEL.c.status, PARCEL.c.is_open, PARCEL.c.delivered_at))
        return {w: (s, o, d) for w, s, o, d in rows}


def _due(engine: Engine, waybill: str) -> Any:
    with engine.connect() as conn:
        return conn.execute(select(PARCEL.c.next_poll_at).where(PARCEL.c.waybill == waybill)).scalar_one()


def test_reread_applies_the_current_book_to_the_watched_parcels(engine: Engine, settings) -> None:  # type: ignore[no-untyped-def]
    _store(engine)
    before = _parcels(engine)
    assert before["YT7300000000006"][:2] == ("delivered", False) and _due(engine, "YT7300000000006") is None
    dry = reread(engine, default_phrasebook(), now=NOW, days=30, dry_run=True)
    assert dict(dry.moves) == {("outbound", "unknown", "refused"): 2, ("return", "returned", "delivered"): 1}
    assert dry.changed_parcel_ids == [] and _parcels(engine) == before  # nothing stored

    batches: list[list[int]] = []
    done = reread(engine, default_phrasebook(), now=NOW, days=30, after_batch=batches.append, batch=2)
    assert dict(done.moves) == dict(dry.moves) and len(done.changed_parcel_ids) == 3
    assert sorted(i for b in batches for i in b) == sorted(done.changed_parcel_ids) and len(batches) == 3
    after = _parcels(engine)
    assert after["YT7300000000001"] == ("refused", True, None)
    assert after["YT7300000000002"] == before["YT7300000000002"]  # the provider's code decided it
    assert after["YT7300000000003"] == ("delivered", False, NOW - 5 * H)  # the return arrived at the shop
    assert after["YT7300000000004"] == before["YT7300000000004"]  # closed 40 days ago: not read
    assert after["73000000000005"] == before["73000000000005"]  # read with a remark the store does not hold
    # open again on the scan read now, and due at once (a closed parcel had no next poll)
    assert after["YT7300000000006"][:2] == ("refused", True) and _due(engine, "YT7300000000006") == NOW
    with engine.connect() as conn:
        statuses = conn.execute(select(EVENT.c.status).order_by(EVENT.c.parcel_id, EVENT.c.event_time)).scalars()
        assert list(statuses) == [
            *("picked_up", "refused", "picked_up", "in_transit", "picked_up", "delivered", "picked_up", "returned"),
            *("picked_up", "refused", "picked_up", "delivered", "refused"),
        ]

    evaluate_all(engine, now=NOW, settings=settings, parcel_ids=done.changed_parcel_ids)
    with engine.connect() as conn:
        flags = conn.execute(select(PARCEL.c.waybill, FLAG.c.kind).join(PARCEL, PARCEL.c.id == FLAG.c.parcel_id))
        assert ("YT7300000000001", "refused") in {tuple(f) for f in flags}

    again = reread(engine, default_phrasebook(), now=NOW, days=30)
    assert (again.events_changed, again.changed_parcel_ids) == (0, [])  # nothing changes twice
    wider = reread(engine, default_phrasebook(), now=NOW, days=60)
    assert dict(wider.moves) == {("return", "returned", "delivered"): 1}  # the old one once it is within reach


@pytest.mark.sqlite_only
def test_the_command_says_what_changed_in_words_and_runs_the_rules(sqlite_engine: Engine, settings) -> None:  # type: ignore[no-untyped-def]
    _store(sqlite_engine)
    runner = CliRunner()
    base = ["--config", str(settings.config_dir), "db", "reread", "--now=2026-11-23T12:00"]
    dry = runner.invoke(app, [*base, "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "would change 3 events" in dry.output and "Stored status" in dry.output
    assert "Refused" in dry.output and "Delivered" in dry.output and "refused" not in dry.output  # words, not codes
    assert "Return" in dry.output and "Outbound" in dry.output
    done = runner.invoke(app, base)
    assert done.exit_code == 0, done.output
    assert "changed 3 events, 3 parcels' status" in done.output
    assert "rules over those parcels: 2 opened" in done.output


def test_a_shop_signature_read_wrongly_is_undone_by_a_negation_added_since(engine: Engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A return stored delivered because its words named the shop, until a negation now says they do not: read
    again both ways, it is returned again (and its parcel with it)."""
    from tracker.phrases import load_phrasebook
    from tracker.settings import PROJECT_ROOT

    words = "退件已签收，商家已签收失败件"  # read delivered by the book before the negation below
    upsert_parcels(engine, [ParcelFacts(courier="yto", waybill="YT7300000000021", direction=Direction.ret)], now=NOW)
    loose = (
        (PROJECT_ROOT / "config" / "phrases.toml").read_text(encoding="utf-8").replace('"签收(?:失败|异常|前|后)",', "")
    )
    (tmp_path / "phrases.toml").write_text(loose, encoding="utf-8")
    before = load_phrasebook(tmp_path / "phrases.toml")
    said = before.classify(words)
    assert said is S.returned and before.on_return_parcel(str(said), words) == "delivered"
    events = (_event(50, S.picked_up, PICKED), _event(5, said, words))
    reply = ParsedWaybill("kuaidi100", "YT7300000000021", "yuantong", "yto", events, None)
    ingest(engine, [reply], now=NOW, source="kuaidi100", phrases=before)
    assert _parcels(engine)["YT7300000000021"][0] == "delivered"
    done = reread(engine, default_phrasebook(), now=NOW, days=30)
    assert dict(done.moves) == {("return", "delivered", "returned"): 1}
    assert _parcels(engine)["YT7300000000021"][:2] == ("returned", False)
