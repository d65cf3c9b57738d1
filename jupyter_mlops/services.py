"""One object holding every service for a workspace; what each face talks to."""

from __future__ import annotations

import os
import shutil
import stat
import threading
import time
from pathlib import Path
from typing import Any

from .config import Settings, load_settings
from .jobs import JobQueue
from .jobs.queue import place_of
from .registry import Registry
from .store import Store, open_store

STORAGE_TTL = 15.0


class Services:
    """The registry, jobs, dependency doctor, model hub, builds and dashboard over one store."""

    def __init__(self, settings: Settings, store: Store | None = None) -> None:
        """Services as `settings` say (see `jupyter_mlops.config`); `store` replaces the one
        at `settings.workspace.db_url`."""
        from .builds.service import BuildService
        from .deps.service import DepsService
        from .deps.status import DEFAULT_PROTECTED
        from .hub.service import HubService
        from .storage.s3 import S3Options
        from .storage.service import StorageService
        from .tracking.service import TrackingService

        self.settings = settings
        self.workspace = workspace = settings.workspace
        workspace.state_dir.mkdir(parents=True, exist_ok=True)
        self.store = store or open_store(workspace.db_url)
        self.registry = Registry(self.store, settings.policy)
        self.jobs = JobQueue(self.store, place_of(workspace.root))
        self.deps = DepsService(
            self.store,
            self.jobs,
            workspace.root,
            (*DEFAULT_PROTECTED, *settings.protected_packages),
            roots=settings.roots,
            allowed_pythons=settings.allowed_pythons,
        )
        self.hub = HubService(
            self.store,
            self.jobs,
            self.registry,
            workspace.models_dir,
            settings.hf_endpoint,
            settings.download_disk_margin,
            secrets_dir=workspace.state_dir / "secrets",
        )
        self.builds = BuildService(
            self.store,
            self.jobs,
            self.registry,
            workspace.root,
            workspace.models_dir,
            secrets_dir=workspace.state_dir / "secrets",
            docker_host=settings.docker_host,
            base_images=dict(settings.build_base_images),
            roots=settings.roots,
            s3_options=S3Options.of(settings),
            disk_margin=settings.download_disk_margin,
        )
        self.tracking = TrackingService(
            self.registry, self.jobs, settings.mlflow_tracking_uri, workspace.state_dir / "secrets"
        )
        self.storage_files = StorageService(
            self.registry,
            self.jobs,
            workspace.root,
            workspace.models_dir,
            settings.roots,
            S3Options.of(settings),
            settings.download_disk_margin,
        )
        self._storage: tuple[float, dict[str, Any]] | None = None
        self._storage_lock = threading.Lock()

    def dashboard(self) -> dict[str, Any]:
        """Counts, recent releases and deployments, jobs by state, storage figures, and which
        workspace and store answer."""
        return {
            **self.registry.counts(),
            "jobs": self.jobs.counts(),
            "storage": self.storage(),
            "workspace": self.settings.where(),
        }

    def storage(self) -> dict[str, Any]:
        """Disk used and free for the workspace and the model cache (cached for a few seconds)."""
        with self._storage_lock:
            if self._storage and time.monotonic() - self._storage[0] < STORAGE_TTL:
                return self._storage[1]
            ws = self.workspace
            figures = {
                "workspace": _place(ws.root, ws.state_dir),
                "models": _place(ws.models_dir, ws.models_dir),
            }
            self._storage = (time.monotonic(), figures)
            return figures


def _place(path: Path, measured: Path) -> dict[str, Any]:
    """Disk figures for the file system holding `path`, and bytes under `measured`."""
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    disk = shutil.disk_usage(probe)
    return {
        "path": str(path),
        "used_bytes": tree_size(measured),
        "disk_total_bytes": disk.total,
        "disk_used_bytes": disk.used,
        "disk_free_bytes": disk.free,
    }


def tree_size(*paths: Path) -> int:
    """Bytes of the regular files among and below `paths` (folders or files), each inode
    counted once, links not followed."""
    total, seen, stack = 0, set(), []

    def count(st: os.stat_result) -> None:
        nonlocal total
        if (st.st_dev, st.st_ino) not in seen:
            seen.add((st.st_dev, st.st_ino))
            total += st.st_blocks * 512 if st.st_blocks else st.st_size

    for path in paths:
        try:
            st = os.lstat(path)
        except OSError:
            continue
        if stat.S_ISDIR(st.st_mode):
            stack.append(str(path))
        elif stat.S_ISREG(st.st_mode):
            count(st)
    while stack:
        try:
            entries = os.scandir(stack.pop())
        except OSError:
            continue
        with entries:
            for entry in entries:
                try:
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(entry.path)
                    elif entry.is_file(follow_symlinks=False):
                        count(entry.stat(follow_symlinks=False))
                except OSError:
                    continue
    return total


_cache: dict[str, Services] = {}


def services_for(settings: Settings | None = None, **explicit: Any) -> Services:
    """The services of a kernel or the CLI: for `settings`, else for the settings loaded
    with these `explicit` values (e.g. `workspace_dir=`, `db_url=`); one per settings."""
    settings = settings or load_settings(explicit)
    key = settings.key()
    if key not in _cache:
        _cache[key] = Services(settings)
    return _cache[key]
