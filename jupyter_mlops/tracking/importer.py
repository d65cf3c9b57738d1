"""The `mlflow.import` job: read registered models (all, or those named) from a tracking
server and apply each to the registry (`registry.importing`), one transaction per model;
a model that cannot be imported is reported and the others go on."""

from __future__ import annotations

import json
from typing import Any

from ..errors import MLOpsError, NotFound
from ..registry import Registry
from ..registry.importing import apply_import
from ..secretfile import take
from .client import MlflowClient
from .mapping import imported_model


def import_models(
    ctx: Any,
    tracking_uri: str,
    names: list[str] | None = None,
    secret_file: str | None = None,
    actor: str = "",
) -> dict[str, Any]:
    """Import from the tracking server (`tracking_uri` as shown; the real URL and the
    credentials are in `secret_file`); returns counts and what was skipped, and why."""
    secret = json.loads(take(secret_file, "mlflow_tracking_uri") or "{}")  # first: the file must not outlive the start
    client = MlflowClient(secret.get("tracking_uri") or tracking_uri, secret.get("authorization"))
    shown = tracking_uri
    registry = Registry(ctx.store)
    ctx.progress(0, None, "models", f"reading registered models from {shown}")
    failed: list[dict[str, str]] = []
    notes: list[str] = []
    models = [] if names else client.registered_models()
    for name in names or []:
        try:
            models.append(client.registered_model(name))
        except NotFound as exc:
            failed.append({"name": name, "error": exc.message})
            ctx.log(f"{name}: not imported: {exc.message}")
    totals = {"created": 0, "updated": 0, "unchanged": 0, "releases_created": 0, "releases_updated": 0}
    totals["aliases_set"] = 0
    ctx.log(f"{len(models)} registered model(s) at {shown}")
    for done, model in enumerate(models):
        name = str(model.get("name"))
        ctx.progress(done, len(models), "models", f"importing {name}")
        try:
            spec = imported_model(model, client.model_versions(name), shown)
            answer = apply_import(registry, spec, actor)
        except MLOpsError as exc:
            failed.append({"name": name, "error": exc.message})
            ctx.log(f"{name}: not imported: {exc.message}")
            continue
        totals[answer["model_change"]] += 1
        for key in ("releases_created", "releases_updated", "aliases_set"):
            totals[key] += answer[key]
        notes += [f"{name}: {why}" for why in answer["skipped"]]
        ctx.log(
            f"{name} -> {answer['model']}: model {answer['model_change']}, {answer['releases_created']} release(s) "
            f"created, {answer['releases_updated']} updated, {answer['aliases_set']} alias(es) set"
            + (f"; skipped {len(answer['skipped'])}" if answer["skipped"] else "")
        )
    ctx.progress(len(models), len(models), "models", "done")
    return {"tracking_uri": shown, "models": len(models), **totals, "failed": failed, "skipped": notes}
