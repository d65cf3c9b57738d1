"""What a scan of a model's storage found, recorded as the model's artifacts in one
transaction: files new since the last scan are added, files whose content changed are
updated, files gone are removed, and one audit event ("scan") says what changed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import Conflict
from ..store import Store
from ..store.schema import Artifact, Model
from . import rules
from .service import model_view

if TYPE_CHECKING:
    from .service import Registry

ACTION = "scan"
#: Names listed per kind of change in the audit event (the counts are always whole).
LISTED = 100


@dataclass(frozen=True)
class ScannedFile:
    """One file as a scan saw it: artifact name, where (URI or path), kind, size, sha256, fingerprint."""

    name: str
    path: str
    kind: str
    size: int
    sha256: str
    fingerprint: str


def previous_scan(store: Store, model: str) -> dict[str, Artifact]:
    """The model's artifacts recorded by an earlier scan, by path."""
    with store.read() as s:
        rows = s.scalars(
            select(Artifact)
            .join(Model, Model.id == Artifact.model_id)
            .where(Model.name == model, Artifact.release_id.is_(None), Artifact.fingerprint.is_not(None))
        ).all()
        s.expunge_all()
        return {a.path: a for a in rows}


def record_scan(
    registry: Registry, model: str, storage_path: str, found: list[ScannedFile], actor: str
) -> dict[str, Any]:
    """Make the model's scanned artifacts match `found` (its files at `storage_path`); returns
    {added, changed, removed: [names], unchanged: n}. Conflict, changing nothing, when the
    model's storage_path is no longer `storage_path` (it moved during the scan)."""

    def run(s: Session) -> dict[str, Any]:
        m = registry._model(s, model)
        if m.storage_path != storage_path:
            raise Conflict(
                f"storage_path: model {model} moved to {m.storage_path} during the scan of {storage_path}; scan again",
                field="storage_path",
            )
        return _apply(registry, s, m, storage_path, found, actor)

    return registry._write(run)


def _apply(
    registry: Registry, s: Session, m: Model, storage_path: str, found: list[ScannedFile], actor: str
) -> dict[str, Any]:
    """Make model `m`'s scanned artifacts match `found`, in the caller's transaction."""
    mine = {
        a.path: a for a in s.scalars(select(Artifact).where(Artifact.model_id == m.id, Artifact.release_id.is_(None)))
    }
    added: list[str] = []
    changed: list[str] = []
    unchanged = 0
    seen: set[str] = set()
    for f in found:
        seen.add(f.path)
        a = mine.get(f.path)
        if a is None:
            s.add(
                Artifact(
                    model_id=m.id,
                    name=f.name,
                    path=f.path,
                    kind=f.kind,
                    size=f.size,
                    sha256=f.sha256,
                    fingerprint=f.fingerprint,
                )
            )
            added.append(f.name)
        elif (a.size, a.sha256) != (f.size, f.sha256):
            a.size, a.sha256, a.fingerprint = f.size, f.sha256, f.fingerprint
            changed.append(f.name)
        else:
            a.fingerprint = f.fingerprint
            unchanged += 1
    removed = [a for path, a in mine.items() if path not in seen and a.fingerprint is not None]
    for a in removed:
        s.delete(a)
    before = {"files": len([a for a in mine.values() if a.fingerprint is not None])}
    after = {
        "storage_path": storage_path,
        "files": len(found),
        "bytes": sum(f.size for f in found),
        "added": added[:LISTED],
        "changed": changed[:LISTED],
        "removed": [a.name for a in removed][:LISTED],
        "counts": {"added": len(added), "changed": len(changed), "removed": len(removed)},
    }
    if added or changed or removed:
        registry._audit(s, actor, ACTION, "model", m.name, m.id, before, after)
    return {"added": added, "changed": changed, "removed": [a.name for a in removed], "unchanged": unchanged}


def publish_model(
    registry: Registry, model: str, storage_path: str, found: list[ScannedFile], actor: str
) -> dict[str, Any]:
    """Create `model` at `storage_path` (or point it there) and record its files, in one
    transaction; returns {model, model_change (created, updated, unchanged), added, changed,
    removed, unchanged}."""

    def run(s: Session) -> dict[str, Any]:
        m = s.scalar(select(Model).where(Model.name == model))
        if m is None:
            m = registry._insert_model(
                s, rules.MODEL.for_create({"name": model, "storage_path": storage_path}), actor, "create"
            )
            change = "created"
        elif m.storage_path != storage_path:
            target = m

            def mutate() -> None:
                target.storage_path = storage_path

            registry._change(s, m, model_view, mutate, actor, "update", "model", m.name, m.id)
            change = "updated"
        else:
            change = "unchanged"
        return {"model": m.name, "model_change": change, **_apply(registry, s, m, storage_path, found, actor)}

    return registry._write(run, f"name: a model named {model!r} already exists", field="name")
