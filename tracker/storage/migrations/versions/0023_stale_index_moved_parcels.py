"""ix_parcel_open_last_event holds only the open parcels that have a last event: every reader of it (the stale
and lost rules, the board's stale counts, the scorecards' stale share) compares last_event_at with a time,
which no NULL passes. A parcel an import adds has no event yet: its entry in this five-column index, at a
place set by its waybill, was 0.25 s of the 2 s that storing a 100,000-row import took (bench/import.py). Its
first event adds it.

Revision ID: 0023_stale_index_moved_parcels
Revises: 0022_rule_marks
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023_stale_index_moved_parcels"
down_revision: str | None = "0022_rule_marks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ["last_event_at", "courier", "status", "waybill", "shipped_at"]


def _stale_index(*, moved_only: bool) -> None:
    """ix_parcel_open_last_event over the open parcels (`moved_only`: those with a last event); on PostgreSQL
    with id included (migration 0008)."""
    moved = " AND last_event_at IS NOT NULL" if moved_only else ""
    op.drop_index("ix_parcel_open_last_event", table_name="parcel")
    if op.get_bind().dialect.name == "postgresql":
        where = sa.text("is_open" + moved)
        op.create_index(
            "ix_parcel_open_last_event", "parcel", COLUMNS, postgresql_where=where, postgresql_include=["id"]
        )
    else:
        op.create_index("ix_parcel_open_last_event", "parcel", COLUMNS, sqlite_where=sa.text("is_open = 1" + moved))


def upgrade() -> None:
    _stale_index(moved_only=True)


def downgrade() -> None:
    _stale_index(moved_only=False)
