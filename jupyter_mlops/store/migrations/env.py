"""Alembic environment: runs migrations on the engine handed over by the Store."""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

from jupyter_mlops.store.engine import MIGRATION_LOCK_KEY, make_engine
from jupyter_mlops.store.schema import Base

config = context.config
engine = config.attributes.get("engine") or make_engine(config.get_main_option("sqlalchemy.url") or "")
if engine.dialect.name == "sqlite":
    # All steps in one write transaction taken up front (the Store's engine turns
    # this option into BEGIN IMMEDIATE): processes that start together on the same
    # file wait on busy_timeout for the first one's migration, then see it done,
    # instead of failing with "database is locked"; a failed upgrade changes nothing.
    engine = engine.execution_options(sqlite_begin="IMMEDIATE")

with engine.connect() as connection, connection.begin():
    if connection.dialect.name == "postgresql":
        # One migrator at a time, in one transaction (PostgreSQL's DDL is transactional, so a
        # failed upgrade changes nothing); the lock goes at COMMIT or ROLLBACK. Alembic reads
        # alembic_version after it, and in READ COMMITTED (the Store's engine) that read sees
        # what the previous holder committed: a server that waited finds the work done. It
        # waits as long as the other's migration takes (the Store's lock_timeout is for writes).
        connection.execute(text("SET LOCAL lock_timeout = 0"))
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
