"""The routes table: one row a path, with its handler and what each verb takes.
Tornado's URL patterns and the OpenAPI document are both made from it."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any

from jupyter_server.utils import url_path_join

from ..builds import rules as build_rules
from ..deps import rules as deps_rules
from ..hub import rules as hub_rules
from ..registry import rules
from ..storage import rules as storage_rules
from ..tracking import rules as tracking_rules
from . import handlers as h

API_PREFIX = ("mlops", "api")
#: One part of a Hugging Face repo id in a path (`{org}/{repo}`), as hub.rules.REPO_ID takes it.
_REPO_PART_SCHEMA = {
    "type": "string",
    "maxLength": hub_rules.PART_MAX,
    "pattern": f"^(?:{hub_rules.REPO_PART})$",
    "not": {"type": "string", "pattern": hub_rules.REPO_FORBID},
}
#: Path parameters and the text each matches.
PATH_PARAMS: dict[str, tuple[str, dict[str, Any]]] = {
    "name": (r"[^/]+", {"type": "string"}),
    "model": (r"[^/]+", {"type": "string"}),
    "org": (r"[^/]+", _REPO_PART_SCHEMA),
    "repo": (r"[^/]+", _REPO_PART_SCHEMA),
    "alias": (r"[^/]+", {"type": "string", "maxLength": 64, "pattern": f"^(?:{rules.ALIAS_PATTERN})$"}),
    "release_id": (r"\d+", {"type": "integer"}),
    "artifact_id": (r"\d+", {"type": "integer"}),
    "deployment_id": (r"\d+", {"type": "integer"}),
    "job_id": (r"\d+", {"type": "integer"}),
    "build_id": (r"\d+", {"type": "integer"}),
    "action": ("|".join(rules.TRANSITIONS), {"type": "string", "enum": list(rules.TRANSITIONS)}),
}
PAGE_PARAMS = {"limit": "page size, 1-500 (default 50)", "cursor": "next_cursor from the previous page"}


@dataclass(frozen=True)
class Op:
    """One verb on a route: what it does, its query parameters and its body schema."""

    summary: str
    query: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] | None = None
    status: int = 200
    response: str | None = None  #: name of the answer's schema in schemas.SCHEMAS
    #: a submit answered 200 (not 201) with the active twin when the same work is queued already
    dedupes: bool = False
    #: JSON Schemas of query parameters this verb checks in its own way (else openapi.QUERY_SCHEMAS)
    query_schemas: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class Route:
    """A path under /mlops/api, its handler class and its verbs."""

    path: str
    handler: type
    ops: dict[str, Op]

    @property
    def params(self) -> list[str]:
        return re.findall(r"{(\w+)}", self.path)

    def pattern(self) -> str:
        """The tornado regex for this path (without the prefix)."""
        return re.sub(r"{(\w+)}", lambda m: f"({PATH_PARAMS[m.group(1)][0]})", self.path)


def _filter(schema: dict[str, Any]) -> dict[str, Any]:
    """A list filter's schema: a value the field takes, or empty (no filter)."""
    return {"anyOf": [schema, {"type": "string", "maxLength": 0}]}


def _enum(values: tuple[str, ...]) -> dict[str, Any]:
    return _filter({"type": "string", "enum": list(values)})


def _paged(**query: str) -> dict[str, str]:
    return {**query, **PAGE_PARAMS}


DEPS_QUERY_DOC = {
    "kernel_id": "a running kernel's id (exactly one of kernel_id or python)",
    "python": "an interpreter path (exactly one of kernel_id or python)",
    "project": "project folder (default: found upward from the kernel's notebook folder, else the workspace root)",
    "extras": "comma-separated optional extras",
    "groups": "comma-separated dependency groups",
    "requirement_files": "comma-separated requirements files",
}
CASCADE = {"cascade": "true to delete what depends on it too"}
AS_OF = (
    "a past time, ISO 8601 (2026-05-01T12:00:00Z; without an offset, UTC): the answer as it was then, "
    "rebuilt from the history (404 when the model did not exist then)"
)
AS_OF_LIST = f"{AS_OF}; needs model"
_HUB_MODEL = Op("One cached model", response="HubModel")
_HUB_DELETE = Op(
    "Delete a cached model, a revision or files; 409 with the reason while in use unless force; "
    "answers the bytes freed",
    {
        "revision": "only this revision (branch, tag or commit)",
        "files": "comma-separated repo file paths or globs of the revision(s)",
        "force": "true to delete even if in use",
    },
    response="HubDeleted",
)
_REGISTER = Op(
    "Create a registry model from the downloaded repo (storage_path hf://org/name@commit)",
    body=hub_rules.REGISTER.create_schema(),
    status=201,
    response="Model",
)

ROUTES: tuple[Route, ...] = (
    Route("/health", h.HealthHandler, {"get": Op("Health: store revision, worker, workspace", response="Health")}),
    Route("/openapi.json", h.OpenAPIHandler, {"get": Op("This OpenAPI document")}),
    Route(
        "/dashboard",
        h.DashboardHandler,
        {
            "get": Op("Counts, recent releases and deployments, jobs, storage", response="Dashboard"),
        },
    ),
    Route(
        "/models",
        h.ModelsHandler,
        {
            "get": Op(
                "List models by name",
                _paged(
                    q="text in name or description",
                    tag="has this tag",
                    base_model="exact base model",
                    company="exact company",
                    status="has a release in this status",
                ),
                response="ModelPage",
                query_schemas={"status": _enum(rules.RELEASE_STATUSES)},
            ),
            "post": Op("Create a model", body=rules.MODEL.create_schema(), status=201, response="Model"),
        },
    ),
    Route(
        "/models/{name}",
        h.ModelHandler,
        {
            "get": Op("One model, with its release count and aliases", {"as_of": AS_OF}, response="Model"),
            "patch": Op("Change a model", body=rules.MODEL.update_schema(), response="Model"),
            "delete": Op("Delete a model (409 while it has releases unless cascade)", CASCADE, response="Deleted"),
        },
    ),
    Route(
        "/releases",
        h.ReleasesHandler,
        {
            "get": Op(
                "List releases, newest first",
                _paged(
                    model="model name",
                    status="release status",
                    quantization="quantization",
                    version="exact version",
                    as_of=AS_OF_LIST,
                ),
                response="ReleasePage",
                query_schemas={
                    "status": _enum(rules.RELEASE_STATUSES),
                    "quantization": _filter(rules.QUANTIZATION.json_schema()),
                },
            ),
            "post": Op(
                "Create a candidate release", body=rules.RELEASE.create_schema(), status=201, response="Release"
            ),
        },
    ),
    Route(
        "/releases/{release_id}",
        h.ReleaseHandler,
        {
            "get": Op("One release", response="Release"),
            "patch": Op(
                "Change notes, metadata, auto_build or the MLflow run",
                body=rules.RELEASE.update_schema(),
                response="Release",
            ),
            "delete": Op(
                "Delete a release (409 while deployed or with artifacts unless cascade)", CASCADE, response="Deleted"
            ),
        },
    ),
    Route(
        "/releases/{release_id}/run",
        h.ReleaseRunHandler,
        {
            "get": Op(
                "The MLflow run a release came from, as the tracking server has it now: status, metrics, params, "
                "a link (404: the release records no run, or MLflow has no such run; 400: no tracking server is "
                "configured; 503: it cannot be reached)",
                response="MlflowRun",
            ),
        },
    ),
    Route(
        "/mlflow/imports",
        h.MlflowImportsHandler,
        {
            "post": Op(
                "Import registered models (all, or `names`) from the MLflow tracking server as a job (201); one "
                "already queued or running is answered instead (200, deduplicated: true)",
                body=tracking_rules.IMPORT.create_schema(),
                status=201,
                dedupes=True,
                response="Job",
            ),
        },
    ),
    Route(
        "/storage/scans",
        h.StorageScansHandler,
        {
            "post": Op(
                "Scan a model's files at its storage_path (s3:// or a folder) into artifacts with size and sha256, "
                "as a job (201) whose result says what was added, changed and removed since the last scan; one "
                "already queued or running is answered instead (200, deduplicated: true)",
                body=storage_rules.SCAN.create_schema(),
                status=201,
                dedupes=True,
                response="Job",
            ),
        },
    ),
    Route(
        "/storage/fetches",
        h.StorageFetchesHandler,
        {
            "post": Op(
                "Fetch the objects under an s3:// prefix into the local content-addressed cache, as a job (201)",
                body=storage_rules.FETCH.create_schema(),
                status=201,
                dedupes=True,
                response="Job",
            ),
        },
    ),
    Route(
        "/storage/publishes",
        h.StoragePublishesHandler,
        {
            "post": Op(
                "Upload a folder on this machine (or a model's files) to an s3:// prefix, verify each object's "
                "size and sha256, then register the model there, as a job (201)",
                body=storage_rules.PUBLISH.create_schema(),
                status=201,
                dedupes=True,
                response="Job",
            ),
        },
    ),
    Route(
        "/storage/objects",
        h.StorageObjectsHandler,
        {
            "get": Op(
                "The objects under an s3:// prefix with their sizes (the first 1,000), and the totals",
                query={"uri": "s3://bucket/prefix"},
                response="StorageObjects",
                query_schemas={"uri": {"type": "string", "pattern": f"^(?:{rules.S3_URI})$", "maxLength": 1024}},
            ),
        },
    ),
    Route(
        "/releases/{release_id}/{action}",
        h.ReleaseTransitionHandler,
        {
            "post": Op("Promote, demote or deprecate a release", response="Release"),
        },
    ),
    Route(
        "/artifacts",
        h.ArtifactsHandler,
        {
            "get": Op(
                "List artifacts",
                _paged(model="model name", release_id="release id", kind="artifact kind"),
                response="ArtifactPage",
            ),
            "post": Op(
                "Record an artifact of a release or a model",
                body=rules.ARTIFACT.create_schema(),
                status=201,
                response="Artifact",
            ),
        },
    ),
    Route(
        "/artifacts/{artifact_id}",
        h.ArtifactHandler,
        {
            "get": Op("One artifact", response="Artifact"),
            "delete": Op("Forget an artifact", response="Deleted"),
        },
    ),
    Route(
        "/deployments",
        h.DeploymentsHandler,
        {
            "get": Op(
                "List deployments",
                _paged(
                    model="model name",
                    release_id="release id",
                    environment="environment",
                    status="deployment status",
                    as_of=AS_OF_LIST,
                ),
                response="DeploymentPage",
                query_schemas={"status": _enum(rules.DEPLOYMENT_STATUSES)},
            ),
            "post": Op("Record a deployment", body=rules.DEPLOYMENT.create_schema(), status=201, response="Deployment"),
        },
    ),
    Route(
        "/deployments/{deployment_id}",
        h.DeploymentHandler,
        {
            "get": Op("One deployment", response="Deployment"),
            "patch": Op(
                "Change endpoint, status or notes", body=rules.DEPLOYMENT.update_schema(), response="Deployment"
            ),
            "delete": Op("Forget a deployment", response="Deleted"),
        },
    ),
    Route("/aliases", h.AliasesHandler, {"get": Op("List aliases", _paged(model="model name"), response="AliasPage")}),
    Route(
        "/aliases/{model}/{alias}",
        h.AliasHandler,
        {
            "get": Op(
                "The release an alias points at, and where a rollback would move it",
                {"as_of": AS_OF},
                response="AliasTarget",
            ),
            "put": Op(
                "Point an alias at a release of the model", body=rules.ALIAS_TARGET.create_schema(), response="Alias"
            ),
            "delete": Op("Remove an alias", response="Deleted"),
        },
    ),
    Route(
        "/aliases/{model}/{alias}/rollback",
        h.AliasRollbackHandler,
        {
            "post": Op(
                "Move the alias back to its previous target (the one before the current; again, the one before "
                "that); 409, changing nothing, when it has had none or that release was deleted",
                response="AliasEvent",
            ),
        },
    ),
    Route(
        "/models/{name}/alias-history",
        h.AliasHistoryHandler,
        {
            "get": Op(
                "The timeline of the model's aliases, newest first: every target each had (set, move, delete, "
                "rollback, import), who and when; rollback_to says where a rollback would go",
                _paged(alias="only this alias"),
                response="AliasHistory",
            ),
        },
    ),
    Route(
        "/audit",
        h.AuditHandler,
        {
            "get": Op(
                "Audit history, newest first",
                _paged(
                    model="model name", entity_type="model, release, ...", action="create, update, delete, promote, ..."
                ),
                response="AuditEventPage",
            ),
        },
    ),
    Route(
        "/jobs",
        h.JobsHandler,
        {
            "get": Op(
                "List jobs, newest first",
                _paged(state="job state", kind="job kind", active="true for queued and running only"),
                response="JobPage",
            ),
        },
    ),
    Route("/jobs/{job_id}", h.JobHandler, {"get": Op("One job with progress", response="Job")}),
    Route(
        "/jobs/{job_id}/log",
        h.JobLogHandler,
        {
            "get": Op(
                "Log lines after a sequence number",
                {"after": "last seq already seen (default 0)", "limit": "at most this many lines (default 500)"},
                response="JobLog",
            ),
        },
    ),
    Route("/jobs/{job_id}/cancel", h.JobCancelHandler, {"post": Op("Cancel a queued or running job", response="Job")}),
    Route(
        "/deps/status",
        h.DepsStatusHandler,
        {
            "get": Op(
                "Dependency status of a kernel's (or an interpreter's) environment against a project",
                DEPS_QUERY_DOC,
                response="DepsCheck",
            ),
        },
    ),
    Route(
        "/deps/plan",
        h.DepsPlanHandler,
        {
            "post": Op(
                "Check, then the dry-run plan that would fix it (nothing installed)",
                body=deps_rules.PLAN.create_schema(),
                response="DepsPlanAnswer",
            ),
        },
    ),
    Route(
        "/deps/repair",
        h.DepsRepairHandler,
        {
            "post": Op(
                "Queue the repair job (protected accelerator builds are never touched); returns the job",
                body=deps_rules.PLAN.create_schema(),
                status=201,
                dedupes=True,
                response="Job",
            ),
        },
    ),
    Route(
        "/deps/history",
        h.DepsHistoryHandler,
        {
            "get": Op(
                "Checks, plans and repairs, newest first",
                _paged(python="only this interpreter"),
                response="DepsRunPage",
            ),
        },
    ),
    # model hub: a repo id org/name is the two path parts {model}/{name}
    Route(
        "/hub/downloads",
        h.HubDownloadsHandler,
        {
            "get": Op(
                "Download jobs, newest first", _paged(active="true for queued and running only"), response="JobPage"
            ),
            "post": Op(
                "Queue a Hugging Face download (201); the same repo@revision already queued or running "
                "is answered instead (200, deduplicated: true). The token is never stored or echoed",
                body=hub_rules.DOWNLOAD.create_schema(),
                status=201,
                dedupes=True,
                response="Job",
            ),
        },
    ),
    Route(
        "/hub/downloads/{job_id}/cancel",
        h.HubDownloadCancelHandler,
        {
            "post": Op("Cancel a download job", response="Job"),
        },
    ),
    Route(
        "/hub/models",
        h.HubModelsHandler,
        {
            "get": Op(
                "Models in the local cache by repo id: revisions, size, files, times",
                _paged(q="text in the repo id"),
                response="HubModelPage",
            ),
        },
    ),
    Route("/hub/models/{org}/{repo}", h.HubModelHandler, {"get": _HUB_MODEL, "delete": _HUB_DELETE}),
    Route("/hub/models/{org}/{repo}/register", h.HubRegisterHandler, {"post": _REGISTER}),
    # a single-part repo id (the Hub's legacy canonical models, as gpt2): POST registers it, as
    # `/register` does for two parts (`gpt2/register` would read as a two-part id)
    Route(
        "/hub/models/{repo}",
        h.HubSingleModelHandler,
        {
            "get": _HUB_MODEL,
            "delete": _HUB_DELETE,
            "post": dataclasses.replace(_REGISTER, summary=_REGISTER.summary + "; a single-part id (as gpt2)"),
        },
    ),
    Route(
        "/hub/default-model",
        h.HubDefaultModelHandler,
        {
            "get": Op("The workspace's default model", response="DefaultModel"),
            "put": Op(
                "Make a registry model the default",
                body=hub_rules.DEFAULT_MODEL.create_schema(),
                response="DefaultModel",
            ),
            "delete": Op("Clear the default model", response="DefaultModel"),
        },
    ),
    Route(
        "/builds",
        h.BuildsHandler,
        {
            "get": Op(
                "Image builds, newest first, with state and progress",
                _paged(model="model name", release_id="release id", active="true for queued and running only"),
                response="BuildPage",
            ),
            "post": Op(
                "Queue a Docker image build of a release (201); an active build of the same release and tag "
                "is answered instead (200, deduplicated: true). 503 when no Docker daemon answers",
                body=build_rules.BUILD.create_schema(),
                status=201,
                dedupes=True,
                response="Build",
            ),
        },
    ),
    Route(
        "/builds/{build_id}",
        h.BuildHandler,
        {
            "get": Op("One build: options, image, context, run check, pushes", response="Build"),
        },
    ),
    Route(
        "/builds/{build_id}/log",
        h.BuildLogHandler,
        {
            "get": Op(
                "The build's log lines after a sequence number",
                {"after": "last seq already seen (default 0)", "limit": "at most this many lines (default 500)"},
                response="JobLog",
            ),
        },
    ),
    Route(
        "/builds/{build_id}/cancel",
        h.BuildCancelHandler,
        {
            "post": Op("Cancel a queued or running build", response="Build"),
        },
    ),
    Route(
        "/builds/{build_id}/push",
        h.BuildPushHandler,
        {
            "post": Op(
                "Queue a push of the build's image to a registry (201); credentials are never stored",
                body=build_rules.PUSH.create_schema(),
                status=201,
                dedupes=True,
                response="BuildPush",
            ),
        },
    ),
)


def handlers() -> list[tuple[str, type]]:
    """Tornado (pattern, handler) pairs under `mlops/api`, then a JSON 404 for any other path
    there; the extension app puts base_url in front."""
    from .base import NotFoundHandler

    routes = [(url_path_join(*API_PREFIX, route.pattern().lstrip("/")), route.handler) for route in ROUTES]
    return [*routes, (url_path_join(*API_PREFIX, "(.*)"), NotFoundHandler)]
