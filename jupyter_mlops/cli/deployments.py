"""Deployments (a release running in an environment) and artifacts (files of a release or a
model): list, show, create, update a deployment's status, delete."""

from __future__ import annotations

import argparse

from .render import Result, page_result
from .tree import Context, Tree, given, id_type, paging

DEPLOYMENT_COLUMNS = ("id", "model", "version", "quantization", "environment", "status", "endpoint", "updated_at")
ARTIFACT_COLUMNS = ("id", "name", "kind", "release_id", "path", "size", "created_at")


def deployment_title(d: dict[str, object]) -> str:
    """`deployment 3: m1 1.0 (int8) in prod, active`."""
    quant = "" if d["quantization"] == "none" else f" ({d['quantization']})"
    return f"deployment {d['id']}: {d['model']} {d['version']}{quant} in {d['environment']}, {d['status']}"


def _deployments_list(ctx: Context, a: argparse.Namespace) -> Result:
    answer = ctx.services.registry.list_deployments(
        model=a.model,
        release_id=a.release,
        environment=a.environment,
        status=a.status,
        as_of=a.as_of,
        limit=a.limit,
        cursor=a.cursor,
    )
    return page_result(f"deployments as of {a.as_of}" if a.as_of else "deployments", answer, DEPLOYMENT_COLUMNS)


def _deployments_show(ctx: Context, a: argparse.Namespace) -> Result:
    d = ctx.services.registry.get_deployment(a.id)
    return Result(deployment_title(d), d, record=d)


def _deployments_create(ctx: Context, a: argparse.Namespace) -> Result:
    data = {
        **(ctx.body or {}),
        **given(
            release_id=a.release_id, environment=a.environment, endpoint=a.endpoint, status=a.status, notes=a.notes
        ),
    }
    d = ctx.services.registry.create_deployment(data, ctx.actor)
    return Result(f"recorded {deployment_title(d)}", d, record=d)


def _deployments_update(ctx: Context, a: argparse.Namespace) -> Result:
    data = {**(ctx.body or {}), **given(endpoint=a.endpoint, status=a.status, notes=a.notes)}
    d = ctx.services.registry.update_deployment(a.id, data, ctx.actor)
    return Result(f"updated {deployment_title(d)}", d, record=d)


def _deployments_delete(ctx: Context, a: argparse.Namespace) -> Result:
    answer = ctx.services.registry.delete_deployment(a.id, ctx.actor)
    return Result(f"forgot deployment {a.id}", answer, record=answer)


def _artifacts_list(ctx: Context, a: argparse.Namespace) -> Result:
    answer = ctx.services.registry.list_artifacts(
        model=a.model, release_id=a.release, kind=a.kind, limit=a.limit, cursor=a.cursor
    )
    return page_result("artifacts", answer, ARTIFACT_COLUMNS)


def _artifacts_show(ctx: Context, a: argparse.Namespace) -> Result:
    artifact = ctx.services.registry.get_artifact(a.id)
    return Result(f"artifact {artifact['id']}: {artifact['name']}", artifact, record=artifact)


def _artifacts_create(ctx: Context, a: argparse.Namespace) -> Result:
    data = {
        **(ctx.body or {}),
        **given(
            name=a.name, path=a.path, release_id=a.release, model=a.model, kind=a.kind, size=a.size, sha256=a.sha256
        ),
    }
    artifact = ctx.services.registry.create_artifact(data, ctx.actor)
    owner = f"release {artifact['release_id']}" if artifact["release_id"] else f"model {a.model}"
    return Result(f"recorded artifact {artifact['id']} ({artifact['name']}) of {owner}", artifact, record=artifact)


def _artifacts_delete(ctx: Context, a: argparse.Namespace) -> Result:
    answer = ctx.services.registry.delete_artifact(a.id, ctx.actor)
    return Result(f"forgot artifact {a.id} (its file is left alone)", answer, record=answer)


def register(tree: Tree) -> None:
    """Add the deployment and artifact commands to `tree`."""
    from ..registry import rules

    statuses = ", ".join(rules.DEPLOYMENT_STATUSES)
    _, deployments = tree.group("deployments", "where releases run: list, show, create, update status, delete")
    p = tree.command(deployments, "list", "deployments newest first, filtered", _deployments_list)
    p.add_argument("--model", metavar="NAME", help="only this model's")
    p.add_argument("--release", metavar="ID", type=id_type, help="only this release's")
    p.add_argument("--environment", metavar="ENV", help="only in this environment")
    p.add_argument("--status", help=statuses)
    p.add_argument(
        "--as-of",
        metavar="TIME",
        help="the model's deployments as they were at this time, ISO 8601 (without an offset, UTC); needs --model",
    )
    paging(p)
    p = tree.command(deployments, "show", "one deployment", _deployments_show)
    p.add_argument("id", metavar="ID", type=id_type)
    p = tree.command(
        deployments,
        "create",
        "record that a release runs (or will run) in an environment",
        _deployments_create,
        takes_body=True,
        writes=True,
    )
    p.add_argument("release_id", metavar="RELEASE_ID", type=id_type)
    p.add_argument(
        "environment", metavar="ENV", help=f"e.g. prod, staging: {rules.DEPLOYMENT_FIELDS['environment'].rule}"
    )
    p.add_argument("--endpoint", metavar="URL", help="where it answers")
    p.add_argument("--status", help=f"{statuses} (default pending)")
    p.add_argument("--notes", metavar="TEXT")
    p = tree.command(
        deployments,
        "update",
        "change a deployment's status, endpoint or notes",
        _deployments_update,
        takes_body=True,
        writes=True,
    )
    p.add_argument("id", metavar="ID", type=id_type)
    p.add_argument("--status", help=statuses)
    p.add_argument("--endpoint", metavar="URL")
    p.add_argument("--notes", metavar="TEXT")
    p = tree.command(deployments, "delete", "forget a deployment", _deployments_delete, writes=True)
    p.add_argument("id", metavar="ID", type=id_type)

    kinds = ", ".join(rules.ARTIFACT_KINDS)
    _, artifacts = tree.group("artifacts", "files of a release or a model: list, show, create, delete")
    p = tree.command(artifacts, "list", "artifacts newest first, filtered", _artifacts_list)
    p.add_argument("--model", metavar="NAME", help="only this model's (its releases' too)")
    p.add_argument("--release", metavar="ID", type=id_type, help="only this release's")
    p.add_argument("--kind", help=kinds)
    paging(p)
    p = tree.command(artifacts, "show", "one artifact", _artifacts_show)
    p.add_argument("id", metavar="ID", type=id_type)
    p = tree.command(
        artifacts,
        "create",
        "record a file of a release (--release) or of a model (--model)",
        _artifacts_create,
        takes_body=True,
        writes=True,
    )
    p.add_argument("name", metavar="NAME", help="its file name")
    p.add_argument("path", metavar="PATH", help=f"where it is: {rules.STORAGE_PATH.rule}")
    p.add_argument("--release", metavar="ID", type=id_type, help="the release it belongs to")
    p.add_argument("--model", metavar="NAME", help="the model it belongs to (when not one release's)")
    p.add_argument("--kind", help=f"{kinds} (default file)")
    p.add_argument("--size", metavar="BYTES", type=int)
    p.add_argument("--sha256", metavar="HEX")
    p = tree.command(artifacts, "delete", "forget an artifact (its file is left alone)", _artifacts_delete, writes=True)
    p.add_argument("id", metavar="ID", type=id_type)
