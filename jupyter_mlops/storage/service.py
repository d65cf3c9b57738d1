"""Model storage for every face: start a scan, a fetch or a publish (each a job), after
checking what can be checked at once (the input, the role, the local folder, and that the
S3 credentials reach the bucket), so a bad request records nothing."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import InvalidInput, NotFound
from ..jobs import JobQueue
from ..registry import Registry
from . import rules, s3
from .place import Location, model_location
from .s3 import S3Options

SCAN_KIND = "storage.scan"
FETCH_KIND = "storage.fetch"
PUBLISH_KIND = "storage.publish"


class StorageService:
    """Scans, fetches and publishes of model files for one workspace."""

    def __init__(
        self,
        registry: Registry,
        jobs: JobQueue,
        root: Path,
        models_dir: Path,
        roots: Sequence[Path],
        options: S3Options,
        disk_margin: int,
    ) -> None:
        self.registry = registry
        self.jobs = jobs
        self.root = Path(root)
        self.models_dir = Path(models_dir)
        self.roots = [Path(r) for r in roots]
        self.options = options
        self.disk_margin = disk_margin

    def _where(self) -> dict[str, Any]:
        return {"root": str(self.root), "models_dir": str(self.models_dir), "roots": [str(r) for r in self.roots]}

    def _location(self, path: str, field: str = "storage_path") -> Location:
        return model_location(path, self.root, self.models_dir, self.roots, field)

    def start_scan(self, data: Any, actor: str) -> dict[str, Any]:
        """Queue a scan of a model's files at its storage_path ({"model": NAME}); a scan of the
        same model already queued or running is answered instead (deduplicated)."""
        self.registry.authorize(actor, "scan")
        clean = rules.SCAN.for_create(data)
        model = self.registry.get_model(clean["model"])
        storage_path = model["storage_path"]
        location = self._location(storage_path)
        if location.remote:
            s3.check_reachable(storage_path, self.options)
        params = {"model": model["name"], "storage_path": storage_path, **self._where()}
        params.update(s3=self.options.params(), actor=actor)
        return self.jobs.submit(SCAN_KIND, params, owner=actor, dedupe_key=f"{SCAN_KIND}:{model['name']}")

    def start_fetch(self, data: Any, actor: str) -> dict[str, Any]:
        """Queue a fetch of the objects under an s3:// prefix into the local cache ({"uri": ...})."""
        clean = rules.FETCH.for_create(data)
        s3.check_reachable(clean["uri"], self.options)
        params = {"uri": clean["uri"], "models_dir": str(self.models_dir), "s3": self.options.params()}
        params.update(disk_margin=self.disk_margin, actor=actor)
        return self.jobs.submit(FETCH_KIND, params, owner=actor, dedupe_key=f"{FETCH_KIND}:{clean['uri']}")

    def start_publish(self, data: Any, actor: str) -> dict[str, Any]:
        """Queue a publish: {"source": a folder or hf:// reference on this machine (default: the
        model's storage_path), "destination": "s3://bucket/prefix", "model": NAME to register
        there (optional when a source is given)}."""
        clean = rules.PUBLISH.for_create(data)
        model = clean.get("model")
        if model is None and "source" not in clean:
            raise InvalidInput("source: give a folder to publish, or a model whose files to publish", field="source")
        existing = None
        if model is not None:
            try:
                existing = self.registry.get_model(model)
            except NotFound:  # the publish registers it
                existing = None
        self.registry.authorize(actor, "publish")
        self.registry.authorize(actor, "update_model" if existing else "create_model")
        source = clean.get("source") or (existing or {}).get("storage_path")
        if not source:
            raise InvalidInput(f"source: model {model} does not exist; give the folder to publish", field="source")
        location = self._location(source, "source")
        if location.remote:
            raise InvalidInput(
                f"source: {source} is already on S3; publish takes a folder on this machine", field="source"
            )
        assert location.path is not None
        if not location.path.exists():
            raise InvalidInput(f"source: nothing at {location.path}", field="source")
        s3.check_reachable(clean["destination"], self.options, writing=True)
        params = {"source": source, "destination": clean["destination"], "model": model, **self._where()}
        params.update(s3=self.options.params(), actor=actor)
        key = f"{PUBLISH_KIND}:{clean['destination']}"
        return self.jobs.submit(PUBLISH_KIND, params, owner=actor, dedupe_key=key)

    def browse(self, uri: str, limit: int = 1000) -> dict[str, Any]:
        """The objects under an s3:// prefix with their sizes (the first `limit`), and totals."""
        bucket, prefix = s3.parse_uri(uri, "uri")
        client = s3.client(self.options)
        items: list[dict[str, Any]] = []
        files = size = 0
        for o in s3.list_objects(client, bucket, prefix, self.options):
            files += 1
            size += o.size
            if len(items) < limit:
                items.append({"key": o.key, "size": o.size, "modified": o.modified.isoformat() if o.modified else None})
        return {"uri": uri, "items": items, "files": files, "bytes": size, "truncated": files > len(items)}
