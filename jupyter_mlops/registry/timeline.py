"""History read back: an alias's timeline (the targets it has had, who moved it, when),
where a rollback goes, and the registry as it was at a time, rebuilt from the audit rows
and the alias timeline. Pure reads; the writes are in `service.Registry`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import InvalidInput, NotFound
from ..paging import check_limit, decode_cursor, encode_cursor
from ..store.schema import AliasEvent, AuditEvent, Release

#: The keys of a release's, a deployment's and a model's JSON view, each with the value an
#: older audit row that lacks it stands for.
RELEASE_KEYS: dict[str, Any] = {
    **dict.fromkeys(("id", "model", "model_id", "version", "quantization", "release_notes", "status")),
    "metadata": {},
    "auto_build": False,
    **dict.fromkeys(("mlflow_run", "created_at", "updated_at")),
}
DEPLOYMENT_KEYS: dict[str, Any] = dict.fromkeys(
    (
        "id",
        "release_id",
        "model",
        "version",
        "quantization",
        "environment",
        "endpoint",
        "status",
        "notes",
        "created_at",
        "updated_at",
    )
)
MODEL_KEYS: dict[str, Any] = {
    **dict.fromkeys(
        ("id", "name", "storage_path", "repository", "company", "base_model", "parameter_count", "description")
    ),
    "tags": [],
    "metadata": {},
    **dict.fromkeys(("created_at", "updated_at")),
}


def as_then(view: dict[str, Any], keys: dict[str, Any]) -> dict[str, Any]:
    """An audited view with the keys of the view today (a missing one gets its default)."""
    return {key: view.get(key, default) for key, default in keys.items()}


def iso(value: datetime) -> str:
    return value.isoformat()


def event_view(e: AliasEvent, release: Release | None) -> dict[str, Any]:
    """One timeline entry as JSON, with the version and quantization of its target
    (null when the alias was deleted or its release is gone)."""
    return {
        "id": e.id,
        "model": e.model,
        "alias": e.alias,
        "action": e.action,
        "release_id": e.release_id,
        "previous_release_id": e.previous_release_id,
        "version": release.version if release else None,
        "quantization": release.quantization if release else None,
        "actor": e.actor,
        "at": iso(e.at),
    }


def event_views(s: Session, events: Sequence[AliasEvent]) -> list[dict[str, Any]]:
    """Timeline entries as JSON, their releases read in one query."""
    ids = {e.release_id for e in events if e.release_id is not None}
    releases = {r.id: r for r in s.scalars(select(Release).where(Release.id.in_(ids)))} if ids else {}
    return [event_view(e, releases.get(e.release_id) if e.release_id else None) for e in events]


def targets(events: Iterable[AliasEvent], current: int | None) -> list[int]:
    """The targets an alias went through, oldest first, as a rollback undoes them: a set,
    move or import adds its target (unless it is the last one), a rollback takes the last
    one off; `current` (the alias's target now) ends the list."""
    stack: list[int] = []
    for e in events:
        if e.action == "rollback" and stack:
            stack.pop()
        if e.release_id is not None and (not stack or stack[-1] != e.release_id):
            stack.append(e.release_id)
    if current is not None and (not stack or stack[-1] != current):
        stack.append(current)
    return stack


def rollback_targets(s: Session, model_id: int, current: dict[str, int]) -> dict[str, int | None]:
    """For each alias in `current` (alias -> its target now): the release a rollback would
    move it to, or None when it has had no other."""
    events: dict[str, list[AliasEvent]] = {name: [] for name in current}
    stmt = select(AliasEvent).where(AliasEvent.model_id == model_id, AliasEvent.alias.in_(list(current)))
    for e in s.scalars(stmt.order_by(AliasEvent.id)):
        events[e.alias].append(e)
    answer: dict[str, int | None] = {}
    for name, target in current.items():
        stack = targets(events[name], target)
        answer[name] = stack[-2] if len(stack) > 1 else None
    return answer


# -- the registry as it was ------------------------------------------------------------------
def model_at(s: Session, name: str, when: datetime) -> dict[str, Any]:
    """Model `name` as it was at `when` (its audited view); NotFound when it did not exist then
    (not created yet, or deleted by then). A model deleted since is found by its name."""
    row = s.execute(
        select(AuditEvent.after)
        .where(AuditEvent.entity_type == "model", AuditEvent.entity_id == name, AuditEvent.at <= when)
        .order_by(AuditEvent.id.desc())
        .limit(1)
    ).first()
    if row is None or row.after is None:
        raise NotFound(f"model {name!r} did not exist at {iso(when)}")
    return as_then(row.after, MODEL_KEYS)


def views_at(s: Session, model_id: int, entity_type: str, when: datetime, keys: dict[str, Any]) -> list[dict[str, Any]]:
    """The model's releases or deployments (`entity_type`) that existed at `when`, each as it
    was then (its last audited view by then), newest first."""
    views: dict[str, dict[str, Any]] = {}
    stmt = (
        select(AuditEvent.entity_id, AuditEvent.after)
        .where(AuditEvent.model_id == model_id, AuditEvent.entity_type == entity_type, AuditEvent.at <= when)
        .order_by(AuditEvent.id)
    )
    for entity_id, after in s.execute(stmt):
        if after is None:
            views.pop(entity_id, None)
        else:
            views[entity_id] = as_then(after, keys)
    return sorted(views.values(), key=lambda v: -int(v["id"]))


def aliases_at(s: Session, model_id: int, when: datetime) -> dict[str, int]:
    """alias -> release of the model's aliases at `when`."""
    current: dict[str, int | None] = {}
    stmt = select(AliasEvent.alias, AliasEvent.release_id).where(AliasEvent.model_id == model_id, AliasEvent.at <= when)
    for alias, release_id in s.execute(stmt.order_by(AliasEvent.id)):
        current[alias] = release_id
    return {alias: rid for alias, rid in sorted(current.items()) if rid is not None}


def stored_at(s: Session, model_id: int, when: datetime) -> dict[str, int] | None:
    """Files and bytes at the model's storage_path as the last scan before `when` found them
    (None when none had run); a scan that changed something is audited as "scan"."""
    stmt = select(AuditEvent.after).where(
        AuditEvent.model_id == model_id, AuditEvent.action == "scan", AuditEvent.at <= when
    )
    after = s.scalar(stmt.order_by(AuditEvent.id.desc()).limit(1))
    if not after:
        return None
    return {"files": int(after.get("files", 0)), "bytes": int(after.get("bytes", 0))}


def page_of(views: list[dict[str, Any]], scope: str, limit: Any, cursor: str | None) -> dict[str, Any]:
    """One page of views already ordered newest first by id (keyset on `id`, as `paging.page`)."""
    size = check_limit(limit)
    if cursor:
        after = decode_cursor(cursor, int, scope)
        views = [v for v in views if v["id"] < after]
    more = len(views) > size
    items = views[:size]
    return {"items": items, "next_cursor": encode_cursor(items[-1]["id"], scope) if more and items else None}


def needs_model(model: str | None) -> str:
    """`as_of` on a list needs the model whose history is read."""
    if not model:
        raise InvalidInput("as_of: needs model (the releases and deployments of one model as they were)", field="as_of")
    return model
