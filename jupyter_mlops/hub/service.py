"""The model hub as a service: download (a job), list and delete the local cache,
make a registry model from a download, and the workspace's default model."""

from __future__ import annotations

import dataclasses
import fnmatch
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import exists, or_, select

from ..config import DEFAULT_DISK_MARGIN
from ..errors import Conflict, Forbidden, InvalidInput, NotFound
from ..jobs.queue import JobQueue
from ..paging import check_limit, decode_cursor, encode_cursor
from ..paths import inside
from ..registry.service import Registry
from ..secretfile import SecretFiles
from ..store import Store
from ..store.schema import Model, Release, Setting, utcnow
from . import rules
from .download import clean_incomplete

DOWNLOAD_KIND = "hub.download"
DEFAULT_MODEL_KEY = "default_model"
MAX_FILES_LISTED = 1000


def _ts(value: float | None) -> str | None:
    return datetime.fromtimestamp(value, timezone.utc).isoformat() if value else None


def _rel(file: Any, rev: Any) -> str:
    try:
        return str(file.file_path.relative_to(rev.snapshot_path).as_posix())
    except ValueError:
        return str(file.file_name)


def _in_cache(files: Any, cache: Path) -> list[Any]:
    """The files whose blob lies inside the model cache: a link out of it is listed by
    name only, its target's size and times are never reported."""
    return [f for f in files if inside(Path(os.path.realpath(f.blob_path)), cache)]


def _figures(files: list[Any]) -> dict[str, Any]:
    """Bytes (each blob once) and the newest times of `files`."""
    blobs = {f.blob_path: f.size_on_disk for f in files}
    return {
        "size_on_disk": sum(blobs.values()),
        "last_accessed": _ts(max((f.blob_last_accessed for f in files), default=None)),
        "last_modified": _ts(max((f.blob_last_modified for f in files), default=None)),
    }


def revision_view(rev: Any, cache: Path) -> dict[str, Any]:
    """A cached revision as JSON (sizes and times of what lies inside `cache` only)."""
    names = sorted(_rel(f, rev) for f in rev.files)
    figures = _figures(_in_cache(rev.files, cache))
    return {
        "commit": rev.commit_hash,
        "refs": sorted(rev.refs),
        "size_on_disk": figures["size_on_disk"],
        "file_count": len(rev.files),
        "files": names[:MAX_FILES_LISTED],
        "last_modified": figures["last_modified"],
        "snapshot_path": str(rev.snapshot_path),
    }


def repo_view(repo: Any, cache: Path) -> dict[str, Any]:
    """A cached repo as JSON, newest revision first (sizes and times inside `cache` only)."""
    revs = sorted(repo.revisions, key=lambda r: r.last_modified, reverse=True)
    figures = _figures(_in_cache([f for r in repo.revisions for f in r.files], cache))
    return {
        "repo_id": repo.repo_id,
        "path": str(repo.repo_path),
        "size_on_disk": figures["size_on_disk"],
        "file_count": repo.nb_files,
        "last_accessed": figures["last_accessed"],
        "last_modified": figures["last_modified"],
        "revisions": [revision_view(r, cache) for r in revs],
    }


def _writable_problem(paths: list[Path]) -> Path | None:
    """The first path that could not be deleted for lack of permission (None if all can)."""
    for path in paths:
        if not os.path.lexists(path):
            continue
        if not os.access(path.parent, os.W_OK | os.X_OK):
            return path.parent
        if path.is_dir() and not path.is_symlink():
            for root, _dirs, _files in os.walk(path):
                if not os.access(root, os.W_OK | os.X_OK):
                    return Path(root)
    return None


def shared_store(cache: Path) -> Path | None:
    """huggingface_hub's cache-wide store of Xet files (`<cache>/blobs/`, where a repo's blob
    links point), when the cache has one."""
    from huggingface_hub.utils import _shared_blobs

    store = _shared_blobs.shared_blobs_dir(cache)
    return Path(os.path.realpath(store)) if _shared_blobs.is_shared_blobs_dir(store) else None


def _shared_targets(cache: Path, repo_path: Path, blobs: list[Path]) -> set[Path]:
    """The files of the shared Xet store that these blobs (all of the repo's, for a whole
    repo) link to."""
    store = shared_store(cache)
    if store is None:
        return set()
    try:
        links = [*blobs, *(repo_path / "blobs").iterdir()]
    except OSError:
        links = list(blobs)
    return {real for link in links if inside(real := Path(os.path.realpath(link)), store) and real != store}


def _refuse_escapes(cache: Path, repo_path: Path, blobs: list[Path], paths: list[Path]) -> None:
    """Forbidden (naming what, deleting nothing) when a deletion would reach out of the
    model cache: the repo folder itself a link elsewhere, a blob (the target of a snapshot
    link) outside the repo's blobs and the cache's shared store of Xet files, or a path
    reached through a link out of the repo."""
    root = Path(os.path.realpath(cache))
    repo = Path(os.path.realpath(repo_path))
    if not inside(repo, root):
        raise Forbidden(
            f"repo_id: {repo_path.name} links outside the model cache; nothing was deleted", field="repo_id"
        )
    store = shared_store(cache)
    for blob in blobs:
        real = Path(os.path.realpath(blob))
        if not inside(real, repo / "blobs") and not (store is not None and inside(real, store)):
            raise Forbidden(
                f"files: a link in {repo_path.name} points outside the model cache (to {real}); nothing was deleted",
                field="files",
            )
    for path in paths:
        parent = Path(os.path.realpath(path.parent))
        if not (inside(parent, repo) or (path == repo_path and parent == root)):
            raise Forbidden(
                f"files: {path} lies outside the model cache through a link; nothing was deleted", field="files"
            )


class HubService:
    """Download, list and delete Hugging Face models in the workspace's cache."""

    def __init__(
        self,
        store: Store,
        jobs: JobQueue,
        registry: Registry,
        models_dir: str | Path,
        endpoint: str,
        disk_margin: int = DEFAULT_DISK_MARGIN,
        *,
        secrets_dir: str | Path | None = None,
    ) -> None:
        self.store = store
        self.jobs = jobs
        self.registry = registry
        self.models_dir = Path(models_dir)
        self.endpoint = endpoint.rstrip("/")
        self.disk_margin = int(disk_margin)
        self.secrets = SecretFiles(secrets_dir or self.models_dir.parent / ".mlops" / "secrets", jobs)

    # -- download ----------------------------------------------------------------
    def start_download(self, data: Any, actor: str) -> dict[str, Any]:
        """Queue a download from `{repo_id, revision?, allow_patterns?, ignore_patterns?, token?}`;
        the same repo+revision already queued or running is returned instead."""
        clean = rules.DOWNLOAD.for_create(data)
        repo_id = clean["repo_id"]
        revision = clean.get("revision") or "main"
        self.clean_secrets()
        token_file = self.secrets.write("hf-token", clean.get("token"))
        params = {
            "repo_id": repo_id,
            "revision": revision,
            "allow_patterns": clean.get("allow_patterns"),
            "ignore_patterns": clean.get("ignore_patterns"),
            "endpoint": self.endpoint,
            "cache_dir": str(self.models_dir),
            "token_file": token_file,
            "disk_margin": self.disk_margin,
            "actor": actor,
        }
        return self.secrets.submit(
            token_file, DOWNLOAD_KIND, params, owner=actor, dedupe_key=f"hub:{repo_id}@{revision}"
        )

    def downloads(self, *, active: bool = False, limit: Any = None, cursor: str | None = None) -> dict[str, Any]:
        """Download jobs, newest first; one page."""
        return self.jobs.list(kind=DOWNLOAD_KIND, active=active, limit=limit, cursor=cursor)

    def cancel(self, job_id: int) -> dict[str, Any]:
        """Cancel a download job."""
        job = self.jobs.get(job_id)
        if job["kind"] != DOWNLOAD_KIND:
            raise NotFound(f"download job {job_id} does not exist")
        return self.jobs.cancel(job_id)

    def _active_downloads(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        cursor = None
        while True:
            page = self.jobs.list(kind=DOWNLOAD_KIND, active=True, limit=500, cursor=cursor)
            found.extend(page["items"])
            cursor = page["next_cursor"]
            if not cursor:
                return found

    def clean_secrets(self) -> int:
        """Delete secret files no active job still needs; returns how many."""
        return self.secrets.clean()

    # -- list --------------------------------------------------------------------
    def _scan(self) -> Any:
        from huggingface_hub import scan_cache_dir
        from huggingface_hub.errors import CacheNotFound

        try:
            return scan_cache_dir(self.models_dir)
        except CacheNotFound:
            return None

    def _repos(self) -> dict[str, Any]:
        info = self._scan()
        return {} if info is None else {r.repo_id: r for r in info.repos if r.repo_type == "model"}

    def list_local(self, q: str | None = None, limit: Any = None, cursor: str | None = None) -> dict[str, Any]:
        """Cached models by repo id with revisions, size on disk, file count and times; one page."""
        size = check_limit(limit)
        after = decode_cursor(cursor, str, "hub.models") if cursor else None
        info = self._scan()
        repos = sorted((r for r in (info.repos if info else ()) if r.repo_type == "model"), key=lambda r: r.repo_id)
        if q:
            repos = [r for r in repos if q.lower() in r.repo_id.lower()]
        if after is not None:
            repos = [r for r in repos if r.repo_id > after]
        downloading = {j["params"].get("repo_id") for j in self._active_downloads()}
        items = []
        for r in repos[:size]:
            view = repo_view(r, self.models_dir)
            view["downloading"] = r.repo_id in downloading
            items.append(view)
        nxt = encode_cursor(repos[size - 1].repo_id, "hub.models") if len(repos) > size else None
        return {
            "items": items,
            "next_cursor": nxt,
            "cache_dir": str(self.models_dir),
            "size_on_disk": _figures(
                _in_cache(
                    [f for r in (info.repos if info else ()) for v in r.revisions for f in v.files], self.models_dir
                )
            )["size_on_disk"],
        }

    def get_local(self, repo_id: str) -> dict[str, Any]:
        """One cached model."""
        repo_id = rules.repo_id(repo_id)
        repo = self._repos().get(repo_id)
        if repo is None:
            raise NotFound(f"repo {repo_id} is not in the model cache {self.models_dir}")
        return repo_view(repo, self.models_dir)

    # -- which revision --------------------------------------------------------
    @staticmethod
    def _resolve(repo: Any, revision: str) -> Any | None:
        """The cached revision a commit or ref names, or None."""
        for rev in repo.revisions:
            if rev.commit_hash == revision or revision in rev.refs:
                return rev
        return None

    def _refers(self, repo: Any, uri_rev: str | None, commits: set[str] | None) -> bool:
        """Whether a reference `hf://repo[@uri_rev]` touches the revisions in `commits`
        (None = the whole repo)."""
        if commits is None:
            return True
        rev = self._resolve(repo, uri_rev or "main")
        return rev is None or rev.commit_hash in commits  # unknown: err on the safe side

    def in_use(self, repo_id: str, commits: set[str] | None = None, repo: Any = None) -> list[str]:
        """Why deleting `repo_id` (or its `commits`) would break something; empty if nothing."""
        repo = repo if repo is not None else self._repos().get(repo_id)
        reasons: list[str] = []
        for job in self._active_downloads():
            if job["params"].get("repo_id") == repo_id:
                reasons.append(f"it is being downloaded (job {job['id']}, {job['state']})")
        default = self.default_model()
        if default and default.get("model"):
            parsed = rules.parse_hf_uri(default["model"]["storage_path"])
            if parsed and parsed[0] == repo_id and (repo is None or self._refers(repo, parsed[1], commits)):
                reasons.append(f"it is the default model ({default['name']})")
        prefix = f"hf://{repo_id}"
        with self.store.read() as s:
            rows = s.execute(
                select(Model.name, Model.storage_path)
                .where(or_(Model.storage_path == prefix, Model.storage_path.like(f"{prefix}@%")))
                .where(exists().where(Release.model_id == Model.id))
            ).all()
            for name, storage_path in rows:
                parsed = rules.parse_hf_uri(storage_path)
                if parsed and parsed[0] == repo_id and (repo is None or self._refers(repo, parsed[1], commits)):
                    versions = s.scalars(
                        select(Release.version)
                        .join(Model, Release.model_id == Model.id)
                        .where(Model.name == name)
                        .order_by(Release.id)
                        .limit(5)
                    ).all()
                    reasons.append(f"registry model {name} ({storage_path}) has releases ({', '.join(versions)})")
        return reasons

    # -- delete ------------------------------------------------------------------
    def delete(
        self, repo_id: Any, revision: Any = None, files: Any = None, force: bool = False, actor: str = ""
    ) -> dict[str, Any]:
        """Delete a cached repo, one revision, or files (paths or globs) of a revision (all
        revisions when none is given). Refuses with Conflict when in use unless `force`."""
        body = {"repo_id": repo_id, "force": bool(force)}
        if revision is not None:
            body["revision"] = revision
        if files is not None:
            body["files"] = files
        clean = rules.DELETE.for_create(body)
        repo_id, revision, files = clean["repo_id"], clean.get("revision"), clean.get("files")
        info = self._scan()
        repo = next((r for r in (info.repos if info else ()) if r.repo_type == "model" and r.repo_id == repo_id), None)
        if repo is None:
            raise NotFound(f"repo {repo_id} is not in the model cache {self.models_dir}")
        targets = list(repo.revisions)
        if revision:
            rev = self._resolve(repo, revision)
            if rev is None:
                raise NotFound(f"revision {revision!r} of {repo_id} is not in the model cache")
            targets = [rev]
        commits = {r.commit_hash for r in targets}
        whole = not revision and not files
        reasons = self.in_use(repo_id, None if whole else commits, repo)
        if reasons and not force:
            what = repo_id if whole else f"{repo_id}@{revision}" if not files else f"files of {repo_id}"
            raise Conflict(f"cannot delete {what}: " + "; ".join(reasons) + " (use force to delete anyway)")
        selected: list[Any] = []
        if files:
            for rev in targets:
                for f in rev.files:
                    rel = _rel(f, rev)
                    if any(rel == p or fnmatch.fnmatchcase(rel, p) for p in files):
                        selected.append(f)
            if not selected:
                raise NotFound(
                    f"files: none of {', '.join(files)} is in the cached "
                    f"{'revision ' + revision if revision else 'revisions'} of {repo_id}"
                )
            strategy = info.delete_files(*selected)
            paths = [f.file_path for f in selected] + list(strategy.blobs)
        else:
            # huggingface_hub matches commit hashes across the whole cache: a commit another
            # repo shares must not take that repo's revision instead
            strategy = dataclasses.replace(info, repos=frozenset({repo})).delete_revisions(*commits)
            paths = [*strategy.repos, *strategy.snapshots, *strategy.refs, *strategy.blobs]
        _refuse_escapes(self.models_dir, repo.repo_path, list(strategy.blobs), paths)
        denied = _writable_problem(paths)
        if denied is not None:
            raise Forbidden(f"permission denied: cannot delete under {denied}")
        from ..services import tree_size

        # a repo's Xet blobs are links into the shared store: what they hold is freed there
        shared = _shared_targets(self.models_dir, repo.repo_path, list(strategy.blobs))
        before = tree_size(repo.repo_path, *shared)
        try:
            strategy.execute()
            if whole:
                clean_incomplete(self.models_dir, repo_id)
        except PermissionError as exc:
            raise Forbidden(f"permission denied: cannot delete {exc.filename or repo.repo_path}") from None
        left = [p for p in paths if os.path.lexists(p)]
        if left:
            raise Forbidden(f"could not delete {left[0]} (permission denied or busy); {len(left)} path(s) remain")
        after = tree_size(repo.repo_path, *shared)
        result = {
            "repo_id": repo_id,
            "revision": revision,
            "commits": sorted(commits),
            "files": sorted({_rel(f, r) for r in targets for f in r.files if f in set(selected)}),
            "scope": "repo" if whole else "files" if files else "revision",
            "expected_freed_bytes": strategy.expected_freed_size,
            "freed_bytes": max(0, before - after),
            "forced": bool(force and reasons),
            "overridden": reasons if force else [],
        }
        self._audit(actor, "delete_local", repo_id, None, {"deleted": result})
        return result

    # -- registry ----------------------------------------------------------------
    def create_model(
        self, repo_id: Any, revision: Any = "main", name: Any = None, actor: str = "", **extra: Any
    ) -> dict[str, Any]:
        """A registry model for a downloaded repo (storage_path `hf://org/name@<commit>`)."""
        body: dict[str, Any] = {"repo_id": repo_id, "revision": revision or "main"}
        if name is not None:
            body["name"] = name
        clean = rules.CREATE_MODEL.for_create(body)
        repo_id, revision = clean["repo_id"], clean["revision"]
        repo = self._repos().get(repo_id)
        rev = self._resolve(repo, revision) if repo is not None else None
        if rev is None:
            raise NotFound(f"{repo_id}@{revision} is not in the model cache; download it first")
        org, _, short = repo_id.rpartition("/")  # no org for a single-part id (gpt2)
        data = {
            "name": clean.get("name") or short,
            "storage_path": f"hf://{repo_id}@{rev.commit_hash}",
            "repository": f"{self.endpoint}/{repo_id}",
            "company": org or None,
            "tags": ["huggingface"],
            "metadata": {
                "source": "huggingface",
                "repo_id": repo_id,
                "revision": revision,
                "commit": rev.commit_hash,
                "endpoint": self.endpoint,
                "size_on_disk": revision_view(rev, self.models_dir)["size_on_disk"],
                "file_count": len(rev.files),
            },
        }
        data.update(extra)
        return self.registry.create_model(data, actor)

    def default_model(self) -> dict[str, Any] | None:
        """The default model setting with the model it names (None when unset)."""
        with self.store.read() as s:
            row = s.get(Setting, DEFAULT_MODEL_KEY)
            if row is None or not row.value:
                return None
            name, at, by = row.value.get("name"), row.updated_at, row.updated_by
        try:
            model = self.registry.get_model(name)
        except NotFound:
            model = None
        return {"name": name, "model": model, "updated_at": at.isoformat(), "updated_by": by}

    def set_default_model(self, name: Any, actor: str) -> dict[str, Any] | None:
        """Make registry model `name` the default (None clears it); audited."""
        self.registry.authorize(actor, "set_default_model")
        if name is not None:
            name = rules.DEFAULT_MODEL.for_create({"name": name})["name"]
            model_id = self.registry.get_model(name)["id"]  # NotFound if missing
        else:
            model_id = None
        with self.store.write() as s:
            row = s.get(Setting, DEFAULT_MODEL_KEY)
            before = row.value if row is not None else None
            value = {"name": name} if name else None
            if row is None:
                s.add(Setting(key=DEFAULT_MODEL_KEY, value=value, updated_at=utcnow(), updated_by=actor or "unknown"))
            else:
                row.value, row.updated_at, row.updated_by = value, utcnow(), actor or "unknown"
            self.registry._audit(s, actor, "set_default_model", "setting", DEFAULT_MODEL_KEY, model_id, before, value)
        return self.default_model()

    def _audit(self, actor: str, action: str, entity_id: str, before: Any, after: Any) -> None:
        with self.store.write() as s:
            self.registry._audit(s, actor, action, "hub_repo", entity_id, None, before, after)


def check_bool(name: str, value: Any) -> bool:
    """A boolean flag from JSON or a query string."""
    if isinstance(value, bool):
        return value
    if value in ("true", "1", "yes"):
        return True
    if value in (None, "", "false", "0", "no"):
        return False
    raise InvalidInput(f"{name}: must be true or false (got {value!r})", field=name)
