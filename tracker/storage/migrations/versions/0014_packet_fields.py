"""what a claim packet names: the recipient (masked as Taobao masks it), the masked detail address and
phone, the goods title on the parcel (docs/exports.md)

Revision ID: 0014_packet_fields
Revises: 0013_push_dead_letters
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0014_packet_fields"
down_revision: str | None = "0013_push_dead_letters"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    text = sqlmodel.sql.sqltypes.AutoString
    with op.batch_alter_table("parcel") as batch:
        batch.add_column(sa.Column("recipient", text(length=32), nullable=True))
        batch.add_column(sa.Column("phone_masked", text(length=20), nullable=True))
        batch.add_column(sa.Column("address_detail", text(length=200), nullable=True))
        batch.add_column(sa.Column("goods_title", text(length=200), nullable=True))


def downgrade() -> None:
    # a plain ALTER TABLE ... DROP COLUMN (SQLite >= 3.35 has it): a batch copy of parcel would have to drop
    # the table that flag, claim and the others point at
    for column in ("goods_title", "address_detail", "phone_masked", "recipient"):
        op.drop_column("parcel", column)
