"""Registry latency through the REST API vs an MLflow tracking server, both on 127.0.0.1,
each on its own database of the same kind: SQLite files (10,000 models and 50,000 releases
by default), or, with `--store postgresql`, two databases of one PostgreSQL server (100,000
models and 1,000,000 releases by default).

Measures, as medians over N requests on one keep-alive connection each:
- list: a page of 50 models filtered by tag (ours: GET /mlops/api/models?tag=...;
  MLflow: GET registered-models/search with a filter), and
- create: a new release of an existing model (ours: POST /mlops/api/releases;
  MLflow: POST model-versions/create).
Prints both, and the throughput ratio (MLflow's median / ours). Target: >= 3x.

On PostgreSQL it then runs the team case: two of our servers (two workspaces, one
database), 8 concurrent writers each creating releases over HTTP; prints the throughput
and checks that every release answered 201 is in the database exactly once.

    python bench/registry.py [--models 10000 --releases 50000 --requests 400]
    tests/services.sh run .venv/bin/python bench/registry.py --store postgresql
        (PostgreSQL: --pg-url, default $JUPYTER_MLOPS_TEST_PG_URL, a URL of a database
        whose user may CREATE DATABASE; the bench makes and drops its own databases)
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

TOKEN = "bench-token"
QUANTS = ("none", "fp16", "int8", "int4", "gguf-q4_k_m")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


SEED_CHUNK = 50_000


def seed_ours(db_url: str, n_models: int, n_releases: int) -> None:
    """Fill our store with bulk inserts (the same rows the API would write, minus audit)."""
    from _mlflow_peer import model_name, team_of
    from sqlalchemy import insert, text

    from jupyter_mlops.store import open_store
    from jupyter_mlops.store.schema import Model, ModelTag, Release

    store = open_store(db_url)
    now = datetime.now(timezone.utc)
    per_model = max(1, n_releases // n_models)
    with store.write() as s:
        s.execute(insert(Model), [
            {"id": i + 1, "name": model_name(i + 1), "storage_path": f"/models/{model_name(i + 1)}",
             "base_model": f"base-{i % 20}", "meta": {}, "created_at": now, "updated_at": now}
            for i in range(n_models)])
        s.execute(insert(ModelTag), [{"model_id": i + 1, "tag": f"team={team_of(i + 1)}"} for i in range(n_models)])
        for start in range(0, n_releases, SEED_CHUNK):
            s.execute(insert(Release), [
                {"model_id": (k // per_model) % n_models + 1,
                 "version": f"1.{k % per_model}.{k // (per_model * n_models)}",
                 "quantization": "none", "status": "candidate", "meta": {}, "auto_build": False,
                 "created_at": now, "updated_at": now}
                for k in range(start, min(n_releases, start + SEED_CHUNK))])
        if store.engine.dialect.name == "postgresql":  # ids given above: move the sequence past them
            s.execute(text("SELECT setval(pg_get_serial_sequence('models', 'id'), :n)"), {"n": n_models})
    if store.engine.dialect.name == "postgresql":
        with store.engine.connect() as conn:
            conn.execute(text("ANALYZE"))
            conn.commit()
    store.dispose()


class OurServer:
    """A Jupyter server with the extension on a seeded workspace."""

    def __init__(self, root: Path, db_url: str | None = None) -> None:
        self.root = root
        self.db_url = db_url
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> OurServer:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "jupyter_server", "--no-browser", "--allow-root", f"--port={self.port}",
             "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={self.root}",
             "--ServerApp.jpserver_extensions=jupyter_mlops=True",
             *([f"--MLOpsApp.db_url={self.db_url}"] if self.db_url else [])],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if self.request("GET", "/mlops/api/health")[0] == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError("our server did not start within 90 s")

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    def request(self, method: str, path: str, body: object = None) -> tuple[int, object]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(method, path, json.dumps(body) if body is not None else None,
                         {"Authorization": f"token {TOKEN}"})
            resp = conn.getresponse()
            return resp.status, json.loads(resp.read() or b"null")
        finally:
            conn.close()


class Client:
    """One keep-alive connection that checks every answer's status and, like a browser
    or the JupyterLab frontend, sends back the login cookie the server sets."""

    def __init__(self, port: int, headers: dict[str, str]) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.headers = {"Content-Type": "application/json", **headers}

    def call(self, method: str, path: str, body: object = None, expect: int = 200) -> object:
        self.conn.request(method, path, json.dumps(body) if body is not None else None, self.headers)
        resp = self.conn.getresponse()
        data = resp.read()
        cookies = [c.split(";", 1)[0] for c in resp.headers.get_all("Set-Cookie") or []]
        if cookies:
            self.headers["Cookie"] = "; ".join(cookies)
        if resp.status != expect:
            raise RuntimeError(f"{method} {path}: HTTP {resp.status}: {data[:300]!r}")
        return json.loads(data)


ROUNDS = 8


def interleaved(ops: dict[str, dict[str, Callable[[int], object]]], n: int) -> dict[str, dict[str, float]]:
    """Median seconds per call of each side's operations, measured in ROUNDS alternating
    rounds (ours, then the peer, then ours ...) so a burst of noise hits both sides alike;
    10 warm-up calls each first."""
    samples: dict[str, dict[str, list[float]]] = {side: {op: [] for op in fns} for side, fns in ops.items()}
    for side, fns in ops.items():
        for fn in fns.values():
            for i in range(10):
                fn(-1 - i)
    per_round = max(1, n // ROUNDS)
    for r in range(ROUNDS):
        for side, fns in ops.items():
            for op, fn in fns.items():
                for i in range(r * per_round, (r + 1) * per_round):
                    t0 = time.perf_counter()
                    fn(i)
                    samples[side][op].append(time.perf_counter() - t0)
    return {side: {op: statistics.median(v) for op, v in by_op.items()} for side, by_op in samples.items()}


class PgDatabases:
    """Databases made on the PostgreSQL server of an admin URL, dropped at exit."""

    def __init__(self, admin_url: str) -> None:
        from sqlalchemy.engine import make_url

        self.admin = make_url(admin_url)
        self.made: list[str] = []

    def _run(self, sql: str) -> None:
        import psycopg

        conninfo = self.admin.set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(sql.encode())

    def create(self, name: str) -> str:
        """A new empty database; its SQLAlchemy URL (our store's driver)."""
        self._run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self._run(f'CREATE DATABASE "{name}"')
        self.made.append(name)
        return self.admin.set(database=name).render_as_string(hide_password=False)

    def __enter__(self) -> PgDatabases:
        return self

    def __exit__(self, *exc: object) -> None:
        for name in reversed(self.made):
            self._run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def plain_postgresql(url: str) -> str:
    """A SQLAlchemy URL for MLflow's server, with the driver its docs name (psycopg2)."""
    from sqlalchemy.engine import make_url

    return make_url(url).set(drivername="postgresql+psycopg2").render_as_string(hide_password=False)


def compare_with_mlflow(root: Path, db_url: str | None, mlflow_backend: str | None, args: argparse.Namespace,
                        workdir: Path) -> None:
    """Seed both sides alike, then time list and create on each, interleaved; print medians."""
    from _mlflow_peer import MlflowPeer, ensure_mlflow_venv, model_name

    t0 = time.monotonic()
    seed_ours(db_url or f"sqlite:///{root / '.mlops' / 'mlops.db'}", args.models, args.releases)
    print(f"ours: seeded {args.models} models, {args.releases} releases in {time.monotonic() - t0:.1f} s")
    python = ensure_mlflow_venv(postgresql=mlflow_backend is not None)
    with OurServer(root, db_url) as server, MlflowPeer(python, workdir, backend_uri=mlflow_backend) as peer:
        t0 = time.monotonic()
        peer.seed(args.models, args.releases)
        print(f"MLflow: seeded {args.models} models, {args.releases} versions in {time.monotonic() - t0:.1f} s")
        mlflow_version = peer.version()
        client = Client(server.port, {"Authorization": f"token {TOKEN}"})

        def our_list(query: str) -> Callable[[int], None]:
            def call(_: int) -> None:
                page = client.call("GET", f"/mlops/api/models?{query}&limit=50")
                assert len(page["items"]) == 50, len(page["items"])
            return call

        def our_create(i: int) -> None:
            client.call("POST", "/mlops/api/releases",
                        {"model": model_name(abs(i) % args.models + 1), "version": f"9.{i + 100}.0"}, expect=201)

        results = interleaved({
            "ours": {"list by name": our_list("q=model-01"), "list by tag": our_list("tag=team%3Db"),
                     "create": our_create},
            "mlflow": {"list by name": lambda i: peer.search_models_filtered("name LIKE 'model-01%'"),
                       "list by tag": lambda i: peer.search_models_filtered("tags.team = 'b'"),
                       "create": peer.create_model_version},
        }, args.requests)

    store = "PostgreSQL" if db_url else "SQLite"
    print(f"MLflow {mlflow_version}, both on {store}; {args.requests} requests per operation and side on one "
          f"keep-alive connection each, in {ROUNDS} alternating rounds; medians:")
    for op in results["ours"]:
        ours, theirs = results["ours"][op], results["mlflow"][op]
        print(f"{op:12s}: ours median {1000 * ours:7.2f} ms ({1 / ours:7.1f}/s) | "
              f"MLflow median {1000 * theirs:7.2f} ms ({1 / theirs:7.1f}/s) | "
              f"throughput ratio ours/MLflow {theirs / ours:5.2f}x (target >= 3x)")


WRITERS = 8


def two_servers_writing(base: Path, db_url: str, n_models: int, per_writer: int) -> None:
    """Two servers on one database, WRITERS threads each creating `per_writer` releases;
    prints the throughput and checks every 201 is one row, nothing lost or duplicated."""
    import threading

    from _mlflow_peer import model_name
    from sqlalchemy import func, select

    from jupyter_mlops.store import open_store
    from jupyter_mlops.store.schema import Release

    created: list[int] = []
    failures: list[str] = []
    lock = threading.Lock()

    def writer(port: int, server: int, w: int) -> None:
        client = Client(port, {"Authorization": f"token {TOKEN}"})
        for i in range(per_writer):  # bounded
            body = {"model": model_name(((server * WRITERS + w) * per_writer + i) % n_models + 1),
                    "version": f"7.{server * WRITERS + w}.{i}"}
            try:
                answer = client.call("POST", "/mlops/api/releases", body, expect=201)
            except (RuntimeError, OSError) as exc:
                with lock:
                    failures.append(str(exc)[:200])
                continue
            with lock:
                created.append(int(answer["id"]))  # type: ignore[index]

    seed_ours(db_url, n_models, 0)
    roots = [base / "ada", base / "bob"]
    for root in roots:
        root.mkdir(parents=True)
    with OurServer(roots[0], db_url) as ada, OurServer(roots[1], db_url) as bob:
        threads = [threading.Thread(target=writer, args=(server.port, n, w))
                   for n, server in enumerate((ada, bob)) for w in range(WRITERS)]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join(600)
        seconds = time.perf_counter() - t0
    store = open_store(db_url)
    try:
        with store.read() as s:
            rows = s.execute(select(Release.id).where(Release.version.like("7.%"))).scalars().all()
            pairs = s.scalar(select(func.count()).select_from(
                select(Release.model_id, Release.version).where(Release.version.like("7.%")).distinct().subquery()))
    finally:
        store.dispose()
    wanted = 2 * WRITERS * per_writer
    lost = len(set(created) - set(rows))
    duplicated = len(rows) - (pairs or 0)
    print(f"two servers x {WRITERS} writers on one PostgreSQL database: {len(created)}/{wanted} releases created "
          f"in {seconds:.1f} s = {len(created) / seconds:.0f} creates/s; refused {len(failures)}, "
          f"rows {len(rows)}, lost {lost}, duplicated {duplicated}")
    if failures:
        print("  first refusal:", failures[0])
    if lost or duplicated or len(rows) != len(created) or len(created) != wanted:
        raise SystemExit("rows lost, duplicated or refused: see above")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--pg-url", default=os.environ.get("JUPYTER_MLOPS_TEST_PG_URL", ""),
                        help="a PostgreSQL URL whose user may create databases (postgresql)")
    parser.add_argument("--models", type=int, help="default 10,000 (SQLite), 100,000 (PostgreSQL)")
    parser.add_argument("--releases", type=int, help="default 50,000 (SQLite), 1,000,000 (PostgreSQL)")
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--per-writer", type=int, default=100, help="releases each of the team case's writers makes")
    args = parser.parse_args()
    on_pg = args.store == "postgresql"
    args.models = args.models or (100_000 if on_pg else 10_000)
    args.releases = args.releases or (1_000_000 if on_pg else 50_000)
    if on_pg and not args.pg_url:
        parser.error("--store postgresql needs --pg-url (or run under tests/services.sh run)")

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "workspace"
        root.mkdir()
        if not on_pg:
            compare_with_mlflow(root, None, None, args, Path(tmp) / "mlflow")
            return
        with PgDatabases(args.pg_url) as dbs:
            ours = dbs.create("bench_ours")
            theirs = plain_postgresql(dbs.create("bench_mlflow"))
            compare_with_mlflow(root, ours, theirs, args, Path(tmp) / "mlflow")
            two_servers_writing(Path(tmp) / "team", dbs.create("bench_team"), 1000, args.per_writer)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
