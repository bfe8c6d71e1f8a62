"""the buyers recorded with each return parcel (return_waybill_shared counts them per waybill): a parcel row
holds one buyer_id, so two buyers' returns on one waybill used to fold into one buyer at import

Revision ID: 0010_return_buyers
Revises: 0009_flag_resolved_by_person
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0010_return_buyers"
down_revision: str | None = "0009_flag_resolved_by_person"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "return_buyer",
        sa.Column("parcel_id", sa.Integer(), nullable=False),
        sa.Column("buyer_id", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("waybill", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("order_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("first_seen_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["parcel_id"], ["parcel.id"]),
        sa.PrimaryKeyConstraint("parcel_id", "buyer_id"),
    )
    op.create_index("ix_return_buyer_waybill", "return_buyer", ["waybill"])
    # the buyer each return parcel holds now (what earlier imports kept)
    op.execute(
        "INSERT INTO return_buyer (parcel_id, buyer_id, waybill, order_id, first_seen_at) "
        "SELECT id, buyer_id, waybill, order_id, created_at FROM parcel "
        "WHERE direction = 'return' AND buyer_id IS NOT NULL"
    )


def downgrade() -> None:
    op.drop_index("ix_return_buyer_waybill", table_name="return_buyer")
    op.drop_table("return_buyer")
