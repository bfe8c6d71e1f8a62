"""A claim drafted with no filing window (its parcel had no order or release time) gets one from the next
`claims propose` once the parcel has its order time, on SQLite and PostgreSQL; a window already set never moves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, insert, select

from claims import service
from claims.formula import show
from claims.tables import ClaimTables, load_tables
from tracker.domain import ParcelFacts
from tracker.settings import PROJECT_ROOT
from tracker.storage import repo
from tracker.storage.tables import AUDIT, CLAIM, FLAG, PARCEL

NOW = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture(scope="module")
def tables() -> ClaimTables:
    return load_tables(PROJECT_ROOT / "config" / "claims")


def _lost(engine: Engine, waybill: str, **times: datetime) -> int:
    """A parcel the courier confirmed lost (its `lost` flag open), imported with these order times only."""
    repo.upsert_parcels(
        engine, [ParcelFacts(courier="yto", waybill=waybill, order_id=f"O{waybill}", goods_value=D("268.50"), **times)],
        now=NOW - timedelta(days=2),
    )  # fmt: skip
    with engine.begin() as conn:
        pid = conn.execute(select(PARCEL.c.id).where(PARCEL.c.waybill == waybill)).scalar_one()
        conn.execute(
            insert(FLAG).values(
                parcel_id=pid, courier="yto", kind="lost", severity="escalate", state="open", opened_at=NOW
            )
        )
    return int(pid)


def _claims(engine: Engine) -> dict[str, dict[str, object]]:
    with engine.connect() as conn:
        rows = conn.execute(select(PARCEL.c.waybill, CLAIM).join(PARCEL, PARCEL.c.id == CLAIM.c.parcel_id)).all()
    return {r.waybill: dict(r._mapping) for r in rows}


def test_a_draft_without_a_window_gets_one_once_its_order_time_is_known(engine: Engine, tables: ClaimTables) -> None:
    _lost(engine, "YT7400000000001")  # a waybill list: no order times
    _lost(engine, "YT7400000000002")  # the same, its order long past: its window closed already
    _lost(engine, "YT7400000000003", issued_at=datetime(2026, 11, 2, 2, tzinfo=UTC))  # a window from the start
    first = service.propose(engine, tables=tables, now=NOW)
    assert (first.proposed["goods_lost"], first.windows_set) == (3, 0)
    drafted = _claims(engine)
    assert drafted["YT7400000000001"]["filing_closes_at"] is None
    assert "filing window unknown" in show(drafted["YT7400000000001"]["formula"], "en")
    kept = drafted["YT7400000000003"]["filing_closes_at"]

    # the order export imported since: the import keeps what the file leaves empty, adds the order times
    later = NOW + timedelta(days=1)
    repo.upsert_parcels(
        engine,
        [
            ParcelFacts(courier="yto", waybill="YT7400000000001", issued_at=datetime(2026, 11, 10, 2, tzinfo=UTC)),
            ParcelFacts(courier="yto", waybill="YT7400000000002", paid_at=datetime(2024, 6, 1, 2, tzinfo=UTC)),
            ParcelFacts(courier="yto", waybill="YT7400000000003", issued_at=datetime(2026, 11, 20, 2, tzinfo=UTC)),
        ],
        now=later,
    )
    second = service.propose(engine, tables=tables, now=later)
    assert (second.windows_set, second.expired, dict(second.proposed)) == (2, 1, {})
    claims = _claims(engine)
    one = claims["YT7400000000001"]
    opened = one["filing_opens_at"].astimezone(SHANGHAI)  # type: ignore[union-attr]
    closes = one["filing_closes_at"].astimezone(SHANGHAI)  # type: ignore[union-attr]
    # goods_lost counts from the release (订单下发) 2026-11-10 10:00 Shanghai: filing opens 7 days on, closes a year on
    assert (one["state"], opened.date().isoformat(), closes.date().isoformat()) == ("draft", "2026-11-17", "2027-11-10")
    assert "filing window unknown" not in show(one["formula"], "en") and show(one["formula"], "en")
    assert claims["YT7400000000002"]["state"] == "expired"  # its window closed long before: expired at once
    assert claims["YT7400000000003"]["filing_closes_at"] == kept  # a window already set never moves
    with engine.connect() as conn:
        lines = conn.execute(select(AUDIT.c.detail).where(AUDIT.c.action == "claim.window_set")).scalars().all()
    assert {"filing_opens_at": "2026-11-17 10:00", "filing_closes_at": "2027-11-10 10:00"} in lines
    assert service.propose(engine, tables=tables, now=later).windows_set == 0  # nothing to set twice


def test_only_unfiled_claims_get_a_window_and_old_text_formulas_lose_the_unknown_line(
    engine: Engine, tables: ClaimTables
) -> None:
    """A filed claim keeps what it was filed with; a formula stored as text by an older version loses its
    "window unknown" clause; `claims set-input` gives the window too when the parcel has its time by then."""
    for waybill in ("YT7400000000011", "YT7400000000012", "YT7400000000013"):
        _lost(engine, waybill)
    service.propose(engine, tables=tables, now=NOW)
    ids = {w: c["id"] for w, c in _claims(engine).items()}
    with engine.begin() as conn:
        conn.execute(CLAIM.update().where(CLAIM.c.id == ids["YT7400000000011"]).values(state="filed", filed_at=NOW))
        conn.execute(
            CLAIM.update()
            .where(CLAIM.c.id == ids["YT7400000000012"])
            .values(formula="268.50 goods value; filing window unknown: no order time")
        )
    issued = datetime(2026, 11, 10, 2, tzinfo=UTC)
    repo.upsert_parcels(
        engine,
        [ParcelFacts(courier="yto", waybill=w, issued_at=issued) for w in ids],
        now=NOW,
    )
    later = NOW + timedelta(hours=1)
    service.set_input(engine, claim_id=ids["YT7400000000013"], tables=tables, actor="lead", now=later,
                      goods_value=D("300.00"))  # fmt: skip
    set_by_hand = _claims(engine)["YT7400000000013"]
    assert set_by_hand["filing_closes_at"] is not None and set_by_hand["amount"] == D("300.00")
    with engine.connect() as conn:
        actions = conn.execute(
            select(AUDIT.c.action).where(AUDIT.c.entity == "claim", AUDIT.c.entity_id == ids["YT7400000000013"])
        ).scalars()
        assert "claim.window_set" in list(actions)  # as propose records it
    assert service.propose(engine, tables=tables, now=later).windows_set == 1  # the text formula's claim alone
    claims = _claims(engine)
    assert claims["YT7400000000011"]["filing_closes_at"] is None  # filed: left as it was filed
    assert claims["YT7400000000012"]["formula"] == "268.50 goods value"
    assert claims["YT7400000000012"]["filing_closes_at"] == set_by_hand["filing_closes_at"]
