"""exception rules: flag occurrence anchor and resolver, refund type, indexes for the rule queries

Revision ID: 0003_rules
Revises: 0005_alerts
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0003_rules"
down_revision: str | None = "0005_alerts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("flag", schema=None) as batch_op:
        batch_op.add_column(sa.Column("anchor", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("resolved_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
    with op.batch_alter_table("parcel", schema=None) as batch_op:
        batch_op.add_column(sa.Column("refund_express", sa.Boolean(), nullable=True))
        batch_op.create_index(
            "ix_parcel_open_unshipped",
            ["paid_at", "promised_ship_by"],
            unique=False,
            sqlite_where=sa.text("is_open = 1 AND shipped_at IS NULL"),
            postgresql_where=sa.text("is_open AND shipped_at IS NULL"),
        )
        batch_op.create_index(
            "ix_parcel_return_waybill",
            ["waybill", "buyer_id"],
            unique=False,
            sqlite_where=sa.text("direction = 'return'"),
            postgresql_where=sa.text("direction = 'return'"),
        )
        batch_op.create_index(
            "ix_parcel_return_unscanned",
            ["return_agreed_at"],
            unique=False,
            sqlite_where=sa.text("direction = 'return' AND first_scan_at IS NULL"),
            postgresql_where=sa.text("direction = 'return' AND first_scan_at IS NULL"),
        )
        batch_op.create_index(
            "ix_parcel_return_agreed",
            ["return_agreed_at"],
            unique=False,
            sqlite_where=sa.text("return_agreed_at IS NOT NULL AND direction != 'return'"),
            postgresql_where=sa.text("return_agreed_at IS NOT NULL AND direction != 'return'"),
        )
        batch_op.create_index("ix_parcel_status", ["status", "last_event_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("parcel", schema=None) as batch_op:
        batch_op.drop_index("ix_parcel_status")
        batch_op.drop_index("ix_parcel_return_agreed")
        batch_op.drop_index("ix_parcel_return_unscanned")
        batch_op.drop_index("ix_parcel_return_waybill")
        batch_op.drop_index("ix_parcel_open_unshipped")
        batch_op.drop_column("refund_express")
    with op.batch_alter_table("flag", schema=None) as batch_op:
        batch_op.drop_column("resolved_by")
        batch_op.drop_column("anchor")
