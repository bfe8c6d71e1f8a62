"""rule evaluation at 1M open parcels: the stale index covers the stale/lost rules, an index of open
parcels' status texts for the status rules' text scan (SQLite only)

Revision ID: 0007_rules_scan_indexes
Revises: 0006_workers
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_rules_scan_indexes"
down_revision: str | None = "0006_workers"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = {"sqlite_where": sa.text("is_open = 1"), "postgresql_where": sa.text("is_open")}


def upgrade() -> None:
    with op.batch_alter_table("parcel", schema=None) as batch_op:
        batch_op.drop_index("ix_parcel_open_last_event")
        batch_op.create_index(
            "ix_parcel_open_last_event", ["last_event_at", "courier", "status", "waybill"], unique=False, **OPEN
        )
    # PostgreSQL refuses B-tree entries over ~2.7 kB, and a courier text may be that long: SQLite only
    if op.get_bind().dialect.name == "sqlite":
        op.create_index(
            "ix_parcel_open_text",
            "parcel",
            ["status", "status_text", "is_open"],
            unique=False,
            sqlite_where=sa.text("is_open = 1 AND status_text IS NOT NULL"),
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.drop_index("ix_parcel_open_text", table_name="parcel")
    with op.batch_alter_table("parcel", schema=None) as batch_op:
        batch_op.drop_index("ix_parcel_open_last_event")
        batch_op.create_index("ix_parcel_open_last_event", ["last_event_at", "courier"], unique=False, **OPEN)
