"""two indexes for the steady rule evaluation at a million parcels: the unresolved flags by (parcel, kind),
which the resolve step reads alone instead of every flag row (tracker/flags/diff.py), and the open return
parcels by waybill, which the surface-mail rule reads instead of every parcel (tracker/flags/queries.py)

Revision ID: 0018_rules_steady_indexes
Revises: 0017_rule_text_hits
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018_rules_steady_indexes"
down_revision: str | None = "0017_rule_text_hits"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNRESOLVED = sa.text("state != 'resolved'")
# tracker.storage.rows.OPEN_RETURN when this migration was written
OPEN_RETURN = sa.text("direction = 'return' AND status NOT IN ('cancelled', 'delivered', 'lost', 'returned')")


def upgrade() -> None:
    op.create_index(
        "ix_flag_unresolved_parcel_kind",
        "flag",
        ["parcel_id", "kind", "state"],
        sqlite_where=UNRESOLVED,
        postgresql_where=UNRESOLVED,
    )
    op.create_index(
        "ix_parcel_open_return_waybill",
        "parcel",
        ["waybill", "status", "direction"],
        sqlite_where=OPEN_RETURN,
        postgresql_where=OPEN_RETURN,
    )


def downgrade() -> None:
    op.drop_index("ix_parcel_open_return_waybill", table_name="parcel")
    op.drop_index("ix_flag_unresolved_parcel_kind", table_name="flag")
