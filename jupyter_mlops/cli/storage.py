"""`storage scan MODEL`, `storage fetch URI`, `storage publish [SOURCE] --to URI [--model NAME]`
(each a job, followed unless --detach) and `storage ls URI` (objects with their sizes)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from .render import Result, progress_reporter, queued_result, transfer_text
from .tree import Context, Tree, follow_options

SCAN_RECORD = ("model", "storage_path", "files", "bytes", "hashed_files", "reused_files", "unchanged")
FETCH_RECORD = ("uri", "local_path", "files", "bytes", "fetched_files", "fetched_bytes", "cached_files", "seconds")
#: The param a job's progress line names it by.
SUBJECT = {"scan": "storage_path", "fetch": "uri", "publish": "destination"}
PUBLISH_RECORD = ("source", "destination", "files", "bytes", "uploaded_files", "skipped_files", "model", "model_change")


def _size(n: Any) -> str:
    return f"{n / 1e6:.1f} MB" if isinstance(n, int) else "-"


def _run_job(
    ctx: Context,
    a: argparse.Namespace,
    what: str,
    job: dict[str, Any],
    record: Callable[[dict[str, Any]], dict[str, Any]],
) -> Result:
    if a.detach:
        return queued_result(what, job)
    say = ctx.on_log or (lambda _line: None)
    subject = str((job.get("params") or {}).get(SUBJECT[what], ""))
    report = progress_reporter(ctx.on_progress, say, lambda current: transfer_text(current, what, subject))
    followed = ctx.follow(job, timeout=a.timeout, on_job=report, on_line=say)
    report(followed.job, final=True)
    done = followed.require_success(f"{what} job {job['id']}")
    out: dict[str, Any] = done.get("result") or {}
    return Result(f"{what} done (job {job['id']}, run {followed.where})", done, record=record(out))


def _scan(ctx: Context, a: argparse.Namespace) -> Result:
    def record(out: dict[str, Any]) -> dict[str, Any]:
        found = {k: out.get(k) for k in SCAN_RECORD}
        for change in ("added", "changed", "removed"):
            count = out.get(f"{change}_count", 0)
            names = out.get(change) or []
            found[change] = f"{count}: {', '.join(names[:10])}{' …' if count > 10 else ''}" if count else 0
        return found

    return _run_job(ctx, a, "scan", ctx.services.storage_files.start_scan({"model": a.model}, ctx.actor), record)


def _fetch(ctx: Context, a: argparse.Namespace) -> Result:
    job = ctx.services.storage_files.start_fetch({"uri": a.uri}, ctx.actor)
    return _run_job(ctx, a, "fetch", job, lambda out: {k: out.get(k) for k in FETCH_RECORD})


def _publish(ctx: Context, a: argparse.Namespace) -> Result:
    data: dict[str, Any] = {"destination": a.to}
    if a.source:
        data["source"] = a.source
    if a.model:
        data["model"] = a.model
    job = ctx.services.storage_files.start_publish(data, ctx.actor)
    return _run_job(ctx, a, "publish", job, lambda out: {k: out.get(k) for k in PUBLISH_RECORD})


def _ls(ctx: Context, a: argparse.Namespace) -> Result:
    listing = ctx.services.storage_files.browse(a.uri)
    more = " (the first 1,000 listed)" if listing["truncated"] else ""
    rows = [{"key": o["key"], "size": _size(o["size"]), "modified": o["modified"]} for o in listing["items"]]
    return Result(
        f"{a.uri}: {listing['files']} objects, {_size(listing['bytes'])}{more}",
        listing,
        rows=rows,
        columns=("key", "size", "modified"),
    )


def register(tree: Tree) -> None:
    """Add the storage commands to `tree`."""
    _, storage = tree.group("storage", "model files on S3 (s3_endpoint_url) or folders: scan, fetch, publish, ls")
    p = tree.command(
        storage, "scan", "record a model's files at its storage_path as artifacts (size, sha256)", _scan, writes=True
    )
    p.add_argument("model", metavar="MODEL")
    follow_options(p, "scan")
    p = tree.command(storage, "fetch", "fetch an s3:// prefix into the local content-addressed cache", _fetch)
    p.add_argument("uri", metavar="URI", help="s3://bucket/prefix")
    follow_options(p, "fetch")
    p = tree.command(
        storage,
        "publish",
        "upload a folder (or a model's files) to s3://, verify it, and register the model there",
        _publish,
        writes=True,
    )
    p.add_argument("source", metavar="SOURCE", nargs="?", help="a folder, or hf://org/name@rev (default: the model's)")
    p.add_argument("--to", required=True, metavar="URI", help="s3://bucket/prefix to publish to")
    p.add_argument("--model", metavar="NAME", help="the registry model to create or point there")
    follow_options(p, "publish")
    p = tree.command(storage, "ls", "objects under an s3:// prefix with their sizes", _ls)
    p.add_argument("uri", metavar="URI", help="s3://bucket/prefix")
