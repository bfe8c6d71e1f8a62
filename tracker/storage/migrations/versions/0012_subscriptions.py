"""push subscriptions per parcel (state, provider, attempts, times, the provider's message) and the provider
quota spent per day

Revision ID: 0012_subscriptions
Revises: 0011_drop_return_waybill_index
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0012_subscriptions"
down_revision: str | None = "0011_drop_return_waybill_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PENDING = sa.text("state = 'pending'")


def upgrade() -> None:
    text = sqlmodel.sql.sqltypes.AutoString
    when = sqlmodel.sql.sqltypes.UTCDateTime
    op.create_table(
        "subscription",
        sa.Column("parcel_id", sa.Integer(), nullable=False),
        sa.Column("provider", text(length=16), nullable=False),
        sa.Column("courier", text(length=32), nullable=False),
        sa.Column("state", text(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("resubscribes", sa.Integer(), nullable=False),
        sa.Column("retry_at", when(), nullable=True),
        sa.Column("subscribed_at", when(), nullable=True),
        sa.Column("last_push_at", when(), nullable=True),
        sa.Column("stopped_at", when(), nullable=True),
        sa.Column("code", text(length=32), nullable=True),
        sa.Column("message", text(), nullable=True),
        sa.Column("updated_at", when(), nullable=False),
        sa.ForeignKeyConstraint(["parcel_id"], ["parcel.id"]),
        sa.PrimaryKeyConstraint("parcel_id"),
    )
    op.create_index(
        "ix_subscription_pending", "subscription", ["retry_at"], sqlite_where=PENDING, postgresql_where=PENDING
    )
    op.create_index("ix_subscription_state", "subscription", ["state", "provider"])
    op.create_table(
        "provider_quota",
        sa.Column("provider", text(length=16), nullable=False),
        sa.Column("day", text(length=10), nullable=False),
        sa.Column("kind", text(length=16), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("provider", "day", "kind"),
    )


def downgrade() -> None:
    op.drop_table("provider_quota")
    op.drop_index("ix_subscription_state", table_name="subscription")
    op.drop_index("ix_subscription_pending", table_name="subscription")
    op.drop_table("subscription")
