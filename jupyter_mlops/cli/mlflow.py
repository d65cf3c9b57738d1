"""`mlflow import [NAME...]` (registered models from the tracking server, as a job) and
`mlflow run RELEASE_ID` (the run a release came from: metrics, params, a link)."""

from __future__ import annotations

import argparse
from typing import Any

from .render import Result, queued_result
from .tree import Context, Tree, follow_options, id_type

IMPORT_RECORD = ("models", "created", "updated", "unchanged", "releases_created", "releases_updated", "aliases_set")


def _import(ctx: Context, a: argparse.Namespace) -> Result:
    job = ctx.services.tracking.start_import({"names": a.names} if a.names else {}, ctx.actor)
    if a.detach:
        return queued_result("import", job)
    followed = ctx.follow(job, timeout=a.timeout, on_job=ctx.on_progress, on_line=ctx.on_log)
    done = followed.require_success(f"import job {job['id']}")
    out: dict[str, Any] = done.get("result") or {}
    record: dict[str, Any] = {k: out.get(k) for k in IMPORT_RECORD}
    record["failed"] = [f"{f['name']}: {f['error']}" for f in out.get("failed") or []]
    record["skipped"] = out.get("skipped") or []
    return Result(
        f"imported from MLflow at {out.get('tracking_uri')} (job {job['id']}, run {followed.where})",
        done,
        record=record,
    )


def _run(ctx: Context, a: argparse.Namespace) -> Result:
    run = ctx.services.tracking.release_run(a.release_id)
    record: dict[str, Any] = {
        "run": f"{run['run_name'] or ''} ({run['run_id']})".strip(),
        "status": run["status"],
        "experiment": run["experiment_id"],
        "url": run["url"],
        **{f"metric {k}": v for k, v in sorted(run["metrics"].items())},
        **{f"param {k}": v for k, v in sorted(run["params"].items())},
    }
    return Result(f"release {a.release_id} came from MLflow run {run['run_id']}", run, record=record)


def register(tree: Tree) -> None:
    """Add the MLflow commands to `tree`."""
    _, mlflow = tree.group("mlflow", "the MLflow tracking server (mlflow_tracking_uri): import models, see runs")
    p = tree.command(
        mlflow,
        "import",
        "import registered models, their versions (as releases), aliases and tags; again: only what changed",
        _import,
        writes=True,
    )
    p.add_argument("names", metavar="NAME", nargs="*", help="registered model names (default: all)")
    follow_options(p, "import")
    p = tree.command(mlflow, "run", "the run a release came from: status, metrics, params, a link", _run)
    p.add_argument("release_id", metavar="RELEASE_ID", type=id_type)
