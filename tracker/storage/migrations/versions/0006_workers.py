"""distributed polling: parcel leases, shared provider rate windows and pauses

Revision ID: 0006_workers
Revises: 0003_rules
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0006_workers"
down_revision: str | None = "0003_rules"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("parcel", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lease_until", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("lease_owner", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
    op.create_table(
        "provider_slot",
        sa.Column("provider", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("slot", sa.Integer(), nullable=False),
        sa.Column("used_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("provider", "slot"),
    )
    op.create_index("ix_provider_slot_used", "provider_slot", ["provider", "used_at"])
    op.create_table(
        "provider_pause",
        sa.Column("provider", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("paused_until", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("paused_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.PrimaryKeyConstraint("provider"),
    )


def downgrade() -> None:
    op.drop_table("provider_pause")
    op.drop_table("provider_slot")
    with op.batch_alter_table("parcel", schema=None) as batch_op:
        batch_op.drop_column("lease_owner")
        batch_op.drop_column("lease_until")
