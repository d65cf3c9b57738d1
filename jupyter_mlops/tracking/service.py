"""MLflow for every face: start an import (a job), and the run a release came from,
fetched from the tracking server each time (never copied by hand)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from ..config import redact_url
from ..errors import NotFound
from ..jobs import JobQueue
from ..registry import Registry
from ..registry.rules import run_id
from ..secretfile import SecretFiles
from . import rules
from .client import MlflowClient, credentials

IMPORT_KIND = "mlflow.import"


class TrackingService:
    """The MLflow tracking server of the `mlflow_tracking_uri` setting ('' when none)."""

    def __init__(self, registry: Registry, jobs: JobQueue, tracking_uri: str, secrets_dir: Path) -> None:
        self.registry = registry
        self.jobs = jobs
        self.tracking_uri = tracking_uri
        self.secrets = SecretFiles(secrets_dir, jobs)

    def client(self) -> MlflowClient:
        """A client of the configured server with this process's credentials (InvalidInput when none is set)."""
        return MlflowClient(self.tracking_uri, credentials())

    def release_run(self, release_id: int) -> dict[str, Any]:
        """The run release `release_id` came from, as the tracking server has it now:
        id, experiment, name, status, times, metrics, params, tags and a link to its page."""
        release = self.registry.get_release(release_id)
        reference = release.get("mlflow_run")
        if not reference:
            raise NotFound(f"release {release_id} records no MLflow run (set its mlflow_run to a run id)")
        client = self.client()
        run = client.run(run_id(reference))
        info, data = run.get("info") or {}, run.get("data") or {}
        experiment, rid = info.get("experiment_id"), info.get("run_id") or run_id(reference)
        return {
            "release_id": release_id,
            "run_id": rid,
            "experiment_id": experiment,
            "run_name": info.get("run_name"),
            "status": info.get("status"),
            "start_time": info.get("start_time"),
            "end_time": info.get("end_time"),
            "metrics": {m["key"]: _finite(m.get("value")) for m in data.get("metrics") or [] if "key" in m},
            "params": {p["key"]: p.get("value") for p in data.get("params") or [] if "key" in p},
            "tags": {t["key"]: t.get("value") for t in data.get("tags") or [] if not t["key"].startswith("mlflow.")},
            "url": client.ui_url(f"experiments/{experiment}/runs/{rid}"),
        }

    def start_import(self, data: Any, actor: str) -> dict[str, Any]:
        """Queue an import of the registered models named in `data` ({"names": [...]}; all
        when absent); one at a time per server (a second request answers the active job,
        marked deduplicated). Needs the release manager role: an import sets releases'
        statuses and aliases, protected ones too."""
        self.registry.authorize(actor, "import")
        names = rules.IMPORT.for_create(data or {}).get("names") or None
        if not self.tracking_uri:
            self.client()  # InvalidInput naming the setting
        self.secrets.clean()
        # The URL (it may carry a password) and the credentials go to the job in a one-shot
        # file; the params, which every face lists, name the server with its password hidden.
        secret = json.dumps({"tracking_uri": self.tracking_uri, "authorization": credentials()})
        secret_file = self.secrets.write("mlflow", secret)
        shown = redact_url(self.tracking_uri)
        params = {"tracking_uri": shown, "names": list(names) if names else None, "actor": actor}
        params["secret_file"] = secret_file
        return self.secrets.submit(secret_file, IMPORT_KIND, params, owner=actor, dedupe_key=f"{IMPORT_KIND}:{shown}")


def _finite(value: Any) -> Any:
    """A metric as JSON can hold it: NaN and infinities (MLflow keeps them) as text."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value
