"""A real MLflow tracking server on 127.0.0.1 for the tests (`mlflow server`, from the venv
`tests/services.sh install` makes), and its REST API to fill it as MLflow users do."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from docker_support import missing
from lab_support import free_port

ROOT = Path(__file__).resolve().parents[1]
VENV_PYTHON = ROOT / ".venv-mlflow" / "bin" / "python"
START_TIMEOUT = 180.0
API = "/api/2.0/mlflow"


class MlflowServer:
    """A running tracking server: `url`, and calls to its REST API."""

    def __init__(self, url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
        self.url, self.proc, self.log = url, proc, log

    def call(self, method: str, endpoint: str, body: dict[str, Any] | None = None, **query: Any) -> dict[str, Any]:
        """`method API/endpoint`; the JSON answer (an HTTP error fails the test with MLflow's message)."""
        url = f"{self.url}{API}/{endpoint}"
        if query:
            url += "?" + urllib.parse.urlencode(query)
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return json.loads(resp.read() or b"{}")
        except urllib.error.HTTPError as exc:
            raise AssertionError(f"MLflow {method} {endpoint}: {exc.code} {exc.read()[:500]!r}") from None

    def run(self, name: str, metrics: dict[str, float], params: dict[str, str]) -> str:
        """A finished run in the default experiment with these metrics and params; its id."""
        run = self.call("POST", "runs/create", {"experiment_id": "0", "run_name": name,
                                                "start_time": int(time.time() * 1000)})["run"]
        run_id = run["info"]["run_id"]
        now = int(time.time() * 1000)
        self.call("POST", "runs/log-batch", {
            "run_id": run_id,
            "metrics": [{"key": k, "value": v, "timestamp": now, "step": 0} for k, v in metrics.items()],
            "params": [{"key": k, "value": v} for k, v in params.items()],
        })
        self.call("POST", "runs/update", {"run_id": run_id, "status": "FINISHED", "end_time": now})
        return str(run_id)

    def model(self, name: str, *, description: str = "", tags: dict[str, str] | None = None) -> None:
        """A registered model."""
        self.call("POST", "registered-models/create", {
            "name": name, "description": description,
            "tags": [{"key": k, "value": v} for k, v in (tags or {}).items()]})

    def version(self, name: str, run_id: str | None, *, description: str = "") -> str:
        """A new version of registered model `name` from run `run_id`; its number."""
        source = f"runs:/{run_id}/model" if run_id else f"s3://models/{name}"  # weights kept outside MLflow
        body: dict[str, Any] = {"name": name, "source": source, "description": description}
        if run_id:
            body["run_id"] = run_id
        return str(self.call("POST", "model-versions/create", body)["model_version"]["version"])

    def alias(self, name: str, alias: str, version: str) -> None:
        """Point `alias` of `name` at `version`."""
        self.call("POST", "registered-models/alias", {"name": name, "alias": alias, "version": version})

    def stage(self, name: str, version: str, stage: str) -> None:
        """Move a version to a (legacy) stage: Staging, Production, Archived."""
        self.call("POST", "model-versions/transition-stage",
                  {"name": name, "version": version, "stage": stage, "archive_existing_versions": False})

    def tag(self, name: str, key: str, value: str) -> None:
        """Set a tag of registered model `name`."""
        self.call("POST", "registered-models/set-tag", {"name": name, "key": key, "value": value})


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=2) as resp:
            return resp.status == 200
    except OSError:
        return False


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowServer]:
    """`mlflow server` with a SQLite store in a temporary folder, for the whole session."""
    if not VENV_PYTHON.exists():
        missing(f"no MLflow in {VENV_PYTHON.parent.parent} (tests/services.sh install makes it)")
    folder = tmp_path_factory.mktemp("mlflow")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env.update(MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false", MLFLOW_DISABLE_TELEMETRY="true", DO_NOT_TRACK="true")
    log = folder / "server.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [str(VENV_PYTHON), "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port),
             "--backend-store-uri", f"sqlite:///{folder / 'mlflow.db'}",
             "--default-artifact-root", str(folder / "artifacts"), "--workers", "1"],
            cwd=folder, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not _ready(url):
            assert proc.poll() is None, f"mlflow server exited: {log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, f"mlflow server not ready: {log.read_text()[-3000:]}"
            time.sleep(0.25)
        yield MlflowServer(url, proc, log)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
