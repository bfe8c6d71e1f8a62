"""parcel.supplier_value: the supplier's value of the goods (供货商货值), the base of a damaged accessory's claim
(seed 002: 配件类货品破损按照供货商货值进行赔偿). An import brings it from a file that names it (an ERP's cost
export); before, only a person could give it, claim by claim (claims set-input). Not a rule input: the mark
triggers of PostgreSQL (0022) do not watch it.

Revision ID: 0024_parcel_supplier_value
Revises: 0023_stale_index_moved_parcels
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024_parcel_supplier_value"
down_revision: str | None = "0023_stale_index_moved_parcels"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# plain ALTER TABLE on both databases (SQLite 3.35+ drops a column in place): a batch copy of the parcel table
# would break the triggers that name it


def upgrade() -> None:
    op.add_column("parcel", sa.Column("supplier_value", sa.Numeric(precision=14, scale=2), nullable=True))


def downgrade() -> None:
    op.drop_column("parcel", "supplier_value")
