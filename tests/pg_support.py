"""PostgreSQL for the tests: the private cluster `tests/services.sh run` starts
(JUPYTER_MLOPS_TEST_PG_URL, its `postgres` database as the superuser), a database per test
cloned from a migrated template, and `store_kind`, the one fixture that runs a test on
SQLite and on PostgreSQL.

A test module opts in with `pytestmark = pytest.mark.both_stores`: its tests that use
`store_kind` (directly or through `db_url`, `services`, `jp_server_config`, ...) run once
per store, as `test_x[sqlite]` and `test_x[postgresql]`; the PostgreSQL run is skipped only
when JUPYTER_MLOPS_TEST_PG_URL is unset. A test of SQLite itself (its file, WAL, pragmas) just
does not use `store_kind`."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from jupyter_mlops.store import Store
from jupyter_mlops.store import engine as store_engine

PG_URL_ENV = "JUPYTER_MLOPS_TEST_PG_URL"
STORE_KINDS = ("sqlite", "postgresql")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "both_stores: run the module's store tests on SQLite and on PostgreSQL")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "store_kind" in metafunc.fixturenames and metafunc.definition.get_closest_marker("both_stores"):
        metafunc.parametrize("store_kind", STORE_KINDS, indirect=True)


class PgCluster:
    """The test cluster: makes databases (empty, or cloned from the migrated template) and
    drops them once their test is over."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = make_url(admin_url)
        self._names = (f"mlops_t{os.getpid()}_{n}" for n in itertools.count())
        self._made: list[str] = []
        self._done: list[str] = []
        self._template: str | None = None

    def url(self, database: str) -> str:
        """The SQLAlchemy URL of `database` on the cluster."""
        return self.admin_url.set(database=database).render_as_string(hide_password=False)

    def _admin(self, *statements: str) -> None:
        import psycopg

        conninfo = self.admin_url.set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(conninfo, autocommit=True) as conn:
            for sql in statements:
                conn.execute(sql.encode())

    def database(self, *, migrated: bool = True) -> str:
        """The URL of a new database: a clone of the migrated template (about 15 ms), or empty."""
        if migrated and self._template is None:
            template = self.database(migrated=False)
            store = Store(template)
            store.upgrade()
            store.dispose()
            self._template = make_url(template).database
        # Databases of finished tests go now, not at their test's teardown: a test's server
        # is stopped by a fixture torn down after `db_url`.
        self._drop(self._done)
        name = next(self._names)
        self._admin(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{self._template}"' if migrated else ""))
        self._made.append(name)
        return self.url(name)

    def done(self, url: str) -> None:
        """Mark the database of `url` for dropping before the next one is made."""
        self._done.append(str(make_url(url).database))

    def _drop(self, names: list[str]) -> None:
        """Drop the databases `names` (their clients are ended) and forget them."""
        self._admin(*(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)' for name in names))
        self._made = [name for name in self._made if name not in names]
        names.clear()

    def drop_all(self) -> None:
        """Drop every database made here."""
        self._done.clear()
        self._drop(self._made[::-1])


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    """The cluster of JUPYTER_MLOPS_TEST_PG_URL; skips the test when it is unset."""
    url = os.environ.get(PG_URL_ENV)
    if not url:
        pytest.skip(f"{PG_URL_ENV} is unset: run the tests under tests/services.sh run")
    cluster = PgCluster(url)
    yield cluster
    cluster.drop_all()


@pytest.fixture
def store_kind(request: pytest.FixtureRequest) -> str:
    """"sqlite" or "postgresql": the store the test runs on (SQLite unless its module is
    marked both_stores)."""
    return str(getattr(request, "param", "sqlite"))


@pytest.fixture
def db_url(store_kind: str, request: pytest.FixtureRequest) -> Iterator[str | None]:
    """The store URL a test's services and server use: None for SQLite (the workspace's
    file), else a fresh migrated PostgreSQL database; its pooled connections close after."""
    if store_kind == "sqlite":
        yield None
        return
    cluster: PgCluster = request.getfixturevalue("pg_cluster")
    url = cluster.database()
    yield url
    store = store_engine._stores.pop(url, None)
    if store is not None:
        store.dispose()
    cluster.done(url)


def db_settings(db_url: str | None) -> dict[str, Any]:
    """Settings values that point a face at `db_url` (none for the workspace's SQLite)."""
    return {"db_url": db_url} if db_url else {}
