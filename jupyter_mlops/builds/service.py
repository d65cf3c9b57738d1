"""Image builds as a service: start a build of a release (a job), list and read builds,
follow their logs, cancel them, push an image, and queue auto-builds of new releases."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..config import DEFAULT_DISK_MARGIN
from ..errors import Conflict, Forbidden, InvalidInput, NotFound
from ..jobs.queue import JobQueue
from ..paging import page
from ..paths import Roots
from ..registry.rules import normalize_quantization
from ..registry.service import Registry
from ..secretfile import SecretFiles, forget
from ..storage.s3 import S3Options, check_reachable, has_object, is_s3
from ..store import Store
from ..store.engine import fetch
from ..store.schema import Build, BuildPush, Job, Model, Release, utcnow
from . import rules

BUILD_KIND = "build.image"
PUSH_KIND = "build.push"


def _iso(value: Any) -> str | None:
    return value.isoformat() if value else None


def push_view(p: BuildPush, job: Job | None = None) -> dict[str, Any]:
    """A push as JSON, with its job's state."""
    return {
        "id": p.id,
        "build_id": p.build_id,
        "job_id": p.job_id,
        "reference": p.reference,
        "digest": p.digest,
        "state": job.state if job else ("succeeded" if p.digest else "unknown"),
        "error": job.error if job else None,
        "created_by": p.created_by,
        "created_at": _iso(p.created_at),
        "pushed_at": _iso(p.pushed_at),
    }


def build_view(b: Build, job: Job | None, pushes: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A build as JSON: its record, its job's state and progress, and its pushes."""
    view: dict[str, Any] = {
        "id": b.id,
        "release_id": b.release_id,
        "model": b.model,
        "version": b.version,
        "quantization": b.quantization,
        "job_id": b.job_id,
        "tag": b.tag,
        "options": b.options,
        "context_hash": b.context_hash,
        "context_bytes": b.context_bytes,
        "needed_bytes": b.needed_bytes,
        "context_files": b.context_files,
        "image_id": b.image_id,
        "image_size": b.image_size,
        "reused": b.reused,
        "duration_s": b.duration_s,
        "run_check": b.run_check,
        "created_by": b.created_by,
        "created_at": _iso(b.created_at),
        "finished_at": _iso(b.finished_at or (job.finished_at if job else None)),
        "state": job.state if job else "unknown",
        "message": job.message if job else "",
        "error": job.error if job else None,
        "progress": (
            {
                "done": job.progress_done,
                "total": job.progress_total,
                "unit": job.progress_unit,
                "rate": job.progress_rate,
            }
            if job
            else None
        ),
    }
    if pushes is not None:
        view["pushes"] = pushes
    return view


def model_files(storage_path: str, root: Path, models_dir: Path, roots: Roots, field: str = "storage_path") -> Path:
    """The model's files on this machine: a path (relative to the workspace root) inside
    `roots`, or an hf:// reference in the workspace model cache. InvalidInput saying why
    otherwise, Forbidden for a path outside (nothing there is read); errors name `field`."""
    from ..hub.rules import parse_hf_uri, repo_folder

    hf = parse_hf_uri(storage_path)
    if hf:
        repo_id, rev = hf
        cache = [models_dir.resolve()]
        repo = roots.resolve(models_dir / repo_folder(repo_id), field, base=models_dir, within=cache)
        commit = rev or "main"
        ref = roots.resolve(repo / "refs" / commit, field, base=repo, within=cache)
        if ref.is_file():
            commit = ref.read_text().strip()
        snapshot = roots.resolve(repo / "snapshots" / commit, field, base=repo, within=cache)
        if not snapshot.is_dir():
            raise InvalidInput(
                f"{field}: {storage_path} is not in the workspace model cache ({models_dir}); download it first",
                field=field,
            )
        return snapshot
    if re.match(r"[A-Za-z][A-Za-z0-9+.-]*:/", storage_path):  # a URI: s3://, models:/, ...
        raise InvalidInput(
            f"{field}: {storage_path} is not on this machine; copy or download the model "
            f"into the workspace and point storage_path at it",
            field=field,
        )
    path = roots.resolve(storage_path, field, base=root)
    if not path.exists():
        raise InvalidInput(f"{field}: the model files are not at {path}", field=field)
    return path


class BuildService:
    """Docker image builds of releases, run as jobs."""

    def __init__(
        self,
        store: Store,
        jobs: JobQueue,
        registry: Registry,
        root: Path,
        models_dir: Path,
        *,
        secrets_dir: Path,
        docker_host: str,
        base_images: dict[str, str] | None = None,
        roots: Sequence[Path] = (),
        s3_options: S3Options | None = None,
        disk_margin: int = DEFAULT_DISK_MARGIN,
    ) -> None:
        self.store = store
        self.jobs = jobs
        self.registry = registry
        self.root = Path(root)
        self.models_dir = Path(models_dir)
        self.roots = Roots(roots or [self.root.resolve(), self.models_dir.resolve()])
        self.docker_host = docker_host
        self.base_images = {**rules.DEFAULT_BASE_IMAGES, **(base_images or {})}
        self.secrets = SecretFiles(secrets_dir, jobs)
        self.s3_options = s3_options or S3Options()
        self.disk_margin = disk_margin
        registry.on_release_created = self._auto_build
        registry.on_release_committed = lambda view: self.jobs.woken() if view.get("build") else None

    # -- start ---------------------------------------------------------------------
    def start(self, data: Any, actor: str) -> dict[str, Any]:
        """Queue a build of a release from the BUILD shape. Checks what can be checked
        now (the release, the model files, a custom Dockerfile, the daemon) so a bad
        request records nothing; an active build of the same release and tag is returned
        instead (deduplicated)."""
        from .engine import connect
        from .job import assemble

        self.registry.authorize(actor, "build")
        clean = rules.BUILD.for_create(data)
        with self.store.read() as s:
            release, model = self._release(s, clean["release_id"])
            options = self._options(clean, release, model)
            project = self.roots.resolve(options["project"], "project", base=self.root)
            if not project.is_dir():
                raise InvalidInput(f"project: {project} is not a folder", field="project")
            if is_s3(model.storage_path):  # the job fetches it first: check now that it can
                check_reachable(model.storage_path, self.s3_options)
            else:  # the job assembles the same context again; doing it now refuses bad input early
                assemble(options, release, model, self.root, self.models_dir, self.roots)
        connect(options["docker_host"]).close()
        with self.store.write() as s:
            release, model = self._release(s, clean["release_id"])
            view, twin = self._queue(s, release, model, options, clean.get("tag"), actor)
        if not twin:
            self.jobs.woken()
        return view

    def _options(self, clean: dict[str, Any], release: Release, model: Model) -> dict[str, Any]:
        """The build's options, with every default resolved (so the record says what was used)."""
        accel = (
            clean.get("accelerator")
            or (release.meta or {}).get("accelerator")
            or (model.meta or {}).get("accelerator")
            or "rocm"
        )
        if accel not in rules.ACCELERATORS:
            accel = "rocm"
        mode = clean.get("dockerfile", "auto")
        if mode == "auto" and is_s3(model.storage_path):
            mode = "custom" if has_object(model.storage_path, "Dockerfile", self.s3_options) else "generated"
        elif mode == "auto":
            try:
                path = model_files(model.storage_path, self.root, self.models_dir, self.roots)
                mode = "custom" if (path / "Dockerfile").is_file() else "generated"
            except (InvalidInput, Forbidden):  # the build itself says why (start refuses, a queued job fails)
                mode = "generated"
        return {
            "accelerator": accel,
            "base_image": clean.get("base_image") or self.base_images[accel],
            "dockerfile": mode,
            "project": clean.get("project") or ".",
            "include": clean.get("include") or [],
            "build_args": clean.get("build_args") or {},
            "platform": clean.get("platform"),
            "no_cache": bool(clean.get("no_cache")),
            "pull": bool(clean.get("pull")),
            "run_check": clean.get("run_check"),
            "docker_host": self.docker_host,
        }

    def _queue(
        self, s: Session, release: Release, model: Model, options: dict[str, Any], tag: str | None, actor: str
    ) -> tuple[dict[str, Any], bool]:
        """The build row and its job, in the caller's transaction."""
        tag = tag or rules.default_tag(model.name, release.version, release.quantization)
        if ":" not in tag.rsplit("/", 1)[-1]:
            tag += ":latest"
        job, twin = self.jobs.enqueue(
            s,
            BUILD_KIND,
            {
                "root": str(self.root),
                "models_dir": str(self.models_dir),
                "roots": [str(r) for r in self.roots.roots],
                "s3": self.s3_options.params(),
                "disk_margin": self.disk_margin,
            },
            owner=actor,
            dedupe_key=f"build:{release.id}:{tag}",
        )
        if twin:
            build = s.scalar(select(Build).where(Build.job_id == job.id))
            if build is not None:
                return {**build_view(build, job), "deduplicated": True}, True
        build = Build(
            release_id=release.id,
            model=model.name,
            version=release.version,
            quantization=release.quantization,
            job_id=job.id,
            tag=tag,
            options=options,
            reused=False,
            created_by=actor,
            created_at=utcnow(),
        )
        s.add(build)
        s.flush()
        job.params = {**job.params, "build_id": build.id}
        return build_view(build, job), False

    def _auto_build(self, s: Session, release_view: dict[str, Any], actor: str) -> dict[str, Any] | None:
        """Registry hook: a new release with auto_build queues its build in the same
        transaction; the answer then names the build."""
        if not release_view.get("auto_build"):
            return None
        release, model = self._release(s, release_view["id"])
        view, _ = self._queue(s, release, model, self._options({}, release, model), None, actor)
        return {"build": {"id": view["id"], "job_id": view["job_id"], "tag": view["tag"]}}

    def release_id(self, ref: str) -> int:
        """The release a `MODEL:VERSION[:QUANT]` reference names (QUANT defaults to none)."""
        parts = ref.split(":")
        if len(parts) not in (2, 3) or not all(parts):
            raise InvalidInput(
                f"release: must be MODEL:VERSION or MODEL:VERSION:QUANTIZATION (got {ref!r})", field="release"
            )
        model, version = parts[0], parts[1]
        quant = normalize_quantization(parts[2]) if len(parts) == 3 else "none"
        with self.store.read() as s:
            found = s.scalar(
                select(Release.id)
                .join(Model, Release.model_id == Model.id)
                .where(Model.name == model, Release.version == version, Release.quantization == quant)
            )
        if found is None:
            raise NotFound(f"release {model}:{version}:{quant} does not exist")
        return int(found)

    @staticmethod
    def _release(s: Session, release_id: int) -> tuple[Release, Model]:
        release = fetch(s, Release, release_id, "release")
        return release, fetch(s, Model, release.model_id, "model")

    # -- read ------------------------------------------------------------------------
    def get(self, build_id: int) -> dict[str, Any]:
        """One build with its job state and pushes."""
        with self.store.read() as s:
            build = fetch(s, Build, build_id, "build")
            rows = s.execute(
                select(BuildPush, Job)
                .outerjoin(Job, BuildPush.job_id == Job.id)
                .where(BuildPush.build_id == build_id)
                .order_by(BuildPush.id)
            ).all()
            return build_view(
                build, s.get(Job, build.job_id) if build.job_id else None, [push_view(p, j) for p, j in rows]
            )

    def list(
        self,
        *,
        model: str | None = None,
        release_id: int | None = None,
        active: bool = False,
        limit: Any = None,
        cursor: str | None = None,
    ) -> dict[str, Any]:
        """Builds newest first, by model or release; one page."""
        from ..jobs.queue import ACTIVE_STATES

        stmt = select(Build)
        if model:
            stmt = stmt.where(Build.model == model)
        if release_id is not None:
            stmt = stmt.where(Build.release_id == release_id)
        if active:
            stmt = stmt.join(Job, Build.job_id == Job.id).where(Job.state.in_(ACTIVE_STATES))
        with self.store.read() as s:
            rows, nxt = page(s, stmt, Build.id, descending=True, limit=limit, cursor=cursor)
            jobs = {j.id: j for j in s.scalars(select(Job).where(Job.id.in_([b.job_id for b in rows if b.job_id])))}
            return {"items": [build_view(b, jobs.get(b.job_id)) for b in rows], "next_cursor": nxt}

    def _job_id(self, build_id: int) -> int:
        with self.store.read() as s:
            build = fetch(s, Build, build_id, "build")
            if build.job_id is None:
                raise NotFound(f"build {build_id} has no job any more")
            return build.job_id

    def log(self, build_id: int, *, after: int = 0, limit: Any = 500) -> dict[str, Any]:
        """The build's log lines after `after`."""
        return self.jobs.log(self._job_id(build_id), after=after, limit=limit)

    def cancel(self, build_id: int) -> dict[str, Any]:
        """Cancel a queued or running build (its job); answers the build."""
        self.jobs.cancel(self._job_id(build_id))
        return self.get(build_id)

    # -- push --------------------------------------------------------------------------
    def push(self, build_id: int, data: Any, actor: str) -> dict[str, Any]:
        """Queue a push of a built image to a registry; credentials go to the job in a
        one-shot secret file, never into the store or the log. Answers the push."""
        self.registry.authorize(actor, "push")
        clean = rules.PUSH.for_create(data)
        with self.store.read() as s:
            build = fetch(s, Build, build_id, "build")
            if not build.image_id:
                raise Conflict(f"build {build_id} has no image yet (it is not finished or it failed)")
            repo, tag = rules.split_image(build.tag)
        repository = clean.get("repository") or rules.without_registry(repo)
        reference = f"{clean['registry']}/{repository}:{clean.get('tag') or tag}"
        self.secrets.clean()
        auth = None
        if clean.get("username"):
            auth = self.secrets.write(
                "registry-auth", json.dumps({"username": clean["username"], "password": clean["password"]})
            )
        params = {"build_id": build_id, "reference": reference, "auth_file": auth, "docker_host": self.docker_host}
        try:
            with self.store.write() as s:
                job, twin = self.jobs.enqueue(s, PUSH_KIND, params, owner=actor, dedupe_key=f"push:{reference}")
                if twin:
                    forget(auth)
                    row = s.scalar(select(BuildPush).where(BuildPush.job_id == job.id))
                    if row is not None:
                        return {**push_view(row, job), "deduplicated": True}
                row = BuildPush(
                    build_id=build_id, job_id=job.id, reference=reference, created_by=actor, created_at=utcnow()
                )
                s.add(row)
                s.flush()
                view = push_view(row, job)
        except BaseException:
            forget(auth)
            raise
        self.jobs.woken()
        return view
