"""JSON Schemas of what the REST verbs answer, published under `components.schemas` of
the OpenAPI document. The sidebar's TypeScript types are generated from them
(labextension/scripts/openapi-types.py) and tests check real answers against them."""

from __future__ import annotations

from typing import Any

from ..registry import rules as registry_rules
from ..registry.roles import ROLES

Schema = dict[str, Any]

STR: Schema = {"type": "string"}
INT: Schema = {"type": "integer"}
NUM: Schema = {"type": "number"}
BOOL: Schema = {"type": "boolean"}
TIME: Schema = {"type": "string", "format": "date-time"}
JSON_OBJECT: Schema = {"type": "object", "description": "free-form JSON object"}


def nullable(schema: Schema) -> Schema:
    """`schema` or null."""
    return {"anyOf": [schema, {"type": "null"}]}


def array(items: Schema) -> Schema:
    return {"type": "array", "items": items}


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def enum(values: tuple[str, ...] | list[str]) -> Schema:
    return {"type": "string", "enum": list(values)}


def obj(properties: dict[str, Schema], optional: tuple[str, ...] = (), description: str = "") -> Schema:
    """A closed object: every property required except `optional` ones."""
    schema: Schema = {
        "type": "object",
        "additionalProperties": False,
        "properties": properties,
        "required": [name for name in properties if name not in optional],
    }
    if description:
        schema["description"] = description
    return schema


def counts(names: tuple[str, ...]) -> Schema:
    return obj(dict.fromkeys(names, INT))


def page(item: str) -> Schema:
    """One page of a list: `items` and the cursor of the next page (null on the last)."""
    return obj({"items": array(ref(item)), "next_cursor": nullable(STR)}, description=f"a page of {item}")


JOB_STATES = ("queued", "running", "succeeded", "failed", "cancelled", "interrupted")
DEPS_STATES = ("ok", "missing", "outdated", "protected", "skipped")
NULL_STR, NULL_INT, NULL_NUM, NULL_TIME = nullable(STR), nullable(INT), nullable(NUM), nullable(TIME)

_DISK = obj(
    {"path": STR, "used_bytes": INT, "disk_total_bytes": INT, "disk_used_bytes": INT, "disk_free_bytes": INT},
    description="bytes under a folder, and its file system's figures",
)
_JOB = obj(
    {
        "id": INT,
        "kind": STR,
        "params": JSON_OBJECT,
        "state": enum(JOB_STATES),
        "owner": STR,
        "place": nullable(
            obj(
                {"host": STR, "workspace": STR},
                description="where it must run: the host and workspace whose files it acts on; null: any worker",
            )
        ),
        "progress": ref("JobProgress"),
        "message": STR,
        "error": NULL_STR,
        "result": nullable(JSON_OBJECT),
        "cancel_requested": BOOL,
        "log_count": INT,
        "created_at": TIME,
        "started_at": NULL_TIME,
        "finished_at": NULL_TIME,
        "elapsed_seconds": NULL_NUM,
        "deduplicated": {"const": True, "description": "an active twin was answered instead of a new job"},
    },
    optional=("deduplicated",),
)
_RELEASE = obj(
    {
        "id": INT,
        "model": STR,
        "model_id": INT,
        "version": STR,
        "quantization": STR,
        "release_notes": NULL_STR,
        "status": enum(registry_rules.RELEASE_STATUSES),
        "metadata": JSON_OBJECT,
        "auto_build": BOOL,
        "mlflow_run": {**NULL_STR, "description": "the MLflow run it came from, as runs:/<run id>"},
        "created_at": TIME,
        "updated_at": TIME,
        "build": obj({"id": INT, "job_id": NULL_INT, "tag": STR}, description="the build auto_build queued"),
    },
    optional=("build",),
)
_BUILD = obj(
    {
        "id": INT,
        "release_id": NULL_INT,
        "model": STR,
        "version": STR,
        "quantization": STR,
        "job_id": NULL_INT,
        "tag": STR,
        "options": JSON_OBJECT,
        "context_hash": NULL_STR,
        "context_bytes": NULL_INT,
        "needed_bytes": NULL_INT,
        "context_files": NULL_INT,
        "image_id": NULL_STR,
        "image_size": NULL_INT,
        "reused": BOOL,
        "duration_s": NULL_NUM,
        "run_check": nullable(JSON_OBJECT),
        "created_by": STR,
        "created_at": TIME,
        "finished_at": NULL_TIME,
        "state": enum((*JOB_STATES, "unknown")),
        "message": STR,
        "error": NULL_STR,
        "progress": nullable(obj({"done": NUM, "total": NULL_NUM, "unit": STR, "rate": NULL_NUM})),
        "pushes": array(ref("BuildPush")),
        "deduplicated": {"const": True},
    },
    optional=("pushes", "deduplicated"),
)
_PUSH = obj(
    {
        "id": INT,
        "build_id": INT,
        "job_id": NULL_INT,
        "reference": STR,
        "digest": NULL_STR,
        "state": enum((*JOB_STATES, "unknown")),
        "error": NULL_STR,
        "created_by": STR,
        "created_at": TIME,
        "pushed_at": NULL_TIME,
        "deduplicated": {"const": True},
    },
    optional=("deduplicated",),
)
_DEPS_ROW = obj(
    {
        "name": STR,
        "key": STR,
        "state": enum(DEPS_STATES),
        "specifier": STR,
        "installed": NULL_STR,
        "protected": BOOL,
        "reason": STR,
        "requirements": array(STR),
        "sources": array(STR),
        "extras": array(STR),
        "constraints": array(STR),
    },
    description="one declared distribution: ok, missing, outdated, ... (and protected with its reason)",
)
_DEPS_STATUS = obj(
    {
        "project": STR,
        "python": NULL_STR,
        "rows": array(ref("DepsRow")),
        "broken": array(
            obj(
                {
                    "name": STR,
                    "version": STR,
                    "requirement": STR,
                    "dependency": STR,
                    "installed": NULL_STR,
                    "kind": enum(("missing", "conflict")),
                    "message": STR,
                }
            )
        ),
        "protected": {"type": "object", "additionalProperties": STR, "description": "key -> why it is protected"},
        "unsupported": array(obj({"text": STR, "source": STR, "reason": STR, "key": NULL_STR})),
        "index_options": array(STR),
        "summary": {"type": "object", "additionalProperties": INT},
        "needs_fix": BOOL,
    }
)
_DEPS_ENV = obj(
    {
        "python": STR,
        "prefix": STR,
        "python_version": STR,
        "distributions": INT,
        "pip": NULL_STR,
        "uv": NULL_STR,
        "writable": BOOL,
        "externally_managed": BOOL,
        "accelerator": obj(
            {
                "platform": STR,
                "torch_version": NULL_STR,
                "hip": NULL_STR,
                "cuda": NULL_STR,
                "xpu": NULL_STR,
                "source": STR,
                "host": obj({"rocm": BOOL, "kfd": BOOL, "nvidia": BOOL}),
            }
        ),
    },
    description="the interpreter checked",
)
_KERNEL = obj(
    {"python": STR, "prefix": NULL_STR, "source": enum(("kernel", "kernelspec")), "kernel_name": STR, "detail": STR},
    description="how a kernel's interpreter was found",
)
_DEPS_PLAN = obj(
    {
        "installer": STR,
        "requirements": array(STR),
        "constraints": array(STR),
        "changes": array(
            obj(
                {
                    "name": STR,
                    "before": NULL_STR,
                    "after": STR,
                    "requested": BOOL,
                    "kind": enum(("install", "upgrade", "downgrade", "change")),
                }
            )
        ),
        "held_back": array({"type": "object", "additionalProperties": STR}),
        "problems": array(STR),
        "resolver_error": NULL_STR,
        "ok": BOOL,
    }
)
_DEPS_ANSWER = {
    "environment": ref("DepsEnvironment"),
    "status": ref("DepsStatus"),
    "run_id": INT,
    "kernel": ref("KernelPython"),
}
_HUB_REVISION = obj(
    {
        "commit": STR,
        "refs": array(STR),
        "size_on_disk": INT,
        "file_count": INT,
        "files": array(STR),
        "last_modified": NULL_TIME,
        "snapshot_path": STR,
    }
)
_HUB_MODEL = obj(
    {
        "repo_id": STR,
        "path": STR,
        "size_on_disk": INT,
        "file_count": INT,
        "last_accessed": NULL_TIME,
        "last_modified": NULL_TIME,
        "revisions": array(ref("HubRevision")),
        "downloading": {"type": "boolean", "description": "a download of it is queued or running (lists only)"},
    },
    optional=("downloading",),
)

SCHEMAS: dict[str, Schema] = {
    "Health": obj(
        {
            "status": enum(("ok",)),
            "version": STR,
            "store_revision": NULL_STR,
            "worker_alive": BOOL,
            "workspace": STR,
            "store": {**STR, "description": "the store's URL, password hidden"},
            "user": {**STR, "description": "who the caller is, as the audit history records them"},
            "role": {**enum(ROLES), "description": "the caller's role on the registry"},
            "protected_aliases": {**array(STR), "description": "aliases only release managers may set or move"},
        }
    ),
    "Dashboard": obj(
        {
            "counts": obj(
                {
                    "models": INT,
                    "releases": INT,
                    "artifacts": INT,
                    "deployments": INT,
                    "releases_by_status": counts(registry_rules.RELEASE_STATUSES),
                    "deployments_by_status": counts(registry_rules.DEPLOYMENT_STATUSES),
                }
            ),
            "recent_releases": array(ref("Release")),
            "recent_deployments": array(ref("Deployment")),
            "jobs": counts(JOB_STATES),
            "storage": obj({"workspace": ref("DiskUsage"), "models": ref("DiskUsage")}),
            "workspace": obj(
                {"path": STR, "store": STR}, description="the workspace folder and the store's URL (password hidden)"
            ),
        }
    ),
    "DiskUsage": _DISK,
    "Deleted": obj(
        {"deleted": {"type": ["string", "integer"]}, "releases_deleted": INT}, optional=("releases_deleted",)
    ),
    "Model": obj(
        {
            "id": INT,
            "name": STR,
            "storage_path": STR,
            "repository": NULL_STR,
            "company": NULL_STR,
            "base_model": NULL_STR,
            "parameter_count": NULL_INT,
            "description": NULL_STR,
            "tags": array(STR),
            "metadata": JSON_OBJECT,
            "created_at": TIME,
            "updated_at": TIME,
            "release_count": INT,
            "aliases": {
                "type": "object",
                "additionalProperties": INT,
                "description": "alias -> release id (one model only)",
            },
            "stored": {
                **nullable(obj({"files": INT, "bytes": INT})),
                "description": "files and bytes at storage_path as its last scan found them (null: never scanned)",
            },
        },
        optional=("release_count", "aliases", "stored"),
    ),
    "Release": _RELEASE,
    "StorageObjects": obj(
        {
            "uri": STR,
            "items": array(obj({"key": STR, "size": INT, "modified": NULL_TIME})),
            "files": INT,
            "bytes": INT,
            "truncated": BOOL,
        }
    ),
    "Artifact": obj(
        {
            "id": INT,
            "model_id": NULL_INT,
            "release_id": NULL_INT,
            "name": STR,
            "path": STR,
            "kind": enum(registry_rules.ARTIFACT_KINDS),
            "size": NULL_INT,
            "sha256": NULL_STR,
            "created_at": TIME,
        }
    ),
    "MlflowRun": obj(
        {
            "release_id": INT,
            "run_id": STR,
            "experiment_id": NULL_STR,
            "run_name": NULL_STR,
            "status": NULL_STR,
            "start_time": NULL_INT,
            "end_time": NULL_INT,
            "metrics": {"type": "object", "additionalProperties": {"type": ["number", "string", "null"]}},
            "params": {"type": "object", "additionalProperties": {"type": ["string", "null"]}},
            "tags": {"type": "object", "additionalProperties": {"type": ["string", "null"]}},
            "url": STR,
        }
    ),
    "Deployment": obj(
        {
            "id": INT,
            "release_id": INT,
            "model": STR,
            "version": STR,
            "quantization": STR,
            "environment": STR,
            "endpoint": NULL_STR,
            "status": enum(registry_rules.DEPLOYMENT_STATUSES),
            "notes": NULL_STR,
            "created_at": TIME,
            "updated_at": TIME,
        }
    ),
    "Alias": obj({"model": STR, "alias": STR, "release_id": INT}),
    "AliasTarget": obj(
        {
            "model": STR,
            "alias": STR,
            "release": ref("Release"),
            "rollback_to": {**NULL_INT, "description": "the release a rollback would move it to (null: none)"},
            "as_of": {**TIME, "description": "the time asked for (the release as it was then)"},
        },
        optional=("rollback_to", "as_of"),
    ),
    "AliasEvent": obj(
        {
            "id": INT,
            "model": STR,
            "alias": STR,
            "action": enum(registry_rules.ALIAS_ACTIONS),
            "release_id": {**NULL_INT, "description": "the target after the change (null: deleted)"},
            "previous_release_id": {**NULL_INT, "description": "the target before (null: none)"},
            "version": {**NULL_STR, "description": "of the target, while it exists"},
            "quantization": NULL_STR,
            "actor": STR,
            "at": TIME,
        },
        description="one change of an alias in its timeline",
    ),
    "AliasHistory": obj(
        {
            "items": array(ref("AliasEvent")),
            "next_cursor": NULL_STR,
            "rollback_to": {
                "type": "object",
                "additionalProperties": NULL_INT,
                "description": "alias -> the release a rollback would move it to (null: none), for the aliases "
                "the model has now",
            },
        },
        description="a page of an alias timeline, newest first",
    ),
    "AuditEvent": obj(
        {
            "id": INT,
            "at": TIME,
            "actor": STR,
            "action": STR,
            "entity_type": STR,
            "entity_id": STR,
            "model_id": NULL_INT,
            "before": nullable(JSON_OBJECT),
            "after": nullable(JSON_OBJECT),
        }
    ),
    "JobProgress": obj(
        {"done": NUM, "total": NULL_NUM, "unit": STR, "fraction": NULL_NUM, "rate": NULL_NUM, "eta_seconds": NULL_NUM},
        description="rate is units a second; unit is e.g. bytes",
    ),
    "Job": _JOB,
    "JobLogLine": obj({"seq": INT, "at": TIME, "stream": STR, "line": STR}),
    "JobLog": obj(
        {
            "job_id": INT,
            "state": enum(JOB_STATES),
            "lines": array(ref("JobLogLine")),
            "next_after": INT,
            "log_count": INT,
        },
        description="lines after `after`, oldest first; ask again with after=next_after",
    ),
    "DepsEnvironment": _DEPS_ENV,
    "KernelPython": _KERNEL,
    "DepsRow": _DEPS_ROW,
    "DepsStatus": _DEPS_STATUS,
    "DepsCheck": obj(_DEPS_ANSWER, optional=("kernel",)),
    "DepsPlan": _DEPS_PLAN,
    "DepsPlanAnswer": obj({**_DEPS_ANSWER, "plan": ref("DepsPlan")}, optional=("kernel",)),
    "DepsRun": obj(
        {
            "id": INT,
            "at": TIME,
            "actor": STR,
            "kind": enum(("check", "plan", "repair")),
            "python": STR,
            "project": STR,
            "job_id": NULL_INT,
            "needs_fix": BOOL,
            "summary": JSON_OBJECT,
        }
    ),
    "HubRevision": _HUB_REVISION,
    "HubModel": _HUB_MODEL,
    "HubModelPage": obj(
        {"items": array(ref("HubModel")), "next_cursor": NULL_STR, "cache_dir": STR, "size_on_disk": INT}
    ),
    "HubDeleted": obj(
        {
            "repo_id": STR,
            "revision": NULL_STR,
            "commits": array(STR),
            "files": array(STR),
            "scope": enum(("repo", "revision", "files")),
            "expected_freed_bytes": INT,
            "freed_bytes": INT,
            "forced": BOOL,
            "overridden": array(STR),
        }
    ),
    "DefaultModel": obj(
        {"name": NULL_STR, "model": nullable(ref("Model")), "updated_at": TIME, "updated_by": STR},
        optional=("updated_at", "updated_by"),
    ),
    "Build": _BUILD,
    "BuildPush": _PUSH,
}
for _item in ("Model", "Release", "Artifact", "Deployment", "Alias", "AuditEvent", "Job", "DepsRun", "Build"):
    SCHEMAS[f"{_item}Page"] = page(_item)
