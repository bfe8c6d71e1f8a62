"""rule_mark: the parcels whose rule inputs changed since the rules last read them, marked by triggers on
both databases whoever writes (the ingest, an import, a fact, a return's buyer, a person's edit). It
replaces rule_text_dirty (0017), which marked only status, text and open-state changes, and only on
PostgreSQL. An evaluation reads again only the marked parcels and the ones whose time thresholds it
crossed since the last one (tracker/flags/marks.py, docs/architecture.md "Rules").

The marks rule_text_dirty held move over; no evaluation is recorded, so the next one reads every parcel.

Revision ID: 0022_rule_marks
Revises: 0021_alert_held
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022_rule_marks"
down_revision: str | None = "0021_alert_held"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# what a rule, its flag row or a status candidate reads from the parcel (tracker/flags/queries.py,
# candidates.py, rulesql.flag_row); created_at is written once, with the row
WATCHED = (
    "courier", "waybill", "direction", "order_id", "province", "city", "goods_value", "paid_at", "shipped_at",
    "promised_ship_by", "refund_deadline", "return_agreed_at", "refund_express", "status", "status_text",
    "first_scan_at", "last_event_at", "delivered_at", "is_open", "provider_error",
)  # fmt: skip
COLUMNS = ", ".join(WATCHED)


# A new return parcel, or a parcel whose order or direction changed, changes what its order's other parcels
# raise (a return case without a return waybill); a return's new buyer changes every parcel of its waybill
# (shared return waybills).
# SQLite: no OR IGNORE in a trigger (an upsert firing it imposes its own conflict policy: the mark would fail
# when there already), so each mark looks first
def _sqlite_mark(rows: str) -> str:
    return f"""INSERT INTO rule_mark (parcel_id) SELECT x.id FROM ({rows}) AS x
        WHERE NOT EXISTS (SELECT 1 FROM rule_mark m WHERE m.parcel_id = x.id);"""


# SQLite: no trigger on the parcel table's inserts and updates (as in 0016 and 0017): any such trigger, even one
# whose WHEN is false, cost the import and the ingest about 7 us a row (a third of the 100,000-row import). Its
# writers mark what they change (tracker.storage.rollups.mark_parcels: the ingest, the import); a new parcel
# is the evaluation's by its id (tracker/flags/marks.py). Facts, return buyers and deletes are few: triggers.
SQLITE = (
    f"""CREATE TRIGGER rule_mark_parcel_delete AFTER DELETE ON parcel BEGIN
    {_sqlite_mark("SELECT OLD.id AS id UNION SELECT id FROM parcel WHERE order_id = OLD.order_id")}
END""",
    *(
        f"""CREATE TRIGGER rule_mark_fact_{event.lower()} AFTER {event} ON parcel_fact BEGIN
    {_sqlite_mark(f"SELECT {row}.parcel_id AS id")}
END"""
        for event, row in (("INSERT", "NEW"), ("UPDATE", "NEW"), ("DELETE", "OLD"))
    ),
    *(
        f"""CREATE TRIGGER rule_mark_buyer_{event.lower()} AFTER {event} ON return_buyer BEGIN
    {_sqlite_mark(f"SELECT id FROM parcel WHERE waybill = {row}.waybill")}
END"""
        for event, row in (("INSERT", "NEW"), ("DELETE", "OLD"))
    ),
)
SQLITE_DROP = tuple(
    f"DROP TRIGGER {name}"
    for name in (
        "rule_mark_parcel_delete",
        "rule_mark_fact_insert",
        "rule_mark_fact_update",
        "rule_mark_fact_delete",
        "rule_mark_buyer_insert",
        "rule_mark_buyer_delete",
    )
)

# PostgreSQL: statement triggers over the transition tables for inserts and deletes (an import or a COPY
# writes many rows: no call per row), a row trigger behind a WHEN for updates. A mark takes the mark row's
# lock even when it is there already (DO UPDATE, not DO NOTHING): an evaluation that takes the marks
# (DELETE ... RETURNING) then waits for this writer's commit and reads what it wrote.
_MARK = "INSERT INTO rule_mark (parcel_id) {rows} ON CONFLICT (parcel_id) DO UPDATE SET parcel_id = EXCLUDED.parcel_id"
# DISTINCT: two rows of one order in a statement would name a parcel twice, and ON CONFLICT DO UPDATE refuses to
# update a row twice in one statement
_ORDER_OF_RETURNS = (
    "SELECT DISTINCT p.id FROM parcel p JOIN changed c ON p.order_id = c.order_id AND c.direction = 'return'"
)


def _row_function(name: str, rows: str) -> str:
    """A row trigger's function marking `rows` of the deleted row (OLD) or the written one (NEW)."""
    return f"""CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        {_MARK.format(rows=rows.format(row="OLD"))};
    ELSE
        {_MARK.format(rows=rows.format(row="NEW"))};
    END IF;
    RETURN NULL;
END $$"""


POSTGRESQL = (
    f"""CREATE FUNCTION rule_mark_parcels_new() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {_MARK.format(rows="SELECT DISTINCT id FROM changed")};
    {_MARK.format(rows=_ORDER_OF_RETURNS)};
    RETURN NULL;
END $$""",
    """CREATE TRIGGER rule_mark_parcel_insert AFTER INSERT ON parcel REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION rule_mark_parcels_new()""",
    f"""CREATE FUNCTION rule_mark_parcel() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {_MARK.format(rows="VALUES (NEW.id)")};
    IF OLD.order_id IS DISTINCT FROM NEW.order_id OR OLD.direction IS DISTINCT FROM NEW.direction THEN
        {_MARK.format(rows="SELECT id FROM parcel WHERE order_id IN (OLD.order_id, NEW.order_id)")};
    END IF;
    RETURN NULL;
END $$""",
    f"""CREATE TRIGGER rule_mark_parcel_update AFTER UPDATE OF {COLUMNS} ON parcel
    FOR EACH ROW WHEN ({" OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in WATCHED)})
    EXECUTE FUNCTION rule_mark_parcel()""",
    f"""CREATE FUNCTION rule_mark_parcels_gone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {_MARK.format(rows="SELECT DISTINCT p.id FROM parcel p JOIN gone g ON p.order_id = g.order_id")};
    RETURN NULL;
END $$""",
    """CREATE TRIGGER rule_mark_parcel_delete AFTER DELETE ON parcel REFERENCING OLD TABLE AS gone
    FOR EACH STATEMENT EXECUTE FUNCTION rule_mark_parcels_gone()""",
    _row_function("rule_mark_fact", "VALUES ({row}.parcel_id)"),
    """CREATE TRIGGER rule_mark_fact AFTER INSERT OR UPDATE OR DELETE ON parcel_fact
    FOR EACH ROW EXECUTE FUNCTION rule_mark_fact()""",
    _row_function("rule_mark_buyer", "SELECT id FROM parcel WHERE waybill = {row}.waybill"),
    """CREATE TRIGGER rule_mark_buyer AFTER INSERT OR DELETE ON return_buyer
    FOR EACH ROW EXECUTE FUNCTION rule_mark_buyer()""",
)
POSTGRESQL_DROP = (
    "DROP TRIGGER rule_mark_buyer ON return_buyer",
    "DROP FUNCTION rule_mark_buyer()",
    "DROP TRIGGER rule_mark_fact ON parcel_fact",
    "DROP FUNCTION rule_mark_fact()",
    "DROP TRIGGER rule_mark_parcel_delete ON parcel",
    "DROP FUNCTION rule_mark_parcels_gone()",
    "DROP TRIGGER rule_mark_parcel_update ON parcel",
    "DROP FUNCTION rule_mark_parcel()",
    "DROP TRIGGER rule_mark_parcel_insert ON parcel",
    "DROP FUNCTION rule_mark_parcels_new()",
)

# 0017's text-mark triggers (PostgreSQL), as its POSTGRESQL_TRIGGERS made them
TEXT_DROP = (
    "DROP TRIGGER rule_text_parcel_update ON parcel",
    "DROP FUNCTION rule_text_mark_parcel()",
    "DROP TRIGGER rule_text_parcel_insert ON parcel",
    "DROP FUNCTION rule_text_mark_parcels()",
)
EVALUATION_STATE = (
    "DELETE FROM rollup_state WHERE name IN ('rules_evaluated_at', 'rules_fingerprint', 'rules_last_parcel')"
)


def upgrade() -> None:
    pg = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        "rule_mark",
        sa.Column("parcel_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("parcel_id"),
        sqlite_with_rowid=False,
    )
    if pg:
        for statement in TEXT_DROP:
            op.execute(statement)
    op.execute("INSERT INTO rule_mark (parcel_id) SELECT parcel_id FROM rule_text_dirty")
    op.drop_table("rule_text_dirty")
    for statement in POSTGRESQL if pg else SQLITE:
        op.execute(statement)
    op.execute(EVALUATION_STATE)


def downgrade() -> None:
    pg = op.get_bind().dialect.name == "postgresql"
    for statement in POSTGRESQL_DROP if pg else SQLITE_DROP:
        op.execute(statement)
    op.execute(EVALUATION_STATE)
    op.create_table(
        "rule_text_dirty",
        sa.Column("parcel_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("parcel_id"),
    )
    op.execute("INSERT INTO rule_text_dirty (parcel_id) SELECT parcel_id FROM rule_mark")
    op.drop_table("rule_mark")
    if pg:
        from importlib import import_module

        text_marks = import_module("tracker.storage.migrations.versions.0017_rule_text_hits")
        for statement in text_marks.POSTGRESQL_TRIGGERS:
            op.execute(statement)
