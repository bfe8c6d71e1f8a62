"""Districts named after their municipality, stored without its name: an address's 天津港保税区 or
北京经济技术开发区 was read as the municipality written twice and the district kept the rest (港保税区,
经济技术开发区), shown so on the board and in a claim packet's address. tracker/regions.py now keeps the whole
name; the parcels stored before get it back. The stored district is all that is left of the address (the street is
masked), so only the two names known to lose their first characters this way are repaired, each under its own
municipality: 港保税区 under 天津 alone; 经济技术开发区 under each municipality (each has one, named after it).
No rule reads the district: nothing to mark for the rules.

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

# (the municipality as stored, the district as stored, the district's whole name)
REPAIRS = (
    ("天津", "港保税区", "天津港保税区"),
    ("北京", "经济技术开发区", "北京经济技术开发区"),
    ("天津", "经济技术开发区", "天津经济技术开发区"),
    ("上海", "经济技术开发区", "上海经济技术开发区"),
    ("重庆", "经济技术开发区", "重庆经济技术开发区"),
)


def upgrade() -> None:
    conn = op.get_bind()
    stmt = sa.text("UPDATE parcel SET district = :whole WHERE province = :province AND district = :stored")
    conn.execute(stmt, [{"province": p, "stored": d, "whole": w} for p, d, w in REPAIRS])


def downgrade() -> None:
    pass  # the whole names are kept: the code before reads any district as it is
