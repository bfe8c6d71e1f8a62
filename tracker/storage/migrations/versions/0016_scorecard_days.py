"""the courier scorecards at a million parcels: a rollup per shipping day and courier (scorecard_day), the
hours whose parcels changed since (scorecard_dirty, written by triggers on parcel, flag and claim so that
every writer marks them, and by the evaluation's opening of flags), the zone its days are in
(rollup_state); the shipping period's parcels by index (ix_parcel_shipped) and the open stale ones with
their shipping time (ix_parcel_open_last_event gains shipped_at) (tracker/storage/scorecard_days.py,
docs/architecture.md "Storage")

The rollup starts empty, with no zone: the first read builds it for the configured zone.

Revision ID: 0016_scorecard_days
Revises: 0015_board_rollups
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0016_scorecard_days"
down_revision: str | None = "0015_board_rollups"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_HOUR = "substr({t}.shipped_at, 1, 13)"  # times are stored as 'YYYY-MM-DD HH:MM:SS.ffffff' UTC


def _sqlite_mark(hour: str, source: str = "", where: str = "") -> str:
    """Insert `hour` unless there: not INSERT OR IGNORE, whose policy the outer statement's overrides (an
    import's upsert turns it into an abort)."""
    return (
        f"INSERT INTO scorecard_dirty (hour) SELECT {hour} {source} WHERE {where or 'true'}"
        f" AND NOT EXISTS (SELECT 1 FROM scorecard_dirty d WHERE d.hour = {hour});"
    )


# No trigger on SQLite's parcel table: with them the import's upsert took half as long again (7.6 -> 12.3 s for
# 100,000 rows, bench/import.py); the two writers of a parcel's courier, shipping and delivery time, the import
# and the ingest, mark the hours themselves (tracker.storage.scorecard_days.mark_parcels, mark_hours).
# No trigger on flag inserts: on SQLite a row trigger cost the evaluation's bulk opening about 3 µs a flag,
# on PostgreSQL a statement trigger looked each flag's parcel up again (+0.2-0.5 s for 50,000 flags at 1M
# parcels). The evaluation, the one writer of flags, marks their hours as it opens them
# (tracker/flags/writes.py). Deleted flags are marked by triggers.
SQLITE_TRIGGERS = (
    f"""CREATE TRIGGER scorecard_flag_delete AFTER DELETE ON flag
BEGIN {_sqlite_mark(SQLITE_HOUR.format(t="p"), "FROM parcel p", "p.id = OLD.parcel_id AND p.shipped_at IS NOT NULL")}
END""",
    f"""CREATE TRIGGER scorecard_claim_insert AFTER INSERT ON claim
BEGIN {_sqlite_mark(SQLITE_HOUR.format(t="p"), "FROM parcel p", "p.id = NEW.parcel_id AND p.shipped_at IS NOT NULL")}
END""",
    f"""CREATE TRIGGER scorecard_claim_update AFTER UPDATE OF parcel_id, courier, filed_at, paid_amount ON claim
WHEN NEW.parcel_id IS NOT OLD.parcel_id OR NEW.courier IS NOT OLD.courier OR NEW.filed_at IS NOT OLD.filed_at
    OR NEW.paid_amount IS NOT OLD.paid_amount
BEGIN
{_sqlite_mark(SQLITE_HOUR.format(t="p"), "FROM parcel p", "p.id = OLD.parcel_id AND p.shipped_at IS NOT NULL")}
{_sqlite_mark(SQLITE_HOUR.format(t="p"), "FROM parcel p", "p.id = NEW.parcel_id AND p.shipped_at IS NOT NULL")}
END""",
    f"""CREATE TRIGGER scorecard_claim_delete AFTER DELETE ON claim
BEGIN {_sqlite_mark(SQLITE_HOUR.format(t="p"), "FROM parcel p", "p.id = OLD.parcel_id AND p.shipped_at IS NOT NULL")}
END""",
)
SQLITE_DROP = ("flag_delete", "claim_insert", "claim_update", "claim_delete")

PG_HOUR = "to_char({t}.shipped_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24')"
# statement triggers with transition tables where a statement writes many rows (an import's insert, the
# evaluation's flags: no function call per row); a row trigger behind a WHEN for the rare real change of
# an update (ingest rewrites the snapshot columns of every parcel it touches)
POSTGRESQL_TRIGGERS = (
    f"""CREATE FUNCTION scorecard_mark_parcels() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO scorecard_dirty (hour) SELECT DISTINCT {PG_HOUR.format(t="changed")} FROM changed
    WHERE changed.shipped_at IS NOT NULL ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$""",
    """CREATE TRIGGER scorecard_parcel_insert AFTER INSERT ON parcel REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION scorecard_mark_parcels()""",
    """CREATE TRIGGER scorecard_parcel_delete AFTER DELETE ON parcel REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION scorecard_mark_parcels()""",
    f"""CREATE FUNCTION scorecard_mark_parcel() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO scorecard_dirty (hour)
    SELECT DISTINCT {PG_HOUR.format(t="v")} FROM (VALUES (OLD.shipped_at), (NEW.shipped_at)) AS v(shipped_at)
    WHERE v.shipped_at IS NOT NULL ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$""",
    """CREATE TRIGGER scorecard_parcel_update AFTER UPDATE OF courier, shipped_at, delivered_at ON parcel
    FOR EACH ROW WHEN (OLD.courier IS DISTINCT FROM NEW.courier OR OLD.shipped_at IS DISTINCT FROM NEW.shipped_at
        OR OLD.delivered_at IS DISTINCT FROM NEW.delivered_at)
    EXECUTE FUNCTION scorecard_mark_parcel()""",
    f"""CREATE FUNCTION scorecard_mark_flags() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO scorecard_dirty (hour) SELECT DISTINCT {PG_HOUR.format(t="p")} FROM changed JOIN parcel p
    ON p.id = changed.parcel_id WHERE p.shipped_at IS NOT NULL ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$""",
    """CREATE TRIGGER scorecard_flag_delete AFTER DELETE ON flag REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION scorecard_mark_flags()""",
    # claims are few per statement (a person's action, the drafts of an evaluation): row triggers
    f"""CREATE FUNCTION scorecard_mark_claim() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        INSERT INTO scorecard_dirty (hour) SELECT {PG_HOUR.format(t="p")} FROM parcel p
        WHERE p.id = OLD.parcel_id AND p.shipped_at IS NOT NULL ON CONFLICT DO NOTHING;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        INSERT INTO scorecard_dirty (hour) SELECT {PG_HOUR.format(t="p")} FROM parcel p
        WHERE p.id = NEW.parcel_id AND p.shipped_at IS NOT NULL ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END $$""",
    """CREATE TRIGGER scorecard_claim_insert_delete AFTER INSERT OR DELETE ON claim
    FOR EACH ROW EXECUTE FUNCTION scorecard_mark_claim()""",
    """CREATE TRIGGER scorecard_claim_update AFTER UPDATE OF parcel_id, courier, filed_at, paid_amount ON claim
    FOR EACH ROW WHEN (OLD.parcel_id IS DISTINCT FROM NEW.parcel_id OR OLD.courier IS DISTINCT FROM NEW.courier
        OR OLD.filed_at IS DISTINCT FROM NEW.filed_at OR OLD.paid_amount IS DISTINCT FROM NEW.paid_amount)
    EXECUTE FUNCTION scorecard_mark_claim()""",
)
POSTGRESQL_DROP = (
    "DROP TRIGGER scorecard_claim_update ON claim",
    "DROP TRIGGER scorecard_claim_insert_delete ON claim",
    "DROP FUNCTION scorecard_mark_claim()",
    "DROP TRIGGER scorecard_flag_delete ON flag",
    "DROP FUNCTION scorecard_mark_flags()",
    "DROP TRIGGER scorecard_parcel_update ON parcel",
    "DROP FUNCTION scorecard_mark_parcel()",
    "DROP TRIGGER scorecard_parcel_delete ON parcel",
    "DROP TRIGGER scorecard_parcel_insert ON parcel",
    "DROP FUNCTION scorecard_mark_parcels()",
)

STALE_COLUMNS = ["last_event_at", "courier", "status", "waybill"]


def _stale_index(columns: list[str], *, postgresql: bool) -> None:
    """ix_parcel_open_last_event over `columns`: on PostgreSQL with id included (migration 0008)."""
    if postgresql:
        op.create_index(
            "ix_parcel_open_last_event",
            "parcel",
            columns,
            postgresql_where=sa.text("is_open"),
            postgresql_include=["id"],
        )
    else:
        op.create_index("ix_parcel_open_last_event", "parcel", columns, sqlite_where=sa.text("is_open = 1"))


def upgrade() -> None:
    text = sqlmodel.sql.sqltypes.AutoString
    op.create_table(
        "scorecard_day",
        sa.Column("day", text(length=10), nullable=False),
        sa.Column("courier", text(length=32), nullable=False),
        sa.Column("parcels", sa.Integer(), nullable=False),
        sa.Column("flagged", sa.Integer(), nullable=False),
        sa.Column("claims_filed", sa.Integer(), nullable=False),
        sa.Column("recovered", sa.Numeric(14, 2), nullable=False),
        sa.Column("transit", sa.JSON(), nullable=False),
        sa.Column("kinds", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("day", "courier"),
    )
    op.create_table(
        "scorecard_dirty", sa.Column("hour", text(length=13), nullable=False), sa.PrimaryKeyConstraint("hour")
    )
    op.create_table(
        "rollup_state",
        sa.Column("name", text(length=32), nullable=False),
        sa.Column("value", text(length=64), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    # tracker.storage.rows.SCORECARD_INDEXED: only the scorecards' reads say it, the rules keep their indexes
    shipped = sa.text("courier <> ''")
    op.create_index(
        "ix_parcel_shipped",
        "parcel",
        ["shipped_at", "courier", "delivered_at"],
        sqlite_where=shipped,
        postgresql_where=shipped,
    )
    postgresql = op.get_bind().dialect.name == "postgresql"
    op.drop_index("ix_parcel_open_last_event", table_name="parcel")
    _stale_index([*STALE_COLUMNS, "shipped_at"], postgresql=postgresql)
    for statement in POSTGRESQL_TRIGGERS if postgresql else SQLITE_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for statement in POSTGRESQL_DROP if postgresql else (f"DROP TRIGGER scorecard_{t}" for t in SQLITE_DROP):
        op.execute(statement)
    op.drop_index("ix_parcel_open_last_event", table_name="parcel")
    _stale_index(STALE_COLUMNS, postgresql=postgresql)
    op.drop_index("ix_parcel_shipped", table_name="parcel")
    op.drop_table("rollup_state")
    op.drop_table("scorecard_dirty")
    op.drop_table("scorecard_day")
