"""The one command tree behind `%mlops` and `jupyter mlops`.

`run(argv)` parses the words with argparse, calls one service method and returns a
`Result` (the service's answer plus the columns a face shows). The magic and the CLI
only render it, so the two faces cannot drift. Parsing never exits the process: bad
usage raises `UsageError`, `--help` raises `HelpRequested`; domain failures are the
services' own `MLOpsError`s."""
from __future__ import annotations

import argparse
import html
import json
import os
import re
import shlex
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import InvalidInput, MLOpsError, Unavailable

if TYPE_CHECKING:
    from .services import Services

ProgressFn = Callable[[dict[str, Any]], None]
LogFn = Callable[[str], None]
ConfirmFn = Callable[["Result"], bool]

MODEL_COLUMNS = ("name", "base_model", "company", "parameter_count", "tags", "storage_path", "updated_at")
RELEASE_COLUMNS = ("id", "model", "version", "quantization", "status", "auto_build", "created_at")
AUDIT_COLUMNS = ("id", "at", "actor", "action", "entity_type", "entity_id")
ALIAS_COLUMNS = ("model", "alias", "release_id")
JOB_COLUMNS = ("id", "kind", "state", "progress", "message", "owner", "created_at")
LOG_COLUMNS = ("seq", "at", "stream", "line")
DEPS_COLUMNS = ("name", "state", "installed", "wanted", "reason")
PLAN_COLUMNS = ("name", "kind", "before", "after", "requested")
DEPS_HISTORY_COLUMNS = ("id", "at", "actor", "kind", "needs_fix", "job_id", "python", "project")
HUB_COLUMNS = ("repo_id", "revisions", "size", "files", "last_accessed", "last_modified", "downloading")
DOWNLOAD_COLUMNS = ("id", "repo", "state", "progress", "rate", "eta", "owner", "created_at")
BUILD_COLUMNS = ("id", "release", "state", "tag", "image", "size", "duration", "reused", "context", "created_by",
                 "created_at")
DOWNLOAD_TIMEOUT = 86_400.0
BUILD_TIMEOUT = 86_400.0
#: Where `build --push` and `builds push` read a registry password (never from the command line).
PASSWORD_ENV = "JUPYTER_MLOPS_REGISTRY_PASSWORD"
#: At most one progress line a second when no progress bar draws it (the CLI off a terminal).
PROGRESS_LINE_EVERY = 1.0
REPAIR_TIMEOUT = 3600.0
MAX_CELL = 60
SELFTEST_TIMEOUT = 300.0
POLL = 0.25


class UsageError(MLOpsError):
    """The words do not form a command: the message says why, `usage` shows the form."""

    status = 400

    def __init__(self, message: str, *, usage: str = "", prog: str = "") -> None:
        super().__init__(message)
        self.usage = usage
        self.prog = prog


class HelpRequested(Exception):
    """`--help` was given, or (`incomplete`) a group was named without a command; `text` is the help."""

    def __init__(self, text: str, *, incomplete: bool = False) -> None:
        super().__init__(text)
        self.text = text
        self.incomplete = incomplete


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser that raises instead of printing and exiting."""

    def error(self, message: str) -> Any:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}", usage=self.format_usage().strip(), prog=self.prog)

    def exit(self, status: int = 0, message: str | None = None) -> Any:  # type: ignore[override]
        if status:
            raise UsageError((message or f"{self.prog}: error").strip(), usage=self.format_usage().strip(),
                             prog=self.prog)
        raise HelpRequested(message or "")

    def print_help(self, file: Any = None) -> None:
        raise HelpRequested(self.format_help())


# -- results -----------------------------------------------------------------------
@dataclass
class Result:
    """What a command answers: `data` is the service's JSON; `rows`/`columns` a table,
    `record` a single object; faces render it as text, HTML or JSON."""

    title: str
    data: Any
    columns: tuple[str, ...] = ()
    rows: list[dict[str, Any]] | None = None
    record: dict[str, Any] | None = None
    next_cursor: str | None = None
    as_json: bool = False

    def __getitem__(self, key: Any) -> Any:
        return self.data[key]

    def json(self) -> str:
        """The service's answer as indented JSON."""
        return json.dumps(self.data, indent=2, default=str)

    def text(self) -> str:
        """A plain-text rendering: title, key/value lines, an aligned table, next cursor."""
        if self.as_json:
            return self.json()
        parts = [self.title] if self.title else []
        if self.record:
            width = max(len(k) for k in self.record)
            parts += [f"  {k.ljust(width)}  {cell_text(v, 200)}" for k, v in self.record.items()]
        if self.rows is not None:
            parts.append(text_table(self.columns, self.rows) if self.rows else "  (none)")
        if self.next_cursor:
            parts.append(f"more: --cursor {self.next_cursor}")
        return "\n".join(parts)

    def html(self) -> str:
        """An HTML rendering of the same content."""
        if self.as_json:
            return f"<pre>{html.escape(self.json())}</pre>"
        parts = [f"<div class='jp-mlops-result'><b>{html.escape(self.title)}</b>"]
        if self.record:
            body = "".join(f"<tr><th style='text-align:left'>{html.escape(k)}</th>"
                           f"<td style='text-align:left'>{html.escape(cell_text(v, 400))}</td></tr>"
                           for k, v in self.record.items())
            parts.append(f"<table>{body}</table>")
        if self.rows is not None:
            parts.append(html_table(self.columns, self.rows) if self.rows else "<p><i>(none)</i></p>")
        if self.next_cursor:
            parts.append(f"<p>more: <code>--cursor {html.escape(self.next_cursor)}</code></p>")
        parts.append("</div>")
        return "".join(parts)

    def __repr__(self) -> str:
        return self.text()

    def _repr_html_(self) -> str:
        return self.html()


def cell_text(value: Any, limit: int = MAX_CELL) -> str:
    """One value as short text: lists joined, objects as compact JSON, None empty."""
    if value is None:
        text = ""
    elif isinstance(value, bool):
        text = "yes" if value else "no"
    elif isinstance(value, float):
        text = f"{value:.3g}"
    elif isinstance(value, (list, tuple)):
        text = ", ".join(cell_text(v, limit) for v in value)
    elif isinstance(value, dict):
        text = json.dumps(value, default=str, separators=(",", ":"))
    else:
        text = str(value)
    text = text.replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def text_table(columns: Sequence[str], rows: Sequence[dict[str, Any]]) -> str:
    """An aligned plain-text table."""
    cells = [[cell_text(r.get(c)) for c in columns] for r in rows]
    widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(columns)]
    line = lambda vals: "  ".join(v.ljust(w) for v, w in zip(vals, widths)).rstrip()  # noqa: E731
    return "\n".join([line(columns), line(["-" * w for w in widths]), *(line(r) for r in cells)])


def html_table(columns: Sequence[str], rows: Sequence[dict[str, Any]]) -> str:
    """An HTML table with escaped cells."""
    head = "".join(f"<th style='text-align:left'>{html.escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td style='text-align:left'>{html.escape(cell_text(r.get(c)))}</td>"
                                    for c in columns) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _page(title: str, answer: dict[str, Any], columns: tuple[str, ...],
          shape: Callable[[dict[str, Any]], dict[str, Any]] | None = None) -> Result:
    items = answer["items"]
    rows = [shape(i) for i in items] if shape else items
    return Result(f"{title} ({len(items)})", answer, columns, rows=rows, next_cursor=answer.get("next_cursor"))


def _job_row(job: dict[str, Any]) -> dict[str, Any]:
    p = job["progress"]
    if p["total"]:
        progress = f"{p['done']:g}/{p['total']:g} {p['unit'] or ''}".strip()
    else:
        progress = f"{p['done']:g}" if p["done"] else ""
    return {**job, "progress": progress}


def _human_bytes(n: float | None) -> str:
    if n is None:
        return ""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


# -- context -------------------------------------------------------------------------
@dataclass
class Context:
    """What a command handler gets besides its arguments."""

    services: Services
    actor: str
    body: dict[str, Any] | None = None
    on_progress: ProgressFn | None = None
    on_log: LogFn | None = None
    confirm: ConfirmFn | None = None


# -- argument helpers ----------------------------------------------------------------
def _id(value: str) -> int:
    """A positive whole number (an id)."""
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number (got {value!r})") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1 (got {number})")
    return number


def _count(value: str) -> Any:
    """A parameter count such as 7000000000, 7B, 1.5B or 350M; anything else goes to the
    registry's rule unchanged so its message names the field."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kKmMbBtT]?)\s*", value)
    if not m:
        return value
    scale = {"": 1, "k": 10**3, "m": 10**6, "b": 10**9, "t": 10**12}[m.group(2).lower()]
    return int(round(float(m.group(1)) * scale))


def _bounded(low: float, high: float, kind: type = int) -> Callable[[str], Any]:
    def parse(value: str) -> Any:
        try:
            number = kind(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a number (got {value!r})") from None
        if not low <= number <= high:
            raise argparse.ArgumentTypeError(f"must be from {low:g} to {high:g} (got {value})")
        return number

    return parse


def _json_option(name: str, value: str | None) -> Any:
    """Decode a JSON option; a malformed one is InvalidInput naming `name`."""
    if value is None:
        return None
    try:
        return json.loads(value)
    except ValueError as exc:
        raise InvalidInput(f"{name}: must be valid JSON ({exc})", field=name) from None


def _given(**values: Any) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


# -- handlers: registry --------------------------------------------------------------
def _models_list(ctx: Context, a: argparse.Namespace) -> Result:
    answer = ctx.services.registry.list_models(q=a.q, tag=a.tag, base_model=a.base_model, company=a.company,
                                               status=a.status, limit=a.limit, cursor=a.cursor)
    return _page("models", answer, MODEL_COLUMNS)


def _models_show(ctx: Context, a: argparse.Namespace) -> Result:
    model = ctx.services.registry.get_model(a.name)
    return Result(f"model {model['name']}", model, record=model)


def _models_create(ctx: Context, a: argparse.Namespace) -> Result:
    data = {**(ctx.body or {}), **_given(
        name=a.name, storage_path=a.storage_path, base_model=a.base_model, company=a.company,
        repository=a.repository, parameter_count=a.parameter_count, description=a.description,
        tags=a.tag, metadata=_json_option("metadata", a.metadata))}
    model = ctx.services.registry.create_model(data, ctx.actor)
    return Result(f"created model {model['name']}", model, record=model)


def _models_delete(ctx: Context, a: argparse.Namespace) -> Result:
    answer = ctx.services.registry.delete_model(a.name, ctx.actor, cascade=a.cascade)
    return Result(f"deleted model {a.name}", answer, record=answer)


def _releases_list(ctx: Context, a: argparse.Namespace) -> Result:
    answer = ctx.services.registry.list_releases(model=a.model, status=a.status, quantization=a.quantization,
                                                 version=a.version, limit=a.limit, cursor=a.cursor)
    return _page("releases", answer, RELEASE_COLUMNS)


def _releases_show(ctx: Context, a: argparse.Namespace) -> Result:
    release = ctx.services.registry.get_release(a.id)
    return Result(f"release {release['id']}", release, record=release)


def _releases_create(ctx: Context, a: argparse.Namespace) -> Result:
    data = {**(ctx.body or {}), **_given(
        model=a.model, version=a.version, quantization=a.quantization, release_notes=a.notes,
        metadata=_json_option("metadata", a.metadata), auto_build=True if a.auto_build else None)}
    release = ctx.services.registry.create_release(data, ctx.actor)
    return Result(f"created release {release['id']} ({release['model']} {release['version']} "
                  f"{release['quantization']})", release, record=release)


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
    if a.alias:
        answer = ctx.services.registry.get_alias(a.model, a.alias)
        return Result(f"{a.model}@{a.alias}", answer, record=answer["release"])
    answer = ctx.services.registry.list_aliases(model=a.model, limit=a.limit, cursor=a.cursor)
    return _page("aliases", answer, ALIAS_COLUMNS)


def _alias_delete(ctx: Context, a: argparse.Namespace) -> Result:
    answer = ctx.services.registry.delete_alias(a.model, a.alias, ctx.actor)
    return Result(f"deleted alias {a.model}@{a.alias}", answer, record=answer)


def _audit(ctx: Context, a: argparse.Namespace) -> Result:
    answer = ctx.services.registry.audit(model=a.model, entity_type=a.entity_type, action=a.action,
                                         limit=a.limit, cursor=a.cursor)
    return _page("audit events", answer, AUDIT_COLUMNS)


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
        record[f"{place} used"] = f"{_human_bytes(figures['used_bytes'])} in {figures['path']}"
        record[f"{place} disk free"] = _human_bytes(figures["disk_free_bytes"])
    return Result("dashboard (recent releases below)", board, RELEASE_COLUMNS, rows=board["recent_releases"],
                  record=record)


# -- handlers: jobs ------------------------------------------------------------------
def _jobs_list(ctx: Context, a: argparse.Namespace) -> Result:
    answer = ctx.services.jobs.list(state=a.state, kind=a.kind, active=a.active, limit=a.limit, cursor=a.cursor)
    return _page("jobs", answer, JOB_COLUMNS, _job_row)


def _job_record(job: dict[str, Any]) -> dict[str, Any]:
    row = _job_row(job)
    keys = ("id", "kind", "state", "progress", "message", "error", "result", "params", "owner",
            "cancel_requested", "log_count", "created_at", "started_at", "finished_at", "elapsed_seconds")
    return {k: row.get(k) for k in keys}


def _jobs_show(ctx: Context, a: argparse.Namespace) -> Result:
    job = ctx.services.jobs.get(a.id)
    return Result(f"job {job['id']} ({job['kind']}): {job['state']}", job, record=_job_record(job))


def _log_result(what: str, answer: dict[str, Any], after: int) -> Result:
    """A page of a job's log lines as a table titled `what`."""
    rows = answer["lines"]
    title = f"{what} log ({answer['state']}; lines {after + 1 if rows else after}-{answer['next_after']})"
    return Result(title, answer, LOG_COLUMNS, rows=rows)


def _jobs_log(ctx: Context, a: argparse.Namespace) -> Result:
    return _log_result(f"job {a.id}", ctx.services.jobs.log(a.id, after=a.after, limit=a.limit), a.after)


def _jobs_cancel(ctx: Context, a: argparse.Namespace) -> Result:
    job = ctx.services.jobs.cancel(a.id)
    return Result(f"job {job['id']}: cancel requested ({job['state']})", job, record=_job_record(job))


def _follow(ctx: Context, job: dict[str, Any], timeout: float, on_job: Callable[[dict[str, Any]], None],
            on_line: Callable[[str], None] | None = None, *, after: int = 0) -> tuple[dict[str, Any], str]:
    """See a job to its end: run it inline when it is still queued and no server worker is
    alive (a plain kernel, the CLI), else follow its row for up to `timeout` seconds.
    `on_job` gets every state, `on_line` each new log line (those after seq `after`).
    Returns the final job and where it ran."""
    jobs = ctx.services.jobs
    job_id = job["id"]
    seen = after

    def tick() -> dict[str, Any]:
        nonlocal seen
        while on_line is not None:
            page = jobs.log(job_id, after=seen, limit=500)
            for line in page["lines"]:
                on_line(line["line"])
            seen = page["next_after"]
            if len(page["lines"]) < 500:
                break
        current = jobs.get(job_id)
        on_job(current)
        return current

    job = tick()
    if not jobs.has_live_worker() and job["state"] == "queued":
        from .jobs.worker import Worker

        Worker(ctx.services.store, max_jobs=1, scratch=ctx.services.workspace.state_dir).run_job(
            job_id, on_tick=tick)
        where = "inline"
    else:
        deadline = time.monotonic() + timeout
        while job["state"] in ("queued", "running"):
            if time.monotonic() > deadline:
                raise Unavailable(f"job {job_id} is still {job['state']} after {timeout:g} s; "
                                  f"follow it with `jobs log {job_id}`")
            time.sleep(POLL)
            job = tick()
        where = "by the server's worker"
    return tick(), where


def _succeeded(job: dict[str, Any], what: str) -> None:
    """MLOpsError saying how the job ended unless it succeeded."""
    if job["state"] != "succeeded":
        why = job.get("error") or job.get("message")
        raise MLOpsError(f"{what} {job['state']}" + (f": {why}" if why else ""))


def _jobs_selftest(ctx: Context, a: argparse.Namespace) -> Result:
    """Submit `diagnostic.count`; run it inline unless a server worker is alive, else wait on the row."""
    jobs = ctx.services.jobs
    params: dict[str, Any] = {"n": a.n, "delay": a.delay}
    if a.fail_at is not None:
        params["fail_at"] = a.fail_at
    job = jobs.submit("diagnostic.count", params, owner=ctx.actor)
    job_id = job["id"]
    job, where = _follow(ctx, job, a.timeout, ctx.on_progress or (lambda _job: None))
    _succeeded(job, f"selftest job {job_id}")
    return Result(f"selftest job {job_id} succeeded (run {where})", job, record=_job_record(job))


# -- handlers: dependency doctor -------------------------------------------------------
def _deps_target(ctx: Context, a: argparse.Namespace) -> Any:
    """The target of a deps command: --python (default: this interpreter: in a kernel the
    kernel's own, for the CLI the CLI's), --project (default: found upward from the
    current folder, not above the workspace root when the folder is inside it)."""
    from pathlib import Path

    from .deps.service import make_target

    cwd = Path.cwd().resolve()
    root = ctx.services.workspace.root.resolve()
    stop = root if cwd == root or root in cwd.parents else None
    return make_target(a.python or sys.executable, a.project, start=cwd, stop=stop, extras=a.extra,
                       groups=a.group, requirement_files=a.requirement)


def _status_record(answer: dict[str, Any]) -> dict[str, Any]:
    env, status = answer["environment"], answer["status"]
    acc = env.get("accelerator") or {}
    platform = acc.get("platform") if isinstance(acc, dict) else acc
    broken = [f"{b['name']} {b['version']} requires {b['requirement']} "
              f"({'missing' if b['installed'] is None else 'has ' + str(b['installed'])})" for b in status["broken"]]
    return {
        "python": env["python"], "project": status["project"], "accelerator": platform,
        "installer": "uv" if env.get("uv") else ("pip" if env.get("pip") else "none"),
        "summary": ", ".join(f"{k} {v}" for k, v in status["summary"].items() if v),
        "protected": [f"{k} ({why})" for k, why in sorted(status["protected"].items())],
        "broken": broken,
        "needs fix": status["needs_fix"],
    }


def _status_rows(status: dict[str, Any]) -> list[dict[str, Any]]:
    return [{**r, "wanted": r["specifier"] or "(any)"} for r in status["rows"]]


def _deps_check(ctx: Context, a: argparse.Namespace) -> Result:
    answer = ctx.services.deps.check(_deps_target(ctx, a), ctx.actor)
    needs = answer["status"]["needs_fix"]
    title = "dependencies: " + ("something is missing or outdated; `deps plan` shows the fix" if needs
                                else "everything declared is satisfied")
    return Result(title, answer, DEPS_COLUMNS, rows=_status_rows(answer["status"]), record=_status_record(answer))


def _plan_result(answer: dict[str, Any], title: str | None = None) -> Result:
    plan = answer["plan"]
    record = {**_status_record(answer), "installer": plan["installer"], "plan ok": plan["ok"],
              "requirements": plan["requirements"], "constraints": plan["constraints"]}
    if plan["problems"]:
        record["problems"] = plan["problems"]
    if plan["resolver_error"]:
        record["resolver error"] = plan["resolver_error"]
    for held in plan["held_back"]:
        record[f"held back {held['name']}"] = f"{held['chosen']} not {held['newest']}: {held['why']}"
    if title is None:
        if not answer["status"]["needs_fix"]:
            title = "plan: nothing to fix"
        elif plan["ok"]:
            title = f"plan: {len(plan['changes'])} change(s); `deps fix --yes` applies it"
        else:
            title = "plan REFUSED: " + "; ".join(plan["problems"] or [plan["resolver_error"] or ""])
    return Result(title, answer, PLAN_COLUMNS, rows=plan["changes"], record=record)


def _deps_plan(ctx: Context, a: argparse.Namespace) -> Result:
    return _plan_result(ctx.services.deps.plan(_deps_target(ctx, a), ctx.actor, installer=a.installer))


def _deps_fix(ctx: Context, a: argparse.Namespace) -> Result:
    """Without --yes: the plan, confirmed by `ctx.confirm` (or shown for a re-run with
    --yes). Then the repair job, inline unless a server worker is alive."""
    target = _deps_target(ctx, a)
    if not a.yes:
        planned = _plan_result(ctx.services.deps.plan(target, ctx.actor, installer=a.installer))
        if not planned.data["status"]["needs_fix"] or not planned.data["plan"]["ok"]:
            return planned
        if ctx.confirm is None or not ctx.confirm(planned):
            planned.title = (f"plan: {len(planned.data['plan']['changes'])} change(s), NOT applied; "
                             "re-run with --yes to apply it")
            return planned
    job = ctx.services.deps.repair(target, ctx.actor, installer=a.installer)
    job_id = job["id"]
    job, where = _follow(ctx, job, a.timeout, ctx.on_progress or (lambda _job: None), ctx.on_log)
    _succeeded(job, f"repair job {job_id}")
    out = job.get("result") or {}
    record = {"job": job_id, "python": out.get("python"), "installed": out.get("installed"),
              "failed": [f"{k}: {v}" for k, v in (out.get("failed") or {}).items()],
              "skipped": [f"{k}: {v}" for k, v in (out.get("skipped") or {}).items()],
              "protected unchanged": out.get("protected_unchanged"),
              "still needs fix": out.get("needs_fix_after"),
              "next": ("restart the kernel to use the new packages" if out.get("restart_kernel")
                       else out.get("message"))}
    return Result(f"repair job {job_id} succeeded (run {where}): {out.get('message', '')}", job, record=record)


def _deps_history(ctx: Context, a: argparse.Namespace) -> Result:
    answer = ctx.services.deps.history(python=a.python, limit=a.limit, cursor=a.cursor)
    return _page("dependency checks, plans and repairs", answer, DEPS_HISTORY_COLUMNS)


# -- handlers: model hub -----------------------------------------------------------------
def _seconds_text(seconds: float | None) -> str:
    if seconds is None:
        return ""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def download_progress_text(job: dict[str, Any]) -> str:
    """One line for a download job: state, bytes done/total, rate and ETA."""
    p = job["progress"]
    repo = (job.get("params") or {}).get("repo_id", "")
    done, total = p.get("done") or 0, p.get("total")
    parts = [f"download {job['id']} {repo} {job['state']}:",
             f"{_human_bytes(done)} / {_human_bytes(total)}" if total else _human_bytes(done)]
    if total:
        parts.append(f"({100 * done / total:.0f}%)")
    if p.get("rate") and job["state"] == "running":
        parts.append(f"{_human_bytes(p['rate'])}/s")
    if p.get("eta_seconds") is not None and job["state"] == "running":
        parts.append(f"ETA {_seconds_text(p['eta_seconds'])}")
    if job.get("message"):
        parts.append(f"- {job['message']}")
    return " ".join(parts)


def _download_row(job: dict[str, Any]) -> dict[str, Any]:
    p, params = job["progress"], job.get("params") or {}
    done, total = p.get("done") or 0, p.get("total")
    return {**job, "repo": f"{params.get('repo_id')}@{params.get('revision') or 'main'}",
            "progress": f"{_human_bytes(done)} / {_human_bytes(total)}" if total else _human_bytes(done) if done else "",
            "rate": f"{_human_bytes(p['rate'])}/s" if p.get("rate") and job["state"] == "running" else "",
            "eta": _seconds_text(p.get("eta_seconds")) if job["state"] == "running" else ""}


def _local_row(repo: dict[str, Any]) -> dict[str, Any]:
    revs = [(",".join(r["refs"]) + " " if r["refs"] else "") + r["commit"][:8] for r in repo["revisions"]]
    return {**repo, "revisions": revs, "size": _human_bytes(repo["size_on_disk"]), "files": repo["file_count"]}


def _hub_download(ctx: Context, a: argparse.Namespace) -> Result:
    """Queue the download; run it inline unless a server worker is alive (then follow the row);
    `--detach` only queues it. Progress goes to `ctx.on_progress` (else throttled lines to
    `ctx.on_log`), the job's log lines to `ctx.on_log`."""
    data: dict[str, Any] = {"repo_id": a.repo_id, **_given(revision=a.revision, allow_patterns=a.include,
                                                          ignore_patterns=a.exclude, token=a.token)}
    try:
        job = ctx.services.hub.start_download(data, ctx.actor)
    except InvalidInput as exc:
        if exc.field == "token":  # the rules quote a bad value; never a token
            raise InvalidInput(exc.message.split(" (got '", 1)[0] + " (value not shown)", field="token") from None
        raise
    job_id = job["id"]
    deduplicated = bool(job.get("deduplicated"))
    if a.detach:
        title = (f"download job {job_id} of {a.repo_id} is already {job['state']}" if deduplicated
                 else f"queued download job {job_id} of {a.repo_id}")
        return Result(title + f"; follow it with `jobs show {job_id}`", job, record=_job_record(job))
    say = ctx.on_log or (lambda _line: None)
    shown = {"at": 0.0, "text": ""}

    def report(current: dict[str, Any], final: bool = False) -> None:
        if ctx.on_progress is not None:
            ctx.on_progress(current)
            return
        text = download_progress_text(current)
        now = time.monotonic()
        if text != shown["text"] and (final or now - shown["at"] >= PROGRESS_LINE_EVERY):
            say(text)
            shown.update(at=now, text=text)

    job, where = _follow(ctx, job, a.timeout, report, say)
    report(job, final=True)
    _succeeded(job, f"download job {job_id}")
    out = job.get("result") or {}
    record = {"job": job_id, "repo_id": out.get("repo_id"), "revision": out.get("revision"),
              "commit": out.get("commit"), "storage_path": out.get("storage_path"),
              "local_path": out.get("local_path"),
              "files": f"{out.get('files_total')} ({out.get('files_downloaded')} downloaded, "
                       f"{out.get('files_cached')} from the cache)",
              "size": _human_bytes(out.get("bytes_total")),
              "downloaded": f"{_human_bytes(out.get('bytes_downloaded'))} in {out.get('seconds')} s",
              "joined an existing job": deduplicated}
    return Result(f"downloaded {out.get('repo_id')}@{out.get('revision')} (job {job_id}, run {where})", job,
                  record=record)


def _hub_list(ctx: Context, a: argparse.Namespace) -> Result:
    answer = ctx.services.hub.list_local(q=a.q, limit=a.limit, cursor=a.cursor)
    result = _page(f"local models in {answer['cache_dir']}, {_human_bytes(answer['size_on_disk'])} in all",
                   answer, HUB_COLUMNS, _local_row)
    return result


def _hub_show(ctx: Context, a: argparse.Namespace) -> Result:
    repo = ctx.services.hub.get_local(a.repo_id)
    rows = [{**r, "size": _human_bytes(r["size_on_disk"]), "files": r["file_count"]} for r in repo["revisions"]]
    record = {k: v for k, v in _local_row(repo).items() if k not in ("revisions", "size_on_disk", "file_count")}
    return Result(f"local model {repo['repo_id']}", repo, ("commit", "refs", "size", "files", "last_modified"),
                  rows=rows, record=record)


def _hub_delete(ctx: Context, a: argparse.Namespace) -> Result:
    answer = ctx.services.hub.delete(a.repo_id, revision=a.revision, files=a.file, force=a.force, actor=ctx.actor)
    what = {"repo": a.repo_id, "revision": f"{a.repo_id}@{a.revision}",
            "files": f"{len(answer['files'])} file(s) of {a.repo_id}"}[answer["scope"]]
    record = {"scope": answer["scope"], "commits": answer["commits"], "files": answer["files"],
              "freed": _human_bytes(answer["freed_bytes"]), "freed_bytes": answer["freed_bytes"]}
    if answer["forced"]:
        record["forced past"] = answer["overridden"]
    return Result(f"deleted {what}: freed {_human_bytes(answer['freed_bytes'])}", answer, record=record)


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
        return Result("no default model (set one with `hub default NAME`)", {"name": None, "model": None},
                      record={"name": None})
    model = answer.get("model") or {}
    record = {"name": answer["name"], "storage_path": model.get("storage_path"),
              "updated_at": answer["updated_at"], "updated_by": answer["updated_by"]}
    if not model:
        record["problem"] = "the model no longer exists in the registry"
    return Result(f"default model: {answer['name']}", answer, record=record)


def _hub_downloads(ctx: Context, a: argparse.Namespace) -> Result:
    answer = ctx.services.hub.downloads(active=a.active, limit=a.limit, cursor=a.cursor)
    return _page("downloads", answer, DOWNLOAD_COLUMNS, _download_row)


def _hub_cancel(ctx: Context, a: argparse.Namespace) -> Result:
    job = ctx.services.hub.cancel(a.id)
    return Result(f"download job {job['id']}: cancel requested ({job['state']})", job, record=_job_record(job))


# -- handlers: image builds ---------------------------------------------------------------
def _short_image(image_id: str | None) -> str:
    """An image id as Docker shows it: 12 hex digits without `sha256:`."""
    return image_id.split(":", 1)[-1][:12] if image_id else ""


def build_row(build: dict[str, Any]) -> dict[str, Any]:
    """A build view with its columns as people read them: the release, a short image id,
    human sizes, the duration, and the context bytes sent against the bytes needed."""
    sent, needed = build.get("context_bytes"), build.get("needed_bytes")
    return {**build, "release": f"{build['model']}:{build['version']}:{build['quantization']}",
            "image": _short_image(build.get("image_id")), "size": _human_bytes(build.get("image_size")),
            "duration": _seconds_text(build.get("duration_s")),
            "context": f"{_human_bytes(sent)} sent / {_human_bytes(needed)} needed" if sent is not None else ""}


def _build_record(build: dict[str, Any]) -> dict[str, Any]:
    row, opts, check = build_row(build), build.get("options") or {}, build.get("run_check")
    record = {k: row.get(k) for k in ("id", "release", "state", "message", "error", "tag", "image", "size",
                                      "duration", "reused", "context")}
    record.update({"context files": build.get("context_files"), "context hash": build.get("context_hash"),
                   "dockerfile": opts.get("dockerfile"), "accelerator": opts.get("accelerator"),
                   "base image": opts.get("base_image") if opts.get("dockerfile") == "generated" else None,
                   "job": build.get("job_id"), "created_by": build.get("created_by"),
                   "created_at": build.get("created_at"), "finished_at": build.get("finished_at")})
    if check:
        record["run check"] = (f"{shlex.join(check['command'])}: "
                               f"{check.get('error') or 'exited ' + str(check.get('exit_code'))}")
    for push in build.get("pushes") or []:
        record[f"push {push['id']}"] = push_text(push)
    return record


def push_text(push: dict[str, Any]) -> str:
    """A push in one line: the full reference@digest (to pull it by) and its state."""
    ref = f"{push['reference']}@{push['digest']}" if push.get("digest") else push["reference"]
    why = f": {push['error']}" if push.get("error") else ""
    return f"{ref} ({push['state']}{why})"


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
                raise InvalidInput(f"build_args: --build-arg {key} has no value and ${key} is not set; "
                                   f"give KEY=VALUE", field="build_args")
            value = os.environ[key]
        args[key] = value
    return args


def _run_check(a: argparse.Namespace) -> dict[str, Any] | None:
    """`--run-check CMD` (split like a shell line) and `--devices` as the run_check object."""
    if a.run_check is None and a.devices is None:
        return None
    check: dict[str, Any] = _given(devices=a.devices)
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
        raise InvalidInput(f"password: --password-stdin cannot ask for it here ({exc}); set ${PASSWORD_ENV} "
                           "instead", field="password") from None


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
            raise InvalidInput(f"password: --username needs the password in ${PASSWORD_ENV} or on standard "
                               f"input with --password-stdin", field="password")
    return {"registry": registry, **_given(repository=a.repository, tag=a.push_tag, username=a.username,
                                           password=password)}


def _push(ctx: Context, build_id: int, data: dict[str, Any], timeout: float) -> tuple[dict[str, Any], str]:
    """Queue a push of a build's image and see it to its end (its log to `ctx.on_log`);
    returns the push (with its digest) and where it ran."""
    pushed = ctx.services.builds.push(build_id, data, ctx.actor)
    job, where = _follow(ctx, ctx.services.jobs.get(pushed["job_id"]), timeout, lambda _job: None, ctx.on_log)
    _succeeded(job, f"push {pushed['id']} of build {build_id} as {pushed['reference']}")
    return next(p for p in ctx.services.builds.get(build_id)["pushes"] if p["id"] == pushed["id"]), where


def _build(ctx: Context, a: argparse.Namespace) -> Result:
    """Queue a build of a release and follow its log (`ctx.on_log`) to the end, running the
    job inline unless a server worker is alive; `--detach` only queues it. With `--push`,
    the image is pushed when the build succeeds. The log carries the progress (steps)."""
    from .builds import rules

    if a.detach and a.push:
        raise UsageError("build: --push needs the build to finish; drop --detach (or push later with "
                         "`builds push ID REGISTRY`)")
    if not a.push and (a.repository or a.push_tag or a.username or a.password_stdin):
        raise UsageError("build: --repository, --push-tag, --username and --password-stdin go with --push REGISTRY")
    data = {**(ctx.body or {}), "release_id": _release_arg(ctx, a.release), **_given(
        tag=a.tag, accelerator=a.accelerator, base_image=a.base_image, dockerfile=a.dockerfile, project=a.project,
        include=a.include, build_args=_build_args(a.build_arg), platform=a.platform,
        no_cache=True if a.no_cache else None, pull=True if a.pull else None, run_check=_run_check(a))}
    push = _push_data(a, a.push) if a.push else None
    if push is not None:
        rules.PUSH.for_create(push)  # a bad registry or repository refuses before anything is built
    build = ctx.services.builds.start(data, ctx.actor)
    build_id = build["id"]
    if a.detach:
        title = (f"build {build_id} of {a.release} as {build['tag']} is already {build['state']}"
                 if build.get("deduplicated") else f"queued build {build_id} of {a.release} as {build['tag']}")
        return _build_result(title + f"; follow it with `builds log {build_id} --follow`", build)
    job, where = _follow(ctx, ctx.services.jobs.get(build["job_id"]), a.timeout, lambda _job: None, ctx.on_log)
    _succeeded(job, f"build {build_id}")
    build = ctx.services.builds.get(build_id)
    title = (f"{'reused' if build['reused'] else 'built'} {build['tag']} (image {_short_image(build['image_id'])}, "
             f"build {build_id}, run {where})")
    if push is not None:
        pushed, _ = _push(ctx, build_id, push, a.timeout)
        build = ctx.services.builds.get(build_id)
        title += f"; pushed {pushed['reference']}@{pushed['digest']}"
    return _build_result(title, build)


def _builds_list(ctx: Context, a: argparse.Namespace) -> Result:
    release_id = _release_arg(ctx, a.release) if a.release else None
    answer = ctx.services.builds.list(model=a.model, release_id=release_id, active=a.active, limit=a.limit,
                                      cursor=a.cursor)
    return _page("builds", answer, BUILD_COLUMNS, build_row)


def _builds_show(ctx: Context, a: argparse.Namespace) -> Result:
    build = ctx.services.builds.get(a.id)
    return _build_result(f"build {a.id} ({build_row(build)['release']} as {build['tag']}): {build['state']}", build)


def _builds_log(ctx: Context, a: argparse.Namespace) -> Result:
    """A page of the build's log; with --follow every line after --after goes to
    `ctx.on_log` until the build ends (run inline when it is queued and no worker is alive),
    and a build that did not succeed is an error (the CLI exits 1), as for `build`."""
    builds = ctx.services.builds
    if not a.follow:
        return _log_result(f"build {a.id}", builds.log(a.id, after=a.after, limit=a.limit), a.after)
    build = builds.get(a.id)
    job, _ = _follow(ctx, ctx.services.jobs.get(build["job_id"]), a.timeout, lambda _job: None,
                     ctx.on_log or (lambda _line: None), after=a.after)
    _succeeded(job, f"build {a.id}")
    return _build_result(f"build {a.id} succeeded", builds.get(a.id))


def _builds_cancel(ctx: Context, a: argparse.Namespace) -> Result:
    build = ctx.services.builds.cancel(a.id)
    return _build_result(f"build {a.id}: cancel requested ({build['state']})", build)


def _builds_push(ctx: Context, a: argparse.Namespace) -> Result:
    data = _push_data(a, a.registry)
    if a.detach:
        pushed = ctx.services.builds.push(a.id, data, ctx.actor)
        return Result(f"queued push {pushed['id']} of build {a.id} as {pushed['reference']}; follow it with "
                      f"`jobs log {pushed['job_id']}`", pushed, record=pushed)
    pushed, where = _push(ctx, a.id, data, a.timeout)
    return Result(f"pushed {pushed['reference']}@{pushed['digest']} (run {where})", pushed, record=pushed)


# -- the tree -------------------------------------------------------------------------
def _common() -> argparse.ArgumentParser:
    """Options every command accepts (given before or after the command words)."""
    p = _Parser(add_help=False)
    p.add_argument("--workspace", metavar="DIR", default=argparse.SUPPRESS,
                   help="workspace folder (default: $JUPYTER_MLOPS_WORKSPACE, else the nearest folder with .mlops/)")
    p.add_argument("--db-url", metavar="URL", default=argparse.SUPPRESS,
                   help="database URL (default: $JUPYTER_MLOPS_DB_URL, else SQLite in the workspace)")
    p.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                   help="show the raw JSON answer instead of a table")
    return p


def _paging(p: argparse.ArgumentParser) -> None:
    p.add_argument("--limit", metavar="N", help="page size (1-500, default 50)")
    p.add_argument("--cursor", metavar="CURSOR", help="the next_cursor of the previous page")


def build_parser(prog: str = "mlops", *, body: bool = False) -> argparse.ArgumentParser:
    """The command tree. With `body` (a cell magic's JSON body supplies fields), options
    that the body may carry are not required on the line."""
    from .registry import rules

    # Each parser gets its own copy of the common options: parents share action objects,
    # and the top's defaults must not leak into the subcommands' SUPPRESS defaults.
    top = _Parser(prog=prog, parents=[_common()],
                  description="MLOps workbench: model registry, jobs, dependencies, Hugging Face models and image "
                              "builds.",
                  epilog=f"Run '{prog} COMMAND --help' for a command's options.")
    top.set_defaults(workspace=None, db_url=None, json=False, func=None, _group=top)
    cmds = top.add_subparsers(title="commands", metavar="COMMAND")

    def group(parent: Any, name: str, help_text: str) -> Any:
        p = parent.add_parser(name, help=help_text, description=help_text, parents=[_common()])
        p.set_defaults(func=None, _group=p)
        return p, p.add_subparsers(title="commands", metavar="COMMAND")

    def cmd(parent: Any, name: str, help_text: str, func: Callable[[Context, argparse.Namespace], Result],
            *, takes_body: bool = False) -> argparse.ArgumentParser:
        p = parent.add_parser(name, help=help_text, description=help_text, parents=[_common()])
        p.set_defaults(func=func, takes_body=takes_body)
        return p

    # models (the registry); `models --local` is the model cache (same as `hub list`)
    models_p, models = group(cmds, "models", "list, show, create and delete registry models; "
                                             "`models --local` lists downloaded models instead (= `hub list`)")
    models_p.add_argument("--local", action="store_true",
                          help="list the local model cache (Hugging Face downloads) instead of running a command; "
                               "takes --q/--limit/--cursor like `hub list`")
    models_p.add_argument("--q", metavar="TEXT", dest="local_q", help="with --local: text in the repo id")
    models_p.add_argument("--limit", metavar="N", dest="local_limit", help="with --local: page size (1-500)")
    models_p.add_argument("--cursor", metavar="CURSOR", dest="local_cursor", help="with --local: next page")
    models_p.set_defaults(local=False, local_q=None, local_limit=None, local_cursor=None)
    p = cmd(models, "list", "list models by name, filtered, one page at a time", _models_list)
    p.add_argument("--q", metavar="TEXT", help="text in the name or description")
    p.add_argument("--tag", help="only models with this tag")
    p.add_argument("--base-model", metavar="NAME", help="only models with this base model")
    p.add_argument("--company", help="only models from this company")
    p.add_argument("--status", help=f"only models with a release in this status ({', '.join(rules.RELEASE_STATUSES)})")
    _paging(p)
    p = cmd(models, "show", "show one model with its release count and aliases", _models_show)
    p.add_argument("name", metavar="NAME")
    p = cmd(models, "create", "register a model", _models_create, takes_body=True)
    p.add_argument("name", metavar="NAME", help=f"model name: {rules.NAME_RULE}")
    p.add_argument("--storage-path", metavar="P", required=not body,
                   help=f"where the weights are: {rules.STORAGE_PATH.rule}")
    p.add_argument("--base-model", metavar="NAME")
    p.add_argument("--company")
    p.add_argument("--repository", metavar="URL")
    p.add_argument("--parameter-count", metavar="N", type=_count, help="e.g. 7000000000, 7B or 350M")
    p.add_argument("--description", metavar="TEXT")
    p.add_argument("--tag", metavar="T", action="append", help="a tag (repeat for more)")
    p.add_argument("--metadata", metavar="JSON", help="a JSON object")
    p = cmd(models, "delete", "delete a model (refused while it has releases unless --cascade)", _models_delete)
    p.add_argument("name", metavar="NAME")
    p.add_argument("--cascade", action="store_true", help="also delete its releases, artifacts and deployments")

    # releases
    _, releases = group(cmds, "releases", "list, show, create and delete releases")
    p = cmd(releases, "list", "list releases newest first, filtered, one page at a time", _releases_list)
    p.add_argument("--model", metavar="NAME")
    p.add_argument("--status", help=", ".join(rules.RELEASE_STATUSES))
    p.add_argument("--quantization", metavar="Q")
    p.add_argument("--version")
    _paging(p)
    p = cmd(releases, "show", "show one release", _releases_show)
    p.add_argument("id", metavar="ID", type=_id)
    p = cmd(releases, "create", "create a candidate release of a model", _releases_create, takes_body=True)
    p.add_argument("model", metavar="MODEL")
    p.add_argument("version", metavar="VERSION", help=f"release version: {rules.VERSION.rule}")
    p.add_argument("--quantization", metavar="Q", help=f"default none; {rules.QUANTIZATION.rule}")
    p.add_argument("--notes", metavar="TEXT", help="release notes")
    p.add_argument("--metadata", metavar="JSON", help="a JSON object")
    p.add_argument("--auto-build", action="store_true", help="build an image for this release automatically")
    p = cmd(releases, "delete", "delete a release (refused while it is in use unless --cascade)", _releases_delete)
    p.add_argument("id", metavar="ID", type=_id)
    p.add_argument("--cascade", action="store_true", help="also delete its artifacts and deployments")

    # lifecycle
    for action, (sources, target) in rules.TRANSITIONS.items():
        p = cmd(cmds, action, f"move a release from {' or '.join(sources)} to {target}", _transition)
        p.add_argument("id", metavar="ID", type=_id)
        p.set_defaults(action=action)

    # aliases
    _, alias = group(cmds, "alias", "point named aliases (prod, staging, ...) at releases")
    p = cmd(alias, "set", "point MODEL@ALIAS at a release of that model", _alias_set)
    p.add_argument("model", metavar="MODEL")
    p.add_argument("alias", metavar="ALIAS")
    p.add_argument("release_id", metavar="RELEASE_ID", type=_id)
    p = cmd(alias, "show", "list aliases (of MODEL), or show the release MODEL@ALIAS points at", _alias_show)
    p.add_argument("model", metavar="MODEL", nargs="?")
    p.add_argument("alias", metavar="ALIAS", nargs="?")
    _paging(p)
    p = cmd(alias, "delete", "remove MODEL@ALIAS", _alias_delete)
    p.add_argument("model", metavar="MODEL")
    p.add_argument("alias", metavar="ALIAS")

    p = cmd(cmds, "audit", "who changed what in the registry, newest first", _audit)
    p.add_argument("--model", metavar="NAME", help="only this model's history (also after it was deleted)")
    p.add_argument("--entity-type", metavar="TYPE", help="model, release, artifact, deployment or alias")
    p.add_argument("--action", help="create, update, delete, promote, demote, deprecate, set_alias, ...")
    _paging(p)
    cmd(cmds, "dashboard", "counts, recent releases, jobs and storage", _dashboard)

    # jobs
    _, jobs = group(cmds, "jobs", "durable jobs: list, show, log, cancel, selftest")
    p = cmd(jobs, "list", "list jobs newest first", _jobs_list)
    p.add_argument("--state", help="queued, running, succeeded, failed, cancelled or interrupted")
    p.add_argument("--active", action="store_true", help="only queued and running jobs")
    p.add_argument("--kind", help="only jobs of this kind")
    _paging(p)
    p = cmd(jobs, "show", "show one job with its progress", _jobs_show)
    p.add_argument("id", metavar="ID", type=_id)
    p = cmd(jobs, "log", "a job's log lines", _jobs_log)
    p.add_argument("id", metavar="ID", type=_id)
    p.add_argument("--after", metavar="N", type=_bounded(0, 2**62), default=0, help="only lines after seq N")
    p.add_argument("--limit", metavar="N", default=500, help="at most N lines (1-500)")
    p = cmd(jobs, "cancel", "cancel a queued or running job", _jobs_cancel)
    p.add_argument("id", metavar="ID", type=_id)
    p = cmd(jobs, "selftest", "run the diagnostic.count job end to end (inline when no server worker is alive)",
            _jobs_selftest)
    p.add_argument("--n", metavar="N", type=_bounded(1, 100_000), default=10, help="steps to count (default 10)")
    p.add_argument("--delay", metavar="S", type=_bounded(0, 60, float), default=0.1,
                   help="seconds per step (default 0.1)")
    p.add_argument("--timeout", metavar="S", type=_bounded(1, 86_400, float), default=SELFTEST_TIMEOUT,
                   help="when a server worker runs it: give up waiting after S seconds")
    p.add_argument("--fail-at", metavar="N", type=_bounded(1, 100_000),
                   help="make the job fail at step N (to see a failure end to end)")

    # model hub
    def repo_arg(p: argparse.ArgumentParser) -> None:
        p.add_argument("repo_id", metavar="ORG/NAME", help="Hugging Face model repo id")

    def download_options(p: argparse.ArgumentParser) -> None:
        repo_arg(p)
        p.add_argument("--revision", metavar="R", help="branch, tag or commit (default main)")
        p.add_argument("--include", metavar="GLOB", action="append",
                       help="only files matching this glob (repeat), e.g. '*Q4_K_M*.gguf'")
        p.add_argument("--exclude", metavar="GLOB", action="append", help="skip files matching this glob (repeat)")
        p.add_argument("--token", metavar="T", help="Hugging Face token for gated or private repos (never stored)")
        p.add_argument("--detach", action="store_true", help="only queue the job; do not wait for it")
        p.add_argument("--timeout", metavar="S", type=_bounded(1, 864_000, float), default=DOWNLOAD_TIMEOUT,
                       help="when a server worker runs it: give up waiting after S seconds")

    def delete_options(p: argparse.ArgumentParser) -> None:
        repo_arg(p)
        p.add_argument("--revision", metavar="R", help="only this revision (branch, tag or commit)")
        p.add_argument("--file", metavar="F", action="append", help="only this repo file or glob (repeat)")
        p.add_argument("--force", action="store_true",
                       help="delete even if in use (being downloaded, the default model, or with releases)")

    download_help = "download a Hugging Face model into the workspace's cache (a job; live progress)"
    delete_help = "delete a downloaded model, revision or files from the local cache (bytes freed)"
    _, hub = group(cmds, "hub", "Hugging Face models: download, list, delete, register, default")
    download_options(cmd(hub, "download", download_help, _hub_download))
    p = cmd(hub, "list", "models in the local cache: revisions, size, files, last used", _hub_list)
    p.add_argument("--q", metavar="TEXT", help="text in the repo id")
    _paging(p)
    repo_arg(cmd(hub, "show", "one local model with its revisions", _hub_show))
    delete_options(cmd(hub, "delete", delete_help, _hub_delete))
    p = cmd(hub, "register", "create a registry model from a downloaded repo (storage_path hf://org/name@commit)",
            _hub_register)
    repo_arg(p)
    p.add_argument("--revision", metavar="R", help="which downloaded revision (default main)")
    p.add_argument("--name", metavar="N", help="registry model name (default: the repo's name)")
    p = cmd(hub, "default", "show the workspace's default model, or make registry model NAME the default",
            _hub_default)
    p.add_argument("name", metavar="NAME", nargs="?")
    p.add_argument("--clear", action="store_true", help="clear the default model")
    p = cmd(hub, "downloads", "download jobs, newest first", _hub_downloads)
    p.add_argument("--active", action="store_true", help="only queued and running downloads")
    _paging(p)
    p = cmd(hub, "cancel", "cancel a download job", _hub_cancel)
    p.add_argument("id", metavar="JOB_ID", type=_id)
    # the short names
    download_options(cmd(cmds, "download", download_help + " (= hub download)", _hub_download))
    delete_options(cmd(cmds, "delete", delete_help + " (= hub delete)", _hub_delete))

    # dependency doctor
    _, deps = group(cmds, "deps", "check and repair the kernel's dependencies without touching accelerator builds")

    def target_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--python", metavar="PATH",
                       help="interpreter to check (default: this one; in a notebook, the kernel's)")
        p.add_argument("--project", metavar="DIR",
                       help="project folder (default: the nearest with pyproject.toml or requirements.txt "
                            "from the current folder upward)")
        p.add_argument("--extra", metavar="E", action="append", help="an optional extra to include (repeat)")
        p.add_argument("--group", metavar="G", action="append", help="a dependency group to include (repeat)")
        p.add_argument("-r", "--requirement", metavar="FILE", action="append",
                       help="a requirements file to read (repeat; default: the project's)")

    p = cmd(deps, "check", "status of each declared requirement, broken deps and protected builds", _deps_check)
    target_options(p)
    p = cmd(deps, "plan", "the checked dry-run plan that would fix it (nothing is installed)", _deps_plan)
    target_options(p)
    p.add_argument("--installer", choices=("uv", "pip"), help="default: uv when available, else pip")
    p = cmd(deps, "fix", "install what is missing or outdated (a job), protected builds pinned", _deps_fix)
    target_options(p)
    p.add_argument("--installer", choices=("uv", "pip"), help="default: uv when available, else pip")
    p.add_argument("--yes", "-y", action="store_true", help="apply without asking for confirmation")
    p.add_argument("--timeout", metavar="S", type=_bounded(1, 86_400, float), default=REPAIR_TIMEOUT,
                   help="when a server worker runs it: give up waiting after S seconds")
    p = cmd(deps, "history", "checks, plans and repairs, newest first", _deps_history)
    p.add_argument("--python", metavar="PATH", help="only this interpreter")
    _paging(p)

    # image builds
    from .builds import rules as build_rules

    build_fields = build_rules.BUILD.fields

    def follow_options(p: argparse.ArgumentParser, what: str) -> None:
        p.add_argument("--detach", "--no-follow", action="store_true", dest="detach",
                       help=f"only queue the {what}; do not wait for it")
        p.add_argument("--timeout", metavar="S", type=_bounded(1, 864_000, float), default=BUILD_TIMEOUT,
                       help="when a server worker runs it: give up waiting after S seconds")

    def push_options(p: argparse.ArgumentParser, prefix: str = "") -> None:
        p.add_argument("--repository", metavar="REPO",
                       help="repository in the registry (default: the build's image name)")
        p.add_argument(f"--{prefix}tag", metavar="TAG", dest="push_tag", help="tag in the registry (default: the "
                                                                               "build's tag)")
        p.add_argument("--username", metavar="USER", help=f"registry user (the password from ${PASSWORD_ENV} or "
                                                          "--password-stdin; never stored)")
        p.add_argument("--password-stdin", action="store_true", help="read the registry password from standard input")

    p = cmd(cmds, "build", "build a Docker image of a release (a job; the daemon's log live), optionally push it",
            _build, takes_body=True)
    p.add_argument("release", metavar="MODEL:VERSION[:QUANT]", help="the release (or its id)")
    p.add_argument("--tag", metavar="NAME[:TAG]", help=build_fields["tag"].description)
    p.add_argument("--accelerator", choices=build_rules.ACCELERATORS,
                   help="base image family (default: the release's or model's metadata, else rocm)")
    p.add_argument("--base-image", metavar="IMAGE", help=build_fields["base_image"].description)
    p.add_argument("--dockerfile", choices=build_rules.DOCKERFILE_MODES, help=build_fields["dockerfile"].description)
    p.add_argument("--project", metavar="DIR", help=build_fields["project"].description)
    p.add_argument("--include", metavar="PATH", action="append",
                   help="a project folder or file to copy into the image (repeat)")
    p.add_argument("--build-arg", metavar="KEY=VALUE", action="append",
                   help="a build-time ARG (repeat; KEY alone takes its value from the environment)")
    p.add_argument("--platform", metavar="OS/ARCH", help="target platform, e.g. linux/amd64")
    p.add_argument("--no-cache", action="store_true", help=build_fields["no_cache"].description)
    p.add_argument("--pull", action="store_true", help=build_fields["pull"].description)
    p.add_argument("--run-check", metavar="CMD", help="start the built image with CMD (a shell-like line) and "
                                                      "record its exit code")
    p.add_argument("--devices", choices=build_rules.DEVICES, help="GPU devices for --run-check (default none)")
    p.add_argument("--push", metavar="REGISTRY", help="then push the image to this registry host[:port]")
    push_options(p, "push-")
    follow_options(p, "build")

    _, builds = group(cmds, "builds", "image builds: list, show, log, cancel, push")
    p = cmd(builds, "list", "builds newest first, with state, image and size", _builds_list)
    p.add_argument("--model", metavar="NAME", help="only builds of this model")
    p.add_argument("--release", metavar="ID", help="only builds of this release (its id or MODEL:VERSION[:QUANT])")
    p.add_argument("--active", action="store_true", help="only queued and running builds")
    _paging(p)
    p = cmd(builds, "show", "one build: state, image, context, run check, pushes", _builds_show)
    p.add_argument("id", metavar="ID", type=_id)
    p = cmd(builds, "log", "a build's log lines (--follow: live until it ends)", _builds_log)
    p.add_argument("id", metavar="ID", type=_id)
    p.add_argument("--follow", "-f", action="store_true", help="print new lines as they come until the build ends")
    p.add_argument("--after", metavar="N", type=_bounded(0, 2**62), default=0, help="only lines after seq N")
    p.add_argument("--limit", metavar="N", default=500, help="at most N lines (1-500; not with --follow)")
    p.add_argument("--timeout", metavar="S", type=_bounded(1, 864_000, float), default=BUILD_TIMEOUT,
                   help="with --follow, when a server worker runs it: give up after S seconds")
    p = cmd(builds, "cancel", "cancel a queued or running build", _builds_cancel)
    p.add_argument("id", metavar="ID", type=_id)
    p = cmd(builds, "push", "push a build's image to a registry (a job) and print its digest", _builds_push)
    p.add_argument("id", metavar="ID", type=_id)
    p.add_argument("registry", metavar="REGISTRY", help="registry host[:port], e.g. 127.0.0.1:5000")
    push_options(p)
    follow_options(p, "push")
    return top


def parse(argv: Sequence[str], prog: str = "mlops", *, body: bool = False) -> argparse.Namespace:
    """Parse the words; UsageError or HelpRequested instead of exiting."""
    parser = build_parser(prog, body=body)
    args = parser.parse_args(list(argv))
    if getattr(args, "local", False):
        if args.func is not None:
            raise UsageError(f"{prog} models: --local lists the model cache and takes no command",
                             usage=parser.format_usage().strip(), prog=prog)
        args.func, args.q, args.limit, args.cursor = _hub_list, args.local_q, args.local_limit, args.local_cursor
    else:
        for name in ("local_q", "local_limit", "local_cursor"):
            if getattr(args, name, None) is not None:
                raise UsageError(f"{prog} models: --{name[6:]} before the command needs --local "
                                 "(or put it after `list`)", usage=parser.format_usage().strip(), prog=prog)
    if args.func is None:
        group = args._group
        if not argv or all(w.startswith("-") for w in argv):
            raise UsageError(f"{prog}: a command is required", usage=parser.format_usage().strip(), prog=prog)
        raise HelpRequested(group.format_help(), incomplete=True)
    return args


def tty_confirm(planned: Result) -> bool:
    """The CLI's confirmation: show the plan and ask y/N on a terminal; refuse otherwise."""
    print(planned.text())
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise InvalidInput("yes: not confirmed (no terminal to ask on); re-run with --yes to apply this plan",
                           field="yes")
    answer = input("apply this plan? [y/N] ").strip().lower()
    if answer not in ("y", "yes"):
        raise InvalidInput("yes: not confirmed; nothing was installed", field="yes")
    return True


def _stderr_line(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


_DEFAULT: Any = object()


def run(argv: Sequence[str], *, services: Services | None = None, body: Any = None,
        on_progress: ProgressFn | None = None, prog: str = "mlops", actor: str | None = None,
        on_log: LogFn | None = _DEFAULT, confirm: ConfirmFn | None = _DEFAULT) -> Result:
    """Parse and run one command; returns its Result.

    `services` is used unless --workspace/--db-url name another store; `body` is a JSON
    object of extra fields (a cell magic's body); `on_progress` gets job views while a
    job runs; `on_log` gets a job's log lines (default: stderr); `confirm` is asked before
    `deps fix` without --yes applies a plan (default: a y/N prompt on a terminal, refused
    otherwise; None: the plan is returned for a re-run with --yes).
    Raises HelpRequested, UsageError or the services' MLOpsError."""
    args = parse(argv, prog, body=body is not None)
    if body is not None:
        if not getattr(args, "takes_body", False):
            raise UsageError(f"{prog}: this command takes no JSON body", prog=prog)
        if not isinstance(body, dict):
            raise InvalidInput("body: must be a JSON object", field="body")
    from . import services as services_mod

    try:
        if args.workspace or args.db_url or services is None:
            svc = services_mod.services_for(args.workspace, args.db_url)
        else:
            svc = services
    except MLOpsError:
        raise
    except Exception as exc:  # an unreachable or unreadable database
        raise Unavailable(f"database: cannot open the store: {exc}") from None
    ctx = Context(svc, actor or services_mod.current_user(), body=body, on_progress=on_progress,
                  on_log=_stderr_line if on_log is _DEFAULT else on_log,
                  confirm=tty_confirm if confirm is _DEFAULT else confirm)
    result: Result = args.func(ctx, args)
    result.as_json = bool(args.json)
    return result


def parse_body(text: str | None) -> Any:
    """A cell's JSON body (None when blank); InvalidInput naming `body` when malformed."""
    if text is None or not text.strip():
        return None
    return _json_option("body", text)
