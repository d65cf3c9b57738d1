"""The `storage.publish` job: upload a model folder on this machine (a cached Hub snapshot,
or any folder inside the allowed roots) to an s3:// prefix, multipart above the threshold,
each object carrying its sha256; verify every object's size and sha256; then register the
model at the prefix (or point an existing one there) and record its files as artifacts.

Nothing is registered until every object is verified. A cancelled or failed upload aborts
its multipart uploads, so no partial object becomes visible; multipart uploads left under
the prefix by a killed earlier run are aborted when the next one starts, and objects it
finished (same size and sha256) are not sent again."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..diskspace import mb
from ..errors import InvalidInput, MLOpsError
from ..jobs.context import stop_on_term
from ..registry import Registry
from ..registry.scanning import ScannedFile, publish_model
from . import files
from . import s3 as s3api
from .files import Entry
from .place import model_location
from .progress import Transfer
from .s3 import S3Options

#: The user metadata key holding an object's sha256 (x-amz-meta-sha256).
SHA256_KEY = "sha256"


def abort_stale_uploads(client: Any, bucket: str, folder: str, before: datetime, options: S3Options) -> int:
    """Abort multipart uploads under `folder` started before `before` (left by a killed run); returns how many."""
    from botocore.exceptions import ClientError

    aborted = 0
    try:
        try:
            answer = client.list_multipart_uploads(Bucket=bucket, Prefix=folder)
        except ClientError as exc:  # rclone answers NoSuchUpload for a bucket with none
            if exc.response.get("Error", {}).get("Code") != "NoSuchUpload":
                raise
            return 0
        for upload in answer.get("Uploads") or []:
            initiated = upload.get("Initiated")
            if initiated is not None and initiated.tzinfo is not None and initiated >= before:
                continue  # someone else's upload, begun after we started
            client.abort_multipart_upload(Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"])
            aborted += 1
    except Exception as exc:
        raise s3api.explain(exc, f"s3://{bucket}/{folder}", options, writing=True) from None
    return aborted


def remote_sha256(head: dict[str, Any]) -> str | None:
    """The sha256 an object's metadata carries (servers differ in the key's case)."""
    meta = {str(k).lower(): v for k, v in (head.get("Metadata") or {}).items()}
    value = meta.get(SHA256_KEY)
    return str(value) if value else None


def publish(
    ctx: Any,
    source: str,
    destination: str,
    *,
    model: str | None = None,
    root: str,
    models_dir: str,
    roots: list[str],
    s3: dict[str, str] | None = None,
    actor: str = "",
) -> dict[str, Any]:
    """Upload `source` to `destination`, verify it, then register `model` there; returns
    counts, bytes, the model and what its artifacts gained."""
    from s3transfer.manager import TransferManager

    started_at = datetime.now(timezone.utc)
    started = time.monotonic()
    options = S3Options.from_params(s3)
    location = model_location(source, Path(root), Path(models_dir), [Path(r) for r in roots], "source")
    if location.remote:
        raise InvalidInput(f"source: {source} is on S3; publish takes a folder on this machine", field="source")
    entries = files.require_files(location.entries(None, options), source, "source")
    bucket, prefix = s3api.parse_uri(destination, "destination")
    folder = s3api.folder_of(prefix)
    client = s3api.client(options)
    existing = {o.key: o for o in s3api.list_objects(client, bucket, prefix, options)}
    stale = abort_stale_uploads(client, bucket, folder, started_at, options)
    if stale:
        ctx.log(f"aborted {stale} unfinished multipart upload(s) left under {destination} by an interrupted run")
    total = sum(e.size for e in entries)
    ctx.log(f"{source}: {len(entries)} files, {mb(total)} -> {destination}")
    hasher = ThreadPoolExecutor(2, thread_name_prefix="hash")
    digests = [hasher.submit(files.sha256_file, e.location) for e in entries]
    skip: set[int] = set()
    for i, e in enumerate(entries):
        there = existing.get(folder + e.rel)
        if there is not None and there.size == e.size:
            head = _head(client, bucket, folder + e.rel, options)
            if remote_sha256(head) == digests[i].result():
                skip.add(i)
    if skip:
        ctx.log(f"{len(skip)} files are already at {destination} with the same size and sha256: not sent again")
    state = Transfer(
        ctx, "uploading", sum(e.size for i, e in enumerate(entries) if i not in skip), len(entries), len(skip)
    )
    try:
        # leaving the manager's block on an error cancels every transfer, aborting its multipart upload
        with stop_on_term(state.cancelled), TransferManager(client, s3api.transfer_config()) as manager:
            transfers = []
            try:
                for i, e in enumerate(entries):
                    if i in skip:
                        continue
                    extra = {"Metadata": {SHA256_KEY: digests[i].result()}}
                    future = manager.upload(
                        e.location, bucket, folder + e.rel, extra_args=extra, subscribers=[state.subscriber()]
                    )
                    transfers.append((e, future))
                for e, future in transfers:
                    try:
                        future.result()
                    except Exception as exc:
                        raise s3api.explain(exc, f"s3://{bucket}/{folder}{e.rel}", options, writing=True) from None
                    state.file_done()
            except BaseException:
                state.cancelled.set()
                raise
    finally:
        hasher.shutdown(wait=True, cancel_futures=True)
    ctx.progress(state.total, state.total, "B", "verifying")
    scanned = _verify(client, bucket, folder, entries, [d.result() for d in digests], options)
    ctx.log(f"verified {len(entries)} objects at {destination}: sizes and sha256 match")
    result: dict[str, Any] = {
        "source": source,
        "destination": destination,
        "files": len(entries),
        "bytes": total,
        "uploaded_files": len(entries) - len(skip),
        "uploaded_bytes": state.total,
        "skipped_files": len(skip),
        "seconds": round(time.monotonic() - started, 3),
    }
    if model:
        result.update(_register(ctx, model, destination, scanned, actor))
    return result


def _head(client: Any, bucket: str, key: str, options: S3Options) -> dict[str, Any]:
    try:
        answer: dict[str, Any] = client.head_object(Bucket=bucket, Key=key)
        return answer
    except Exception as exc:
        raise s3api.explain(exc, f"s3://{bucket}/{key}", options) from None


def _verify(
    client: Any, bucket: str, folder: str, entries: list[Entry], digests: list[str], options: S3Options
) -> list[ScannedFile]:
    """Check each object's size and sha256 against what was sent (MLOpsError naming the first
    that differs); returns the files as a scan records them."""
    found: list[ScannedFile] = []
    for e, digest in zip(entries, digests, strict=True):
        key = folder + e.rel
        head = _head(client, bucket, key, options)
        size, remote = int(head.get("ContentLength", -1)), remote_sha256(head)
        if size != e.size or remote != digest:
            raise MLOpsError(
                f"s3://{bucket}/{key} did not arrive whole: {size} bytes with sha256 {remote} at the server, "
                f"{e.size} bytes with sha256 {digest} here; publish again"
            )
        etag = files.etag_fingerprint(str(head.get("ETag", "")), e.size)
        found.append(files.scanned(e.rel, f"s3://{bucket}/{key}", e.size, digest, etag))
    return found


def _register(ctx: Any, model: str, destination: str, scanned: list[ScannedFile], actor: str) -> dict[str, Any]:
    """Create `model` at `destination`, or point it there, and record its files (one transaction)."""
    answer = publish_model(Registry(ctx.store), model, destination, scanned, actor)
    ctx.log(
        f"model {model} {answer['model_change']} at {destination}; artifacts: {len(answer['added'])} added, "
        f"{len(answer['changed'])} changed, {len(answer['removed'])} removed"
    )
    return {"model": answer["model"], "model_change": answer["model_change"], "artifacts_added": len(answer["added"])}
