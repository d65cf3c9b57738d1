"""Engine, sessions and start-up migration of the store."""

from __future__ import annotations

import logging
import random
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from ..errors import NotFound, Unavailable

log = logging.getLogger(__name__)

#: The newest migration; `tests/test_store.py` checks it against the scripts.
HEAD_REVISION = "0009_artifact_fingerprints"
BUSY_TIMEOUT_MS = 30_000
MIGRATIONS_DIR = Path(__file__).with_name("migrations")
#: PostgreSQL advisory lock keys (any fixed bigints): one writer at a time, one migrator at a time.
WRITE_LOCK_KEY = 0x6D6C6F7073_01
MIGRATION_LOCK_KEY = 0x6D6C6F7073_02


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # The driver must not open transactions itself: `_sqlite_begin` does, so a
    # writer can ask for BEGIN IMMEDIATE and wait on busy_timeout instead of
    # failing with "database is locked" when upgrading a read lock.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    _enable_wal(cur)
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def _enable_wal(cur: Any) -> None:
    """`PRAGMA journal_mode=WAL`, retried while locked: on a new file, connections that switch
    at once can deadlock on the lock upgrade, and SQLite then answers "database is locked"
    at once instead of waiting on busy_timeout."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    delay = 0.005
    while True:
        try:
            cur.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(delay * (1 + random.random()))
            delay = min(delay * 2, 0.2)


def _postgresql_session(dbapi_conn: Any, _record: Any) -> None:
    # A lock waited for longer than SQLite's busy timeout fails the statement, as there.
    with dbapi_conn.cursor() as cur:
        cur.execute(f"SET lock_timeout = {BUSY_TIMEOUT_MS}")
    dbapi_conn.commit()


def _sqlite_begin(conn: Any) -> None:
    mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
    conn.exec_driver_sql(f"BEGIN {mode}")


def make_engine(url: str) -> Engine:
    """An engine for `url`; for SQLite, creates the folder and sets WAL, busy_timeout, FKs;
    `postgresql://` (or `postgres://`) means psycopg 3, in READ COMMITTED."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    scheme, sep, rest = url.partition("://")
    if scheme in ("postgresql", "postgres"):
        url = f"postgresql+psycopg{sep}{rest}"
    if url.startswith("postgresql"):
        # Statements see what committed before them: a writer that waited for WRITE_LOCK_KEY
        # reads what the previous holder wrote (REPEATABLE READ would read an older snapshot).
        # No pre-ping: it costs a round trip per checkout (a create took 3.1 ms with it, 1.8 ms
        # without). After the database restarts, the first statement on a stale pooled
        # connection fails: SQLAlchemy then discards the whole pool, `Store` says Unavailable
        # (503) for that one call, and the next ones reconnect.
        engine = create_engine(url, isolation_level="READ COMMITTED")
        event.listen(engine, "connect", _postgresql_session)
        return engine
    return create_engine(url, pool_pre_ping=True)


@contextmanager
def _lost_connection() -> Iterator[None]:
    """A statement that failed because the database connection was lost (the server
    restarted or ended it) as Unavailable: nothing was done, and the pool reconnects."""
    try:
        yield
    except DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
        raise Unavailable(
            "the registry's database connection was lost (did the database restart?); nothing was changed: try again"
        ) from None


class Store:
    """One database: sessions for reads and short write transactions."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.is_sqlite = url.startswith("sqlite")
        self.is_postgresql = self.engine.dialect.name == "postgresql"
        writer = self.engine.execution_options(sqlite_begin="IMMEDIATE") if self.is_sqlite else self.engine
        self._read = sessionmaker(self.engine, expire_on_commit=False)
        self._write = sessionmaker(writer, expire_on_commit=False)

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for queries; rolled back at the end."""
        with _lost_connection(), self._read() as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A write transaction, committed on success and rolled back on error.

        Writers queue, one at a time, so a rule checked by reading (a unique name, a job's
        dedupe key, a release's status) still holds at commit: on SQLite the transaction
        starts with BEGIN IMMEDIATE and waits on the busy timeout; on PostgreSQL it first
        takes the advisory lock WRITE_LOCK_KEY (released at commit or rollback)."""
        with _lost_connection(), self._write() as session, session.begin():
            if self.is_postgresql:
                session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": WRITE_LOCK_KEY})
            yield session

    def current_revision(self) -> str | None:
        """The Alembic revision the database is at (None for a new database)."""
        with self.engine.connect() as conn:
            has_table = conn.dialect.has_table(conn, "alembic_version")
            if not has_table:
                return None
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()

    def upgrade(self, revision: str = "head") -> Path | None:
        """Migrate to `revision`, backing up a SQLite file that has data first.

        Returns the backup path (None when nothing needed copying). Alembic is
        imported only when the database is not already at head."""
        current = self.current_revision()
        if revision == "head" and current == HEAD_REVISION:
            return None
        backup = self._backup(current) if current is not None else None
        from alembic import command

        command.upgrade(alembic_config(self), revision)
        return backup

    def _backup(self, revision: str) -> Path | None:
        if not self.is_sqlite:
            return None
        src = Path(self.url.split("///", 1)[-1])
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f")
        dest = src.with_name(f"{src.name}.{revision}.{stamp}.bak")
        with sqlite3.connect(src) as source, sqlite3.connect(dest) as target:
            source.backup(target)
        log.info("jupyter_mlops: backed up %s to %s before migrating", src, dest)
        return dest

    def dispose(self) -> None:
        """Close pooled connections."""
        self.engine.dispose()


def alembic_config(store: Store) -> Any:
    """An Alembic Config pointing at the shipped migrations and this store's engine."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", store.url.replace("%", "%%"))
    cfg.attributes["engine"] = store.engine
    return cfg


E = TypeVar("E")


def fetch(session: Session, entity: type[E], key: Any, label: str) -> E:
    """The row of `entity` with primary key `key`, or NotFound saying "<label> <key> does not exist"."""
    row = session.get(entity, key)
    if row is None:
        raise NotFound(f"{label} {key} does not exist")
    return row


_stores: dict[str, Store] = {}


def open_store(url: str, *, migrate: bool = True) -> Store:
    """The process-wide Store for `url`, migrated to head on first open."""
    store = _stores.get(url)
    if store is None:
        store = Store(url)
        if migrate:
            store.upgrade()
        _stores[url] = store
    return store
