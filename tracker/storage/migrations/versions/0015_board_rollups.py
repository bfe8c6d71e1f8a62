"""the board's reads at a million parcels: the filters' choices in a small table (filter_choice), each flag's
parcel's last update on the flag (flag.last_update: the ageing and the queue's age filters read no parcel),
both filled here from the parcels; flag indexes for those, the queue's first page, the assignee choices and
exceptions per day; the leased parcels (the overview's polling line) (tracker/storage/rollups.py,
docs/architecture.md "Storage")

Revision ID: 0015_board_rollups
Revises: 0014_packet_fields
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0015_board_rollups"
down_revision: str | None = "0014_packet_fields"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNRESOLVED = sa.text("state != 'resolved'")
ASSIGNED = sa.text("state != 'resolved' AND assignee IS NOT NULL")
RESOLVED_AT = sa.text("resolved_at IS NOT NULL")
LEASED = sa.text("lease_until IS NOT NULL")
# tracker.storage.rows.QUEUE_ESCALATED_FIRST when this migration was written
ESCALATED_FIRST = sa.text("(severity <> 'escalate')")


def upgrade() -> None:
    text = sqlmodel.sql.sqltypes.AutoString
    op.create_table(
        "filter_choice",
        sa.Column("field", text(length=16), nullable=False),
        sa.Column("value", text(length=100), nullable=False),
        sa.PrimaryKeyConstraint("field", "value"),
    )
    for name in ("courier", "shop", "province"):
        op.execute(
            f"INSERT INTO filter_choice (field, value) SELECT DISTINCT '{name}', {name} FROM parcel"  # noqa: S608
            f" WHERE {name} IS NOT NULL AND {name} != ''"
        )
    op.add_column("flag", sa.Column("last_update", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
    op.execute(
        "UPDATE flag SET last_update = (SELECT coalesce(p.last_event_at, p.shipped_at, p.created_at)"
        " FROM parcel p WHERE p.id = flag.parcel_id)"
    )
    op.create_index(
        "ix_flag_unresolved_last_update",
        "flag",
        ["last_update", "parcel_id", "state"],
        sqlite_where=UNRESOLVED,
        postgresql_where=UNRESOLVED,
    )
    op.create_index(
        "ix_flag_unresolved_queue",
        "flag",
        [ESCALATED_FIRST, sa.text("opened_at DESC"), sa.text("id DESC")],
        sqlite_where=UNRESOLVED,
        postgresql_where=UNRESOLVED,
    )
    op.create_index(
        "ix_flag_unresolved_assignee", "flag", ["assignee"], sqlite_where=ASSIGNED, postgresql_where=ASSIGNED
    )
    op.create_index("ix_flag_opened_at", "flag", ["opened_at"])
    op.create_index(
        "ix_parcel_leased", "parcel", ["lease_until", "lease_owner"], sqlite_where=LEASED, postgresql_where=LEASED
    )
    op.create_index(
        "ix_flag_resolved_at", "flag", ["resolved_at"], sqlite_where=RESOLVED_AT, postgresql_where=RESOLVED_AT
    )


def downgrade() -> None:
    for name in (
        "ix_flag_resolved_at",
        "ix_flag_opened_at",
        "ix_flag_unresolved_assignee",
        "ix_flag_unresolved_queue",
        "ix_flag_unresolved_last_update",
    ):
        op.drop_index(name, table_name="flag")
    op.drop_index("ix_parcel_leased", table_name="parcel")
    op.drop_column("flag", "last_update")  # a plain DROP COLUMN, as 0014's downgrade
    op.drop_table("filter_choice")
