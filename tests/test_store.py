"""The store through real SQLite files: start-up migrations with a backup, schema
parity between the ORM and the migrations, connection pragmas, and several
processes writing one file at once."""
from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from jupyter_mlops.registry import Registry
from jupyter_mlops.store import Store, open_store
from jupyter_mlops.store import engine as store_engine

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


def url_of(path: Path) -> str:
    return f"sqlite:///{path}"


def table_rows(path: Path, tables: tuple[str, ...] = REGISTRY_TABLES,
               columns: dict[str, list[str]] | None = None) -> dict[str, list[tuple]]:
    """Every row of each table, in rowid order, read with the stdlib driver: all its
    columns, or only the `columns` named for it (those an older revision had)."""
    con = sqlite3.connect(path)
    try:
        return {t: con.execute(f"SELECT {', '.join((columns or {}).get(t, ['*']))} FROM {t} ORDER BY rowid").fetchall()
                for t in tables}
    finally:
        con.close()


def table_columns(path: Path, tables: tuple[str, ...] = REGISTRY_TABLES) -> dict[str, list[str]]:
    """The column names of each table."""
    con = sqlite3.connect(path)
    try:
        return {t: [row[1] for row in con.execute(f"PRAGMA table_info({t})")] for t in tables}
    finally:
        con.close()


def table_names(path: Path) -> set[str]:
    con = sqlite3.connect(path)
    try:
        return {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    finally:
        con.close()


def fill_first_revision(path: Path) -> None:
    """Rows in every registry table of a 0001 database, with plain SQL."""
    ts = "2024-05-01 10:20:30.123456"
    con = sqlite3.connect(path)
    try:
        with con:
            con.executemany(
                "INSERT INTO models (id, name, storage_path, repository, company, base_model, parameter_count,"
                " description, metadata, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                [(1, "llama-mini", "/models/llama-mini", "hf://org/llama-mini", "Org", "llama", 7_000_000_000,
                  "a model", json.dumps({"license": "mit"}), ts, ts),
                 (2, "bert-tiny", "s3://bucket/bert", None, None, None, None, None, "{}", ts, ts)])
            con.executemany("INSERT INTO model_tags (model_id, tag) VALUES (?,?)",
                            [(1, "nlp"), (1, "chat"), (2, "nlp")])
            con.executemany(
                "INSERT INTO releases (id, model_id, version, quantization, release_notes, status, metadata,"
                " auto_build, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
                [(1, 1, "1.0.0", "none", "first", "production", "{}", 0, ts, ts),
                 (2, 1, "1.1.0", "int8", None, "candidate", json.dumps({"k": [1, 2]}), 1, ts, ts)])
            con.executemany(
                "INSERT INTO artifacts (id, model_id, release_id, name, path, kind, size, sha256, created_at)"
                " VALUES (?,?,?,?,?,?,?,?,?)",
                [(1, None, 1, "weights.safetensors", "/m/w", "file", 123, "a" * 64, ts),
                 (2, 2, None, "README.md", "/m/r", "doc", None, None, ts)])
            con.execute(
                "INSERT INTO deployments (id, release_id, environment, endpoint, status, notes, created_at,"
                " updated_at) VALUES (1, 1, 'prod', 'http://x', 'active', 'n', ?, ?)", (ts, ts))
            con.execute("INSERT INTO aliases (model_id, name, release_id, updated_at) VALUES (1, 'champion', 1, ?)",
                        (ts,))
            con.executemany(
                "INSERT INTO audit_events (id, at, actor, action, entity_type, entity_id, model_id, before, after)"
                " VALUES (?,?,?,?,?,?,?,?,?)",
                [(1, ts, "alice", "create", "model", "llama-mini", 1, None, json.dumps({"name": "llama-mini"})),
                 (2, ts, "bob", "delete", "model", "gone", 99, json.dumps({"name": "gone"}), None)])
    finally:
        con.close()


# -- migrations ----------------------------------------------------------------------

def test_upgrade_from_first_revision_keeps_every_row_and_backs_up(db: Path) -> None:
    first = Store(url_of(db))
    assert first.upgrade(FIRST_REVISION) is None  # a new database has nothing to back up
    assert first.current_revision() == FIRST_REVISION
    first.dispose()
    assert "jobs" not in table_names(db)
    # Another open connection keeps the new rows in the WAL file (no checkpoint on
    # close), so the backup must copy what is committed, not just the main file.
    holder = sqlite3.connect(db)
    holder.execute("SELECT count(*) FROM models").fetchone()  # opens the WAL index
    try:
        fill_first_revision(db)
        assert (db.parent / f"{db.name}-wal").stat().st_size > 0
        before, old_columns = table_rows(db), table_columns(db)
        assert all(before[t] for t in REGISTRY_TABLES), "every table must hold rows before the upgrade"

        store = open_store(url_of(db))  # what the server and the faces call at start
    finally:
        holder.close()

    assert store.current_revision() == store_engine.HEAD_REVISION
    assert {"jobs", "job_logs", "workers"} <= table_names(db)
    assert table_rows(db, columns=old_columns) == before  # every old value kept; new columns are empty
    new_columns = {t: [c for c in cols if c not in old_columns[t]] for t, cols in table_columns(db).items()}
    assert new_columns == {**{t: [] for t in REGISTRY_TABLES}, "releases": ["mlflow_run"]}
    assert {row for (row,) in sqlite3.connect(db).execute("SELECT mlflow_run FROM releases")} == {None}
    # The ORM reads the migrated rows (datetimes, JSON, tags).
    model = Registry(store).get_model("llama-mini")
    assert model["tags"] == ["chat", "nlp"] and model["metadata"] == {"license": "mit"}
    assert model["aliases"] == {"champion": 1} and model["release_count"] == 2

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


def test_head_revision_matches_scripts_and_orm_matches_schema(db: Path) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from jupyter_mlops.store.schema import Base

    store = Store(url_of(db))
    assert ScriptDirectory.from_config(store_engine.alembic_config(store)).get_heads() == [
        store_engine.HEAD_REVISION]
    store.upgrade()
    with store.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True})
        diff = compare_metadata(ctx, Base.metadata)
    store.dispose()
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


def test_four_processes_write_one_file_at_once(db: Path, tmp_path: Path) -> None:
    procs_n, writes = 4, 250
    Store(url_of(db)).upgrade()
    results = run_together(WRITER, [[url_of(db), str(i), str(writes)] for i in range(procs_n)],
                           tmp_path / "gate")
    all_errors = [e for r in results for e in r["errors"]]
    assert sum(r["n_errors"] for r in results) == 0, all_errors
    con = sqlite3.connect(db)
    try:
        assert con.execute("SELECT count(*) FROM models").fetchone()[0] == procs_n * writes
        assert con.execute("SELECT count(DISTINCT name) FROM models").fetchone()[0] == procs_n * writes
        per_actor = dict(con.execute("SELECT actor, count(*) FROM audit_events WHERE action='create' "
                                     "AND entity_type='model' GROUP BY actor"))
        assert per_actor == {f"proc{i}": writes for i in range(procs_n)}
        assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    finally:
        con.close()


def test_processes_starting_at_once_on_a_new_file_all_open_it(tmp_path: Path) -> None:
    """A server and kernels (or the CLI) starting together on a fresh workspace, three times:
    switching a new file to WAL at once used to fail one of them now and then."""
    for round_ in range(3):
        db = tmp_path / f"round{round_}" / "mlops.db"
        results = run_together(OPENER, [[url_of(db)]] * 6, tmp_path / f"gate{round_}")
        assert [r["errors"] for r in results] == [[]] * 6
        assert {r["revision"] for r in results} == {store_engine.HEAD_REVISION}
        assert {"models", "jobs", "alembic_version"} <= table_names(db)


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


def test_processes_upgrading_at_once_keep_every_row(db: Path, tmp_path: Path) -> None:
    first = Store(url_of(db))
    first.upgrade(FIRST_REVISION)
    first.dispose()
    fill_first_revision(db)
    before, old_columns = table_rows(db), table_columns(db)
    results = run_together(OPENER, [[url_of(db)]] * 4, tmp_path / "gate")
    assert [r["errors"] for r in results] == [[]] * 4
    assert {r["revision"] for r in results} == {store_engine.HEAD_REVISION}
    assert table_rows(db, columns=old_columns) == before
