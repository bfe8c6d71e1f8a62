"""a loss the provider or the courier's words report is no longer a final status: such a parcel stays open and
polled, as a courier may find it again; a person's confirmation (fact loss_confirmed) makes it final for the
rules (tracker.rules.common.is_final; tracker.status.FINAL_STATUSES no longer lists `lost`). The open return
parcels' index drops 'lost' from its predicate, and the parcels their status 'lost' closed before, shipped (or
imported) within RETIRE_DAYS, are opened again, as the ingest now leaves them, and due at once: the poller
reads them and sets their next poll itself. Older ones stay closed: they would no longer be polled
(retire_days) and would only raise stale flags, all at once.

Revision ID: 0020_lost_not_final
Revises: 0019_flag_action_key
"""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0020_lost_not_final"
down_revision: str | None = "0019_flag_action_key"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_parcel_open_return_waybill"
COLUMNS = ["waybill", "status", "direction"]
# tracker.storage.rows.OPEN_RETURN when this migration was written, and before it (0018)
OPEN_RETURN = sa.text("direction = 'return' AND status NOT IN ('cancelled', 'delivered', 'returned')")
OPEN_RETURN_BEFORE = sa.text("direction = 'return' AND status NOT IN ('cancelled', 'delivered', 'lost', 'returned')")

LOST = "status = 'lost'"
# config/providers.toml [polling] retire_days as shipped when this migration was written
RETIRE_DAYS = 60


def _index(predicate: sa.TextClause) -> None:
    op.drop_index(INDEX, table_name="parcel")
    op.create_index(INDEX, "parcel", COLUMNS, sqlite_where=predicate, postgresql_where=predicate)


def upgrade() -> None:
    _index(OPEN_RETURN)
    now = datetime.now(UTC)
    utc = sqlmodel.sql.sqltypes.UTCDateTime()
    reopen = sa.text(
        "UPDATE parcel SET is_open = true, next_poll_at = :now, lease_until = NULL, lease_owner = NULL "
        f"WHERE NOT is_open AND {LOST} AND coalesce(shipped_at, created_at) >= :since"
    ).bindparams(
        sa.bindparam("now", now, type_=utc), sa.bindparam("since", now - timedelta(days=RETIRE_DAYS), type_=utc)
    )
    op.get_bind().execute(reopen)
    if op.get_bind().dialect.name == "sqlite":  # the rules' text scan reads these again (PostgreSQL: its triggers)
        op.execute(f"INSERT OR IGNORE INTO rule_text_dirty (parcel_id) SELECT id FROM parcel WHERE {LOST} AND is_open")


def downgrade() -> None:
    op.get_bind().execute(sa.text(f"UPDATE parcel SET is_open = false, next_poll_at = NULL WHERE {LOST}"))
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"INSERT OR IGNORE INTO rule_text_dirty (parcel_id) SELECT id FROM parcel WHERE {LOST}")
    _index(OPEN_RETURN_BEFORE)
