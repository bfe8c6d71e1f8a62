"""ix_parcel_awaiting: the orders still awaiting their parcel (domain.AWAITING_COURIER, open). repo.any_awaiting
asks whether there is one before an import's batch is matched with waiting orders, and the board's courier
filter before it offers 未发货; it read the range of the (waybill, courier) key the waiting orders' numbers
fall in (订单...) and each row's is_open, so the orders closed before they shipped (交易关闭, which a full order
export brings every day and which stay) were read again each time. This index holds the open ones only: few,
and usually none.

Revision ID: 0027_awaiting_index
Revises: 0026_address_levels_resplit
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0027_awaiting_index"
down_revision: str | None = "0026_address_levels_resplit"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_parcel_awaiting",
        "parcel",
        ["id"],
        sqlite_where=sa.text("courier = '' AND is_open = 1"),
        postgresql_where=sa.text("courier = '' AND is_open"),
    )


def downgrade() -> None:
    op.drop_index("ix_parcel_awaiting", table_name="parcel")
