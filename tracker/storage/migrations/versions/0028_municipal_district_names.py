"""Districts named after their municipality, stored without its name: an address's 天津港保税区 or
北京经济技术开发区 was read as the municipality written twice and the district kept the rest (港保税区,
经济技术开发区), shown so on the board and in a claim packet's address. tracker/regions.py now keeps the whole
name (its NAMED_AFTER); the parcels stored before get it back. The stored district is all that is left of the
address (the street is masked), so only the names known to lose their first characters this way are repaired,
each under its own municipality, as NAMED_AFTER lists them when this is written: 港保税区 under 天津,
经济技术开发区 under 北京, 天津 and 重庆. One pass over the parcels. No rule reads the district: nothing to mark
for the rules.

Revision ID: 0028_municipal_district_names
Revises: 0027_awaiting_index
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0028_municipal_district_names"
down_revision: str | None = "0027_awaiting_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.get_bind().execute(
        sa.text(
            "UPDATE parcel SET district = province || district "
            "WHERE (province = '天津' AND district = '港保税区') "
            "OR (province IN ('北京', '天津', '重庆') AND district = '经济技术开发区')"
        )
    )


def downgrade() -> None:
    pass  # the whole names are kept: the code before reads any district as it is
