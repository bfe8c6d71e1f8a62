"""signed pushes that could not be read whole, kept with their error for `tracker pushes --failed/--replay`

Revision ID: 0013_push_dead_letters
Revises: 0012_subscriptions
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0013_push_dead_letters"
down_revision: str | None = "0012_subscriptions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    text = sqlmodel.sql.sqltypes.AutoString
    when = sqlmodel.sql.sqltypes.UTCDateTime
    op.create_table(
        "push_dead_letter",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("provider", text(length=16), nullable=False),
        sa.Column("digest", text(length=64), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("error", text(), nullable=False),
        sa.Column("state", text(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("received_at", when(), nullable=False),
        sa.Column("last_received_at", when(), nullable=False),
        sa.Column("replayed_at", when(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("provider", "digest", name="uq_push_dead_letter_payload"),
    )
    op.create_index("ix_push_dead_letter_state", "push_dead_letter", ["state", "id"])


def downgrade() -> None:
    op.drop_index("ix_push_dead_letter_state", table_name="push_dead_letter")
    op.drop_table("push_dead_letter")
