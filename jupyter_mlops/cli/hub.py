"""Model hub commands: download (a job with live progress), list, show, delete, register,
the default model, downloads and cancel; `download` and `delete` also at the top level."""

from __future__ import annotations

import argparse
from typing import Any

from .render import Result, human_bytes, job_record, page_result, progress_reporter, seconds_text, transfer_text
from .tree import Context, Tree, UsageError, follow_options, given, id_type, paging

HUB_COLUMNS = ("repo_id", "revisions", "size", "files", "last_accessed", "last_modified", "downloading")
DOWNLOAD_COLUMNS = ("id", "repo", "state", "progress", "rate", "eta", "owner", "created_at")
#: At most one progress line a second when no progress bar draws it (the CLI off a terminal).
PROGRESS_LINE_EVERY = 1.0


def download_progress_text(job: dict[str, Any]) -> str:
    """One line for a download job: state, bytes done/total, rate and ETA."""
    return transfer_text(job, "download", (job.get("params") or {}).get("repo_id", ""))


def _download_row(job: dict[str, Any]) -> dict[str, Any]:
    p, params = job["progress"], job.get("params") or {}
    done, total = p.get("done") or 0, p.get("total")
    running = job["state"] == "running"
    return {
        **job,
        "repo": f"{params.get('repo_id')}@{params.get('revision') or 'main'}",
        "progress": f"{human_bytes(done)} / {human_bytes(total)}" if total else human_bytes(done) if done else "",
        "rate": f"{human_bytes(p['rate'])}/s" if p.get("rate") and running else "",
        "eta": seconds_text(p.get("eta_seconds")) if running else "",
    }


def _local_row(repo: dict[str, Any]) -> dict[str, Any]:
    revs = [(",".join(r["refs"]) + " " if r["refs"] else "") + r["commit"][:8] for r in repo["revisions"]]
    return {**repo, "revisions": revs, "size": human_bytes(repo["size_on_disk"]), "files": repo["file_count"]}


def _hub_download(ctx: Context, a: argparse.Namespace) -> Result:
    """Queue the download; run it inline unless a server worker is alive (then follow the row);
    `--detach` only queues it. Progress goes to `ctx.on_progress` (else throttled lines to
    `ctx.on_log`), the job's log lines to `ctx.on_log`."""
    data: dict[str, Any] = {
        "repo_id": a.repo_id,
        **given(revision=a.revision, allow_patterns=a.include, ignore_patterns=a.exclude, token=a.token),
    }
    job = ctx.services.hub.start_download(data, ctx.actor)
    job_id = job["id"]
    deduplicated = bool(job.get("deduplicated"))
    if a.detach:
        title = (
            f"download job {job_id} of {a.repo_id} is already {job['state']}"
            if deduplicated
            else f"queued download job {job_id} of {a.repo_id}"
        )
        return Result(title + f"; follow it with `jobs show {job_id}`", job, record=job_record(job))
    say = ctx.on_log or (lambda _line: None)
    report = progress_reporter(ctx.on_progress, say, download_progress_text)
    followed = ctx.follow(job, timeout=a.timeout, on_job=report, on_line=say)
    report(followed.job, final=True)
    done = followed.require_success(f"download job {job_id}")
    out = done.get("result") or {}
    record = {
        "job": job_id,
        "repo_id": out.get("repo_id"),
        "revision": out.get("revision"),
        "commit": out.get("commit"),
        "storage_path": out.get("storage_path"),
        "local_path": out.get("local_path"),
        "files": f"{out.get('files_total')} ({out.get('files_downloaded')} downloaded, "
        f"{out.get('files_cached')} from the cache)",
        "size": human_bytes(out.get("bytes_total")),
        "downloaded": f"{human_bytes(out.get('bytes_downloaded'))} in {out.get('seconds')} s",
        "joined an existing job": deduplicated,
    }
    return Result(
        f"downloaded {out.get('repo_id')}@{out.get('revision')} (job {job_id}, run {followed.where})",
        done,
        record=record,
    )


def hub_list(ctx: Context, a: argparse.Namespace) -> Result:
    """The local model cache, one page (`hub list`, `models --local`)."""
    answer = ctx.services.hub.list_local(q=a.q, limit=a.limit, cursor=a.cursor)
    return page_result(
        f"local models in {answer['cache_dir']}, {human_bytes(answer['size_on_disk'])} in all",
        answer,
        HUB_COLUMNS,
        _local_row,
    )


def _hub_show(ctx: Context, a: argparse.Namespace) -> Result:
    repo = ctx.services.hub.get_local(a.repo_id)
    rows = [{**r, "size": human_bytes(r["size_on_disk"]), "files": r["file_count"]} for r in repo["revisions"]]
    record = {k: v for k, v in _local_row(repo).items() if k not in ("revisions", "size_on_disk", "file_count")}
    return Result(
        f"local model {repo['repo_id']}",
        repo,
        ("commit", "refs", "size", "files", "last_modified"),
        rows=rows,
        record=record,
    )


def _hub_delete(ctx: Context, a: argparse.Namespace) -> Result:
    answer = ctx.services.hub.delete(a.repo_id, revision=a.revision, files=a.file, force=a.force, actor=ctx.actor)
    what = {
        "repo": a.repo_id,
        "revision": f"{a.repo_id}@{a.revision}",
        "files": f"{len(answer['files'])} file(s) of {a.repo_id}",
    }[answer["scope"]]
    record = {
        "scope": answer["scope"],
        "commits": answer["commits"],
        "files": answer["files"],
        "freed": human_bytes(answer["freed_bytes"]),
        "freed_bytes": answer["freed_bytes"],
    }
    if answer["forced"]:
        record["forced past"] = answer["overridden"]
    return Result(f"deleted {what}: freed {human_bytes(answer['freed_bytes'])}", answer, record=record)


def _hub_register(ctx: Context, a: argparse.Namespace) -> Result:
    model = ctx.services.hub.create_model(a.repo_id, a.revision or "main", a.name, ctx.actor)
    return Result(f"created model {model['name']} ({model['storage_path']})", model, record=model)


def _hub_default(ctx: Context, a: argparse.Namespace) -> Result:
    hub = ctx.services.hub
    if a.clear:
        if a.name:
            raise UsageError("hub default: give NAME or --clear, not both")
        hub.set_default_model(None, ctx.actor)
        return Result("default model cleared", {"name": None, "model": None}, record={"name": None})
    answer = hub.set_default_model(a.name, ctx.actor) if a.name else hub.default_model()
    if answer is None:
        return Result(
            "no default model (set one with `hub default NAME`)", {"name": None, "model": None}, record={"name": None}
        )
    model = answer.get("model") or {}
    record = {
        "name": answer["name"],
        "storage_path": model.get("storage_path"),
        "updated_at": answer["updated_at"],
        "updated_by": answer["updated_by"],
    }
    if not model:
        record["problem"] = "the model no longer exists in the registry"
    return Result(f"default model: {answer['name']}", answer, record=record)


def _hub_downloads(ctx: Context, a: argparse.Namespace) -> Result:
    answer = ctx.services.hub.downloads(active=a.active, limit=a.limit, cursor=a.cursor)
    return page_result("downloads", answer, DOWNLOAD_COLUMNS, _download_row)


def _hub_cancel(ctx: Context, a: argparse.Namespace) -> Result:
    job = ctx.services.hub.cancel(a.id)
    return Result(f"download job {job['id']}: cancel requested ({job['state']})", job, record=job_record(job))


def _repo_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("repo_id", metavar="ORG/NAME", help="Hugging Face model repo id")


def _download_options(p: argparse.ArgumentParser) -> None:
    _repo_arg(p)
    p.add_argument("--revision", metavar="R", help="branch, tag or commit (default main)")
    p.add_argument(
        "--include",
        metavar="GLOB",
        action="append",
        help="only files matching this glob (repeat), e.g. '*Q4_K_M*.gguf'",
    )
    p.add_argument("--exclude", metavar="GLOB", action="append", help="skip files matching this glob (repeat)")
    p.add_argument("--token", metavar="T", help="Hugging Face token for gated or private repos (never stored)")
    follow_options(p, "download")


def _delete_options(p: argparse.ArgumentParser) -> None:
    _repo_arg(p)
    p.add_argument("--revision", metavar="R", help="only this revision (branch, tag or commit)")
    p.add_argument("--file", metavar="F", action="append", help="only this repo file or glob (repeat)")
    p.add_argument(
        "--force",
        action="store_true",
        help="delete even if in use (being downloaded, the default model, or with releases)",
    )


def register(tree: Tree) -> None:
    """Add the model hub's commands to `tree`."""
    download_help = "download a Hugging Face model into the workspace's cache (a job; live progress)"
    delete_help = "delete a downloaded model, revision or files from the local cache (bytes freed)"
    _, hub = tree.group("hub", "Hugging Face models: download, list, delete, register, default")
    _download_options(tree.command(hub, "download", download_help, _hub_download, writes=True))
    p = tree.command(hub, "list", "models in the local cache: revisions, size, files, last used", hub_list)
    p.add_argument("--q", metavar="TEXT", help="text in the repo id")
    paging(p)
    _repo_arg(tree.command(hub, "show", "one local model with its revisions", _hub_show))
    _delete_options(tree.command(hub, "delete", delete_help, _hub_delete, writes=True))
    p = tree.command(
        hub,
        "register",
        "create a registry model from a downloaded repo (storage_path hf://org/name@commit)",
        _hub_register,
        writes=True,
    )
    _repo_arg(p)
    p.add_argument("--revision", metavar="R", help="which downloaded revision (default main)")
    p.add_argument("--name", metavar="N", help="registry model name (default: the repo's name)")
    p = tree.command(
        hub,
        "default",
        "show the workspace's default model, or make registry model NAME the default",
        _hub_default,
        writes=True,
    )
    p.add_argument("name", metavar="NAME", nargs="?")
    p.add_argument("--clear", action="store_true", help="clear the default model")
    p = tree.command(hub, "downloads", "download jobs, newest first", _hub_downloads)
    p.add_argument("--active", action="store_true", help="only queued and running downloads")
    paging(p)
    p = tree.command(hub, "cancel", "cancel a download job", _hub_cancel, writes=True)
    p.add_argument("id", metavar="JOB_ID", type=id_type)
    # the short names
    _download_options(
        tree.command(tree.commands, "download", download_help + " (= hub download)", _hub_download, writes=True)
    )
    _delete_options(tree.command(tree.commands, "delete", delete_help + " (= hub delete)", _hub_delete, writes=True))
