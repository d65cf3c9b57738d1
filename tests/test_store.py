"""The store through real SQLite files and real PostgreSQL databases: start-up migrations
that keep every row (with a backup of a SQLite file), schema parity between the ORM and the
migrations, connection pragmas, several processes writing one store at once, and servers
starting together on an empty store."""
from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from jupyter_mlops.registry import Registry
from jupyter_mlops.store import Store, open_store
from jupyter_mlops.store import engine as store_engine

pytestmark = pytest.mark.both_stores

REGISTRY_TABLES = ("models", "model_tags", "releases", "artifacts", "deployments", "aliases", "audit_events")
FIRST_REVISION = "0001_registry"


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Path]:
    """A database file path in a fresh folder; its Store objects are dropped afterwards."""
    path = tmp_path / "state" / "mlops.db"
    yield path
    url = f"sqlite:///{path}"
    store = store_engine._stores.pop(url, None)
    if store is not None:
        store.dispose()


@pytest.fixture
def empty_url(store_kind: str, db: Path, request: pytest.FixtureRequest) -> str:
    """The URL of an empty store: a new SQLite file (`db`), or a new PostgreSQL database."""
    return url_of(db) if store_kind == "sqlite" else request.getfixturevalue("pg_cluster").database(migrated=False)


def url_of(path: Path) -> str:
    return f"sqlite:///{path}"


def _engine(url: str | Path) -> sa.Engine:
    return sa.create_engine(url_of(url) if isinstance(url, Path) else url)


def table_rows(url: str | Path, tables: tuple[str, ...] = REGISTRY_TABLES,
               columns: dict[str, list[str]] | None = None) -> dict[str, list[tuple]]:
    """Every row of each table of the store at `url` (a SQLite file may be given by path), in
    primary key order, read with a plain engine: all its columns, or only the `columns` named
    for it (those an older revision had)."""
    engine = _engine(url)
    try:
        with engine.connect() as con:
            out = {}
            for t in tables:
                keys = ", ".join(sa.inspect(con).get_pk_constraint(t)["constrained_columns"])
                cols = ", ".join(f'"{c}"' for c in (columns or {}).get(t, [])) or "*"
                out[t] = [tuple(r) for r in con.execute(text(f"SELECT {cols} FROM {t} ORDER BY {keys}"))]
            return out
    finally:
        engine.dispose()


def table_columns(url: str | Path, tables: tuple[str, ...] = REGISTRY_TABLES) -> dict[str, list[str]]:
    """The column names of each table."""
    engine = _engine(url)
    try:
        return {t: [c["name"] for c in sa.inspect(engine).get_columns(t)] for t in tables}
    finally:
        engine.dispose()


def table_names(url: str | Path) -> set[str]:
    engine = _engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def fill_first_revision(url: str | Path) -> None:
    """Rows in every registry table of a 0001 database, with plain SQL."""
    ts = "2024-05-01 10:20:30.123456"

    def insert(con: sa.Connection, table: str, rows: list[dict]) -> None:
        names = list(rows[0])
        con.execute(text(f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join(':' + n for n in names)})"),
                    rows)

    def model(id_, name, path, repo, company, base, params, desc, meta):
        return {"id": id_, "name": name, "storage_path": path, "repository": repo, "company": company,
                "base_model": base, "parameter_count": params, "description": desc, "metadata": meta,
                "created_at": ts, "updated_at": ts}

    engine = _engine(url)
    try:
        with engine.begin() as con:
            insert(con, "models", [
                model(1, "llama-mini", "/models/llama-mini", "hf://org/llama-mini", "Org", "llama", 7_000_000_000,
                      "a model", json.dumps({"license": "mit"})),
                model(2, "bert-tiny", "s3://bucket/bert", None, None, None, None, None, "{}")])
            insert(con, "model_tags", [{"model_id": m, "tag": t} for m, t in [(1, "nlp"), (1, "chat"), (2, "nlp")]])
            release = {"created_at": ts, "updated_at": ts}
            insert(con, "releases", [
                {"id": 1, "model_id": 1, "version": "1.0.0", "quantization": "none", "release_notes": "first",
                 "status": "production", "metadata": "{}", "auto_build": False, **release},
                {"id": 2, "model_id": 1, "version": "1.1.0", "quantization": "int8", "release_notes": None,
                 "status": "candidate", "metadata": json.dumps({"k": [1, 2]}), "auto_build": True, **release}])
            insert(con, "artifacts", [
                {"id": 1, "model_id": None, "release_id": 1, "name": "weights.safetensors", "path": "/m/w",
                 "kind": "file", "size": 123, "sha256": "a" * 64, "created_at": ts},
                {"id": 2, "model_id": 2, "release_id": None, "name": "README.md", "path": "/m/r", "kind": "doc",
                 "size": None, "sha256": None, "created_at": ts}])
            insert(con, "deployments", [{"id": 1, "release_id": 1, "environment": "prod", "endpoint": "http://x",
                                         "status": "active", "notes": "n", "created_at": ts, "updated_at": ts}])
            insert(con, "aliases", [{"model_id": 1, "name": "champion", "release_id": 1, "updated_at": ts}])
            insert(con, "audit_events", [
                {"id": 1, "at": ts, "actor": "alice", "action": "create", "entity_type": "model",
                 "entity_id": "llama-mini", "model_id": 1, "before": None,
                 "after": json.dumps({"name": "llama-mini"})},
                {"id": 2, "at": ts, "actor": "bob", "action": "delete", "entity_type": "model", "entity_id": "gone",
                 "model_id": 99, "before": json.dumps({"name": "gone"}), "after": None}])
            if con.dialect.name == "postgresql":  # rows with explicit ids leave the sequences behind
                for t in ("models", "releases", "artifacts", "deployments", "audit_events"):
                    con.execute(text(f"SELECT setval(pg_get_serial_sequence('{t}', 'id'), (SELECT max(id) FROM {t}))"))
    finally:
        engine.dispose()


# -- migrations ----------------------------------------------------------------------

def test_upgrade_from_first_revision_keeps_every_row_and_backs_up(store_kind: str, empty_url: str,
                                                                   db: Path) -> None:
    first = Store(empty_url)
    assert first.upgrade(FIRST_REVISION) is None  # a new database has nothing to back up
    assert first.current_revision() == FIRST_REVISION
    first.dispose()
    assert "jobs" not in table_names(empty_url)
    # On SQLite another open connection keeps the new rows in the WAL file (no checkpoint
    # on close), so the backup must copy what is committed, not just the main file.
    holder = sqlite3.connect(db) if store_kind == "sqlite" else None
    try:
        if holder is not None:
            holder.execute("SELECT count(*) FROM models").fetchone()  # opens the WAL index
        fill_first_revision(empty_url)
        if holder is not None:
            assert (db.parent / f"{db.name}-wal").stat().st_size > 0
        before, old_columns = table_rows(empty_url), table_columns(empty_url)
        assert all(before[t] for t in REGISTRY_TABLES), "every table must hold rows before the upgrade"

        store = open_store(empty_url)  # what the server and the faces call at start
    finally:
        if holder is not None:
            holder.close()

    assert store.current_revision() == store_engine.HEAD_REVISION
    assert {"jobs", "job_logs", "workers"} <= table_names(empty_url)
    assert table_rows(empty_url, columns=old_columns) == before  # every old value kept; new columns are empty
    new_columns = {t: [c for c in cols if c not in old_columns[t]] for t, cols in table_columns(empty_url).items()}
    assert new_columns == {**{t: [] for t in REGISTRY_TABLES}, "releases": ["mlflow_run"], "artifacts": ["fingerprint"]}
    assert set(table_rows(empty_url, ("releases",), {"releases": ["mlflow_run"]})["releases"]) == {(None,)}
    assert set(table_rows(empty_url, ("artifacts",), {"artifacts": ["fingerprint"]})["artifacts"]) == {(None,)}
    # The ORM reads the migrated rows (datetimes, JSON, tags), and new rows take new ids.
    registry = Registry(store)
    model = registry.get_model("llama-mini")
    assert model["tags"] == ["chat", "nlp"] and model["metadata"] == {"license": "mit"}
    assert model["aliases"] == {"champion": 1} and model["release_count"] == 2
    assert registry.create_release({"model": "llama-mini", "version": "2"}, "carol")["id"] == 3
    if store_kind != "sqlite":
        return

    backups = sorted(db.parent.glob(f"{db.name}.{FIRST_REVISION}.*.bak"))
    assert len(backups) == 1, list(db.parent.iterdir())
    assert table_rows(backups[0]) == before
    assert "jobs" not in table_names(backups[0])
    con = sqlite3.connect(backups[0])
    try:
        assert con.execute("SELECT version_num FROM alembic_version").fetchall() == [(FIRST_REVISION,)]
        assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    finally:
        con.close()


def test_store_upgrade_returns_backup_path(db: Path) -> None:
    store = Store(url_of(db))
    store.upgrade(FIRST_REVISION)
    backup = store.upgrade()
    assert backup is not None and backup.exists() and backup.parent == db.parent
    assert store.upgrade() is None  # already at head: nothing done
    store.dispose()


def test_opening_a_db_at_head_takes_no_backup_and_skips_alembic(db: Path) -> None:
    Store(url_of(db)).upgrade()
    files_before = sorted(p.name for p in db.parent.iterdir() if p.suffix == ".bak")
    code = textwrap.dedent(f"""
        import sys
        from jupyter_mlops.store import open_store
        store = open_store({url_of(db)!r})
        print(store.current_revision(), 'alembic' in sys.modules)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [store_engine.HEAD_REVISION, "False"]
    assert sorted(p.name for p in db.parent.iterdir() if p.suffix == ".bak") == files_before == []


def test_head_revision_matches_scripts_and_orm_matches_schema(store_kind: str, empty_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from jupyter_mlops.store.schema import Base

    store = Store(empty_url)
    assert ScriptDirectory.from_config(store_engine.alembic_config(store)).get_heads() == [
        store_engine.HEAD_REVISION]
    store.upgrade()
    with store.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True})
        diff = compare_metadata(ctx, Base.metadata)
        if store_kind == "postgresql":  # 64-bit ids, byte-order names
            columns = {(t, c["name"]): c for t in ("models", "jobs", "aliases") for c in sa.inspect(conn).get_columns(t)}
            assert isinstance(columns["models", "id"]["type"], sa.BigInteger)
            assert isinstance(columns["jobs", "worker_id"]["type"], sa.BigInteger)
            assert columns["models", "name"]["type"].collation == columns["aliases", "name"]["type"].collation == "C"
    store.dispose()
    if store_kind == "postgresql":
        assert diff == []
        return
    # SQLite keeps text of any length in a VARCHAR(n), so a migration widens a column only on
    # PostgreSQL (0006: quantization 32 -> 64); that, and only that, may differ here.
    widened = [d for d in diff if isinstance(d, list) and len(d) == 1 and d[0][0] == "modify_type"
               and isinstance(d[0][5], sa.String) and isinstance(d[0][6], sa.String)
               and (d[0][2], d[0][3], d[0][5].length, d[0][6].length) in {("releases", "quantization", 32, 64),
                                                                         ("builds", "quantization", 32, 64)}]
    assert len(widened) == 2 and [d for d in diff if d not in widened] == []


# -- connections -----------------------------------------------------------------------

def _pragmas(conn) -> tuple:
    return tuple(conn.exec_driver_sql(f"PRAGMA {p}").scalar() for p in ("journal_mode", "foreign_keys",
                                                                          "busy_timeout"))


def test_pragmas_on_every_connection(db: Path) -> None:
    store = Store(url_of(db))
    store.upgrade()
    want = ("wal", 1, store_engine.BUSY_TIMEOUT_MS)
    assert store_engine.BUSY_TIMEOUT_MS >= 1000
    # Two connections open at once (so they are distinct), then the sessions' ones.
    with store.engine.connect() as a, store.engine.connect() as b:
        assert a.connection.dbapi_connection is not b.connection.dbapi_connection
        assert _pragmas(a) == want and _pragmas(b) == want
    with store.read() as s:
        assert _pragmas(s.connection()) == want
    with store.write() as s:
        assert _pragmas(s.connection()) == want
        # foreign keys are enforced, not just reported
        with pytest.raises(IntegrityError):
            with s.begin_nested():
                s.execute(text("INSERT INTO model_tags (model_id, tag) VALUES (424242, 'x')"))
    store.dispose()
    # A fresh engine (as in another process) gets them too.
    other = Store(url_of(db))
    with other.engine.connect() as c:
        assert _pragmas(c) == want
    other.dispose()


GATED = textwrap.dedent("""
    import json, sys, time
    from pathlib import Path
    gate, ready = Path(sys.argv[1]), Path(sys.argv[2])

    def wait_gate():
        ready.touch()
        deadline = time.monotonic() + 60
        while not gate.exists():
            if time.monotonic() > deadline:
                sys.exit("no go signal")
            time.sleep(0.002)
""")

WRITER = GATED + textwrap.dedent("""
    from jupyter_mlops.registry import Registry
    from jupyter_mlops.store import open_store

    url, wid, n = sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
    registry = Registry(open_store(url))
    wait_gate()
    errors = []
    t0 = time.monotonic()
    for k in range(n):
        try:
            registry.create_model({"name": f"w{wid}-{k}", "storage_path": f"/m/{wid}/{k}"}, actor=f"proc{wid}")
        except Exception as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
    print(json.dumps({"errors": errors[:10], "n_errors": len(errors), "seconds": time.monotonic() - t0}))
""")

OPENER = GATED + textwrap.dedent("""
    from jupyter_mlops.store import open_store

    wait_gate()
    try:
        store = open_store(sys.argv[3])
        print(json.dumps({"errors": [], "revision": store.current_revision()}))
    except Exception as exc:
        print(json.dumps({"errors": [f"{type(exc).__name__}: {str(exc)[:300]}"], "revision": None}))
""")


def run_together(script: str, argvs: list[list[str]], folder: Path, timeout: float = 90) -> list[dict]:
    """Start one process per argv running `script`, let them all start their real work
    at the same moment (a gate file), and return each one's JSON answer."""
    folder.mkdir(parents=True, exist_ok=True)
    gate = folder / "go"
    procs = [subprocess.Popen([sys.executable, "-c", script, str(gate), str(folder / f"ready-{i}"), *argv],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for i, argv in enumerate(argvs)]
    try:
        deadline = time.monotonic() + 60
        while len(list(folder.glob("ready-*"))) < len(procs):
            assert time.monotonic() < deadline, "the processes did not start"
            assert all(p.poll() is None for p in procs), [p.communicate() for p in procs]
            time.sleep(0.02)
        gate.touch()
        results = []
        for p in procs:
            out, err = p.communicate(timeout=timeout)
            assert p.returncode == 0, err
            results.append(json.loads(out))
        return results
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()


def test_four_processes_write_one_store_at_once(empty_url: str, tmp_path: Path) -> None:
    procs_n, writes = 4, 250
    Store(empty_url).upgrade()
    results = run_together(WRITER, [[empty_url, str(i), str(writes)] for i in range(procs_n)], tmp_path / "gate")
    all_errors = [e for r in results for e in r["errors"]]
    assert sum(r["n_errors"] for r in results) == 0, all_errors
    engine = _engine(empty_url)
    try:
        with engine.connect() as con:
            assert con.scalar(text("SELECT count(*) FROM models")) == procs_n * writes
            assert con.scalar(text("SELECT count(DISTINCT name) FROM models")) == procs_n * writes
            assert con.scalar(text("SELECT max(id) FROM models")) == procs_n * writes  # no id lost
            per_actor = dict(con.execute(text("SELECT actor, count(*) FROM audit_events WHERE action='create' "
                                              "AND entity_type='model' GROUP BY actor")).all())
            assert per_actor == {f"proc{i}": writes for i in range(procs_n)}
            if con.dialect.name == "sqlite":
                assert con.exec_driver_sql("PRAGMA integrity_check").all() == [("ok",)]
    finally:
        engine.dispose()


def test_processes_starting_at_once_on_a_new_store_all_open_it(store_kind: str, tmp_path: Path,
                                                                request: pytest.FixtureRequest) -> None:
    """A server and kernels (or the CLI) starting together on a fresh workspace (or on one
    empty PostgreSQL database), three times: switching a new file to WAL at once used to fail
    one of them now and then; on PostgreSQL they queue on the migration lock."""
    for round_ in range(3):
        url = (url_of(tmp_path / f"round{round_}" / "mlops.db") if store_kind == "sqlite"
               else request.getfixturevalue("pg_cluster").database(migrated=False))
        results = run_together(OPENER, [[url]] * 6, tmp_path / f"gate{round_}")
        assert [r["errors"] for r in results] == [[]] * 6
        assert {r["revision"] for r in results} == {store_engine.HEAD_REVISION}
        assert {"models", "jobs", "alembic_version"} <= table_names(url)


class _LockedCursor:
    """A cursor whose WAL switch is refused as locked `times` times, then done."""

    def __init__(self, times: int, error: str = "database is locked") -> None:
        self.times, self.error, self.calls = times, error, 0

    def execute(self, sql: str) -> None:
        assert sql == "PRAGMA journal_mode=WAL"
        self.calls += 1
        if self.calls <= self.times:
            raise sqlite3.OperationalError(self.error)


def test_the_wal_switch_is_retried_while_locked_and_other_errors_pass() -> None:
    cursor = _LockedCursor(times=4)
    store_engine._enable_wal(cursor)
    assert cursor.calls == 5
    other = _LockedCursor(times=1, error="disk I/O error")
    with pytest.raises(sqlite3.OperationalError, match="disk I/O error"):
        store_engine._enable_wal(other)
    assert other.calls == 1


def test_processes_upgrading_at_once_keep_every_row(empty_url: str, tmp_path: Path) -> None:
    first = Store(empty_url)
    first.upgrade(FIRST_REVISION)
    first.dispose()
    fill_first_revision(empty_url)
    before, old_columns = table_rows(empty_url), table_columns(empty_url)
    results = run_together(OPENER, [[empty_url]] * 4, tmp_path / "gate")
    assert [r["errors"] for r in results] == [[]] * 4
    assert {r["revision"] for r in results} == {store_engine.HEAD_REVISION}
    assert table_rows(empty_url, columns=old_columns) == before


def test_file_digests_cache_paths_an_index_can_hold_and_skip_longer_ones(empty_url: str) -> None:
    """The build context's digest cache: a path of PATH_MAX bytes is hashed again next time
    instead of failing the build (PostgreSQL cannot index a key that long); writing the same
    path twice updates it."""
    from jupyter_mlops.builds.context import Entry
    from jupyter_mlops.builds.job import MAX_CACHED_PATH_BYTES, Digests

    store = Store(empty_url)
    store.upgrade()
    try:
        paths = ["/ws/short.bin", "/ws/" + "d/" * ((MAX_CACHED_PATH_BYTES - 8) // 2) + "x", "/ws/" + "é" * 2040]
        digests = Digests(store)
        for sha in ("a" * 64, "b" * 64):
            digests.fresh = [{"path": p, "size": 1, "mtime_ns": 2, "inode": 3, "sha256": sha} for p in paths]
            digests.save()
        known = digests.load([Entry(name=str(i), source=p, size=1) for i, p in enumerate(paths)])
        assert known == {p: f"1:2:3:{'b' * 64}" for p in paths[:2]}
    finally:
        store.dispose()


def test_a_writer_waits_the_busy_timeout_then_fails(db_url: str | None, db: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A writer queued behind another waits at most the busy timeout, then fails with an error
    (here the waiter is nested in the holder: without the timeout it would wait forever)."""
    monkeypatch.setattr(store_engine, "BUSY_TIMEOUT_MS", 1500)
    store = Store(db_url or url_of(db))
    store.upgrade()
    try:
        t0 = time.monotonic()
        with pytest.raises(sa.exc.OperationalError, match="lock"):
            with store.write() as holder, store.write() as waiter:
                holder.execute(text("SELECT 1"))  # SQLite begins at the first statement
                waiter.execute(text("SELECT 1"))
        assert 1.2 < time.monotonic() - t0 < 10
    finally:
        store.dispose()


def test_a_lost_database_connection_is_one_unavailable_then_the_pool_reconnects(pg_cluster: Any) -> None:
    """The database ends every client connection (as a restart does): the next call on a
    pooled connection is Unavailable and changes nothing; the one after reconnects."""
    from jupyter_mlops.errors import Unavailable

    url = pg_cluster.database()
    store = Store(url)
    registry = Registry(store)
    try:
        registry.create_model({"name": "before", "storage_path": "/m"}, "ada")
        database = sa.engine.make_url(url).database
        admin = Store(pg_cluster.url("postgres"))
        with admin.engine.connect() as conn:
            ended = conn.execute(text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                      "WHERE datname = :db AND pid <> pg_backend_pid()"), {"db": database}).scalar()
        admin.dispose()
        assert ended, "the store had a pooled connection to end"
        with pytest.raises(Unavailable, match="connection was lost"):
            registry.create_model({"name": "during", "storage_path": "/m"}, "ada")
        registry.create_model({"name": "after", "storage_path": "/m"}, "ada")
        assert [m["name"] for m in registry.list_models()["items"]] == ["after", "before"]
    finally:
        store.dispose()
        pg_cluster.done(url)
