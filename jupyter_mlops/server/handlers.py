"""REST handlers: each verb names its query parameters, calls one service method
and writes JSON. Blocking work runs in a thread (see `MLOpsHandler.respond`)."""
from __future__ import annotations

from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from .base import MLOpsHandler, id_arg, int_arg

PAGE = ("limit", "cursor")
Query = dict[str, Any]


class HealthHandler(MLOpsHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        def run(_: Query) -> dict[str, Any]:
            svc = self.services
            return {"status": "ok", "store_revision": svc.store.current_revision(),
                    "worker_alive": svc.jobs.has_live_worker(), "workspace": str(svc.workspace.root)}

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
        await self.respond(lambda q: self.services.registry.list_models(**q),
                           params=("q", "tag", "base_model", "company", "status", *PAGE))

    @web.authenticated
    @authorized
    async def post(self) -> None:
        await self.respond(lambda _: self.services.registry.create_model(self.json_body(), self.actor), status=201)


class ModelHandler(MLOpsHandler):
    @web.authenticated
    @authorized
    async def get(self, name: str) -> None:
        await self.respond(lambda _: self.services.registry.get_model(name))

    @web.authenticated
    @authorized
    async def patch(self, name: str) -> None:
        await self.respond(lambda _: self.services.registry.update_model(name, self.json_body(), self.actor))

    @web.authenticated
    @authorized
    async def delete(self, name: str) -> None:
        await self.respond(lambda _: self.services.registry.delete_model(
            name, self.actor, cascade=self.flag("cascade")), params=("cascade",))


class ReleasesHandler(MLOpsHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        await self.respond(lambda q: self.services.registry.list_releases(**q),
                           params=("model", "status", "quantization", "version", *PAGE))

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
        await self.respond(lambda _: self.services.registry.update_release(
            id_arg("release", release_id), self.json_body(), self.actor))

    @web.authenticated
    @authorized
    async def delete(self, release_id: str) -> None:
        await self.respond(lambda _: self.services.registry.delete_release(
            id_arg("release", release_id), self.actor, cascade=self.flag("cascade")), params=("cascade",))


class ReleaseTransitionHandler(MLOpsHandler):
    @web.authenticated
    @authorized
    async def post(self, release_id: str, action: str) -> None:
        await self.respond(lambda _: self.services.registry.transition(
            id_arg("release", release_id), action, self.actor))


class ArtifactsHandler(MLOpsHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        await self.respond(lambda q: self.services.registry.list_artifacts(
            **{**q, "release_id": int_arg("release_id", q["release_id"])}),
            params=("model", "release_id", "kind", *PAGE))

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
        await self.respond(lambda _: self.services.registry.delete_artifact(
            id_arg("artifact", artifact_id), self.actor))


class DeploymentsHandler(MLOpsHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        await self.respond(lambda q: self.services.registry.list_deployments(
            **{**q, "release_id": int_arg("release_id", q["release_id"])}),
            params=("model", "release_id", "environment", "status", *PAGE))

    @web.authenticated
    @authorized
    async def post(self) -> None:
        await self.respond(lambda _: self.services.registry.create_deployment(self.json_body(), self.actor),
                           status=201)


class DeploymentHandler(MLOpsHandler):
    @web.authenticated
    @authorized
    async def get(self, deployment_id: str) -> None:
        await self.respond(lambda _: self.services.registry.get_deployment(id_arg("deployment", deployment_id)))

    @web.authenticated
    @authorized
    async def patch(self, deployment_id: str) -> None:
        await self.respond(lambda _: self.services.registry.update_deployment(
            id_arg("deployment", deployment_id), self.json_body(), self.actor))

    @web.authenticated
    @authorized
    async def delete(self, deployment_id: str) -> None:
        await self.respond(lambda _: self.services.registry.delete_deployment(
            id_arg("deployment", deployment_id), self.actor))


class AliasesHandler(MLOpsHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        await self.respond(lambda q: self.services.registry.list_aliases(**q), params=("model", *PAGE))


class AliasHandler(MLOpsHandler):
    @web.authenticated
    @authorized
    async def get(self, model: str, alias: str) -> None:
        await self.respond(lambda _: self.services.registry.get_alias(model, alias))

    @web.authenticated
    @authorized
    async def put(self, model: str, alias: str) -> None:
        await self.respond(lambda _: self.services.registry.set_alias(model, alias, self.json_body(), self.actor))

    @web.authenticated
    @authorized
    async def delete(self, model: str, alias: str) -> None:
        await self.respond(lambda _: self.services.registry.delete_alias(model, alias, self.actor))


class AuditHandler(MLOpsHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        await self.respond(lambda q: self.services.registry.audit(**q),
                           params=("model", "entity_type", "action", *PAGE))


class JobsHandler(MLOpsHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        await self.respond(lambda q: self.services.jobs.list(**{**q, "active": self.flag("active")}),
                           params=("state", "kind", "active", *PAGE))


class JobHandler(MLOpsHandler):
    @web.authenticated
    @authorized
    async def get(self, job_id: str) -> None:
        await self.respond(lambda _: self.services.jobs.get(id_arg("job", job_id)))


class JobLogHandler(MLOpsHandler):
    @web.authenticated
    @authorized
    async def get(self, job_id: str) -> None:
        await self.respond(lambda q: self.services.jobs.log(
            id_arg("job", job_id), after=int_arg("after", q["after"]) or 0, limit=q["limit"] or 500),
            params=("after", "limit"))


class JobCancelHandler(MLOpsHandler):
    @web.authenticated
    @authorized
    async def post(self, job_id: str) -> None:
        await self.respond(lambda _: self.services.jobs.cancel(id_arg("job", job_id)))
