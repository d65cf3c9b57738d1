"""The `build.image` and `build.push` jobs: assemble the context, reuse an image with
the same content hash or build one with the daemon's log streaming live, record what
was made, optionally run a check; push an image and record its digest."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from sqlalchemy import select, update

from ..config import DEFAULT_DISK_MARGIN, DEFAULT_DOCKER_HOST
from ..errors import InvalidInput, MLOpsError, NotFound
from ..jobs.context import JobContext
from ..paths import Roots
from ..secretfile import take
from ..storage.fetch import fetch_to_cache
from ..storage.s3 import S3Options, is_s3
from ..store import Store, fetch
from ..store.schema import Build, BuildPush, FileDigest, Model, Release, utcnow
from . import context as bc
from . import engine, rules

LABEL = "jupyter-mlops"
HASH_LABEL = f"{LABEL}.context-hash"
RUN_CHECK_TIMEOUT = 600
OUTPUT_TAIL = 4000


#: Longest path (UTF-8 bytes) whose digest is cached: PostgreSQL cannot index a key much
#: longer (about 2,700 bytes), so a longer path is simply hashed again next time.
MAX_CACHED_PATH_BYTES = 2000


class Digests:
    """File digests for the context hash, cached in the store by path, size, mtime and inode."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.fresh: list[dict[str, Any]] = []

    def load(self, entries: list[bc.Entry]) -> dict[str, str]:
        paths = [e.source for e in entries if e.source and bc.known_digest(e) is None]
        known: dict[str, str] = {}
        with self.store.read() as s:
            for i in range(0, len(paths), 500):
                for row in s.scalars(select(FileDigest).where(FileDigest.path.in_(paths[i : i + 500]))):
                    known[row.path] = f"{row.size}:{row.mtime_ns}:{row.inode}:{row.sha256}"
        return known

    def save(self) -> None:
        if not self.fresh:
            return
        with self.store.write() as s:
            for row in self.fresh:
                if len(row["path"].encode()) <= MAX_CACHED_PATH_BYTES:
                    s.merge(FileDigest(**row))
        self.fresh = []


def context_hash(ctx: JobContext, context: bc.Context, extra: dict[str, Any], store: Store) -> str:
    """The context's content hash; files not known by the cache (or the model cache's
    blob names) are read once, with progress."""
    digests = Digests(store)
    known = digests.load(context.files)
    todo = [
        e
        for e in context.files
        if bc.known_digest(e) is None
        and known.get(e.source or "", "").rsplit(":", 1)[0] != f"{e.size}:{e.mtime_ns}:{e.inode}"
    ]
    total = sum(e.size for e in todo)
    if todo:
        ctx.log(f"hashing {len(todo)} files ({total / 1e6:.1f} MB) not seen before")
    done = 0
    for e in todo:
        assert e.source is not None
        sha = bc.sha256_file(e.source)
        known[e.source] = f"{e.size}:{e.mtime_ns}:{e.inode}:{sha}"
        digests.fresh.append(
            {"path": e.source, "size": e.size, "mtime_ns": e.mtime_ns, "inode": e.inode, "sha256": sha}
        )
        done += e.size
        ctx.progress(done, total, "B", "hashing the context")
    digests.save()

    def digest(e: bc.Entry) -> str:
        return bc.known_digest(e) or "sha256:" + known[e.source or ""].rsplit(":", 1)[1]

    return context.digest(digest, extra)


def _load(store: Store, build_id: int) -> tuple[Build, Release, Model]:
    with store.read() as s:
        build = s.get(Build, build_id)
        if build is None:
            raise NotFound(f"build {build_id} does not exist")
        release = s.get(Release, build.release_id) if build.release_id else None
        if release is None:
            raise NotFound(
                f"the release of build {build_id} ({build.model}:{build.version}:{build.quantization}) was deleted"
            )
        model = fetch(s, Model, release.model_id, "model")
        s.expunge_all()
        return build, release, model


def assemble(
    opts: dict[str, Any],
    release: Release,
    model: Model,
    root: Path,
    models_dir: Path,
    roots: Roots,
    path: Path | None = None,
) -> tuple[bc.Context, str]:
    """The context and Dockerfile text of a build, by its options, from the model's files at
    `path` (default: where its storage_path says on this machine); every path in it lies
    inside `roots`."""
    from .service import model_files

    path = path or model_files(model.storage_path, root, models_dir, roots)
    if opts["dockerfile"] == "custom":
        if not path.is_dir():
            raise InvalidInput(
                f"dockerfile: custom needs a model folder with a Dockerfile ({path} is a file)", field="dockerfile"
            )
        return bc.custom_context(path, roots)
    env = {
        "MODEL_DIR": bc.MODEL_DIR,
        "MLOPS_MODEL": model.name,
        "MLOPS_VERSION": release.version,
        "MLOPS_QUANTIZATION": release.quantization,
        "MLOPS_RELEASE_ID": str(release.id),
    }
    project = roots.resolve(opts["project"], "project", base=root)
    return bc.generated_context(path, project, list(opts.get("include") or []), opts["base_image"], env, roots)


def build(
    ctx: JobContext,
    build_id: int,
    root: str,
    models_dir: str,
    roots: list[str] | None = None,
    s3: dict[str, str] | None = None,
    disk_margin: int = DEFAULT_DISK_MARGIN,
) -> dict[str, Any]:
    """Build (or reuse) the image of a build row and record it; a model on s3:// is fetched
    into the local cache first (`storage.fetch`), and built from there."""
    started = time.monotonic()
    store = ctx.store
    row, release, model = _load(store, build_id)
    opts = row.options
    base = opts["base_image"] if opts["dockerfile"] == "generated" else "from the Dockerfile"
    ctx.log(
        f"build {build_id}: {model.name}:{release.version}:{release.quantization} -> {row.tag} "
        f"({opts['dockerfile']} Dockerfile, base {base})"
    )
    allowed = Roots(Path(r) for r in (roots or [root, models_dir]))
    files = None
    if is_s3(model.storage_path):
        fetched = fetch_to_cache(ctx, model.storage_path, models_dir, S3Options.from_params(s3), disk_margin)
        files = Path(fetched["local_path"])
    context, dockerfile = assemble(opts, release, model, Path(root), Path(models_dir), allowed, files)
    extra = {"build_args": opts.get("build_args") or {}, "platform": opts.get("platform")}
    chash = context_hash(ctx, context, extra, store)
    size = context.tar_size()
    stats = {
        "context_hash": chash,
        "context_bytes": size,
        "needed_bytes": context.needed_bytes,
        "context_files": len(context.files),
    }
    ctx.log(
        f"context: {len(context.files)} files, {context.needed_bytes / 1e6:.1f} MB of files, "
        f"{size / 1e6:.1f} MB to send; hash {chash}"
    )
    api = engine.connect(opts.get("docker_host") or DEFAULT_DOCKER_HOST, timeout=engine.JOB_TIMEOUT)
    repo, tag = rules.split_image(row.tag)
    reused = None if opts.get("no_cache") else _existing(api, chash)
    try:
        if reused:
            ctx.log(f"an image with this content hash exists ({reused}); tagging it {row.tag} instead of building")
            api.tag(reused, repo, tag, force=True)
            image_id = reused
        else:
            labels = {
                f"{LABEL}.model": model.name,
                f"{LABEL}.version": release.version,
                f"{LABEL}.quantization": release.quantization,
                f"{LABEL}.release-id": str(release.id),
                HASH_LABEL: chash,
            }
            if opts["dockerfile"] == "generated":
                ctx.log("Dockerfile (generated):")
                for line in dockerfile.splitlines():
                    ctx.log(f"  {line}")
            final = dockerfile if dockerfile.endswith("\n") else dockerfile + "\n"
            context = context.with_dockerfile(final + bc.label_line(labels))
            size = context.tar_size()
            chunks = api.build(
                fileobj=context.stream(lambda sent: ctx.progress(sent, size, "B", "sending context")),
                custom_context=True,
                tag=row.tag,
                buildargs=opts.get("build_args") or None,
                platform=opts.get("platform"),
                nocache=bool(opts.get("no_cache")),
                pull=bool(opts.get("pull")),
                rm=True,
                forcerm=True,
                decode=True,
                dockerfile=context.dockerfile,
            )
            image_id = engine.follow_build(
                chunks, ctx.log, lambda n, of: ctx.progress(n, of, "steps", f"step {n}/{of}")
            )
        image = api.inspect_image(image_id)
        duration = round(time.monotonic() - started, 3)
        values = {
            **stats,
            "image_id": image["Id"],
            "image_size": image.get("Size"),
            "reused": bool(reused),
            "duration_s": duration,
            "finished_at": utcnow(),
        }
        _record(store, build_id, values)
        ctx.log(
            f"{'reused' if reused else 'built'} {image['Id']} as {row.tag} "
            f"({(image.get('Size') or 0) / 1e6:.1f} MB) in {duration:.1f} s"
        )
        if opts.get("run_check"):
            values["run_check"] = check = _run_check(ctx, api, image_id, opts["run_check"])
            _record(store, build_id, {"run_check": check})
            if check["exit_code"] != 0:
                raise RunCheckFailed(
                    f"run check: {json.dumps(check['command'])} "
                    f"{check.get('error') or 'exited ' + str(check['exit_code'])} (the image "
                    f"{row.tag} is built and recorded)"
                )
    finally:
        api.close()
    return {"build_id": build_id, "tag": row.tag, **{k: v for k, v in values.items() if k != "finished_at"}}


def _record(store: Store, build_id: int, values: dict[str, Any]) -> None:
    with store.write() as s:
        s.execute(update(Build).where(Build.id == build_id).values(**values))


class RunCheckFailed(MLOpsError):
    """The built image's run check could not start or exited non-zero."""


def _existing(api: Any, chash: str) -> str | None:
    """The id of an image carrying this content hash, if the daemon has one."""
    found = api.images(filters={"label": f"{HASH_LABEL}={chash}"}, quiet=True)
    return found[0] if found else None


def _run_check(ctx: JobContext, api: Any, image_id: str, check: dict[str, Any]) -> dict[str, Any]:
    """Start the image with the check's command and devices; its exit code and output tail."""
    from docker.errors import APIError
    from docker.types import DeviceRequest
    from requests.exceptions import RequestException

    devices = check.get("devices") or "none"
    host: dict[str, Any] = {}
    if devices == "rocm":
        host = {"devices": ["/dev/kfd:/dev/kfd:rwm", "/dev/dri:/dev/dri:rwm"], "group_add": ["video"]}
    elif devices == "cuda":
        host = {"device_requests": [DeviceRequest(count=-1, capabilities=[["gpu"]])]}
    ctx.log(f"run check: {json.dumps(check['command'])} (devices: {devices})")
    result: dict[str, Any] = {"command": check["command"], "devices": devices}
    timeout = check.get("timeout") or RUN_CHECK_TIMEOUT
    cid: str | None = None
    try:
        try:
            cid = api.create_container(image_id, command=check["command"], host_config=api.create_host_config(**host))[
                "Id"
            ]
            api.start(cid)
        except APIError as exc:
            return {**result, "exit_code": None, "error": f"could not start: {exc.explanation or exc}"}
        try:
            code: int | None = int(api.wait(cid, timeout=timeout).get("StatusCode", -1))
        except RequestException:
            api.kill(cid)
            code = None
            result["error"] = f"did not finish within {timeout} s"
        output = api.logs(cid, stdout=True, stderr=True).decode("utf-8", "replace")
    finally:
        if cid:
            api.remove_container(cid, force=True)
    for line in output.splitlines()[-50:]:
        ctx.log(f"  | {line}")
    ctx.log(f"run check: {result.get('error') or f'exited {code}'}")
    return {**result, "exit_code": code, "output": output[-OUTPUT_TAIL:]}


def push(
    ctx: JobContext, build_id: int, reference: str, auth_file: str | None = None, docker_host: str = DEFAULT_DOCKER_HOST
) -> dict[str, Any]:
    """Tag a build's image as `reference` and push it; record the digest."""
    auth = json.loads(take(auth_file, "password") or "null")
    store = ctx.store
    with store.read() as s:
        image_id = s.scalar(select(Build.image_id).where(Build.id == build_id))
    if not image_id:
        raise NotFound(f"build {build_id} has no image to push")
    repo, tag = rules.split_image(reference)
    api = engine.connect(docker_host or DEFAULT_DOCKER_HOST, timeout=engine.JOB_TIMEOUT)
    try:
        api.tag(image_id, repo, tag, force=True)
        ctx.log(f"pushing {image_id} as {reference}")
        result = engine.follow_push(
            api.push(repo, tag=tag, stream=True, decode=True, auth_config=auth),
            ctx.log,
            lambda done, total: ctx.progress(done, total, "B", "pushing"),
        )
    finally:
        api.close()
    with store.write() as s:
        s.execute(
            update(BuildPush).where(BuildPush.job_id == ctx.job_id).values(digest=result["digest"], pushed_at=utcnow())
        )
    ctx.log(f"pushed {reference}@{result['digest']}")
    return {"build_id": build_id, "reference": reference, **result}
