"""Fetch an s3:// model into the content-addressed cache under the model cache
(`<models_dir>/.s3-cache`): `blobs/<sha256>` hold the content, `index/` maps an object's
fingerprint (ETag and size) to its sha256, and `snapshots/<id>/` is the model's folder of
relative links to the blobs, made whole and then renamed into place. A later fetch of the same objects
transfers nothing; the same content under another key is stored once.

Parallel ranged downloads (boto3's transfer manager), byte progress, cancel, and a
disk-space refusal before anything is transferred, as Hub downloads have. A fetch killed
with -9 leaves only its own temporary folder, which the next fetch removes."""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from ..config import DEFAULT_DISK_MARGIN
from ..diskspace import mb, require_space
from ..errors import InvalidInput
from ..jobs.context import stop_on_term
from . import files
from . import s3 as s3api
from .files import Entry
from .progress import Transfer
from .s3 import S3Options

CACHE_DIRNAME = ".s3-cache"


def cache_root(models_dir: str | Path) -> Path:
    """The S3 cache inside the model cache."""
    return Path(models_dir) / CACHE_DIRNAME


def safe_rel(rel: str, uri: str) -> str:
    """An object's path below its model folder, as a relative path that stays inside it."""
    parts = [p for p in rel.split("/") if p]
    if not parts or any(p in (".", "..") for p in parts):
        raise InvalidInput(f"storage_path: object {uri} has a key no folder can hold ({rel!r})", field="storage_path")
    return "/".join(parts)


def _hold(folder: Path) -> int:
    """Take `folder`'s lock (`folder.lock` beside it, held for this process's life), then make
    the folder; the fd to close. The lock comes first, so no cleaner sees the folder unheld."""
    fd = os.open(folder.with_name(folder.name + ".lock"), os.O_CREAT | os.O_RDWR, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    folder.mkdir(parents=True)
    return fd


def _release(folder: Path, fd: int) -> None:
    """Remove a temporary folder and its lock, then let the lock go."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.with_name(folder.name + ".lock").unlink(missing_ok=True)
    os.close(fd)


def clean_stale(tmp_root: Path) -> int:
    """Remove temporary folders whose lock no live transfer holds (left by a kill -9); returns bytes freed."""
    freed = 0
    for lock in tmp_root.glob("*.lock"):
        try:
            fd = os.open(lock, os.O_RDWR)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue  # a running fetch holds it
        folder = lock.with_name(lock.name.removesuffix(".lock"))
        freed += sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
        _release(folder, fd)
    return freed


def _index_key(e: Entry) -> str:
    return hashlib.sha256(e.fingerprint.encode()).hexdigest()[:40]


def _link(blob: Path, target: Path, final: Path) -> None:
    """A relative link at `target` to `blob`, right once `target` is moved to `final` (as a
    Hub snapshot's links are: a build context then knows the content by the blob's name)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(os.path.relpath(blob, final.parent), target)


def fetch_to_cache(
    ctx: Any, uri: str, models_dir: str | Path, options: S3Options, disk_margin: int = DEFAULT_DISK_MARGIN
) -> dict[str, Any]:
    """Fetch the objects under `uri` into the cache; returns {local_path, files, bytes,
    fetched_files, fetched_bytes, cached_files, seconds}."""
    from s3transfer.manager import TransferManager

    started = time.monotonic()
    cache = cache_root(models_dir)
    for sub in ("blobs", "index", "snapshots", "tmp"):
        (cache / sub).mkdir(parents=True, exist_ok=True)
    stale = clean_stale(cache / "tmp")
    if stale and ctx is not None:
        ctx.log(f"removed {mb(stale)} left by an earlier interrupted fetch")
    client = s3api.client(options)
    entries = files.require_files(files.s3_entries(client, uri, options), uri, "storage_path")
    rels = [safe_rel(e.rel, e.location) for e in entries]
    listing = "\n".join(f"{rel}\t{e.fingerprint}" for rel, e in zip(rels, entries, strict=True))
    snapshot = cache / "snapshots" / hashlib.sha256(f"{uri}\n{listing}".encode()).hexdigest()[:32]
    total = sum(e.size for e in entries)
    summary = {"uri": uri, "local_path": str(snapshot), "files": len(entries), "bytes": total}
    if snapshot.is_dir():
        if ctx is not None:
            ctx.progress(total, total, "B", f"{uri}: all {len(entries)} files already in the cache")
            ctx.log(f"{uri}: {len(entries)} files, {mb(total)}, all in the cache ({snapshot})")
        return {**summary, "fetched_files": 0, "fetched_bytes": 0, "cached_files": len(entries), "seconds": 0.0}
    digests: dict[int, str] = {}
    wanted: list[int] = []
    for i, e in enumerate(entries):
        index = cache / "index" / _index_key(e)
        digest = index.read_text().strip() if index.is_file() else ""
        blob = cache / "blobs" / digest
        if digest and blob.is_file() and blob.stat().st_size == e.size:
            digests[i] = digest
        else:
            wanted.append(i)
    needed = sum(entries[i].size for i in wanted)
    if ctx is not None:
        ctx.log(
            f"{uri}: {len(entries)} files, {mb(total)}; {len(entries) - len(wanted)} in the cache, "
            f"{mb(needed)} to fetch"
        )
    require_space(cache, needed, disk_margin, uri)
    state = Transfer(ctx, "fetching", needed, len(entries), len(entries) - len(wanted))
    tmp = cache / "tmp" / uuid.uuid4().hex
    hold = _hold(tmp)
    hasher = ThreadPoolExecutor(1, thread_name_prefix="hash")
    try:

        def store(i: int, part: Path) -> None:
            digest = files.sha256_file(part)
            blob = cache / "blobs" / digest
            if blob.exists():
                part.unlink()
            else:
                os.replace(part, blob)
            index = cache / "index" / _index_key(entries[i])
            scratch = tmp / f"index-{i}"
            scratch.write_text(digest)
            os.replace(scratch, index)
            digests[i] = digest
            state.file_done()

        hashed: list[Future[None]] = []
        # leaving the manager's block on an error cancels every transfer and waits for its threads
        with stop_on_term(state.cancelled), TransferManager(client, s3api.transfer_config()) as manager:
            transfers = []
            for i in wanted:
                bucket, key = s3api.parse_uri(entries[i].location)
                part = tmp / f"{i}.part"
                future = manager.download(bucket, key, str(part), subscribers=[state.subscriber()])
                transfers.append((i, part, future))
            try:
                for i, part, future in transfers:
                    try:
                        future.result()
                    except Exception as exc:
                        raise s3api.explain(exc, entries[i].location, options) from None
                    hashed.append(hasher.submit(store, i, part))
            except BaseException:
                state.cancelled.set()
                raise
        for h in hashed:
            h.result()
        building = tmp / "snapshot"
        for i, rel in enumerate(rels):
            _link(cache / "blobs" / digests[i], building / rel, snapshot / rel)
        try:
            os.rename(building, snapshot)
        except OSError:
            if not snapshot.is_dir():  # not a twin fetch that finished first
                raise
    finally:
        hasher.shutdown(wait=True, cancel_futures=True)
        _release(tmp, hold)
    seconds = round(time.monotonic() - started, 3)
    if ctx is not None:
        ctx.progress(needed, needed, "B", f"fetched {len(wanted)} files, {mb(needed)}")
        ctx.log(f"done: {len(entries)} files in {snapshot} ({mb(needed)} fetched in {seconds:.1f} s)")
    return {
        **summary,
        "fetched_files": len(wanted),
        "fetched_bytes": needed,
        "cached_files": len(entries) - len(wanted),
        "seconds": seconds,
    }


def fetch(
    ctx: Any,
    uri: str,
    *,
    models_dir: str,
    s3: dict[str, str] | None = None,
    disk_margin: int = DEFAULT_DISK_MARGIN,
    actor: str = "",
) -> dict[str, Any]:
    """The `storage.fetch` job: `fetch_to_cache` of `uri`."""
    return fetch_to_cache(ctx, uri, models_dir, S3Options.from_params(s3), disk_margin)
