"""What an MLflow registered model becomes here: a model named like it (made to fit the
name rule when it does not), `models:/<name>` as its storage path, each version a release
(its notes, run and source kept), its aliases and its tags (as `key=value`)."""

from __future__ import annotations

import re
from typing import Any

from ..errors import InvalidInput
from ..fields import Field
from ..registry import rules
from ..registry.importing import ImportedModel, ImportedRelease

SOURCE = "mlflow"
#: MLflow's (legacy) stages, and the status a new release starts in.
STAGE_STATUS = {"production": "released", "archived": "deprecated"}


def local_name(name: str) -> str:
    """`name` made to fit the registry's name rule: other characters become '-'."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).lstrip("._-")[:100].rstrip(".-") or "model"


def _fits(rule: Field, value: str) -> bool:
    try:
        rule.clean("tags", value)
    except InvalidInput:
        return False
    return True


def _tags(pairs: list[dict[str, Any]] | None) -> dict[str, str]:
    return {str(p.get("key")): str(p.get("value", "")) for p in pairs or [] if p.get("key")}


def imported_model(model: dict[str, Any], versions: list[dict[str, Any]], tracking_uri: str) -> ImportedModel:
    """The registry's view of MLflow registered `model` with its `versions`."""
    name = str(model["name"])
    tags = _tags(model.get("tags"))
    shown = [f"{k}={v}" for k, v in sorted(tags.items()) if not k.startswith("mlflow.")]
    valid_tags = tuple(t for t in shown if _fits(rules.TAG, t))
    releases = []
    for v in versions:
        run_id = v.get("run_id") or None
        releases.append(
            ImportedRelease(
                version=str(v["version"]),
                notes=v.get("description") or None,
                metadata={
                    SOURCE: {
                        "source": v.get("source"),
                        "stage": v.get("current_stage"),
                        "status": v.get("status"),
                        "tags": _tags(v.get("tags")),
                        "created": v.get("creation_timestamp"),
                        "user": v.get("user_id") or None,
                    }
                },
                run=f"runs:/{run_id}" if run_id else None,
                status=STAGE_STATUS.get(str(v.get("current_stage") or "").lower(), "candidate"),
            )
        )
    return ImportedModel(
        source=SOURCE,
        name=local_name(name),
        storage_path=f"models:/{name}",
        description=model.get("description") or None,
        tags=valid_tags,
        metadata={SOURCE: {"name": name, "tracking_uri": tracking_uri, "tags": tags}},
        releases=tuple(releases),
        aliases={str(a["alias"]): str(a["version"]) for a in model.get("aliases") or [] if a.get("alias")},
    )
