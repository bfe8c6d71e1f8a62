"""rule evaluation at 1M open parcels on PostgreSQL: an index of open parcels' status texts (texts up
to TEXT_BYTES; the longer ones by their own small index), id in the stale scan's covering index, and
flag.parcel_id checked by triggers that the rule evaluation may skip

The foreign key flag.parcel_id -> parcel.id checked each inserted flag on its own (a parcel lookup
and a row lock per flag: 1.4 s of the 3.9 s first evaluation over 1M open parcels, which opens
114,660 flags in one INSERT). The triggers that replace it:
  flag   BEFORE INSERT, UPDATE OF parcel_id (row)   the parcel exists
  parcel BEFORE DELETE, UPDATE OF id (row)          no flag names it (as ON DELETE NO ACTION)
  parcel AFTER TRUNCATE (statement)                 no flag is left (truncate flag with it)
Errors keep the constraint's name and SQLSTATE 23503 (foreign_key_violation). The flag-side check is
skipped while the session sets `tracker.flag_parcels_checked` to on: the rule evaluation does, for its
own transaction, as it switches SQLite's foreign keys off (every parcel_id it writes comes from a
parcel row it read in that transaction, and parcels are not deleted: the parcel-side triggers).

Revision ID: 0008_rules_bulk_open_pg
Revises: 0007_rules_scan_indexes
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_rules_bulk_open_pg"
down_revision: str | None = "0007_rules_scan_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# tracker.storage.rows.OPEN_TEXT_INDEX_BYTES when this migration was written: B-tree entries must stay
# under ~2.7 kB, a UTF-8 Chinese character takes 3 bytes
TEXT_BYTES = 2000
CONSTRAINT = "flag_parcel_id_fkey"

CHECKED = "tracker.flag_parcels_checked"  # tracker.flags.dialect.PARCELS_CHECKED

# one statement per entry (a function body's `;` stays inside its $$ quotes)
TRIGGERS = (
    f"""CREATE FUNCTION flag_parcel_exists() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.parcel_id = OLD.parcel_id THEN
        RETURN NEW;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM parcel WHERE id = NEW.parcel_id) THEN
        RAISE foreign_key_violation USING CONSTRAINT = '{CONSTRAINT}', TABLE = 'flag',
            MESSAGE = 'insert or update on table "flag" violates foreign key constraint "{CONSTRAINT}"',
            DETAIL = format('Key (parcel_id)=(%s) is not present in table "parcel".', NEW.parcel_id);
    END IF;
    RETURN NEW;
END $$""",
    f"""CREATE TRIGGER flag_parcel_exists BEFORE INSERT OR UPDATE OF parcel_id ON flag FOR EACH ROW
    WHEN (current_setting('{CHECKED}', true) IS DISTINCT FROM 'on') EXECUTE FUNCTION flag_parcel_exists()""",
    f"""CREATE FUNCTION parcel_keeps_flags() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM flag WHERE parcel_id = OLD.id) THEN
        RAISE foreign_key_violation USING CONSTRAINT = '{CONSTRAINT}', TABLE = 'flag',
            MESSAGE = 'update or delete on table "parcel" violates foreign key constraint '
                || '"{CONSTRAINT}" on table "flag"',
            DETAIL = format('Key (id)=(%s) is still referenced from table "flag".', OLD.id);
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END $$""",
    """CREATE TRIGGER parcel_keeps_flags_delete BEFORE DELETE ON parcel
    FOR EACH ROW EXECUTE FUNCTION parcel_keeps_flags()""",
    """CREATE TRIGGER parcel_keeps_flags_update BEFORE UPDATE OF id ON parcel
    FOR EACH ROW WHEN (NEW.id IS DISTINCT FROM OLD.id) EXECUTE FUNCTION parcel_keeps_flags()""",
    f"""CREATE FUNCTION parcel_truncate_keeps_flags() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM flag) THEN
        RAISE foreign_key_violation USING CONSTRAINT = '{CONSTRAINT}', TABLE = 'flag',
            MESSAGE = 'cannot truncate a table referenced in a foreign key constraint',
            DETAIL = 'Table "flag" references "parcel".', HINT = 'Truncate table "flag" at the same time.';
    END IF;
    RETURN NULL;
END $$""",
    """CREATE TRIGGER parcel_truncate_keeps_flags AFTER TRUNCATE ON parcel
    FOR EACH STATEMENT EXECUTE FUNCTION parcel_truncate_keeps_flags()""",
)
DROP_TRIGGERS = (
    "DROP TRIGGER parcel_truncate_keeps_flags ON parcel",
    "DROP TRIGGER parcel_keeps_flags_update ON parcel",
    "DROP TRIGGER parcel_keeps_flags_delete ON parcel",
    "DROP TRIGGER flag_parcel_exists ON flag",
    "DROP FUNCTION parcel_truncate_keeps_flags()",
    "DROP FUNCTION parcel_keeps_flags()",
    "DROP FUNCTION flag_parcel_exists()",
)
# the stale and lost-suspected scans read the parcel id too: in the index, no heap visit per parcel
# (SQLite's indexes carry the rowid anyway)
STALE_COLUMNS = ["last_event_at", "courier", "status", "waybill"]
OPEN = sa.text("is_open")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.create_index(
        "ix_parcel_open_short_text",
        "parcel",
        ["status", "status_text"],
        postgresql_where=sa.text(f"is_open AND status_text IS NOT NULL AND octet_length(status_text) <= {TEXT_BYTES}"),
    )
    op.create_index(
        "ix_parcel_open_long_text",
        "parcel",
        ["id"],
        postgresql_where=sa.text(f"is_open AND octet_length(status_text) > {TEXT_BYTES}"),
    )
    op.drop_index("ix_parcel_open_last_event", table_name="parcel")
    op.create_index(
        "ix_parcel_open_last_event", "parcel", STALE_COLUMNS, postgresql_where=OPEN, postgresql_include=["id"]
    )
    op.drop_constraint(CONSTRAINT, "flag", type_="foreignkey")
    for statement in TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for statement in DROP_TRIGGERS:
        op.execute(statement)
    op.create_foreign_key(CONSTRAINT, "flag", "parcel", ["parcel_id"], ["id"])
    op.drop_index("ix_parcel_open_last_event", table_name="parcel")
    op.create_index("ix_parcel_open_last_event", "parcel", STALE_COLUMNS, postgresql_where=OPEN)
    op.drop_index("ix_parcel_open_long_text", table_name="parcel")
    op.drop_index("ix_parcel_open_short_text", table_name="parcel")
