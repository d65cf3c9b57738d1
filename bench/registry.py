"""Registry latency through the REST API vs an MLflow tracking server (SQLite backend),
both on 127.0.0.1 and both seeded with the same 10,000 models and 50,000 releases.

Measures, as medians over N requests on one keep-alive connection each:
- list: a page of 50 models filtered by tag (ours: GET /mlops/api/models?tag=...;
  MLflow: GET registered-models/search with a filter), and
- create: a new release of an existing model (ours: POST /mlops/api/releases;
  MLflow: POST model-versions/create).
Prints both, and the throughput ratio (MLflow's median / ours). Target: >= 3x.

    python bench/registry.py [--models 10000 --releases 50000 --requests 300]
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


def seed_ours(root: Path, n_models: int, n_releases: int) -> None:
    from _mlflow_peer import model_name, team_of

    """Fill our store with bulk inserts (the same rows the API would write, minus audit)."""
    from sqlalchemy import insert

    from jupyter_mlops.store import open_store
    from jupyter_mlops.store.schema import Model, ModelTag, Release

    store = open_store(f"sqlite:///{root / '.mlops' / 'mlops.db'}")
    now = datetime.now(timezone.utc)
    per_model = max(1, n_releases // n_models)
    with store.write() as s:
        s.execute(insert(Model), [
            {"id": i + 1, "name": model_name(i + 1), "storage_path": f"/models/{model_name(i + 1)}",
             "base_model": f"base-{i % 20}", "meta": {}, "created_at": now, "updated_at": now}
            for i in range(n_models)])
        s.execute(insert(ModelTag), [{"model_id": i + 1, "tag": f"team={team_of(i + 1)}"} for i in range(n_models)])
        s.execute(insert(Release), [
            {"model_id": (k // per_model) % n_models + 1, "version": f"1.{k % per_model}.{k // (per_model * n_models)}",
             "quantization": "none", "status": "candidate", "meta": {}, "auto_build": False,
             "created_at": now, "updated_at": now}
            for k in range(n_releases)])
    store.dispose()


class OurServer:
    """A Jupyter server with the extension on a seeded workspace."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> OurServer:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "jupyter_server", "--no-browser", "--allow-root", f"--port={self.port}",
             "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={self.root}",
             "--ServerApp.jpserver_extensions=jupyter_mlops=True"],
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", type=int, default=10_000)
    parser.add_argument("--releases", type=int, default=50_000)
    parser.add_argument("--requests", type=int, default=400)
    args = parser.parse_args()

    from _mlflow_peer import MlflowPeer, ensure_mlflow_venv, model_name

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "workspace"
        root.mkdir()
        t0 = time.monotonic()
        seed_ours(root, args.models, args.releases)
        print(f"ours: seeded {args.models} models, {args.releases} releases in {time.monotonic() - t0:.1f} s")
        python = ensure_mlflow_venv()
        with OurServer(root) as server, MlflowPeer(python, Path(tmp) / "mlflow") as peer:
            peer.seed(args.models, args.releases)
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

    print(f"MLflow {mlflow_version}; {args.requests} requests per operation and side on one keep-alive connection "
          f"each, in {ROUNDS} alternating rounds; medians:")
    for op in results["ours"]:
        ours, theirs = results["ours"][op], results["mlflow"][op]
        print(f"{op:12s}: ours median {1000 * ours:7.2f} ms ({1 / ours:7.1f}/s) | "
              f"MLflow median {1000 * theirs:7.2f} ms ({1 / theirs:7.1f}/s) | "
              f"throughput ratio ours/MLflow {theirs / ours:5.2f}x (target >= 3x)")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
