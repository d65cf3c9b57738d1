"""Registry service: every rule about models, releases and what hangs off them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from types import SimpleNamespace
from typing import Any, TypeVar

from sqlalchemy import exists, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..errors import Conflict, InvalidInput, NotFound
from ..fields import Field
from ..paging import page
from ..store import Store, fetch
from ..store.schema import Alias, AliasEvent, Artifact, AuditEvent, Deployment, Model, ModelTag, Release, utcnow
from . import rules, timeline
from .roles import Policy

T = TypeVar("T")
#: Statements built once, their parameters bound per call (no per-call compile or cache key).
INSERT_AUDIT = insert(AuditEvent)
INSERT_RELEASE = insert(Release).returning(Release.id)
#: The columns of a model row, read without the ORM on list pages.
MODEL_COLUMNS = (
    Model.id,
    Model.name,
    Model.storage_path,
    Model.repository,
    Model.company,
    Model.base_model,
    Model.parameter_count,
    Model.description,
    Model.meta,
    Model.created_at,
    Model.updated_at,
)
Page = dict[str, Any]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def model_view(m: Any, tags: list[str] | None = None) -> dict[str, Any]:
    """A model (an ORM row, or a Core row of MODEL_COLUMNS with its `tags`) as JSON."""
    return {
        "id": m.id,
        "name": m.name,
        "storage_path": m.storage_path,
        "repository": m.repository,
        "company": m.company,
        "base_model": m.base_model,
        "parameter_count": m.parameter_count,
        "description": m.description,
        "tags": tags if tags is not None else [t.tag for t in m.tag_rows],
        "metadata": m.meta,
        "created_at": _iso(m.created_at),
        "updated_at": _iso(m.updated_at),
    }


def stored_figures(s: Session, model_ids: list[int]) -> dict[int, dict[str, int]]:
    """Files and bytes at each model's storage_path as its last scan found them ({model_id:
    {files, bytes}}; a model never scanned is absent)."""
    if not model_ids:
        return {}
    rows = s.execute(
        select(Artifact.model_id, func.count(), func.coalesce(func.sum(Artifact.size), 0))
        .where(Artifact.model_id.in_(model_ids), Artifact.release_id.is_(None), Artifact.fingerprint.is_not(None))
        .group_by(Artifact.model_id)
    ).all()
    return {int(mid): {"files": int(n), "bytes": int(size or 0)} for mid, n, size in rows if mid is not None}


def release_view(r: Any, model_name: str | None = None) -> dict[str, Any]:
    """A release (an ORM row, or any object with its fields and `model_name`) as JSON."""
    return {
        "id": r.id,
        "model": model_name if model_name is not None else r.model.name,
        "model_id": r.model_id,
        "version": r.version,
        "quantization": r.quantization,
        "release_notes": r.release_notes,
        "status": r.status,
        "metadata": r.meta,
        "auto_build": r.auto_build,
        "mlflow_run": r.mlflow_run,
        "created_at": _iso(r.created_at),
        "updated_at": _iso(r.updated_at),
    }


def artifact_view(a: Artifact) -> dict[str, Any]:
    """An artifact as JSON."""
    return {
        "id": a.id,
        "model_id": a.model_id,
        "release_id": a.release_id,
        "name": a.name,
        "path": a.path,
        "kind": a.kind,
        "size": a.size,
        "sha256": a.sha256,
        "created_at": _iso(a.created_at),
    }


def deployment_view(d: Deployment) -> dict[str, Any]:
    """A deployment as JSON."""
    return {
        "id": d.id,
        "release_id": d.release_id,
        "model": d.release.model.name,
        "version": d.release.version,
        "quantization": d.release.quantization,
        "environment": d.environment,
        "endpoint": d.endpoint,
        "status": d.status,
        "notes": d.notes,
        "created_at": _iso(d.created_at),
        "updated_at": _iso(d.updated_at),
    }


def audit_view(e: AuditEvent) -> dict[str, Any]:
    """An audit event as JSON."""
    return {
        "id": e.id,
        "at": _iso(e.at),
        "actor": e.actor,
        "action": e.action,
        "entity_type": e.entity_type,
        "entity_id": e.entity_id,
        "model_id": e.model_id,
        "before": e.before,
        "after": e.after,
    }


def _tag_rows(tags: list[str]) -> list[ModelTag]:
    """Tag rows, each tag once, in the order a read gives them back (sorted)."""
    return [ModelTag(tag=t) for t in sorted(set(tags))]


def _query_value(name: str, value: str | None, rule: Field) -> Any:
    return None if value in (None, "") else rule.clean(name, value)


class Registry:
    """Models, releases, artifacts, deployments and aliases, each change audited."""

    def __init__(self, store: Store, policy: Policy | None = None) -> None:
        self.store = store
        #: Who may change what (default: everyone is a release manager).
        self.policy = policy or Policy()
        #: Called inside a new release's transaction (the builds service queues an
        #: auto-build there); what it returns is added to the answer.
        self.on_release_created: Callable[[Session, dict[str, Any], str], dict[str, Any] | None] | None = None
        #: Called after a new release is committed.
        self.on_release_committed: Callable[[dict[str, Any]], None] | None = None

    # -- helpers -----------------------------------------------------------------
    def authorize(self, actor: str, action: str, *, alias: str | None = None) -> str:
        """The actor's role if it may do `action` (an `ACTIONS` key of `registry.roles`;
        on `alias` for an alias action), else Forbidden naming the role needed. Every
        change of the registry asks this first; so must any other service that changes it."""
        return self.policy.authorize(actor, action, alias=alias)

    def _write(self, fn: Callable[[Session], T], conflict: str = "", field: str | None = None) -> T:
        try:
            with self.store.write() as s:
                return fn(s)
        except IntegrityError as exc:
            raise Conflict(conflict or f"conflicts with existing data: {exc.orig}", field=field) from None

    @staticmethod
    def _audit(
        s: Session,
        actor: str,
        action: str,
        entity_type: str,
        entity_id: Any,
        model_id: int | None,
        before: dict[str, Any] | None,
        after: dict[str, Any] | None,
        at: datetime | None = None,
    ) -> None:
        s.execute(
            INSERT_AUDIT,
            {
                "actor": actor or "unknown",
                "action": action,
                "entity_type": entity_type,
                "entity_id": str(entity_id),
                "model_id": model_id,
                "before": before,
                "after": after,
                "at": at or utcnow(),
            },
        )

    @staticmethod
    def _model_id(s: Session, name: str) -> int:
        model_id = s.scalar(select(Model.id).where(Model.name == name))
        if model_id is None:
            raise NotFound(f"model {name!r} does not exist")
        return model_id

    @staticmethod
    def _model(s: Session, name: str) -> Model:
        m = s.scalar(select(Model).where(Model.name == name))
        if m is None:
            raise NotFound(f"model {name!r} does not exist")
        return m

    @staticmethod
    def _release(s: Session, release_id: int) -> Release:
        return fetch(s, Release, release_id, "release")

    def _change(
        self,
        s: Session,
        row: Any,
        view: Callable[[Any], dict[str, Any]],
        mutate: Callable[[], None],
        actor: str,
        action: str,
        entity_type: str,
        entity_id: Any,
        model_id: int | None,
    ) -> dict[str, Any]:
        """Apply `mutate` to `row`, stamp updated_at, audit before/after; returns the new view."""
        before = view(row)
        mutate()
        row.updated_at = utcnow()
        s.flush()
        after = view(row)
        self._audit(s, actor, action, entity_type, entity_id, model_id, before, after)
        return after

    # -- models ------------------------------------------------------------------
    def create_model(self, data: Any, actor: str) -> dict[str, Any]:
        """Create a model from a JSON object; returns it."""
        self.authorize(actor, "create_model")
        clean = rules.MODEL.for_create(data)

        def run(s: Session) -> dict[str, Any]:
            if s.scalar(select(Model.id).where(Model.name == clean["name"])) is not None:
                raise Conflict(f"name: a model named {clean['name']!r} already exists", field="name")
            return model_view(self._insert_model(s, clean, actor, "create"))

        return self._write(run, f"name: a model named {clean['name']!r} already exists", field="name")

    def _insert_model(self, s: Session, clean: dict[str, Any], actor: str, action: str) -> Model:
        """Add a model from cleaned fields and audit it as `action`."""
        now = utcnow()
        m = Model(
            meta=clean.get("metadata", {}),
            created_at=now,
            updated_at=now,
            **{k: v for k, v in clean.items() if k not in ("tags", "metadata")},
        )
        m.tag_rows = _tag_rows(clean.get("tags", []))
        s.add(m)
        s.flush()
        self._audit(s, actor, action, "model", m.name, m.id, None, model_view(m))
        return m

    def get_model(self, name: str, *, as_of: str | None = None) -> dict[str, Any]:
        """One model by name, with its release count and aliases; with `as_of`, as they were
        then (NotFound when the model did not exist then)."""
        if as_of:
            when = rules.as_of(as_of)
            with self.store.read() as s:
                view = timeline.model_at(s, name, when)
                releases = timeline.views_at(s, view["id"], "release", when, timeline.RELEASE_KEYS)
                view["release_count"] = len(releases)
                view["aliases"] = timeline.aliases_at(s, view["id"], when)
                view["stored"] = timeline.stored_at(s, view["id"], when)
                return view
        with self.store.read() as s:
            m = self._model(s, name)
            view = model_view(m)
            view["release_count"] = s.scalar(select(func.count()).where(Release.model_id == m.id))
            aliases = select(Alias.name, Alias.release_id).where(Alias.model_id == m.id).order_by(Alias.name)
            view["aliases"] = dict(s.execute(aliases).all())
            view["stored"] = stored_figures(s, [m.id]).get(m.id)
            return view

    def update_model(self, name: str, data: Any, actor: str) -> dict[str, Any]:
        """Change a model's updatable fields; returns it."""
        self.authorize(actor, "update_model")
        clean = rules.MODEL.for_update(data)

        def run(s: Session) -> dict[str, Any]:
            m = self._model(s, name)

            def mutate() -> None:
                for key, value in clean.items():
                    if key == "tags":
                        m.tag_rows = _tag_rows(value)
                    else:
                        setattr(m, "meta" if key == "metadata" else key, value)

            return self._change(s, m, model_view, mutate, actor, "update", "model", m.name, m.id)

        return self._write(run)

    def delete_model(self, name: str, actor: str, *, cascade: bool = False) -> dict[str, Any]:
        """Delete a model; refused while it has releases unless `cascade`."""
        self.authorize(actor, "delete_model")

        def run(s: Session) -> dict[str, Any]:
            m = self._model(s, name)
            release_ids = list(s.scalars(select(Release.id).where(Release.model_id == m.id)))
            if release_ids and not cascade:
                raise Conflict(f"model {name!r} has {len(release_ids)} release(s); delete them first or pass cascade")
            before = model_view(m)
            for rid in release_ids:
                self._delete_release_rows(s, self._release(s, rid), actor, cascade=True)
            for a in s.scalars(select(Artifact).where(Artifact.model_id == m.id, Artifact.release_id.is_(None))):
                self._audit(s, actor, "delete", "artifact", a.id, m.id, artifact_view(a), None)
                s.delete(a)
            s.delete(m)
            self._audit(s, actor, "delete", "model", name, m.id, before, None)
            return {"deleted": name, "releases_deleted": len(release_ids)}

        return self._write(run)

    def list_models(
        self,
        *,
        q: str | None = None,
        tag: str | None = None,
        base_model: str | None = None,
        company: str | None = None,
        status: str | None = None,
        limit: Any = None,
        cursor: str | None = None,
    ) -> Page:
        """Models ordered by name, filtered; one page."""
        stmt = select(*MODEL_COLUMNS)
        if q:
            like = f"%{q.replace(chr(92), chr(92) * 2).replace('%', chr(92) + '%').replace('_', chr(92) + '_')}%"
            stmt = stmt.where(Model.name.ilike(like, escape="\\") | Model.description.ilike(like, escape="\\"))
        if tag:
            stmt = stmt.where(exists().where(ModelTag.model_id == Model.id, ModelTag.tag == tag))
        if base_model:
            stmt = stmt.where(Model.base_model == base_model)
        if company:
            stmt = stmt.where(Model.company == company)
        if status:
            status = _query_value("status", status, Field("string", enum=rules.RELEASE_STATUSES))
            stmt = stmt.where(exists().where(Release.model_id == Model.id, Release.status == status))
        with self.store.read() as s:
            rows, nxt = page(s, stmt, Model.name, descending=False, limit=limit, cursor=cursor, scalars=False)
            tags: dict[int, list[str]] = {row.id: [] for row in rows}
            for model_id, tag in s.execute(
                select(ModelTag.model_id, ModelTag.tag).where(ModelTag.model_id.in_(list(tags))).order_by(ModelTag.tag)
            ):
                tags[model_id].append(tag)
            stored = stored_figures(s, list(tags))
            items = [{**model_view(row, tags[row.id]), "stored": stored.get(row.id)} for row in rows]
            return {"items": items, "next_cursor": nxt}

    # -- releases ----------------------------------------------------------------
    def create_release(self, data: Any, actor: str) -> dict[str, Any]:
        """Create a candidate release of a model; (model, version, quantization) is unique."""
        self.authorize(actor, "create_release")
        clean = rules.RELEASE.for_create(data)
        clean.setdefault("quantization", "none")
        ident = f"{clean['model']}:{clean['version']}:{clean['quantization']}"
        taken = f"version: release {ident} already exists"

        def run(s: Session) -> dict[str, Any]:
            model_id = self._model_id(s, clean["model"])
            # Refused before the INSERT: on PostgreSQL a refused INSERT still takes an id.
            twin = select(Release.id).where(
                Release.model_id == model_id,
                Release.version == clean["version"],
                Release.quantization == clean["quantization"],
            )
            if s.scalar(twin) is not None:
                raise Conflict(taken, field="version")
            view = self._insert_release(s, model_id, clean, actor, "create")
            if self.on_release_created is not None:
                view = {**view, **(self.on_release_created(s, view, actor) or {})}
            return view

        view = self._write(run, taken, field="version")
        if self.on_release_committed is not None:
            self.on_release_committed(view)
        return view

    def _insert_release(
        self, s: Session, model_id: int, clean: dict[str, Any], actor: str, action: str, status: str = "candidate"
    ) -> dict[str, Any]:
        """Add a release of `model_id` from cleaned fields, audited as `action`; its view.
        A plain INSERT (no unit of work): this is the hot path. The unique constraint
        refuses a duplicate; _write turns that into a Conflict."""
        now = utcnow()
        values = {
            "model_id": model_id,
            "version": clean["version"],
            "quantization": clean.get("quantization", "none"),
            "release_notes": clean.get("release_notes"),
            "meta": clean.get("metadata", {}),
            "auto_build": clean.get("auto_build", False),
            "mlflow_run": clean.get("mlflow_run"),
            "status": status,
            "created_at": now,
            "updated_at": now,
        }
        release_id = s.execute(INSERT_RELEASE, values).scalar_one()
        view = release_view(SimpleNamespace(id=release_id, **values), clean["model"])
        self._audit(s, actor, action, "release", release_id, model_id, None, view)
        return view

    def get_release(self, release_id: int) -> dict[str, Any]:
        """One release by id."""
        with self.store.read() as s:
            return release_view(self._release(s, release_id))

    def update_release(self, release_id: int, data: Any, actor: str) -> dict[str, Any]:
        """Change a release's notes, metadata, auto_build flag or MLflow run."""
        self.authorize(actor, "update_release")
        clean = rules.RELEASE.for_update(data)

        def run(s: Session) -> dict[str, Any]:
            r = self._release(s, release_id)

            def mutate() -> None:
                for key, value in clean.items():
                    setattr(r, "meta" if key == "metadata" else key, value)

            return self._change(s, r, release_view, mutate, actor, "update", "release", r.id, r.model_id)

        return self._write(run)

    def transition(self, release_id: int, action: str, actor: str) -> dict[str, Any]:
        """Move a release through its lifecycle: promote, demote or deprecate."""
        if action not in rules.TRANSITIONS:
            raise InvalidInput(
                f"action: must be one of {', '.join(rules.TRANSITIONS)} (got {action!r})", field="action"
            )
        self.authorize(actor, action)
        sources, target = rules.TRANSITIONS[action]

        def run(s: Session) -> dict[str, Any]:
            r = self._release(s, release_id)
            if r.status not in sources:
                raise Conflict(f"release {release_id} is {r.status}; {action} needs one that is {' or '.join(sources)}")
            return self._change(
                s, r, release_view, lambda: setattr(r, "status", target), actor, action, "release", r.id, r.model_id
            )

        return self._write(run)

    def delete_release(self, release_id: int, actor: str, *, cascade: bool = False) -> dict[str, Any]:
        """Delete a release; refused while artifacts or deployments use it unless `cascade`.
        Its id is never given to another release."""
        self.authorize(actor, "delete_release")

        def run(s: Session) -> dict[str, Any]:
            r = self._release(s, release_id)
            self._delete_release_rows(s, r, actor, cascade=cascade)
            return {"deleted": release_id}

        return self._write(run)

    def _delete_release_rows(self, s: Session, r: Release, actor: str, *, cascade: bool) -> None:
        deployments = list(s.scalars(select(Deployment).where(Deployment.release_id == r.id)))
        artifacts = list(s.scalars(select(Artifact).where(Artifact.release_id == r.id)))
        if (deployments or artifacts) and not cascade:
            raise Conflict(
                f"release {r.id} has {len(deployments)} deployment(s) and {len(artifacts)} "
                "artifact(s); delete them first or pass cascade"
            )
        # What goes with the release is audited too, aliases included (the database would
        # drop those silently through its ON DELETE CASCADE).
        for d in deployments:
            self._audit(s, actor, "delete", "deployment", d.id, r.model_id, deployment_view(d), None)
            s.delete(d)
        for a in artifacts:
            self._audit(s, actor, "delete", "artifact", a.id, r.model_id, artifact_view(a), None)
            s.delete(a)
        for alias in list(s.scalars(select(Alias).where(Alias.release_id == r.id))):
            self._remove_alias(s, r.model, alias, actor)
        before = release_view(r)
        s.delete(r)
        self._audit(s, actor, "delete", "release", r.id, r.model_id, before, None)

    def list_releases(
        self,
        *,
        model: str | None = None,
        status: str | None = None,
        quantization: str | None = None,
        version: str | None = None,
        as_of: str | None = None,
        limit: Any = None,
        cursor: str | None = None,
    ) -> Page:
        """Releases newest first, filtered; one page. With `as_of` (and `model`): the model's
        releases that existed then, each with its status then."""
        if as_of:
            return self._list_at(
                timeline.needs_model(model),
                as_of,
                "release",
                timeline.RELEASE_KEYS,
                limit,
                cursor,
                status=_query_value("status", status, Field("string", enum=rules.RELEASE_STATUSES)),
                quantization=rules.QUANTIZATION.clean("quantization", quantization) if quantization else None,
                version=version or None,
            )
        stmt = select(Release)
        with self.store.read() as s:
            if model:
                stmt = stmt.where(Release.model_id == self._model(s, model).id)
            if status:
                stmt = stmt.where(
                    Release.status == _query_value("status", status, Field("string", enum=rules.RELEASE_STATUSES))
                )
            if quantization:
                stmt = stmt.where(Release.quantization == rules.QUANTIZATION.clean("quantization", quantization))
            if version:
                stmt = stmt.where(Release.version == version)
            rows, nxt = page(s, stmt, Release.id, descending=True, limit=limit, cursor=cursor)
            return {"items": [release_view(r) for r in rows], "next_cursor": nxt}

    # -- artifacts ---------------------------------------------------------------
    def create_artifact(self, data: Any, actor: str) -> dict[str, Any]:
        """Record an artifact of a release (release_id) or of a model (model)."""
        self.authorize(actor, "create_artifact")
        clean = rules.ARTIFACT.for_create(data)

        def run(s: Session) -> dict[str, Any]:
            if "release_id" in clean:
                r = self._release(s, clean["release_id"])
                model_id, release_id = r.model_id, r.id
            else:
                model_id, release_id = self._model(s, clean["model"]).id, None
            a = Artifact(
                model_id=model_id,
                release_id=release_id,
                name=clean["name"],
                path=clean["path"],
                kind=clean.get("kind", "file"),
                size=clean.get("size"),
                sha256=clean.get("sha256"),
            )
            s.add(a)
            s.flush()
            view = artifact_view(a)
            self._audit(s, actor, "create", "artifact", a.id, model_id, None, view)
            return view

        return self._write(run)

    def get_artifact(self, artifact_id: int) -> dict[str, Any]:
        """One artifact by id."""
        with self.store.read() as s:
            return artifact_view(fetch(s, Artifact, artifact_id, "artifact"))

    def delete_artifact(self, artifact_id: int, actor: str) -> dict[str, Any]:
        """Forget an artifact (the file itself is left alone)."""
        self.authorize(actor, "delete_artifact")

        def run(s: Session) -> dict[str, Any]:
            a = fetch(s, Artifact, artifact_id, "artifact")
            before = artifact_view(a)
            s.delete(a)
            self._audit(s, actor, "delete", "artifact", artifact_id, a.model_id, before, None)
            return {"deleted": artifact_id}

        return self._write(run)

    def list_artifacts(
        self,
        *,
        model: str | None = None,
        release_id: int | None = None,
        kind: str | None = None,
        limit: Any = None,
        cursor: str | None = None,
    ) -> Page:
        """Artifacts newest first, by model, release or kind; one page."""
        stmt = select(Artifact)
        with self.store.read() as s:
            if model:
                stmt = stmt.where(Artifact.model_id == self._model(s, model).id)
            if release_id is not None:
                stmt = stmt.where(Artifact.release_id == release_id)
            if kind:
                stmt = stmt.where(Artifact.kind == kind)
            rows, nxt = page(s, stmt, Artifact.id, descending=True, limit=limit, cursor=cursor)
            return {"items": [artifact_view(a) for a in rows], "next_cursor": nxt}

    # -- deployments -------------------------------------------------------------
    def create_deployment(self, data: Any, actor: str) -> dict[str, Any]:
        """Record a deployment of a release to an environment."""
        self.authorize(actor, "create_deployment")
        clean = rules.DEPLOYMENT.for_create(data)

        def run(s: Session) -> dict[str, Any]:
            r = self._release(s, clean["release_id"])
            if r.status == "deprecated":
                raise Conflict(f"release {r.id} is deprecated and cannot be deployed")
            now = utcnow()
            d = Deployment(
                release_id=r.id,
                environment=clean["environment"],
                endpoint=clean.get("endpoint"),
                status=clean.get("status", "pending"),
                notes=clean.get("notes"),
                created_at=now,
                updated_at=now,
            )
            s.add(d)
            s.flush()
            view = deployment_view(d)
            self._audit(s, actor, "create", "deployment", d.id, r.model_id, None, view)
            return view

        return self._write(run)

    def get_deployment(self, deployment_id: int) -> dict[str, Any]:
        """One deployment by id."""
        with self.store.read() as s:
            return deployment_view(self._deployment(s, deployment_id))

    @staticmethod
    def _deployment(s: Session, deployment_id: int) -> Deployment:
        return fetch(s, Deployment, deployment_id, "deployment")

    def update_deployment(self, deployment_id: int, data: Any, actor: str) -> dict[str, Any]:
        """Change a deployment's endpoint, status or notes."""
        self.authorize(actor, "update_deployment")
        clean = rules.DEPLOYMENT.for_update(data)

        def run(s: Session) -> dict[str, Any]:
            d = self._deployment(s, deployment_id)
            model_id = s.scalar(select(Release.model_id).where(Release.id == d.release_id))

            def mutate() -> None:
                for key, value in clean.items():
                    setattr(d, key, value)

            return self._change(s, d, deployment_view, mutate, actor, "update", "deployment", d.id, model_id)

        return self._write(run)

    def delete_deployment(self, deployment_id: int, actor: str) -> dict[str, Any]:
        """Forget a deployment."""
        self.authorize(actor, "delete_deployment")

        def run(s: Session) -> dict[str, Any]:
            d = self._deployment(s, deployment_id)
            before = deployment_view(d)
            model_id = s.scalar(select(Release.model_id).where(Release.id == d.release_id))
            s.delete(d)
            self._audit(s, actor, "delete", "deployment", deployment_id, model_id, before, None)
            return {"deleted": deployment_id}

        return self._write(run)

    def list_deployments(
        self,
        *,
        model: str | None = None,
        release_id: int | None = None,
        environment: str | None = None,
        status: str | None = None,
        as_of: str | None = None,
        limit: Any = None,
        cursor: str | None = None,
    ) -> Page:
        """Deployments newest first, filtered; one page. With `as_of` (and `model`): the
        model's deployments that existed then, each with its status then."""
        if as_of:
            return self._list_at(
                timeline.needs_model(model),
                as_of,
                "deployment",
                timeline.DEPLOYMENT_KEYS,
                limit,
                cursor,
                release_id=release_id,
                environment=environment or None,
                status=rules.DEPLOYMENT_FIELDS["status"].clean("status", status) if status else None,
            )
        stmt = select(Deployment)
        with self.store.read() as s:
            if model:
                model_id = self._model(s, model).id
                stmt = stmt.where(Deployment.release_id.in_(select(Release.id).where(Release.model_id == model_id)))
            if release_id is not None:
                stmt = stmt.where(Deployment.release_id == release_id)
            if environment:
                stmt = stmt.where(Deployment.environment == environment)
            if status:
                stmt = stmt.where(Deployment.status == rules.DEPLOYMENT_FIELDS["status"].clean("status", status))
            rows, nxt = page(s, stmt, Deployment.id, descending=True, limit=limit, cursor=cursor)
            return {"items": [deployment_view(d) for d in rows], "next_cursor": nxt}

    def _list_at(
        self,
        model: str,
        as_of: str,
        entity_type: str,
        keys: dict[str, Any],
        limit: Any,
        cursor: str | None,
        **filters: Any,
    ) -> Page:
        """One page of the model's releases or deployments as they were at `as_of`, filtered
        on their values then (a filter that is None is no filter)."""
        when = rules.as_of(as_of)
        with self.store.read() as s:
            model_id = timeline.model_at(s, model, when)["id"]
            views = timeline.views_at(s, model_id, entity_type, when, keys)
        wanted = {k: v for k, v in filters.items() if v is not None}
        views = [v for v in views if all(v.get(k) == value for k, value in wanted.items())]
        return timeline.page_of(views, f"{entity_type}s.id", limit, cursor)

    # -- aliases -----------------------------------------------------------------
    def set_alias(self, model: str, alias: str, data: Any, actor: str) -> dict[str, Any]:
        """Point `alias` of `model` at one of its releases (moving it if set)."""
        alias = rules.ALIAS.clean("alias", alias)
        self.authorize(actor, "set_alias", alias=alias)
        release_id = rules.ALIAS_TARGET.for_create(data)["release_id"]

        def run(s: Session) -> dict[str, Any]:
            m = self._model(s, model)
            r = self._release(s, release_id)
            if r.model_id != m.id:
                raise InvalidInput(
                    f"release_id: release {release_id} belongs to model {r.model.name!r}, not {model!r}",
                    field="release_id",
                )
            self._point_alias(s, m, alias, release_id, actor, "set_alias", always=True)
            return {"model": model, "alias": alias, "release_id": release_id}

        return self._write(run)

    def rollback_alias(self, model: str, alias: str, actor: str) -> dict[str, Any]:
        """Move `alias` back to its previous target (the one before the current; after a
        rollback, the one before that); returns the timeline entry. Conflict, changing
        nothing, when it has had no other target or that release is gone."""
        alias = rules.ALIAS.clean("alias", alias)
        self.authorize(actor, "rollback", alias=alias)

        def run(s: Session) -> dict[str, Any]:
            m = self._model(s, model)
            row = s.get(Alias, (m.id, alias))
            if row is None:
                raise NotFound(f"model {model!r} has no alias {alias!r}")
            target = timeline.rollback_targets(s, m.id, {alias: row.release_id})[alias]
            if target is None:
                raise Conflict(
                    f"alias: {model}@{alias} has had no target before release {row.release_id}; nothing to roll "
                    "back to",
                    field="alias",
                )
            if s.get(Release, target) is None:
                raise Conflict(
                    f"alias: {model}@{alias} would go back to release {target}, which was deleted; point it at a "
                    "release with set instead",
                    field="alias",
                )
            event = self._point_alias(s, m, alias, target, actor, "rollback_alias")
            assert event is not None  # the target differs from the current one
            return event

        return self._write(run)

    def _point_alias(
        self, s: Session, m: Model, alias: str, release_id: int, actor: str, action: str, *, always: bool = False
    ) -> dict[str, Any] | None:
        """Point `alias` of `m` at `release_id`, audited as `action` (set_alias, rollback_alias
        or import) and added to its timeline; returns the timeline entry, or None (nothing
        recorded) when it already points there, unless `always`.
        Every move of an alias (set, rollback, import) comes through here; who may move it
        is checked before, by set_alias and rollback_alias (an import needs the release
        manager role to start)."""
        row = s.get(Alias, (m.id, alias))
        if row is not None and row.release_id == release_id and not always:
            return None
        previous = row.release_id if row else None
        before = {"alias": alias, "release_id": previous} if row else None
        if row is None:
            row = Alias(model_id=m.id, name=alias, release_id=release_id)
            s.add(row)
        now = utcnow()
        row.release_id, row.updated_at = release_id, now
        after = {"model": m.name, "alias": alias, "release_id": release_id}
        self._audit(s, actor, action, "alias", f"{m.name}@{alias}", m.id, before, after, now)
        kind = {"rollback_alias": "rollback", "import": "import"}.get(action)
        if kind is None:
            kind = "move" if previous is not None and previous != release_id else "set"
        return self._alias_event(s, m, alias, kind, release_id, previous, actor, now)

    def _remove_alias(self, s: Session, m: Model, row: Alias, actor: str) -> None:
        """Delete an alias row, audited and added to its timeline."""
        now = utcnow()
        before = {"alias": row.name, "release_id": row.release_id}
        self._audit(s, actor, "delete_alias", "alias", f"{m.name}@{row.name}", m.id, before, None, now)
        self._alias_event(s, m, row.name, "delete", None, row.release_id, actor, now)
        s.delete(row)

    @staticmethod
    def _alias_event(
        s: Session,
        m: Model,
        alias: str,
        action: str,
        release_id: int | None,
        previous: int | None,
        actor: str,
        at: datetime,
    ) -> dict[str, Any]:
        e = AliasEvent(
            model_id=m.id,
            model=m.name,
            alias=alias,
            action=action,
            release_id=release_id,
            previous_release_id=previous,
            actor=actor or "unknown",
            at=at,
        )
        s.add(e)
        s.flush()
        return timeline.event_views(s, [e])[0]

    def get_alias(self, model: str, alias: str, *, as_of: str | None = None) -> dict[str, Any]:
        """The release an alias points at, and where a rollback would move it (`rollback_to`);
        with `as_of`, the release it pointed at then, with its status then."""
        if as_of:
            return self._alias_at(model, alias, rules.as_of(as_of))
        with self.store.read() as s:
            m = self._model(s, model)
            row = s.get(Alias, (m.id, alias))
            if row is None:
                raise NotFound(f"model {model!r} has no alias {alias!r}")
            return {
                "model": model,
                "alias": alias,
                "release": release_view(self._release(s, row.release_id)),
                "rollback_to": timeline.rollback_targets(s, m.id, {alias: row.release_id})[alias],
            }

    def _alias_at(self, model: str, alias: str, when: datetime) -> dict[str, Any]:
        with self.store.read() as s:
            model_id = timeline.model_at(s, model, when)["id"]
            target = timeline.aliases_at(s, model_id, when).get(alias)
            if target is None:
                raise NotFound(f"model {model!r} had no alias {alias!r} at {when.isoformat()}")
            releases = timeline.views_at(s, model_id, "release", when, timeline.RELEASE_KEYS)
            release = next((r for r in releases if r["id"] == target), None)
            if release is None:
                raise NotFound(f"release {target} of {model}@{alias} has no recorded history at {when.isoformat()}")
            return {"model": model, "alias": alias, "release": release, "as_of": when.isoformat()}

    def delete_alias(self, model: str, alias: str, actor: str) -> dict[str, Any]:
        """Remove an alias."""
        self.authorize(actor, "delete_alias", alias=alias)

        def run(s: Session) -> dict[str, Any]:
            m = self._model(s, model)
            row = s.get(Alias, (m.id, alias))
            if row is None:
                raise NotFound(f"model {model!r} has no alias {alias!r}")
            self._remove_alias(s, m, row, actor)
            return {"deleted": f"{model}@{alias}"}

        return self._write(run)

    def alias_history(
        self, model: str, *, alias: str | None = None, limit: Any = None, cursor: str | None = None
    ) -> Page:
        """The timeline of a model's aliases (or of one), newest first: every target each had,
        who moved it and when; one page, with `rollback_to` (alias -> where a rollback would
        move it, None when nowhere) for the aliases the model has now. A deleted model's
        timeline stays readable by its name."""
        if alias:
            alias = rules.ALIAS.clean("alias", alias)
        with self.store.read() as s:
            m = s.scalar(select(Model).where(Model.name == model))
            stmt = select(AliasEvent).where(AliasEvent.model_id == m.id if m else AliasEvent.model == model)
            if alias:
                stmt = stmt.where(AliasEvent.alias == alias)
            rows, nxt = page(s, stmt, AliasEvent.id, descending=True, limit=limit, cursor=cursor)
            if m is None and not rows and not cursor:
                raise NotFound(f"model {model!r} does not exist and has no alias history")
            current: dict[str, int] = {}
            if m is not None:
                aliases = select(Alias.name, Alias.release_id).where(Alias.model_id == m.id)
                if alias:
                    aliases = aliases.where(Alias.name == alias)
                current = dict(s.execute(aliases).all())
            return {
                "items": timeline.event_views(s, rows),
                "next_cursor": nxt,
                "rollback_to": timeline.rollback_targets(s, m.id, current) if m is not None else {},
            }

    def list_aliases(self, *, model: str | None = None, limit: Any = None, cursor: str | None = None) -> Page:
        """Aliases with their model and release; one page, ordered by model then alias."""
        # The separator sorts before every character a name may hold, so the key orders
        # by model first ("a" before "a-b"); "@" would not.
        key = (Model.name + " " + Alias.name).label("key")
        with self.store.read() as s:
            stmt = select(Model.name, Alias.name, Alias.release_id, key).join(Model, Model.id == Alias.model_id)
            if model:
                stmt = stmt.where(Alias.model_id == self._model(s, model).id)
            from ..paging import check_limit, decode_cursor, encode_cursor

            size = check_limit(limit)
            if cursor:
                stmt = stmt.where(key > decode_cursor(cursor, str, "aliases"))
            rows = s.execute(stmt.order_by(key).limit(size + 1)).all()
            nxt = encode_cursor(rows[size - 1].key, "aliases") if len(rows) > size else None
            return {
                "items": [{"model": r[0], "alias": r[1], "release_id": r[2]} for r in rows[:size]],
                "next_cursor": nxt,
            }

    # -- audit -------------------------------------------------------------------
    def audit(
        self,
        *,
        model: str | None = None,
        entity_type: str | None = None,
        action: str | None = None,
        limit: Any = None,
        cursor: str | None = None,
    ) -> Page:
        """Audit events newest first, for one model or all; one page."""
        stmt = select(AuditEvent)
        with self.store.read() as s:
            if model:
                m = s.scalar(select(Model.id).where(Model.name == model))
                ids = {m} if m is not None else set()
                # A deleted model's history stays readable by its name.
                ids.update(
                    s.scalars(
                        select(AuditEvent.model_id).where(
                            AuditEvent.entity_type == "model", AuditEvent.entity_id == model
                        )
                    )
                )
                if not ids:
                    raise NotFound(f"model {model!r} has no history")
                stmt = stmt.where(AuditEvent.model_id.in_(ids))
            if entity_type:
                stmt = stmt.where(AuditEvent.entity_type == entity_type)
            if action:
                stmt = stmt.where(AuditEvent.action == action)
            rows, nxt = page(s, stmt, AuditEvent.id, descending=True, limit=limit, cursor=cursor)
            return {"items": [audit_view(e) for e in rows], "next_cursor": nxt}

    # -- dashboard ---------------------------------------------------------------
    def counts(self) -> dict[str, Any]:
        """Counts of models, releases by status, artifacts, deployments by status, and recent items."""
        with self.store.read() as s:
            by_status = dict(s.execute(select(Release.status, func.count()).group_by(Release.status)).all())
            deploy_status = dict(s.execute(select(Deployment.status, func.count()).group_by(Deployment.status)).all())
            recent_releases = s.scalars(select(Release).order_by(Release.id.desc()).limit(5))
            recent_deployments = s.scalars(select(Deployment).order_by(Deployment.id.desc()).limit(5))
            return {
                "counts": {
                    "models": s.scalar(select(func.count()).select_from(Model)),
                    "releases": sum(by_status.values()),
                    "releases_by_status": {k: by_status.get(k, 0) for k in rules.RELEASE_STATUSES},
                    "artifacts": s.scalar(select(func.count()).select_from(Artifact)),
                    "deployments": sum(deploy_status.values()),
                    "deployments_by_status": {k: deploy_status.get(k, 0) for k in rules.DEPLOYMENT_STATUSES},
                },
                "recent_releases": [release_view(r) for r in recent_releases],
                "recent_deployments": [deployment_view(d) for d in recent_deployments],
            }
