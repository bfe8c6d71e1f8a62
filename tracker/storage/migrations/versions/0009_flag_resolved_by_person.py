"""the flags a person resolved and whose condition has not been seen clear: a partial index, so that each
evaluation reads these few instead of every resolved flag

Revision ID: 0009_flag_resolved_by_person
Revises: 0008_rules_bulk_open_pg
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_flag_resolved_by_person"
down_revision: str | None = "0008_rules_bulk_open_pg"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# tracker.storage.rows.PERSON_RESOLVED_UNCLEARED when this migration was written
WHERE = sa.text("state = 'resolved' AND resolved_by <> 'rules' AND coalesce(anchor, 0) <> -1")


def upgrade() -> None:
    op.create_index("ix_flag_resolved_by_person", "flag", ["id"], sqlite_where=WHERE, postgresql_where=WHERE)


def downgrade() -> None:
    op.drop_index("ix_flag_resolved_by_person", table_name="flag")
