"""Alembic environment: the engine is handed in by tracker.storage.db.migrate()."""

from alembic import context

import tracker.storage.rows  # noqa: F401  (declares the tables in declare.metadata)
from tracker.storage.declare import metadata
from tracker.storage.types import render_item

config = context.config
target_metadata = metadata


def run_migrations_online() -> None:
    engine = config.attributes["engine"]
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
            render_item=render_item,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run_migrations_online()
