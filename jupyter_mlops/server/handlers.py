"""REST handlers: each verb names its query parameters, calls one service method
and writes JSON. Blocking work runs in a thread (see `MLOpsHandler.respond`)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from .. import __version__
from ..errors import MLOpsError
from ..fields import Shape
from .base import MLOpsHandler, id_arg, int_arg

PAGE = ("limit", "cursor")
Query = dict[str, Any]


class HealthHandler(MLOpsHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        def run(_: Query) -> dict[str, Any]:
            svc, actor = self.services, self.actor
            return {
                "status": "ok",
                "version": __version__,
                "store_revision": svc.store.current_revision(),
                "worker_alive": svc.jobs.has_live_worker(),
                "workspace": str(svc.workspace.root),
                "store": svc.settings.where()["store"],
                "user": str(actor),
                "role": svc.registry.policy.role_of(actor),
                "protected_aliases": list(svc.registry.policy.protected_aliases),
            }

        await self.respond(run)


class OpenAPIHandler(MLOpsHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        from .openapi import document

        await self.respond(lambda _: document(self.base_url))


class DashboardHandler(MLOpsHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        await self.respond(lambda _: self.services.dashboard())


class ModelsHandler(MLOpsHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        await self.respond(
            lambda q: self.services.registry.list_models(**q),
            params=("q", "tag", "base_model", "company", "status", *PAGE),
        )

    @web.authenticated
    @authorized
    async def post(self) -> None:
        await self.respond(lambda _: self.services.registry.create_model(self.json_body(), self.actor), status=201)


class ModelHandler(MLOpsHandler):
    @web.authenticated
    @authorized
    async def get(self, name: str) -> None:
        await self.respond(lambda q: self.services.registry.get_model(name, **q), params=("as_of",))

    @web.authenticated
    @authorized
    async def patch(self, name: str) -> None:
        await self.respond(lambda _: self.services.registry.update_model(name, self.json_body(), self.actor))

    @web.authenticated
    @authorized
    async def delete(self, name: str) -> None:
        await self.respond(
            lambda _: self.services.registry.delete_model(name, self.actor, cascade=self.flag("cascade")),
            params=("cascade",),
        )


class ReleasesHandler(MLOpsHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        await self.respond(
            lambda q: self.services.registry.list_releases(**q),
            params=("model", "status", "quantization", "version", "as_of", *PAGE),
        )

    @web.authenticated
    @authorized
    async def post(self) -> None:
        await self.respond(lambda _: self.services.registry.create_release(self.json_body(), self.actor), status=201)


class ReleaseHandler(MLOpsHandler):
    @web.authenticated
    @authorized
    async def get(self, release_id: str) -> None:
        await self.respond(lambda _: self.services.registry.get_release(id_arg("release", release_id)))

    @web.authenticated
    @authorized
    async def patch(self, release_id: str) -> None:
        await self.respond(
            lambda _: self.services.registry.update_release(id_arg("release", release_id), self.json_body(), self.actor)
        )

    @web.authenticated
    @authorized
    async def delete(self, release_id: str) -> None:
        await self.respond(
            lambda _: self.services.registry.delete_release(
                id_arg("release", release_id), self.actor, cascade=self.flag("cascade")
            ),
            params=("cascade",),
        )


class ReleaseTransitionHandler(MLOpsHandler):
    @web.authenticated
    @authorized
    async def post(self, release_id: str, action: str) -> None:
        await self.respond(
            lambda _: self.services.registry.transition(id_arg("release", release_id), action, self.actor)
        )


class ReleaseRunHandler(MLOpsHandler):
    @web.authenticated
    @authorized
    async def get(self, release_id: str) -> None:
        await self.respond(lambda _: self.services.tracking.release_run(id_arg("release", release_id)))


class MlflowImportsHandler(MLOpsHandler):
    @web.authenticated
    @authorized
    async def post(self) -> None:
        await self.respond(lambda _: self.services.tracking.start_import(self.json_body(), self.actor), status=201)


class StorageScansHandler(MLOpsHandler):
    @web.authenticated
    @authorized
    async def post(self) -> None:
        await self.respond(lambda _: self.services.storage_files.start_scan(self.json_body(), self.actor), status=201)


class StorageFetchesHandler(MLOpsHandler):
    @web.authenticated
    @authorized
    async def post(self) -> None:
        await self.respond(lambda _: self.services.storage_files.start_fetch(self.json_body(), self.actor), status=201)


class StoragePublishesHandler(MLOpsHandler):
    @web.authenticated
    @authorized
    async def post(self) -> None:
        await self.respond(
            lambda _: self.services.storage_files.start_publish(self.json_body(), self.actor), status=201
        )


class StorageObjectsHandler(MLOpsHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        await self.respond(lambda q: self.services.storage_files.browse(q["uri"] or ""), params=("uri",))


class ArtifactsHandler(MLOpsHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        await self.respond(
            lambda q: self.services.registry.list_artifacts(
                model=q["model"],
                release_id=int_arg("release_id", q["release_id"]),
                kind=q["kind"],
                limit=q["limit"],
                cursor=q["cursor"],
            ),
            params=("model", "release_id", "kind", *PAGE),
        )

    @web.authenticated
    @authorized
    async def post(self) -> None:
        await self.respond(lambda _: self.services.registry.create_artifact(self.json_body(), self.actor), status=201)


class ArtifactHandler(MLOpsHandler):
    @web.authenticated
    @authorized
    async def get(self, artifact_id: str) -> None:
        await self.respond(lambda _: self.services.registry.get_artifact(id_arg("artifact", artifact_id)))

    @web.authenticated
    @authorized
    async def delete(self, artifact_id: str) -> None:
        await self.respond(
            lambda _: self.services.registry.delete_artifact(id_arg("artifact", artifact_id), self.actor)
        )


class DeploymentsHandler(MLOpsHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        await self.respond(
            lambda q: self.services.registry.list_deployments(
                model=q["model"],
                release_id=int_arg("release_id", q["release_id"]),
                environment=q["environment"],
                status=q["status"],
                as_of=q["as_of"],
                limit=q["limit"],
                cursor=q["cursor"],
            ),
            params=("model", "release_id", "environment", "status", "as_of", *PAGE),
        )

    @web.authenticated
    @authorized
    async def post(self) -> None:
        await self.respond(lambda _: self.services.registry.create_deployment(self.json_body(), self.actor), status=201)


class DeploymentHandler(MLOpsHandler):
    @web.authenticated
    @authorized
    async def get(self, deployment_id: str) -> None:
        await self.respond(lambda _: self.services.registry.get_deployment(id_arg("deployment", deployment_id)))

    @web.authenticated
    @authorized
    async def patch(self, deployment_id: str) -> None:
        await self.respond(
            lambda _: self.services.registry.update_deployment(
                id_arg("deployment", deployment_id), self.json_body(), self.actor
            )
        )

    @web.authenticated
    @authorized
    async def delete(self, deployment_id: str) -> None:
        await self.respond(
            lambda _: self.services.registry.delete_deployment(id_arg("deployment", deployment_id), self.actor)
        )


class AliasesHandler(MLOpsHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        await self.respond(lambda q: self.services.registry.list_aliases(**q), params=("model", *PAGE))


class AliasHandler(MLOpsHandler):
    @web.authenticated
    @authorized
    async def get(self, model: str, alias: str) -> None:
        await self.respond(lambda q: self.services.registry.get_alias(model, alias, **q), params=("as_of",))

    @web.authenticated
    @authorized
    async def put(self, model: str, alias: str) -> None:
        await self.respond(lambda _: self.services.registry.set_alias(model, alias, self.json_body(), self.actor))

    @web.authenticated
    @authorized
    async def delete(self, model: str, alias: str) -> None:
        await self.respond(lambda _: self.services.registry.delete_alias(model, alias, self.actor))


class AliasRollbackHandler(MLOpsHandler):
    @web.authenticated
    @authorized
    async def post(self, model: str, alias: str) -> None:
        await self.respond(lambda _: self.services.registry.rollback_alias(model, alias, self.actor))


class AliasHistoryHandler(MLOpsHandler):
    @web.authenticated
    @authorized
    async def get(self, name: str) -> None:
        await self.respond(lambda q: self.services.registry.alias_history(name, **q), params=("alias", *PAGE))


class AuditHandler(MLOpsHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        await self.respond(
            lambda q: self.services.registry.audit(**q), params=("model", "entity_type", "action", *PAGE)
        )


class JobsHandler(MLOpsHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        await self.respond(
            lambda q: self.services.jobs.list(
                state=q["state"], kind=q["kind"], active=self.flag("active"), limit=q["limit"], cursor=q["cursor"]
            ),
            params=("state", "kind", "active", *PAGE),
        )


class JobHandler(MLOpsHandler):
    @web.authenticated
    @authorized
    async def get(self, job_id: str) -> None:
        await self.respond(lambda _: self.services.jobs.get(id_arg("job", job_id)))


class JobLogHandler(MLOpsHandler):
    @web.authenticated
    @authorized
    async def get(self, job_id: str) -> None:
        await self.respond(
            lambda q: self.services.jobs.log(
                id_arg("job", job_id), after=int_arg("after", q["after"]) or 0, limit=q["limit"] or 500
            ),
            params=("after", "limit"),
        )


class JobCancelHandler(MLOpsHandler):
    @web.authenticated
    @authorized
    async def post(self, job_id: str) -> None:
        await self.respond(lambda _: self.services.jobs.cancel(id_arg("job", job_id)))


# -- dependency doctor ------------------------------------------------------------------
# The input rules are the doctor's own (jupyter_mlops.deps.rules); GET deps/status takes
# the same names as query parameters (lists comma-separated).

KERNEL_TIMEOUT = 10.0


class DepsHandlerBase(MLOpsHandler):
    """Shared by the deps verbs: find the target (asking a kernel, on the loop), then
    call one DepsService method in the executor thread."""

    def _fail(self, exc: MLOpsError) -> None:
        self.set_status(exc.status)
        self.finish(json.dumps(exc.to_dict()))

    async def _kernel_start(self, kernel_id: str) -> Path | None:
        """The folder of the notebook a kernel belongs to (its session's path), if any."""
        try:
            sessions = await self.session_manager.list_sessions()
        except Exception:  # no session manager: the workspace root is the start
            return None
        for session in sessions:
            if (session.get("kernel") or {}).get("id") == kernel_id and session.get("path"):
                root = Path(getattr(self.contents_manager, "root_dir", "") or ".")
                return (root / str(session["path"])).parent
        return None

    async def body_call(self, call: Callable[[Any, dict[str, Any]], Any], *, status: int = 200) -> None:
        """`deps_call` with the JSON body (no query parameters allowed)."""
        if self._finished:  # refused while the body streamed in
            return
        try:
            self.query()
            body = self.json_body()
        except MLOpsError as exc:
            self._fail(exc)
            return
        await self.deps_call(body, deps_rules().PLAN, call, status=status)

    async def deps_call(
        self,
        data: Any,
        shape: Shape,
        call: Callable[[Any, dict[str, Any]], Any],
        *,
        params: tuple[str, ...] = (),
        status: int = 200,
    ) -> None:
        """Validate `data` against `shape`, resolve the interpreter (kernel_id xor python)
        and run `call(target, fields)` in the executor; errors become JSON status codes."""
        from ..deps.kernel import kernel_python

        found = None
        try:
            self.query(*params)  # unknown query parameters first, before anything else
            fields = shape.for_create(data)
            kernel_id, python = deps_rules().interpreter_of(fields)
            start: Path | None = None
            if kernel_id is not None:
                found = await kernel_python(self.kernel_manager, kernel_id, timeout=KERNEL_TIMEOUT)
                python = found.python
                start = await self._kernel_start(kernel_id)
        except MLOpsError as exc:
            self._fail(exc)
            return

        def run(_: Query) -> Any:
            target = self.services.deps.target(
                python,
                fields.get("project") or None,
                start=start,
                extras=fields.get("extras"),
                groups=fields.get("groups"),
                requirement_files=fields.get("requirement_files"),
                known_pythons=[found.python] if found is not None else [],
            )
            answer = call(target, fields)
            if found is not None and isinstance(answer, dict):
                answer = {**answer, "kernel": found.to_dict()}
            return answer

        await self.respond(run, params=params, status=status)


def deps_rules() -> Any:
    """The doctor's rules module (light: no SQLAlchemy, no subprocess)."""
    from ..deps import rules

    return rules


def _split(value: str | None) -> list[str] | None:
    """A comma-separated query value as a list (absent: None; empty: [])."""
    if value is None:
        return None
    return [part.strip() for part in value.split(",") if part.strip()]


class DepsStatusHandler(DepsHandlerBase):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        rules = deps_rules()
        names = tuple(rules.TARGET_FIELDS)
        try:
            q = self.query(*names)
        except MLOpsError as exc:
            self._fail(exc)
            return
        data = {k: (_split(v) if k in rules.LIST_FIELDS else (v or None)) for k, v in q.items() if v is not None}
        await self.deps_call(data, rules.TARGET, lambda t, _f: self.services.deps.check(t, self.actor), params=names)


class DepsPlanHandler(DepsHandlerBase):
    @web.authenticated
    @authorized
    async def post(self) -> None:
        await self.body_call(lambda t, f: self.services.deps.plan(t, self.actor, installer=f.get("installer")))


class DepsRepairHandler(DepsHandlerBase):
    @web.authenticated
    @authorized
    async def post(self) -> None:
        await self.body_call(
            lambda t, f: self.services.deps.repair(t, self.actor, installer=f.get("installer")), status=201
        )


class DepsHistoryHandler(MLOpsHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        await self.respond(lambda q: self.services.deps.history(**q), params=("python", *PAGE))


# -- model hub --------------------------------------------------------------------------
# Bodies are checked by the hub's own rules (jupyter_mlops.hub.rules); the routes table
# publishes the same Shapes. A repo id comes from the path as {org}/{name}, or {name} alone
# (the Hub's legacy canonical models, as gpt2).


def hub_rules() -> Any:
    """The hub's rules module (light: no SQLAlchemy, no huggingface_hub)."""
    from ..hub import rules

    return rules


class HubDownloadsHandler(MLOpsHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        await self.respond(
            lambda q: self.services.hub.downloads(active=self.flag("active"), limit=q["limit"], cursor=q["cursor"]),
            params=("active", *PAGE),
        )

    @web.authenticated
    @authorized
    async def post(self) -> None:
        await self.respond(lambda _: self.services.hub.start_download(self.json_body(), self.actor), status=201)


class HubDownloadCancelHandler(MLOpsHandler):
    @web.authenticated
    @authorized
    async def post(self, job_id: str) -> None:
        await self.respond(lambda _: self.services.hub.cancel(id_arg("job", job_id)))


class HubModelsHandler(MLOpsHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        await self.respond(lambda q: self.services.hub.list_local(**q), params=("q", *PAGE))


class _CachedModel(MLOpsHandler):
    """What the handlers of one cached model share: show, delete and register it by repo id."""

    async def show(self, repo_id: str) -> None:
        await self.respond(lambda _: self.services.hub.get_local(repo_id))

    async def remove(self, repo_id: str) -> None:
        await self.respond(
            lambda q: self.services.hub.delete(
                repo_id,
                revision=q["revision"] or None,
                files=_split(q["files"]) or None,
                force=self.flag("force"),
                actor=self.actor,
            ),
            params=("revision", "files", "force"),
        )

    async def register(self, repo_id: str) -> None:
        def run(_: Query) -> Any:
            body = hub_rules().REGISTER.for_create(self.json_body())
            return self.services.hub.create_model(repo_id, body.get("revision") or "main", body.get("name"), self.actor)

        await self.respond(run, status=201)


class HubModelHandler(_CachedModel):
    @web.authenticated
    @authorized
    async def get(self, org: str, name: str) -> None:
        await self.show(f"{org}/{name}")

    @web.authenticated
    @authorized
    async def delete(self, org: str, name: str) -> None:
        await self.remove(f"{org}/{name}")


class HubRegisterHandler(_CachedModel):
    @web.authenticated
    @authorized
    async def post(self, org: str, name: str) -> None:
        await self.register(f"{org}/{name}")


class HubSingleModelHandler(_CachedModel):
    """A single-part repo id (the Hub's legacy canonical models, as gpt2); POST registers it
    (`{name}/register` would read as a two-part id)."""

    @web.authenticated
    @authorized
    async def get(self, name: str) -> None:
        await self.show(name)

    @web.authenticated
    @authorized
    async def delete(self, name: str) -> None:
        await self.remove(name)

    @web.authenticated
    @authorized
    async def post(self, name: str) -> None:
        await self.register(name)


class HubDefaultModelHandler(MLOpsHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        await self.respond(lambda _: self.services.hub.default_model() or {"name": None, "model": None})

    @web.authenticated
    @authorized
    async def put(self) -> None:
        def run(_: Query) -> Any:
            name = hub_rules().DEFAULT_MODEL.for_create(self.json_body())["name"]
            return self.services.hub.set_default_model(name, self.actor)

        await self.respond(run)

    @web.authenticated
    @authorized
    async def delete(self) -> None:
        await self.respond(
            lambda _: self.services.hub.set_default_model(None, self.actor) or {"name": None, "model": None}
        )


# -- image builds -----------------------------------------------------------------------


class BuildsHandler(MLOpsHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        await self.respond(
            lambda q: self.services.builds.list(
                model=q["model"],
                release_id=int_arg("release_id", q["release_id"]),
                active=self.flag("active"),
                limit=q["limit"],
                cursor=q["cursor"],
            ),
            params=("model", "release_id", "active", *PAGE),
        )

    @web.authenticated
    @authorized
    async def post(self) -> None:
        await self.respond(lambda _: self.services.builds.start(self.json_body(), self.actor), status=201)


class BuildHandler(MLOpsHandler):
    @web.authenticated
    @authorized
    async def get(self, build_id: str) -> None:
        await self.respond(lambda _: self.services.builds.get(id_arg("build", build_id)))


class BuildLogHandler(MLOpsHandler):
    @web.authenticated
    @authorized
    async def get(self, build_id: str) -> None:
        await self.respond(
            lambda q: self.services.builds.log(
                id_arg("build", build_id), after=int_arg("after", q["after"]) or 0, limit=q["limit"] or 500
            ),
            params=("after", "limit"),
        )


class BuildCancelHandler(MLOpsHandler):
    @web.authenticated
    @authorized
    async def post(self, build_id: str) -> None:
        await self.respond(lambda _: self.services.builds.cancel(id_arg("build", build_id)))


class BuildPushHandler(MLOpsHandler):
    @web.authenticated
    @authorized
    async def post(self, build_id: str) -> None:
        await self.respond(
            lambda _: self.services.builds.push(id_arg("build", build_id), self.json_body(), self.actor), status=201
        )
