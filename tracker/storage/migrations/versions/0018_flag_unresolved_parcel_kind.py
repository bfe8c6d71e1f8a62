"""the unresolved flags by (parcel, kind): the rule evaluation's resolve step reads this index alone instead
of every flag row (tracker/flags/diff.py)

Revision ID: 0018_flag_unresolved_parcel_kind
Revises: 0017_rule_text_hits
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018_flag_unresolved_parcel_kind"
down_revision: str | None = "0017_rule_text_hits"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNRESOLVED = sa.text("state != 'resolved'")


def upgrade() -> None:
    op.create_index(
        "ix_flag_unresolved_parcel_kind",
        "flag",
        ["parcel_id", "kind", "state"],
        sqlite_where=UNRESOLVED,
        postgresql_where=UNRESOLVED,
    )


def downgrade() -> None:
    op.drop_index("ix_flag_unresolved_parcel_kind", table_name="flag")
