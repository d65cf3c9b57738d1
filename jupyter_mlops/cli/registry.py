"""Registry commands: models, releases, lifecycle, aliases, audit and the dashboard."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from ..errors import InvalidInput
from .render import Result, human_bytes, page_result
from .tree import Context, Tree, count_type, given, id_type, json_option, paging

MODEL_COLUMNS = ("name", "base_model", "company", "parameter_count", "tags", "storage_path", "updated_at")
RELEASE_COLUMNS = ("id", "model", "version", "quantization", "status", "auto_build", "created_at")
AUDIT_COLUMNS = ("id", "at", "actor", "action", "entity_type", "entity_id")
ALIAS_COLUMNS = ("model", "alias", "release_id")
TIMELINE_COLUMNS = ("at", "alias", "action", "previous_release_id", "release_id", "version", "actor")
AS_OF_HELP = "as it was at this time: ISO 8601, e.g. 2026-05-01T12:00:00Z (without an offset, UTC)"


def _models_list(ctx: Context, a: argparse.Namespace) -> Result:
    answer = ctx.services.registry.list_models(
        q=a.q, tag=a.tag, base_model=a.base_model, company=a.company, status=a.status, limit=a.limit, cursor=a.cursor
    )
    return page_result("models", answer, MODEL_COLUMNS, _with_size)


def _with_size(model: dict[str, Any]) -> dict[str, Any]:
    """A model whose storage_path shows its size as its last scan found it."""
    stored = model.get("stored")
    if not stored:
        return model
    size = f"{model['storage_path']} ({stored['files']} files, {human_bytes(stored['bytes'])})"
    return {**model, "storage_path": size}


def _models_show(ctx: Context, a: argparse.Namespace) -> Result:
    model = ctx.services.registry.get_model(a.name, as_of=a.as_of)
    return Result(f"model {model['name']}{_at(a.as_of)}", model, record=_with_size(model))


def _at(as_of: str | None) -> str:
    return f" as of {as_of}" if as_of else ""


def _models_create(ctx: Context, a: argparse.Namespace) -> Result:
    data = {
        **(ctx.body or {}),
        **given(
            name=a.name,
            storage_path=a.storage_path,
            base_model=a.base_model,
            company=a.company,
            repository=a.repository,
            parameter_count=a.parameter_count,
            description=a.description,
            tags=a.tag,
            metadata=json_option("metadata", a.metadata),
        ),
    }
    model = ctx.services.registry.create_model(data, ctx.actor)
    return Result(f"created model {model['name']}", model, record=model)


def _models_delete(ctx: Context, a: argparse.Namespace) -> Result:
    answer = ctx.services.registry.delete_model(a.name, ctx.actor, cascade=a.cascade)
    return Result(f"deleted model {a.name}", answer, record=answer)


def _releases_list(ctx: Context, a: argparse.Namespace) -> Result:
    answer = ctx.services.registry.list_releases(
        model=a.model,
        status=a.status,
        quantization=a.quantization,
        version=a.version,
        as_of=a.as_of,
        limit=a.limit,
        cursor=a.cursor,
    )
    return page_result(f"releases{_at(a.as_of)}", answer, RELEASE_COLUMNS)


def _releases_show(ctx: Context, a: argparse.Namespace) -> Result:
    release = ctx.services.registry.get_release(a.id)
    return Result(f"release {release['id']}", release, record=release)


def _releases_create(ctx: Context, a: argparse.Namespace) -> Result:
    data = {
        **(ctx.body or {}),
        **given(
            model=a.model,
            version=a.version,
            quantization=a.quantization,
            release_notes=a.notes,
            metadata=json_option("metadata", a.metadata),
            auto_build=True if a.auto_build else None,
            mlflow_run=a.mlflow_run,
        ),
    }
    release = ctx.services.registry.create_release(data, ctx.actor)
    return Result(
        f"created release {release['id']} ({release['model']} {release['version']} {release['quantization']})",
        release,
        record=release,
    )


def _releases_update(ctx: Context, a: argparse.Namespace) -> Result:
    data = {
        **(ctx.body or {}),
        **given(
            release_notes=a.notes,
            metadata=json_option("metadata", a.metadata),
            auto_build=a.auto_build,
            mlflow_run=a.mlflow_run,
        ),
    }
    release = ctx.services.registry.update_release(a.id, data, ctx.actor)
    return Result(f"updated release {release['id']}", release, record=release)


def _releases_delete(ctx: Context, a: argparse.Namespace) -> Result:
    answer = ctx.services.registry.delete_release(a.id, ctx.actor, cascade=a.cascade)
    return Result(f"deleted release {a.id}", answer, record=answer)


def _transition(ctx: Context, a: argparse.Namespace) -> Result:
    release = ctx.services.registry.transition(a.id, a.action, ctx.actor)
    return Result(f"release {release['id']} is now {release['status']}", release, record=release)


def _alias_set(ctx: Context, a: argparse.Namespace) -> Result:
    answer = ctx.services.registry.set_alias(a.model, a.alias, {"release_id": a.release_id}, ctx.actor)
    return Result(f"{a.model}@{answer['alias']} -> release {answer['release_id']}", answer, record=answer)


def _alias_show(ctx: Context, a: argparse.Namespace) -> Result:
    registry = ctx.services.registry
    if a.alias:
        answer = registry.get_alias(a.model, a.alias, as_of=a.as_of)
        record = {**answer["release"]}
        if answer.get("rollback_to") is not None:
            record["rollback_to"] = f"release {answer['rollback_to']}"
        return Result(f"{a.model}@{a.alias}{_at(a.as_of)}", answer, record=record)
    if a.as_of:
        if not a.model:
            raise InvalidInput("as_of: needs MODEL (its aliases as they were)", field="as_of")
        aliases = registry.get_model(a.model, as_of=a.as_of)["aliases"]
        rows = [{"model": a.model, "alias": k, "release_id": v} for k, v in aliases.items()]
        return Result(f"aliases of {a.model}{_at(a.as_of)} ({len(rows)})", rows, ALIAS_COLUMNS, rows=rows)
    answer = registry.list_aliases(model=a.model, limit=a.limit, cursor=a.cursor)
    return page_result("aliases", answer, ALIAS_COLUMNS)


def _alias_history(ctx: Context, a: argparse.Namespace) -> Result:
    answer = ctx.services.registry.alias_history(a.model, alias=a.alias, limit=a.limit, cursor=a.cursor)
    what = f"{a.model}@{a.alias}" if a.alias else f"the aliases of {a.model}"
    result = page_result(f"timeline of {what}, newest first", answer, TIMELINE_COLUMNS)
    result.record = {
        f"{alias} rolls back to": f"release {target}" if target is not None else "nothing (no earlier target)"
        for alias, target in answer["rollback_to"].items()
    }
    return result


def _alias_rollback(ctx: Context, a: argparse.Namespace) -> Result:
    event = ctx.services.registry.rollback_alias(a.model, a.alias, ctx.actor)
    version = f" ({event['version']})" if event["version"] else ""
    return Result(
        f"{a.model}@{event['alias']} rolled back: release {event['previous_release_id']} -> "
        f"release {event['release_id']}{version}",
        event,
        record=event,
    )


def _alias_delete(ctx: Context, a: argparse.Namespace) -> Result:
    answer = ctx.services.registry.delete_alias(a.model, a.alias, ctx.actor)
    return Result(f"deleted alias {a.model}@{a.alias}", answer, record=answer)


def _audit(ctx: Context, a: argparse.Namespace) -> Result:
    answer = ctx.services.registry.audit(
        model=a.model, entity_type=a.entity_type, action=a.action, limit=a.limit, cursor=a.cursor
    )
    return page_result("audit events", answer, AUDIT_COLUMNS)


def _dashboard(ctx: Context, a: argparse.Namespace) -> Result:
    board = ctx.services.dashboard()
    counts = board["counts"]
    record: dict[str, Any] = {
        "models": counts["models"],
        "releases": counts["releases"],
        **{f"  {k}": v for k, v in counts["releases_by_status"].items()},
        "artifacts": counts["artifacts"],
        "deployments": counts["deployments"],
        "jobs": ", ".join(f"{k} {v}" for k, v in board["jobs"].items()),
    }
    for place, figures in board["storage"].items():
        record[f"{place} used"] = f"{human_bytes(figures['used_bytes'])} in {figures['path']}"
        record[f"{place} disk free"] = human_bytes(figures["disk_free_bytes"])
    return Result(
        "dashboard (recent releases below)", board, RELEASE_COLUMNS, rows=board["recent_releases"], record=record
    )


def _local_models(list_local: Callable[[Context, argparse.Namespace], Result]) -> Any:
    """`models --local` lists the model cache (= `hub list`): settled after parsing."""

    def finish(args: argparse.Namespace, usage_error: Callable[[str], Exception]) -> None:
        if args.local:
            if args.func is not None:
                raise usage_error("models: --local lists the model cache and takes no command")
            args.func, args.q, args.limit, args.cursor = list_local, args.local_q, args.local_limit, args.local_cursor
            return
        for name in ("local_q", "local_limit", "local_cursor"):
            if getattr(args, name, None) is not None:
                raise usage_error(f"models: --{name[6:]} before the command needs --local (or put it after `list`)")

    return finish


def register(tree: Tree) -> None:
    """Add the registry's commands to `tree`."""
    from ..registry import rules
    from .hub import hub_list

    # models (the registry); `models --local` is the model cache (same as `hub list`)
    models_p, models = tree.group(
        "models",
        "list, show, create and delete registry models; "
        "`models --local` lists downloaded models instead (= `hub list`)",
    )
    models_p.add_argument(
        "--local",
        action="store_true",
        help="list the local model cache (Hugging Face downloads) instead of running a command; "
        "takes --q/--limit/--cursor like `hub list`",
    )
    models_p.add_argument("--q", metavar="TEXT", dest="local_q", help="with --local: text in the repo id")
    models_p.add_argument("--limit", metavar="N", dest="local_limit", help="with --local: page size (1-500)")
    models_p.add_argument("--cursor", metavar="CURSOR", dest="local_cursor", help="with --local: next page")
    models_p.set_defaults(
        local=False, local_q=None, local_limit=None, local_cursor=None, _finish=_local_models(hub_list)
    )
    p = tree.command(models, "list", "list models by name, filtered, one page at a time", _models_list)
    p.add_argument("--q", metavar="TEXT", help="text in the name or description")
    p.add_argument("--tag", help="only models with this tag")
    p.add_argument("--base-model", metavar="NAME", help="only models with this base model")
    p.add_argument("--company", help="only models from this company")
    p.add_argument("--status", help=f"only models with a release in this status ({', '.join(rules.RELEASE_STATUSES)})")
    paging(p)
    p = tree.command(models, "show", "show one model with its release count and aliases", _models_show)
    p.add_argument("name", metavar="NAME")
    p.add_argument("--as-of", metavar="TIME", help=AS_OF_HELP)
    p = tree.command(models, "create", "register a model", _models_create, takes_body=True, writes=True)
    p.add_argument("name", metavar="NAME", help=f"model name: {rules.NAME_RULE}")
    p.add_argument(
        "--storage-path", metavar="P", required=not tree.body, help=f"where the weights are: {rules.STORAGE_PATH.rule}"
    )
    p.add_argument("--base-model", metavar="NAME")
    p.add_argument("--company")
    p.add_argument("--repository", metavar="URL")
    p.add_argument("--parameter-count", metavar="N", type=count_type, help="e.g. 7000000000, 7B or 350M")
    p.add_argument("--description", metavar="TEXT")
    p.add_argument("--tag", metavar="T", action="append", help="a tag (repeat for more)")
    p.add_argument("--metadata", metavar="JSON", help="a JSON object")
    p = tree.command(
        models, "delete", "delete a model (refused while it has releases unless --cascade)", _models_delete, writes=True
    )
    p.add_argument("name", metavar="NAME")
    p.add_argument("--cascade", action="store_true", help="also delete its releases, artifacts and deployments")

    # releases
    _, releases = tree.group("releases", "list, show, create, update and delete releases")
    p = tree.command(releases, "list", "list releases newest first, filtered, one page at a time", _releases_list)
    p.add_argument("--model", metavar="NAME")
    p.add_argument("--status", help=", ".join(rules.RELEASE_STATUSES))
    p.add_argument("--quantization", metavar="Q")
    p.add_argument("--version")
    p.add_argument("--as-of", metavar="TIME", help=f"the model's releases {AS_OF_HELP} (needs --model)")
    paging(p)
    p = tree.command(releases, "show", "show one release", _releases_show)
    p.add_argument("id", metavar="ID", type=id_type)
    p = tree.command(
        releases, "create", "create a candidate release of a model", _releases_create, takes_body=True, writes=True
    )
    p.add_argument("model", metavar="MODEL")
    p.add_argument("version", metavar="VERSION", help=f"release version: {rules.VERSION.rule}")
    p.add_argument("--quantization", metavar="Q", help=f"default none; {rules.QUANTIZATION.rule}")
    p.add_argument("--notes", metavar="TEXT", help="release notes")
    p.add_argument("--metadata", metavar="JSON", help="a JSON object")
    p.add_argument("--auto-build", action="store_true", help="build an image for this release automatically")
    p.add_argument("--mlflow-run", metavar="RUN", help="the MLflow run it came from: a run id or runs:/RUN_ID")
    p = tree.command(
        releases,
        "update",
        "change a release's notes, metadata, auto-build or MLflow run",
        _releases_update,
        takes_body=True,
        writes=True,
    )
    p.add_argument("id", metavar="ID", type=id_type)
    p.add_argument("--notes", metavar="TEXT", help="release notes")
    p.add_argument("--metadata", metavar="JSON", help="a JSON object (replaces the metadata)")
    p.add_argument("--auto-build", action=argparse.BooleanOptionalAction, default=None)
    p.add_argument("--mlflow-run", metavar="RUN", help="the MLflow run it came from: a run id or runs:/RUN_ID")
    p = tree.command(
        releases,
        "delete",
        "delete a release (refused while it is in use unless --cascade)",
        _releases_delete,
        writes=True,
    )
    p.add_argument("id", metavar="ID", type=id_type)
    p.add_argument("--cascade", action="store_true", help="also delete its artifacts and deployments")

    # lifecycle
    for action, (sources, target) in rules.TRANSITIONS.items():
        p = tree.command(
            tree.commands, action, f"move a release from {' or '.join(sources)} to {target}", _transition, writes=True
        )
        p.add_argument("id", metavar="ID", type=id_type)
        p.set_defaults(action=action)

    # aliases
    _, alias = tree.group(
        "alias", "point named aliases (prod, staging, ...) at releases; their timeline; roll back", aliases=("aliases",)
    )
    p = tree.command(alias, "set", "point MODEL@ALIAS at a release of that model", _alias_set, writes=True)
    p.add_argument("model", metavar="MODEL")
    p.add_argument("alias", metavar="ALIAS")
    p.add_argument("release_id", metavar="RELEASE_ID", type=id_type)
    p = tree.command(alias, "show", "list aliases (of MODEL), or show the release MODEL@ALIAS points at", _alias_show)
    p.add_argument("model", metavar="MODEL", nargs="?")
    p.add_argument("alias", metavar="ALIAS", nargs="?")
    p.add_argument("--as-of", metavar="TIME", help=f"the target {AS_OF_HELP}")
    paging(p)
    p = tree.command(alias, "delete", "remove MODEL@ALIAS", _alias_delete, writes=True)
    p.add_argument("model", metavar="MODEL")
    p.add_argument("alias", metavar="ALIAS")
    p = tree.command(
        alias,
        "history",
        "the timeline of MODEL's aliases (or of MODEL@ALIAS), newest first: every target, who moved it and when",
        _alias_history,
    )
    p.add_argument("model", metavar="MODEL")
    p.add_argument("alias", metavar="ALIAS", nargs="?")
    paging(p)
    p = tree.command(
        alias,
        "rollback",
        "move MODEL@ALIAS back to its previous target (again: the one before that)",
        _alias_rollback,
        writes=True,
    )
    p.add_argument("model", metavar="MODEL")
    p.add_argument("alias", metavar="ALIAS")

    p = tree.command(tree.commands, "audit", "who changed what in the registry, newest first", _audit)
    p.add_argument("--model", metavar="NAME", help="only this model's history (also after it was deleted)")
    p.add_argument("--entity-type", metavar="TYPE", help="model, release, artifact, deployment or alias")
    p.add_argument("--action", help="create, update, delete, promote, demote, deprecate, set_alias, ...")
    paging(p)
    tree.command(tree.commands, "dashboard", "counts, recent releases, jobs and storage", _dashboard)
