"""MLflow import speed against MLflow's own client, in the same run (medians).

An MLflow tracking server (bench/_mlflow_peer.py, 127.0.0.1, SQLite) holds N registered
models with V versions in all. Timed:

1. ours, first import: `mlflow.import` of every model, run inline as a job (read over
   MLflow's REST API, one registry transaction per model, every row audited), into a fresh
   workspace each round;
2. ours, again: the same import with nothing changed there (reads, compares, writes nothing);
3. the peer: MLflow's own Python client (`MlflowClient`, in MLflow's venv) reading the same
   models and versions (search_registered_models + search_model_versions per model), the
   least any importer must do. Its interpreter start and imports are not counted.

The ratio ours/peer says what writing, auditing and comparing cost on top of reading.

    python bench/mlflow_import.py [--models 300] [--versions 900] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from _mlflow_peer import MlflowPeer, ensure_mlflow_venv  # noqa: E402

from jupyter_mlops.config import Settings  # noqa: E402
from jupyter_mlops.jobs.follow import follow  # noqa: E402
from jupyter_mlops.services import Services  # noqa: E402

PEER_READ = r"""
import sys, time
from mlflow import MlflowClient
client = MlflowClient(tracking_uri=sys.argv[1])
t0 = time.perf_counter()
models, token, versions = [], None, 0
while True:
    page = client.search_registered_models(max_results=100, page_token=token)
    models += list(page)
    token = page.token
    if not token:
        break
for m in models:
    vtoken = None
    while True:
        page = client.search_model_versions(f"name='{m.name}'", max_results=100, page_token=vtoken)
        versions += len(page)
        vtoken = page.token
        if not vtoken:
            break
print(f"{time.perf_counter() - t0} {len(models)} {versions}")
"""


def ours(url: str, folder: Path) -> tuple[float, float, dict[str, object]]:
    """Seconds of a first import and of an unchanged second one into a fresh workspace."""
    services = Services(Settings.of(folder, mlflow_tracking_uri=url))
    times = []
    result: dict[str, object] = {}
    for _ in range(2):
        t0 = time.perf_counter()
        job = services.tracking.start_import({}, "bench")
        done = follow(services.jobs, job["id"], scratch=services.workspace.state_dir).require_success("import")
        times.append(time.perf_counter() - t0)
        result = done["result"]
    services.store.dispose()
    return times[0], times[1], result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", type=int, default=300)
    parser.add_argument("--versions", type=int, default=900)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    python = ensure_mlflow_venv()
    with MlflowPeer(python) as peer:
        peer.seed(args.models, args.versions)
        version = peer.version()
        firsts, agains, peers = [], [], []
        with tempfile.TemporaryDirectory(prefix="mlflow-import-bench-") as tmp:
            for i in range(args.runs):
                read = subprocess.run([str(python), "-c", PEER_READ, peer.base_url], capture_output=True,
                                      text=True, check=True, timeout=600)
                seconds, n_models, n_versions = read.stdout.split()
                peers.append(float(seconds))
                first, again, result = ours(peer.base_url, Path(tmp) / f"ws{i}")
                firsts.append(first)
                agains.append(again)
        assert int(n_models) == args.models and int(n_versions) == args.versions, read.stdout
        assert result["unchanged"] == args.models, json.dumps(result)[:500]
    p, f, a = statistics.median(peers), statistics.median(firsts), statistics.median(agains)
    print(f"MLflow {version}; {args.models} registered models, {args.versions} versions; "
          f"{args.runs} rounds, medians:")
    print(f"  peer: MlflowClient reads them   {p:7.2f} s")
    print(f"  ours: first import (audited)    {f:7.2f} s | ratio ours/peer {f / p:5.2f}")
    print(f"  ours: import again, unchanged   {a:7.2f} s | ratio ours/peer {a / p:5.2f}")


if __name__ == "__main__":
    main()
