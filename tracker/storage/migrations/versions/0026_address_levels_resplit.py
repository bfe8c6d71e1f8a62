"""Parcels whose province, city or district holds a street: imports before tracker/regions.py read an address's
first three words as its levels, so an address written in one piece (浙江省杭州市西湖区文三路100号), or half
spaced (广东省 深圳市南山区科技园9号), was stored with its street and house number in clear in one of them. Those
levels are split again (tracker.regions.split_address, pure), the street masked into address_detail when it has
none (tracker.masking.mask_address); every province is then spelled as the export writes it (浙江 -> 浙江省,
上海市 -> 上海, as imports now store it) and the province filter's choices rebuilt from the parcels. A level holds a
street when it has a digit or a street's word (路 街 巷 号 弄) or is longer than any region's name; other rows are
not read. The parcels changed are marked for the rules (their overrides and routes read the province).

Revision ID: 0026_address_levels_resplit
Revises: 0025_alert_failed_at
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from tracker.masking import mask_address
from tracker.regions import AS_EXPORTED, split_address

revision: str = "0026_address_levels_resplit"
down_revision: str | None = "0025_alert_failed_at"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LEVELS = ("province", "city", "district")
STREET_MARKS = ("路", "街", "巷", "号", "弄", *"0123456789")
LONGEST_NAME = 12  # 黔西南布依族苗族自治州 is 11


def _holds_a_street(column: str) -> str:
    marks = " OR ".join(f"{column} LIKE '%{mark}%'" for mark in STREET_MARKS)
    return f"({column} IS NOT NULL AND (length({column}) > {LONGEST_NAME} OR {marks}))"


def upgrade() -> None:
    conn = op.get_bind()
    where = " OR ".join(_holds_a_street(column) for column in LEVELS)
    rows = conn.execute(
        sa.text(f"SELECT id, province, city, district, address_detail FROM parcel WHERE {where}")  # noqa: S608
    ).all()
    changed = []
    for parcel_id, province, city, district, detail in rows:
        region = split_address(" ".join(v for v in (province, city, district) if v))
        changed.append(
            {
                "id": parcel_id,
                "province": region.province,
                "city": region.city,
                "district": region.district,
                "detail": detail or mask_address(region.street),
            }
        )
    if changed:
        conn.execute(
            sa.text(
                "UPDATE parcel SET province = :province, city = :city, district = :district, "
                "address_detail = :detail WHERE id = :id"
            ),
            changed,
        )
        if conn.dialect.name == "sqlite":  # PostgreSQL: the parcel table's triggers mark them (migration 0022)
            conn.execute(
                sa.text("INSERT OR IGNORE INTO rule_mark (parcel_id) VALUES (:id)"), [{"id": c["id"]} for c in changed]
            )
    # every province spelled as the export writes it (浙江 -> 浙江省, 上海市 -> 上海), as imports now store it: the
    # filter lists each once (the rules and routes match either spelling: no parcel's flags change)
    respelled = {spelling: name for spelling, name in AS_EXPORTED.items() if spelling != name}
    cases = " ".join(f"WHEN '{spelling}' THEN '{name}'" for spelling, name in respelled.items())
    listed = ", ".join(f"'{spelling}'" for spelling in respelled)
    conn.execute(sa.text(f"UPDATE parcel SET province = CASE province {cases} END WHERE province IN ({listed})"))  # noqa: S608
    # the province filter's choices: the parcels' provinces as they are now (the street in clear was one)
    conn.execute(sa.text("DELETE FROM filter_choice WHERE field = 'province'"))
    conn.execute(
        sa.text(
            "INSERT INTO filter_choice (field, value) SELECT DISTINCT 'province', province FROM parcel "
            "WHERE province IS NOT NULL AND province <> ''"
        )
    )


def downgrade() -> None:
    pass  # the streets are masked: nothing to restore
