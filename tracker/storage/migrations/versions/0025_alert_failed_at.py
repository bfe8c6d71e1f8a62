"""alert.failed_at: when the alert's last try failed. The board's "failed today" counted a failed alert by when
it was stored, so the morning digest of alerts held overnight (stored the evening before) that failed at 09:00
was not among today's failures. Alerts that failed before keep NULL: they count by when they were stored.

Revision ID: 0025_alert_failed_at
Revises: 0024_parcel_supplier_value
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0025_alert_failed_at"
down_revision: str | None = "0024_parcel_supplier_value"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("alert", sa.Column("failed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))


def downgrade() -> None:
    # a plain DROP COLUMN, as 0021's downgrade
    op.drop_column("alert", "failed_at")
