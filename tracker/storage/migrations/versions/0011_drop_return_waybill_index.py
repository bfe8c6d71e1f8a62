"""drop ix_parcel_return_waybill: it served the shared-return-waybill count, which reads return_buyer since
0010; lookups of a parcel by waybill use uq_parcel_waybill_courier

Revision ID: 0011_drop_return_waybill_index
Revises: 0010_return_buyers
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_drop_return_waybill_index"
down_revision: str | None = "0010_return_buyers"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RETURNS = sa.text("direction = 'return'")


def upgrade() -> None:
    op.drop_index("ix_parcel_return_waybill", table_name="parcel")


def downgrade() -> None:
    op.create_index(
        "ix_parcel_return_waybill", "parcel", ["waybill", "buyer_id"], sqlite_where=RETURNS, postgresql_where=RETURNS
    )
