"""The `storage.scan` job: list a model's files at its storage_path (s3:// or a folder),
hash what changed since the last scan (sha256 by streaming, in parallel), and record them
as the model's artifacts in one transaction, reporting what was added, changed and removed."""

from __future__ import annotations

from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

from ..diskspace import mb
from ..jobs.context import stop_on_term
from ..registry import Registry
from ..registry.scanning import previous_scan, record_scan
from . import files
from .files import Entry
from .place import model_location
from .progress import Transfer
from .s3 import S3Options

#: Files hashed at once: objects over the network, or files on disk.
S3_HASHERS = 8
LOCAL_HASHERS = 2


def scan(
    ctx: Any,
    model: str,
    storage_path: str,
    *,
    root: str,
    models_dir: str,
    roots: list[str],
    s3: dict[str, str] | None = None,
    actor: str = "",
) -> dict[str, Any]:
    """Scan model `model` at `storage_path`; returns counts, bytes, and the names added,
    changed and removed since the last scan (at most 100 of each)."""
    options = S3Options.from_params(s3)
    location = model_location(storage_path, Path(root), Path(models_dir), [Path(r) for r in roots])
    ctx.progress(0, None, "B", f"listing {storage_path}")
    client = location.client(options)
    entries = files.require_files(location.entries(client, options), storage_path, "storage_path")
    total = sum(e.size for e in entries)
    ctx.log(f"{storage_path}: {len(entries)} files, {mb(total)}")
    known = previous_scan(ctx.store, model)
    sums: dict[str, str] = {}
    to_hash: list[Entry] = []
    for e in entries:
        before = known.get(e.location)
        if before is not None and before.fingerprint == e.fingerprint and before.sha256:
            sums[e.location] = before.sha256
        else:
            to_hash.append(e)
    reused = len(entries) - len(to_hash)
    if reused:
        ctx.log(f"{reused} files unchanged since the last scan (same fingerprint): their sha256 is kept")
    state = Transfer(ctx, "hashing", sum(e.size for e in to_hash), len(to_hash))

    def one(e: Entry) -> None:
        digest = (
            files.sha256_object(client, e.location, options, state.add)
            if location.remote
            else files.sha256_file(e.location, state.add)
        )
        sums[e.location] = digest
        state.file_done()

    pool = ThreadPoolExecutor(S3_HASHERS if location.remote else LOCAL_HASHERS, thread_name_prefix="hash")
    try:
        with stop_on_term(state.cancelled):
            futures = [pool.submit(one, e) for e in to_hash]
            done, _ = wait(futures, return_when=FIRST_EXCEPTION)
            for future in done:
                future.result()  # the first failure, as raised
    except BaseException:
        state.cancelled.set()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    scanned = [files.scanned(e.rel, e.location, e.size, sums[e.location], e.fingerprint) for e in entries]
    change = record_scan(Registry(ctx.store), model, storage_path, scanned, actor)
    ctx.log(
        f"recorded: {len(change['added'])} added, {len(change['changed'])} changed, {len(change['removed'])} removed, "
        f"{change['unchanged']} unchanged"
    )
    return {
        "model": model,
        "storage_path": storage_path,
        "files": len(entries),
        "bytes": total,
        "hashed_files": len(to_hash),
        "hashed_bytes": state.total,
        "reused_files": reused,
        **{key: change[key][:100] for key in ("added", "changed", "removed")},
        "added_count": len(change["added"]),
        "changed_count": len(change["changed"]),
        "removed_count": len(change["removed"]),
        "unchanged": change["unchanged"],
    }
