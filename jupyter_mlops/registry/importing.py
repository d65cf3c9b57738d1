"""Bring a model kept elsewhere (an MLflow registry) into this one, idempotently: the model,
its versions as releases, and its aliases are made to match, every change audited as
"import"; running it again with nothing changed there changes nothing here."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import Conflict, InvalidInput
from ..store.schema import Model, Release
from . import rules
from .service import _tag_rows, model_view, release_view

if TYPE_CHECKING:
    from .service import Registry

ACTION = "import"


@dataclass(frozen=True)
class ImportedRelease:
    """One version there: its version string, notes, metadata, run, and the status a new
    release starts in (an existing release keeps the status it has here)."""

    version: str
    notes: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    run: str | None = None
    status: str = "candidate"


@dataclass(frozen=True)
class ImportedModel:
    """One model there. `source` names where from (a key of the model's metadata marks a
    model as imported from it); `aliases` map an alias to a version."""

    source: str
    name: str
    storage_path: str
    description: str | None = None
    tags: tuple[str, ...] = ()
    metadata: Mapping[str, Any] = field(default_factory=dict)
    releases: tuple[ImportedRelease, ...] = ()
    aliases: Mapping[str, str] = field(default_factory=dict)


def apply_import(registry: Registry, spec: ImportedModel, actor: str) -> dict[str, Any]:
    """Make the registry hold `spec` in one transaction; returns what changed:
    {model, model_change (created, updated, unchanged), releases_created, releases_updated,
    aliases_set, skipped: [why]}. A model of the same name not imported from `spec.source`
    is a Conflict (nothing is changed); a version or alias that breaks a rule is skipped."""
    model = rules.MODEL.for_create(
        {
            "name": spec.name,
            "storage_path": spec.storage_path,
            "description": spec.description,
            "tags": list(spec.tags),
            "metadata": dict(spec.metadata),
        }
    )
    skipped: list[str] = []
    releases: list[tuple[dict[str, Any], str]] = []
    for r in spec.releases:
        try:
            clean = rules.RELEASE.for_create(
                {
                    "model": spec.name,
                    "version": r.version,
                    "release_notes": r.notes,
                    "metadata": dict(r.metadata),
                    "mlflow_run": r.run,
                }
            )
        except InvalidInput as exc:
            skipped.append(f"version {r.version}: {exc.message}")
            continue
        releases.append((clean, r.status if r.status in rules.RELEASE_STATUSES else "candidate"))
    aliases: dict[str, str] = {}
    for alias, version in spec.aliases.items():
        try:
            aliases[rules.ALIAS.clean("alias", alias)] = version
        except InvalidInput as exc:
            skipped.append(f"alias {alias}: {exc.message}")

    def run(s: Session) -> dict[str, Any]:
        m, change = _model(registry, s, spec.source, model, actor)
        created = updated = 0
        by_version: dict[str, Release] = {
            row.version: row
            for row in s.scalars(select(Release).where(Release.model_id == m.id, Release.quantization == "none"))
        }
        for clean, status in releases:
            row = by_version.get(clean["version"])
            if row is None:
                view = registry._insert_release(s, m.id, clean, actor, ACTION, status)
                by_version[clean["version"]] = s.get_one(Release, view["id"])
                created += 1
            elif _update_release(registry, s, row, clean, actor):
                updated += 1
        moved = 0
        for alias, version in sorted(aliases.items()):
            target = by_version.get(version)
            if target is None:
                skipped.append(f"alias {alias}: version {version} was not imported")
            elif registry._point_alias(s, m, alias, target.id, actor, ACTION):
                moved += 1
        return {
            "model": m.name,
            "model_change": change,
            "releases_created": created,
            "releases_updated": updated,
            "aliases_set": moved,
            "skipped": skipped,
        }

    return registry._write(run, f"name: a model named {spec.name!r} already exists", field="name")


def _model(registry: Registry, s: Session, source: str, clean: dict[str, Any], actor: str) -> tuple[Model, str]:
    m = s.scalar(select(Model).where(Model.name == clean["name"]))
    if m is None:
        return registry._insert_model(s, clean, actor, ACTION), "created"
    if source not in (m.meta or {}):
        raise Conflict(
            f"name: a model named {m.name!r} exists here and was not imported from {source}; rename one of them",
            field="name",
        )
    wanted_tags = sorted(set(clean.get("tags", [])))
    same = (
        m.description == clean.get("description")
        and sorted(t.tag for t in m.tag_rows) == wanted_tags
        and m.meta == clean.get("metadata", {})
    )
    if same:
        return m, "unchanged"

    def mutate() -> None:
        m.description = clean.get("description")
        m.meta = clean.get("metadata", {})
        m.tag_rows = _tag_rows(wanted_tags)

    registry._change(s, m, model_view, mutate, actor, ACTION, "model", m.name, m.id)
    return m, "updated"


def _update_release(registry: Registry, s: Session, row: Release, clean: dict[str, Any], actor: str) -> bool:
    wanted = {
        "release_notes": clean.get("release_notes"),
        "meta": clean.get("metadata", {}),
        "mlflow_run": clean.get("mlflow_run"),
    }
    if all(getattr(row, key) == value for key, value in wanted.items()):
        return False

    def mutate() -> None:
        for key, value in wanted.items():
            setattr(row, key, value)

    registry._change(s, row, release_view, mutate, actor, ACTION, "release", row.id, row.model_id)
    return True
