"""the status rules' text scan kept between evaluations: the open parcels whose courier text matches the
rules' patterns (rule_text_hit), and the parcels whose status, text or open state changed since an
evaluation last read them (rule_text_dirty): marked on PostgreSQL by triggers on parcel whoever writes it,
on SQLite by the ingest (tracker/flags/text_hits.py, docs/architecture.md "Rules")

Both start empty and no pattern fingerprint is stored: the first evaluation after this migration scans
every open parcel's text, as before, and keeps what matched.

Revision ID: 0017_rule_text_hits
Revises: 0016_scorecard_days
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017_rule_text_hits"
down_revision: str | None = "0016_scorecard_days"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# No trigger on SQLite's parcel table (as in 0016): a row trigger cost the ingest's snapshot update about 5 us
# a parcel (the update then takes two passes). The one writer of those columns, the ingest, marks the parcels
# whose status, text or open state it changed (tracker.storage.rollups.mark_text_changed); rows written
# around the tracker are followed by `tracker db rebuild-rollups`, which drops the fingerprint.

# PostgreSQL: a statement trigger for inserts (an import or a COPY writes many rows: no call per row), a row
# trigger behind a WHEN for updates. The update's mark takes the dirty row's lock even when it is there
# already (DO UPDATE, not DO NOTHING): an evaluation that takes the marks (DELETE ... RETURNING) then waits
# for this writer's commit and reads the text it wrote, instead of taking the mark and reading the old text.
POSTGRESQL_TRIGGERS = (
    """CREATE FUNCTION rule_text_mark_parcels() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO rule_text_dirty (parcel_id) SELECT id FROM changed WHERE is_open AND status_text IS NOT NULL
    ON CONFLICT (parcel_id) DO NOTHING;
    RETURN NULL;
END $$""",
    """CREATE TRIGGER rule_text_parcel_insert AFTER INSERT ON parcel REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION rule_text_mark_parcels()""",
    """CREATE FUNCTION rule_text_mark_parcel() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO rule_text_dirty (parcel_id) VALUES (NEW.id)
    ON CONFLICT (parcel_id) DO UPDATE SET parcel_id = EXCLUDED.parcel_id;
    RETURN NULL;
END $$""",
    """CREATE TRIGGER rule_text_parcel_update AFTER UPDATE OF status, status_text, is_open ON parcel
    FOR EACH ROW WHEN (OLD.status_text IS DISTINCT FROM NEW.status_text OR OLD.status IS DISTINCT FROM NEW.status
        OR OLD.is_open IS DISTINCT FROM NEW.is_open)
    EXECUTE FUNCTION rule_text_mark_parcel()""",
)
POSTGRESQL_DROP = (
    "DROP TRIGGER rule_text_parcel_update ON parcel",
    "DROP FUNCTION rule_text_mark_parcel()",
    "DROP TRIGGER rule_text_parcel_insert ON parcel",
    "DROP FUNCTION rule_text_mark_parcels()",
)


def upgrade() -> None:
    for name in ("rule_text_hit", "rule_text_dirty"):
        op.create_table(
            name,
            sa.Column("parcel_id", sa.Integer(), autoincrement=False, nullable=False),
            sa.PrimaryKeyConstraint("parcel_id"),
        )
    if op.get_bind().dialect.name == "postgresql":
        for statement in POSTGRESQL_TRIGGERS:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in POSTGRESQL_DROP:
            op.execute(statement)
    op.execute("DELETE FROM rollup_state WHERE name = 'rule_text_patterns'")
    op.drop_table("rule_text_dirty")
    op.drop_table("rule_text_hit")
