"""Which claim a refusal proposes (claims.proposals.decide): the freight claim when the courier delivered late, none
when on time, and a person's decision when the data cannot tell."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from claims.proposals import decide
from claims.tables import ClaimTables, load_tables
from tracker.settings import PROJECT_ROOT

SHIPPED = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def tables() -> ClaimTables:
    return load_tables(PROJECT_ROOT / "config" / "claims")


def refused(**kw: object) -> dict[str, object]:
    parcel: dict[str, object] = {"direction": "outbound", "freight_insured": False, "shipped_at": SHIPPED}
    return parcel | {"refused_at": SHIPPED + timedelta(hours=100), "last_event_at": None, "gone": False} | kw


def test_a_late_refusal_claims_the_freight_and_an_early_one_nothing(tables: ClaimTables) -> None:
    assert decide("refused", refused(), tables) == ("freight", "default")
    assert str(decide("refused", refused(refused_at=SHIPPED + timedelta(hours=30)), tables)).startswith(
        "refused on time"
    )


def test_a_refusal_of_a_parcel_whose_shipping_time_is_unknown_is_left_to_a_person(tables: ClaimTables) -> None:
    """No 发货时间 in any import: it said 'refused on time: no freight claim' (and a late refusal went unclaimed)."""
    said = decide("refused", refused(shipped_at=None), tables)
    assert isinstance(said, str) and "when it shipped is not known" in said and "on time" not in said
