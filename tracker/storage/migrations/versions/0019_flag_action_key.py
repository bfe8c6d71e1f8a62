"""the flag's next action as its template key and number (and the time a number of hours or days counts
from, so that it is counted again when read), rendered when read (tracker/flags/next_action.py),
instead of both texts written for every flag an evaluation opens (a quarter of a first evaluation's time at a
million parcels, bench/rules.py). The flags stored before keep their texts, which are read as they are.

Revision ID: 0019_flag_action_key
Revises: 0018_rules_steady_indexes
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0019_flag_action_key"
down_revision: str | None = "0018_rules_steady_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("flag", sa.Column("action_key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
    op.add_column("flag", sa.Column("action_value", sa.Integer(), nullable=True))
    op.add_column("flag", sa.Column("action_since", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    # plain DROP COLUMNs, as 0015's downgrade (a batch copy of the table would drop its triggers)
    op.drop_column("flag", "action_since")
    op.drop_column("flag", "action_value")
    op.drop_column("flag", "action_key")
