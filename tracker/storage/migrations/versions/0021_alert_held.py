"""alert.held: the alert goes out in its group's digest of alerts held outside working hours. A state
cannot say it: a held digest that fails is `failed` (attempts, error, retry time) and must still be retried
as one digest, and a retry that would fall outside the group's hours is held for the next window's digest
(tracker/alerts/service.py). Alerts held before are marked.

Revision ID: 0021_alert_held
Revises: 0020_lost_not_final
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021_alert_held"
down_revision: str | None = "0020_lost_not_final"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("alert", sa.Column("held", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.execute("UPDATE alert SET held = true WHERE state = 'held'")


def downgrade() -> None:
    # a plain DROP COLUMN, as 0015's and 0019's downgrades
    op.drop_column("alert", "held")
