"""MLflow tracking server as a benchmark peer for the model-registry REST API.

Stdlib only at import time.  MLflow itself lives in a separate virtualenv
(``.venv-mlflow`` at the repo root by default, git-ignored; tests/services.sh install makes it) and runs as a subprocess bound
to 127.0.0.1 only.  Requests go through one persistent keep-alive
``http.client.HTTPConnection``.

Typical use (see ``bench/registry.py``)::

    python = ensure_mlflow_venv()
    with MlflowPeer(python) as peer:
        peer.seed(10_000, 50_000)
        peer.search_models_filtered()
        peer.create_model_version(0)

Run ``python3 bench/_mlflow_peer.py`` for a smoke benchmark.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path
from typing import Any

__all__ = [
    "DEFAULT_FILTER",
    "DEFAULT_VENV",
    "MLFLOW_SPEC",
    "MlflowPeer",
    "MlflowPeerError",
    "ensure_mlflow_venv",
    "model_name",
    "team_of",
]

BENCH_DIR = Path(__file__).resolve().parent
DEFAULT_VENV = BENCH_DIR.parent / ".venv-mlflow"  # shared with the tests (tests/services.sh install)
#: pip requirement for the peer; the full ``mlflow`` package (not mlflow-skinny)
#: is needed for ``mlflow server``.  Override with $MLFLOW_PEER_SPEC.
MLFLOW_SPEC = os.environ.get("MLFLOW_PEER_SPEC", "mlflow==3.17.2")
HOST = "127.0.0.1"
API = "/api/2.0/mlflow"
#: Matches model-01000 .. model-01999 (1000 models) once seeded with >= 2000 models.
DEFAULT_FILTER = "name LIKE 'model-01%'"
TEAMS = ("a", "b", "c")
WORKSPACE = "default"

# Server environment: no background job runner (7 huey processes on a 2-core
# box), no telemetry (no internet here anyway).
_SERVER_ENV = {
    "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "true",
    "PYTHONUNBUFFERED": "1",
}
_SERVER_ENV_DROP = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI", "MLFLOW_TRACKING_TOKEN")


class MlflowPeerError(RuntimeError):
    """Raised on a failed MLflow request, start-up or seeding check."""


def model_name(k: int) -> str:
    """Name of the k-th seeded model, 1-based: ``model_name(1) == 'model-00001'``."""
    return f"model-{k:05d}"


def team_of(k: int) -> str:
    """Value of the ``team`` tag of the k-th seeded model (a, b, c round-robin)."""
    return TEAMS[(k - 1) % len(TEAMS)]


def _venv_python(path: Path) -> Path:
    return path / "bin" / "python"


def _venv_works(python: Path) -> str | None:
    """Return the installed MLflow version if the venv can run the server, else None."""
    if not python.exists():
        return None
    probe = (
        "import mlflow, mlflow.server, uvicorn, sqlalchemy, alembic; "
        "print(mlflow.__version__)"
    )
    try:
        out = subprocess.run(
            [str(python), "-c", probe],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


#: The PostgreSQL driver MLflow's server uses for ``postgresql://`` backend URIs.
PG_DRIVER_SPEC = "psycopg2-binary"


def ensure_mlflow_venv(path: Path = DEFAULT_VENV, spec: str = MLFLOW_SPEC, *, postgresql: bool = False) -> Path:
    """Create (or reuse) a virtualenv at ``path`` with MLflow (and, with ``postgresql``,
    its PostgreSQL driver); return its python.

    Reuses the venv if it already imports ``mlflow.server``.  A fresh install of
    ``mlflow`` takes about 70 s and 850 MB here.
    """
    path = Path(path).resolve()
    python = _venv_python(path)
    version = _venv_works(python)
    if version:
        print(f"[mlflow-peer] reusing {path} (mlflow {version})", flush=True)
        if postgresql:
            _ensure_pg_driver(python)
        return python
    t0 = time.perf_counter()
    if not python.exists():
        print(f"[mlflow-peer] creating virtualenv {path}", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(path)], check=True, timeout=300)
    print(f"[mlflow-peer] pip install {spec!r} into {path} (about a minute)", flush=True)
    log = path / "pip-install.log"
    with log.open("w") as fh:
        proc = subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", spec],
            stdout=fh,
            stderr=subprocess.STDOUT,
            timeout=1800,
            check=False,
        )
    if proc.returncode != 0:
        tail = log.read_text(errors="replace")[-3000:]
        raise MlflowPeerError(f"pip install {spec!r} failed (see {log}):\n{tail}")
    version = _venv_works(python)
    if not version:
        raise MlflowPeerError(f"MLflow installed into {path} but mlflow.server does not import")
    print(
        f"[mlflow-peer] installed mlflow {version} in {time.perf_counter() - t0:.1f}s",
        flush=True,
    )
    if postgresql:
        _ensure_pg_driver(python)
    return python


def _ensure_pg_driver(python: Path) -> None:
    """Install MLflow's PostgreSQL driver into its venv when it is missing."""
    if subprocess.run([str(python), "-c", "import psycopg2"], capture_output=True, check=False).returncode == 0:
        return
    print(f"[mlflow-peer] pip install {PG_DRIVER_SPEC} into {python.parent.parent}", flush=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", PG_DRIVER_SPEC],
        check=True,
        timeout=600,
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


class MlflowPeer:
    """An ``mlflow server`` on 127.0.0.1 with a sqlite backend (or ``backend_uri``, e.g. a
    PostgreSQL database), as a context manager.

    ``python`` is the venv interpreter from :func:`ensure_mlflow_venv`.  The
    database and artifacts live in ``workdir`` (a fresh temp dir, removed on
    exit, unless given).  Entering starts the server (creating the schema);
    exiting stops its whole process group.
    """

    def __init__(
        self,
        python: Path | None = None,
        workdir: Path | None = None,
        port: int | None = None,
        *,
        startup_timeout: float = 180.0,
        uvicorn_opts: str = "--timeout-keep-alive 120",
        backend_uri: str | None = None,
    ) -> None:
        self.python = Path(python) if python is not None else _venv_python(DEFAULT_VENV)
        self._own_workdir = workdir is None
        self.workdir = (
            Path(tempfile.mkdtemp(prefix="mlflow-peer-")) if workdir is None else Path(workdir)
        )
        self.port = port or _free_port()
        self.startup_timeout = startup_timeout
        self.uvicorn_opts = uvicorn_opts
        self.db_path = self.workdir / "mlflow.db"
        self.backend_uri = backend_uri or f"sqlite:///{self.db_path}"
        self.artifact_root = self.workdir / "artifacts"
        self.log_path = self.workdir / "server.log"
        self.n_models = 0
        self.n_versions = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_fh: Any = None
        self._conn: http.client.HTTPConnection | None = None

    # ------------------------------------------------------------------ process
    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://{HOST}:{self.port}"

    @property
    def running(self) -> bool:
        """True while the server process is alive."""
        return self._proc is not None and self._proc.poll() is None

    def command(self) -> list[str]:
        """The ``mlflow server`` command line used by :meth:`start`."""
        return [
            str(self.python),
            "-m",
            "mlflow",
            "server",
            "--backend-store-uri",
            self.backend_uri,
            "--default-artifact-root",
            str(self.artifact_root),
            "--host",
            HOST,
            "--port",
            str(self.port),
            "--workers",
            "1",
            "--uvicorn-opts",
            self.uvicorn_opts,
        ]

    def start(self) -> None:
        """Start the server (own process group) and wait until /health answers."""
        if self.running:
            return
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.artifact_root.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if k not in _SERVER_ENV_DROP}
        env.update(_SERVER_ENV)
        self._log_fh = self.log_path.open("ab")
        self._proc = subprocess.Popen(
            self.command(),
            cwd=self.workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log_fh,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if not self.running:
                raise MlflowPeerError(f"mlflow server exited at start-up:\n{self.log_tail()}")
            try:
                conn = http.client.HTTPConnection(HOST, self.port, timeout=2)
                try:
                    conn.request("GET", "/health")
                    if conn.getresponse().status == 200:
                        return
                finally:
                    conn.close()
            except OSError:
                pass
            time.sleep(0.25)
        self.stop()
        raise MlflowPeerError(
            f"mlflow server not ready after {self.startup_timeout}s:\n{self.log_tail()}"
        )

    def stop(self, timeout: float = 15.0) -> None:
        """Stop the whole process group: SIGTERM, then SIGKILL after ``timeout``."""
        self._close_conn()
        proc, self._proc = self._proc, None
        if proc is not None:
            pgid = proc.pid  # start_new_session=True: pgid == pid
            if proc.poll() is None:
                try:
                    os.killpg(pgid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
                try:
                    proc.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    pass
            # Children (uvicorn) may outlive the launcher: sweep the group.
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and _group_alive(pgid):
                time.sleep(0.1)
            if _group_alive(pgid):
                try:
                    os.killpg(pgid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            if proc.poll() is None:
                proc.wait(timeout=5)
        if self._log_fh is not None:
            self._log_fh.close()
            self._log_fh = None

    def log_tail(self, n: int = 40) -> str:
        """Last ``n`` lines of the server log."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return "(no log)"

    def version(self) -> str:
        """MLflow version reported by the running server."""
        conn = http.client.HTTPConnection(HOST, self.port, timeout=10)
        try:
            conn.request("GET", "/version")
            resp = conn.getresponse()
            return resp.read().decode().strip()
        finally:
            conn.close()

    def __enter__(self) -> MlflowPeer:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the server and remove the temp workdir if we created it."""
        self.stop()
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    # --------------------------------------------------------------------- http
    def _close_conn(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def request(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None = None,
        body: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """One request on the keep-alive connection; return the JSON body.

        Raises :class:`MlflowPeerError` on any non-200 status.  If the server
        closed the idle connection, reconnects and retries once.
        """
        url = API + path
        if params:
            url += "?" + urllib.parse.urlencode(params)
        payload = None if body is None else json.dumps(body).encode()
        headers = {"Accept": "application/json"}
        if payload is not None:
            headers["Content-Type"] = "application/json"
        for attempt in (0, 1):
            if self._conn is None:
                self._conn = http.client.HTTPConnection(HOST, self.port, timeout=60)
            try:
                self._conn.request(method, url, body=payload, headers=headers)
                resp = self._conn.getresponse()
                data = resp.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self._close_conn()
                if attempt:
                    raise
        if resp.will_close:
            self._close_conn()
        if resp.status != 200:
            raise MlflowPeerError(
                f"{method} {url} -> {resp.status}: {data[:500].decode(errors='replace')}"
            )
        return json.loads(data) if data else {}

    # ---------------------------------------------------------------- operations
    def search_models_filtered(
        self, filter_string: str = DEFAULT_FILTER, max_results: int = 50
    ) -> list[dict[str, Any]]:
        """``GET registered-models/search`` with a filter; asserts a full page came back."""
        out = self.request(
            "GET",
            "/registered-models/search",
            params={"filter": filter_string, "max_results": max_results},
        )
        models = out.get("registered_models", [])
        if len(models) != max_results:
            raise MlflowPeerError(
                f"search {filter_string!r} returned {len(models)} models, expected {max_results}"
            )
        return models

    def create_model_version(self, i: int) -> dict[str, Any]:
        """``POST model-versions/create`` for seeded model ``i % n_models + 1``.

        The source is ``s3://bench-artifacts/x/{i}``: MLflow rejects a local path
        (``/tmp/x/{i}``) unless a run_id owning it is given.  Nothing touches S3.
        """
        if self.n_models <= 0:
            raise MlflowPeerError("create_model_version needs seed() first")
        name = model_name(i % self.n_models + 1)
        out = self.request(
            "POST",
            "/model-versions/create",
            body={"name": name, "source": f"s3://bench-artifacts/x/{i}"},
        )
        mv = out.get("model_version") or {}
        if mv.get("name") != name or not mv.get("version"):
            raise MlflowPeerError(f"unexpected create_model_version response: {out!r}")
        return mv

    # ------------------------------------------------------------------- seeding
    def seed(
        self, n_models: int = 10_000, n_versions: int = 50_000, *, verify: bool = True
    ) -> dict[str, float]:
        """Fill the registry by bulk sqlite inserts; return timings in seconds.

        Starts the server once if needed (schema creation), stops it, replaces all
        registered models / versions / tags in one transaction, restarts, and
        (``verify``) checks through the REST API that the rows are visible.
        Models are ``model-00001``..; tag ``team`` is a/b/c round-robin; the
        versions are spread evenly (5 per model for 10k/50k).
        """
        if n_models < 1 or n_versions < 0:
            raise ValueError("need n_models >= 1 and n_versions >= 0")
        timings: dict[str, float] = {}
        on_sqlite = self.backend_uri.startswith("sqlite:")
        if not on_sqlite or not self.db_path.exists():
            t = time.perf_counter()
            self.start()
            timings["schema_start_s"] = time.perf_counter() - t
        t = time.perf_counter()
        self.stop()
        timings["stop_s"] = time.perf_counter() - t
        t = time.perf_counter()
        if on_sqlite:
            _bulk_insert(self.db_path, n_models, n_versions)
        else:
            _bulk_copy_pg(self.backend_uri, n_models, n_versions)
        timings["insert_s"] = time.perf_counter() - t
        self.n_models, self.n_versions = n_models, n_versions
        t = time.perf_counter()
        self.start()
        timings["restart_s"] = time.perf_counter() - t
        if verify:
            t = time.perf_counter()
            self.verify_seed()
            timings["verify_s"] = time.perf_counter() - t
        return timings

    def verify_seed(self) -> None:
        """Check through REST that seeded models, tags and versions look right."""
        n, nv = self.n_models, self.n_versions
        for k in sorted({1, (n + 1) // 2, n}):
            name = model_name(k)
            rm = self.request("GET", "/registered-models/get", params={"name": name})
            rm = rm["registered_model"]
            tags = {t["key"]: t["value"] for t in rm.get("tags", [])}
            if tags.get("team") != team_of(k):
                raise MlflowPeerError(f"{name}: bad tags {tags}")
            expected = _versions_of(k, n, nv)
            got = self.request(
                "GET",
                "/model-versions/search",
                params={"filter": f"name = '{name}'", "max_results": 1000},
            ).get("model_versions", [])
            if sorted(int(v["version"]) for v in got) != list(range(1, expected + 1)):
                raise MlflowPeerError(f"{name}: versions {got!r}, expected {expected}")
            if any(v["status"] != "READY" or v["current_stage"] != "None" for v in got):
                raise MlflowPeerError(f"{name}: malformed versions {got!r}")
            if expected:
                latest = {v["version"] for v in rm.get("latest_versions", [])}
                if latest != {str(expected)}:
                    raise MlflowPeerError(f"{name}: latest_versions {latest}")
        page = self.request(
            "GET",
            "/registered-models/search",
            params={"filter": "tags.team = 'b'", "max_results": 20},
        ).get("registered_models", [])
        if len(page) != min(20, (n + 1) // 3) or any(
            {t["key"]: t["value"] for t in m.get("tags", [])}.get("team") != "b" for m in page
        ):
            raise MlflowPeerError(f"tag-filtered search wrong: {[m['name'] for m in page]}")
        if n >= 2000:
            models = self.search_models_filtered()
            if not all(m["name"].startswith("model-01") for m in models):
                raise MlflowPeerError("name LIKE filter returned foreign models")
        if nv:
            mvs = self.request(
                "GET", "/model-versions/search", params={"max_results": 10}
            ).get("model_versions", [])
            if len(mvs) != min(10, nv):
                raise MlflowPeerError(f"unfiltered model-versions/search gave {len(mvs)}")


def _versions_of(k: int, n_models: int, n_versions: int) -> int:
    """Number of seeded versions of the k-th model (1-based), spread evenly."""
    base, extra = divmod(n_versions, n_models)
    return base + (1 if k <= extra else 0)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _bulk_insert(db_path: Path, n_models: int, n_versions: int) -> None:
    """Replace the registry tables' rows with seeded ones, in one transaction.

    Row shapes copy what MLflow 3.x's SqlAlchemyStore writes for
    ``registered-models/create`` and ``model-versions/create`` without run_id:
    description '' , user_id NULL, current_stage 'None', run_id '', status
    'READY', status_message NULL, run_link '', storage_location = source.
    """
    con = sqlite3.connect(db_path, timeout=30)
    try:
        cols = {r[1] for r in con.execute("PRAGMA table_info(model_versions)")}
        needed = {"name", "version", "storage_location", "workspace", "run_link"}
        if not needed <= cols:
            raise MlflowPeerError(f"unexpected model_versions schema: {sorted(cols)}")
        models, tags, versions = _seed_rows(n_models, n_versions)
        with con:  # one transaction
            for table in (
                "model_version_tags",
                "registered_model_aliases",
                "model_versions",
                "registered_model_tags",
                "registered_models",
            ):
                con.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed names
            con.executemany(f"INSERT INTO registered_models ({_MODEL_COLUMNS}) VALUES (?, ?, ?, ?, ?)", models)
            con.executemany(f"INSERT INTO registered_model_tags ({_TAG_COLUMNS}) VALUES (?, ?, ?, ?)", tags)
            con.executemany(f"INSERT INTO model_versions ({_VERSION_COLUMNS}) VALUES ({', '.join('?' * 14)})", versions)
        got = con.execute("SELECT count(*) FROM model_versions").fetchone()[0]
        if got != n_versions:
            raise MlflowPeerError(f"inserted {got} model versions, expected {n_versions}")
    finally:
        con.close()


def _seed_rows(n_models: int, n_versions: int) -> tuple[list[tuple[Any, ...]], ...]:
    """The rows of registered_models, registered_model_tags and model_versions, as MLflow
    3.x's SqlAlchemyStore writes them (see `_bulk_insert`)."""
    now = int(time.time() * 1000)
    t0 = now - (n_models + 1) * 1000
    models, tags, versions = [], [], []
    for k in range(1, n_models + 1):
        name = model_name(k)
        created = t0 + k * 1000
        nv = _versions_of(k, n_models, n_versions)
        models.append((name, created, created + nv * 10, "", WORKSPACE))
        tags.append(("team", team_of(k), name, WORKSPACE))
        for v in range(1, nv + 1):
            ts = created + v * 10
            src = f"s3://bench-artifacts/{name}/{v}"
            versions.append((name, v, ts, ts, "", None, "None", src, "", "READY", None, "", src, WORKSPACE))
    return models, tags, versions


_MODEL_COLUMNS = "name, creation_time, last_updated_time, description, workspace"
_TAG_COLUMNS = '"key", value, name, workspace'
_VERSION_COLUMNS = (
    "name, version, creation_time, last_updated_time, description, user_id, current_stage, source, run_id,"
    " status, status_message, run_link, storage_location, workspace"
)


def _bulk_copy_pg(backend_uri: str, n_models: int, n_versions: int) -> None:
    """`_bulk_insert` on PostgreSQL: the same rows by COPY, in one transaction (psycopg 3,
    from this interpreter: the `postgres` extra)."""
    import psycopg

    scheme, _, rest = backend_uri.partition("://")
    models, tags, versions = _seed_rows(n_models, n_versions)
    with psycopg.connect(f"{scheme.split('+')[0]}://{rest}") as con, con.cursor() as cur:
        cur.execute(
            "TRUNCATE model_version_tags, registered_model_aliases, model_versions, registered_model_tags,"
            " registered_models CASCADE"
        )
        for table, columns, rows in (
            ("registered_models", _MODEL_COLUMNS, models),
            ("registered_model_tags", _TAG_COLUMNS, tags),
            ("model_versions", _VERSION_COLUMNS, versions),
        ):
            with cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:  # noqa: S608 - fixed names
                for row in rows:
                    copy.write_row(row)
        cur.execute("SELECT count(*) FROM model_versions")
        got = cur.fetchone()
        if got is None or got[0] != n_versions:
            raise MlflowPeerError(f"copied {got} model versions, expected {n_versions}")
        cur.execute("ANALYZE")


def _time_op(fn: Any, n: int) -> list[float]:
    out = []
    for i in range(n):
        t = time.perf_counter()
        fn(i)
        out.append(time.perf_counter() - t)
    return out


def _report(label: str, samples: list[float]) -> None:
    med = statistics.median(samples)
    p90 = statistics.quantiles(samples, n=10)[-1]
    print(
        f"  {label:<24} median {med * 1000:7.2f} ms   p90 {p90 * 1000:7.2f} ms"
        f"   {1 / med:7.1f} ops/s   (n={len(samples)})",
        flush=True,
    )


def main(argv: list[str] | None = None) -> int:
    """Smoke run: venv, start, seed 10k/50k, time 200 of each operation."""
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--venv", type=Path, default=DEFAULT_VENV)
    ap.add_argument("--models", type=int, default=10_000)
    ap.add_argument("--versions", type=int, default=50_000)
    ap.add_argument("-n", type=int, default=200, help="timed requests per operation")
    args = ap.parse_args(argv)

    t = time.perf_counter()
    python = ensure_mlflow_venv(args.venv)
    print(f"[mlflow-peer] venv ready in {time.perf_counter() - t:.1f}s", flush=True)
    peer = MlflowPeer(python)
    t = time.perf_counter()
    with peer:
        print(
            f"[mlflow-peer] mlflow {peer.version()} at {peer.base_url},"
            f" started (schema created) in {time.perf_counter() - t:.1f}s",
            flush=True,
        )
        t = time.perf_counter()
        timings = peer.seed(args.models, args.versions)
        parts = ", ".join(f"{k}={v:.2f}" for k, v in timings.items())
        print(
            f"[mlflow-peer] seeded {args.models} models / {args.versions} versions"
            f" in {time.perf_counter() - t:.1f}s ({parts})",
            flush=True,
        )
        for i in range(10):  # warm-up
            peer.search_models_filtered()
            peer.create_model_version(10_000_000 + i)
        print(f"[mlflow-peer] {args.n} requests each, keep-alive connection:", flush=True)
        _report("search_models_filtered", _time_op(lambda i: peer.search_models_filtered(), args.n))
        _report("create_model_version", _time_op(peer.create_model_version, args.n))
    return 0


if __name__ == "__main__":
    sys.exit(main())
