"""Image build commands: `build` (a job; the daemon's log live; optionally push) and
`builds list|show|log|cancel|push`; and how a build is shown (the BuildPanel too)."""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from typing import Any

from ..errors import InvalidInput
from .render import Result, human_bytes, log_result, page_result, seconds_text
from .tree import Context, Tree, UsageError, follow_options, given, id_type, log_options, paging

BUILD_COLUMNS = (
    "id",
    "release",
    "state",
    "tag",
    "image",
    "size",
    "duration",
    "reused",
    "context",
    "created_by",
    "created_at",
)
#: Where `build --push` and `builds push` read a registry password (never from the command line).
PASSWORD_ENV = "JUPYTER_MLOPS_REGISTRY_PASSWORD"


def short_image(image_id: str | None) -> str:
    """An image id as Docker shows it: 12 hex digits without `sha256:`."""
    return image_id.split(":", 1)[-1][:12] if image_id else ""


def build_row(build: dict[str, Any]) -> dict[str, Any]:
    """A build view with its columns as people read them: the release, a short image id,
    human sizes, the duration, and the context bytes sent against the bytes needed."""
    sent, needed = build.get("context_bytes"), build.get("needed_bytes")
    return {
        **build,
        "release": f"{build['model']}:{build['version']}:{build['quantization']}",
        "image": short_image(build.get("image_id")),
        "size": human_bytes(build.get("image_size")),
        "duration": seconds_text(build.get("duration_s")),
        "context": f"{human_bytes(sent)} sent / {human_bytes(needed)} needed" if sent is not None else "",
    }


def push_text(push: dict[str, Any]) -> str:
    """A push in one line: the full reference@digest (to pull it by) and its state."""
    ref = f"{push['reference']}@{push['digest']}" if push.get("digest") else push["reference"]
    why = f": {push['error']}" if push.get("error") else ""
    return f"{ref} ({push['state']}{why})"


def _build_record(build: dict[str, Any]) -> dict[str, Any]:
    row, opts, check = build_row(build), build.get("options") or {}, build.get("run_check")
    record = {
        k: row.get(k)
        for k in ("id", "release", "state", "message", "error", "tag", "image", "size", "duration", "reused", "context")
    }
    record.update(
        {
            "context files": build.get("context_files"),
            "context hash": build.get("context_hash"),
            "dockerfile": opts.get("dockerfile"),
            "accelerator": opts.get("accelerator"),
            "base image": opts.get("base_image") if opts.get("dockerfile") == "generated" else None,
            "job": build.get("job_id"),
            "created_by": build.get("created_by"),
            "created_at": build.get("created_at"),
            "finished_at": build.get("finished_at"),
        }
    )
    if check:
        record["run check"] = (
            f"{shlex.join(check['command'])}: {check.get('error') or 'exited ' + str(check.get('exit_code'))}"
        )
    for push in build.get("pushes") or []:
        record[f"push {push['id']}"] = push_text(push)
    return record


def _build_result(title: str, build: dict[str, Any]) -> Result:
    """A build as a record; its pushes are lines of it."""
    return Result(title, build, record=_build_record(build))


def _release_arg(ctx: Context, value: str) -> int:
    """A release named by id or by `MODEL:VERSION[:QUANT]`."""
    return int(value) if value.isdigit() else ctx.services.builds.release_id(value)


def _build_args(words: list[str] | None) -> dict[str, str] | None:
    """`--build-arg KEY=VALUE` (or KEY alone: its value from the environment, as docker does)."""
    if not words:
        return None
    args: dict[str, str] = {}
    for word in words:
        key, sep, value = word.partition("=")
        if not sep:
            if key not in os.environ:
                raise InvalidInput(
                    f"build_args: --build-arg {key} has no value and ${key} is not set; give KEY=VALUE",
                    field="build_args",
                )
            value = os.environ[key]
        args[key] = value
    return args


def _run_check(a: argparse.Namespace) -> dict[str, Any] | None:
    """`--run-check CMD` (split like a shell line) and `--devices` as the run_check object."""
    if a.run_check is None and a.devices is None:
        return None
    check: dict[str, Any] = given(devices=a.devices)
    if a.run_check is not None:
        try:
            check["command"] = shlex.split(a.run_check)
        except ValueError as exc:
            raise InvalidInput(f"run_check: cannot split the command: {exc}", field="run_check") from None
    return check


def _read_password() -> str:
    """The registry password for --password-stdin: standard input in a shell
    (`echo "$PW" | jupyter mlops ...`). In IPython standard input is not the person (a
    kernel's is a pipe nobody writes to, so reading it would hang): a password prompt
    instead, which ipykernel shows as a password box in the notebook."""
    ipython = None
    if "IPython" in sys.modules:
        from IPython import get_ipython

        ipython = get_ipython()
    if ipython is None:
        return sys.stdin.read().rstrip("\r\n") if sys.stdin is not None else ""
    import getpass

    try:
        return getpass.getpass("registry password: ")
    except Exception as exc:  # StdinNotImplementedError: this frontend cannot ask
        raise InvalidInput(
            f"password: --password-stdin cannot ask for it here ({exc}); set ${PASSWORD_ENV} instead", field="password"
        ) from None


def _push_data(a: argparse.Namespace, registry: str) -> dict[str, Any]:
    """The PUSH request from the options; the password comes from standard input
    (--password-stdin; a prompt in IPython) or $JUPYTER_MLOPS_REGISTRY_PASSWORD, never
    from the command line."""
    password = None
    if a.password_stdin and not a.username:  # refused now, not after a build
        raise InvalidInput("username: --password-stdin needs --username USER", field="username")
    if a.password_stdin:
        password = _read_password()
        if not password:
            raise InvalidInput("password: --password-stdin read nothing from standard input", field="password")
    elif a.username:
        password = os.environ.get(PASSWORD_ENV) or None
        if not password:
            raise InvalidInput(
                f"password: --username needs the password in ${PASSWORD_ENV} or on standard "
                f"input with --password-stdin",
                field="password",
            )
    return {
        "registry": registry,
        **given(repository=a.repository, tag=a.push_tag, username=a.username, password=password),
    }


def _push(ctx: Context, build_id: int, data: dict[str, Any], timeout: float) -> tuple[dict[str, Any], str]:
    """Queue a push of a build's image and see it to its end (its log to `ctx.on_log`);
    returns the push (with its digest) and where it ran."""
    pushed = ctx.services.builds.push(build_id, data, ctx.actor)
    followed = ctx.follow(ctx.services.jobs.get(pushed["job_id"]), timeout=timeout, on_line=ctx.on_log)
    followed.require_success(f"push {pushed['id']} of build {build_id} as {pushed['reference']}")
    return next(p for p in ctx.services.builds.get(build_id)["pushes"] if p["id"] == pushed["id"]), followed.where


def _build(ctx: Context, a: argparse.Namespace) -> Result:
    """Queue a build of a release and follow its log (`ctx.on_log`) to the end, running the
    job inline unless a server worker is alive; `--detach` only queues it. With `--push`,
    the image is pushed when the build succeeds. The log carries the progress (steps)."""
    from ..builds import rules

    if a.detach and a.push:
        raise UsageError(
            "build: --push needs the build to finish; drop --detach (or push later with `builds push ID REGISTRY`)"
        )
    if not a.push and (a.repository or a.push_tag or a.username or a.password_stdin):
        raise UsageError("build: --repository, --push-tag, --username and --password-stdin go with --push REGISTRY")
    data = {
        **(ctx.body or {}),
        "release_id": _release_arg(ctx, a.release),
        **given(
            tag=a.tag,
            accelerator=a.accelerator,
            base_image=a.base_image,
            dockerfile=a.dockerfile,
            project=a.project,
            include=a.include,
            build_args=_build_args(a.build_arg),
            platform=a.platform,
            no_cache=True if a.no_cache else None,
            pull=True if a.pull else None,
            run_check=_run_check(a),
        ),
    }
    push = _push_data(a, a.push) if a.push else None
    if push is not None:
        rules.PUSH.for_create(push)  # a bad registry or repository refuses before anything is built
    build = ctx.services.builds.start(data, ctx.actor)
    build_id = build["id"]
    if a.detach:
        title = (
            f"build {build_id} of {a.release} as {build['tag']} is already {build['state']}"
            if build.get("deduplicated")
            else f"queued build {build_id} of {a.release} as {build['tag']}"
        )
        return _build_result(title + f"; follow it with `builds log {build_id} --follow`", build)
    followed = ctx.follow(ctx.services.jobs.get(build["job_id"]), timeout=a.timeout, on_line=ctx.on_log)
    followed.require_success(f"build {build_id}")
    build = ctx.services.builds.get(build_id)
    title = (
        f"{'reused' if build['reused'] else 'built'} {build['tag']} (image {short_image(build['image_id'])}, "
        f"build {build_id}, run {followed.where})"
    )
    if push is not None:
        pushed, _ = _push(ctx, build_id, push, a.timeout)
        build = ctx.services.builds.get(build_id)
        title += f"; pushed {pushed['reference']}@{pushed['digest']}"
    return _build_result(title, build)


def _builds_list(ctx: Context, a: argparse.Namespace) -> Result:
    release_id = _release_arg(ctx, a.release) if a.release else None
    answer = ctx.services.builds.list(
        model=a.model, release_id=release_id, active=a.active, limit=a.limit, cursor=a.cursor
    )
    return page_result("builds", answer, BUILD_COLUMNS, build_row)


def _builds_show(ctx: Context, a: argparse.Namespace) -> Result:
    build = ctx.services.builds.get(a.id)
    return _build_result(f"build {a.id} ({build_row(build)['release']} as {build['tag']}): {build['state']}", build)


def _builds_log(ctx: Context, a: argparse.Namespace) -> Result:
    """A page of the build's log; with --follow every line after --after goes to
    `ctx.on_log` until the build ends (run inline when it is queued and no worker is alive),
    and a build that did not succeed is an error (the CLI exits 1), as for `build`."""
    builds = ctx.services.builds
    if not a.follow:
        return log_result(f"build {a.id}", builds.log(a.id, after=a.after, limit=a.limit), a.after)
    build = builds.get(a.id)
    followed = ctx.follow(
        ctx.services.jobs.get(build["job_id"]),
        timeout=a.timeout,
        on_line=ctx.on_log or (lambda _line: None),
        after=a.after,
    )
    followed.require_success(f"build {a.id}")
    return _build_result(f"build {a.id} succeeded", builds.get(a.id))


def _builds_cancel(ctx: Context, a: argparse.Namespace) -> Result:
    build = ctx.services.builds.cancel(a.id)
    return _build_result(f"build {a.id}: cancel requested ({build['state']})", build)


def _builds_push(ctx: Context, a: argparse.Namespace) -> Result:
    data = _push_data(a, a.registry)
    if a.detach:
        pushed = ctx.services.builds.push(a.id, data, ctx.actor)
        return Result(
            f"queued push {pushed['id']} of build {a.id} as {pushed['reference']}; follow it with "
            f"`jobs log {pushed['job_id']}`",
            pushed,
            record=pushed,
        )
    pushed, where = _push(ctx, a.id, data, a.timeout)
    return Result(f"pushed {pushed['reference']}@{pushed['digest']} (run {where})", pushed, record=pushed)


def _push_options(p: argparse.ArgumentParser, prefix: str = "") -> None:
    p.add_argument("--repository", metavar="REPO", help="repository in the registry (default: the build's image name)")
    p.add_argument(
        f"--{prefix}tag", metavar="TAG", dest="push_tag", help="tag in the registry (default: the build's tag)"
    )
    p.add_argument(
        "--username",
        metavar="USER",
        help=f"registry user (the password from ${PASSWORD_ENV} or --password-stdin; never stored)",
    )
    p.add_argument("--password-stdin", action="store_true", help="read the registry password from standard input")


def register(tree: Tree) -> None:
    """Add the image build commands to `tree`."""
    from ..builds import rules

    fields = rules.BUILD.fields
    p = tree.command(
        tree.commands,
        "build",
        "build a Docker image of a release (a job; the daemon's log live), optionally push it",
        _build,
        takes_body=True,
        writes=True,
    )
    p.add_argument("release", metavar="MODEL:VERSION[:QUANT]", help="the release (or its id)")
    p.add_argument("--tag", metavar="NAME[:TAG]", help=fields["tag"].description)
    p.add_argument(
        "--accelerator",
        choices=rules.ACCELERATORS,
        help="base image family (default: the release's or model's metadata, else rocm)",
    )
    p.add_argument("--base-image", metavar="IMAGE", help=fields["base_image"].description)
    p.add_argument("--dockerfile", choices=rules.DOCKERFILE_MODES, help=fields["dockerfile"].description)
    p.add_argument("--project", metavar="DIR", help=fields["project"].description)
    p.add_argument(
        "--include", metavar="PATH", action="append", help="a project folder or file to copy into the image (repeat)"
    )
    p.add_argument(
        "--build-arg",
        metavar="KEY=VALUE",
        action="append",
        help="a build-time ARG (repeat; KEY alone takes its value from the environment)",
    )
    p.add_argument("--platform", metavar="OS/ARCH", help="target platform, e.g. linux/amd64")
    p.add_argument("--no-cache", action="store_true", help=fields["no_cache"].description)
    p.add_argument("--pull", action="store_true", help=fields["pull"].description)
    p.add_argument(
        "--run-check", metavar="CMD", help="start the built image with CMD (a shell-like line) and record its exit code"
    )
    p.add_argument("--devices", choices=rules.DEVICES, help="GPU devices for --run-check (default none)")
    p.add_argument("--push", metavar="REGISTRY", help="then push the image to this registry host[:port]")
    _push_options(p, "push-")
    follow_options(p, "build")

    _, builds = tree.group("builds", "image builds: list, show, log, cancel, push")
    p = tree.command(builds, "list", "builds newest first, with state, image and size", _builds_list)
    p.add_argument("--model", metavar="NAME", help="only builds of this model")
    p.add_argument("--release", metavar="ID", help="only builds of this release (its id or MODEL:VERSION[:QUANT])")
    p.add_argument("--active", action="store_true", help="only queued and running builds")
    paging(p)
    p = tree.command(builds, "show", "one build: state, image, context, run check, pushes", _builds_show)
    p.add_argument("id", metavar="ID", type=id_type)
    log_options(tree.command(builds, "log", "a build's log lines (--follow: live until it ends)", _builds_log), "build")
    p = tree.command(builds, "cancel", "cancel a queued or running build", _builds_cancel, writes=True)
    p.add_argument("id", metavar="ID", type=id_type)
    p = tree.command(
        builds, "push", "push a build's image to a registry (a job) and print its digest", _builds_push, writes=True
    )
    p.add_argument("id", metavar="ID", type=id_type)
    p.add_argument("registry", metavar="REGISTRY", help="registry host[:port], e.g. 127.0.0.1:5000")
    _push_options(p)
    follow_options(p, "push")
