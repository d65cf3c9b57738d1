"""Dependency doctor commands: check, plan, fix (a job) and history; and how a status and
a plan are shown (the DependencyPanel shows them the same way)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .render import Result, page_result
from .tree import Context, Tree, bounded, paging

if TYPE_CHECKING:
    from ..deps.service import Target

DEPS_COLUMNS = ("name", "state", "installed", "wanted", "reason")
PLAN_COLUMNS = ("name", "kind", "before", "after", "requested")
DEPS_HISTORY_COLUMNS = ("id", "at", "actor", "kind", "needs_fix", "job_id", "python", "project")
REPAIR_TIMEOUT = 3600.0


def status_record(answer: dict[str, Any]) -> dict[str, Any]:
    """A check's key/value lines: interpreter, project, accelerator, summary, protected, broken."""
    env, status = answer["environment"], answer["status"]
    acc = env.get("accelerator") or {}
    platform = acc.get("platform") if isinstance(acc, dict) else acc
    broken = [
        f"{b['name']} {b['version']} requires {b['requirement']} "
        f"({'missing' if b['installed'] is None else 'has ' + str(b['installed'])})"
        for b in status["broken"]
    ]
    return {
        "python": env["python"],
        "project": status["project"],
        "accelerator": platform,
        "installer": "uv" if env.get("uv") else ("pip" if env.get("pip") else "none"),
        "summary": ", ".join(f"{k} {v}" for k, v in status["summary"].items() if v),
        "protected": [f"{k} ({why})" for k, why in sorted(status["protected"].items())],
        "broken": broken,
        "needs fix": status["needs_fix"],
    }


def status_rows(status: dict[str, Any]) -> list[dict[str, Any]]:
    """A status's requirement rows, with `wanted` the specifier or (any)."""
    return [{**r, "wanted": r["specifier"] or "(any)"} for r in status["rows"]]


def plan_result(answer: dict[str, Any], title: str | None = None) -> Result:
    """A checked plan: its changes as the table, the status and the plan's verdict as lines."""
    plan = answer["plan"]
    record = {
        **status_record(answer),
        "installer": plan["installer"],
        "plan ok": plan["ok"],
        "requirements": plan["requirements"],
        "constraints": plan["constraints"],
    }
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


def _target(ctx: Context, a: argparse.Namespace) -> Target:
    """--python (default: this interpreter: in a kernel the kernel's own, for the CLI the
    CLI's), --project (default: found upward from the current folder)."""
    return ctx.services.deps.target(
        a.python or sys.executable,
        a.project,
        start=Path.cwd(),
        extras=a.extra,
        groups=a.group,
        requirement_files=a.requirement,
    )


def _deps_check(ctx: Context, a: argparse.Namespace) -> Result:
    answer = ctx.services.deps.check(_target(ctx, a), ctx.actor)
    needs = answer["status"]["needs_fix"]
    title = "dependencies: " + (
        "something is missing or outdated; `deps plan` shows the fix" if needs else "everything declared is satisfied"
    )
    return Result(title, answer, DEPS_COLUMNS, rows=status_rows(answer["status"]), record=status_record(answer))


def _deps_plan(ctx: Context, a: argparse.Namespace) -> Result:
    return plan_result(ctx.services.deps.plan(_target(ctx, a), ctx.actor, installer=a.installer))


def _deps_fix(ctx: Context, a: argparse.Namespace) -> Result:
    """Without --yes: the plan, confirmed by `ctx.confirm` (or shown for a re-run with
    --yes). Then the repair job, inline unless a server worker is alive."""
    target = _target(ctx, a)
    if not a.yes:
        planned = plan_result(ctx.services.deps.plan(target, ctx.actor, installer=a.installer))
        if not planned.data["status"]["needs_fix"] or not planned.data["plan"]["ok"]:
            return planned
        if ctx.confirm is None or not ctx.confirm(planned):
            planned.title = (
                f"plan: {len(planned.data['plan']['changes'])} change(s), NOT applied; re-run with --yes to apply it"
            )
            return planned
    job = ctx.services.deps.repair(target, ctx.actor, installer=a.installer)
    followed = ctx.follow(job, timeout=a.timeout, on_job=ctx.on_progress, on_line=ctx.on_log)
    done = followed.require_success(f"repair job {job['id']}")
    out = done.get("result") or {}
    record = {
        "job": job["id"],
        "python": out.get("python"),
        "installed": out.get("installed"),
        "failed": [f"{k}: {v}" for k, v in (out.get("failed") or {}).items()],
        "skipped": [f"{k}: {v}" for k, v in (out.get("skipped") or {}).items()],
        "protected unchanged": out.get("protected_unchanged"),
        "still needs fix": out.get("needs_fix_after"),
        "next": ("restart the kernel to use the new packages" if out.get("restart_kernel") else out.get("message")),
    }
    return Result(
        f"repair job {job['id']} succeeded (run {followed.where}): {out.get('message', '')}", done, record=record
    )


def _deps_history(ctx: Context, a: argparse.Namespace) -> Result:
    answer = ctx.services.deps.history(python=a.python, limit=a.limit, cursor=a.cursor)
    return page_result("dependency checks, plans and repairs", answer, DEPS_HISTORY_COLUMNS)


def _target_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--python", metavar="PATH", help="interpreter to check (default: this one; in a notebook, the kernel's)"
    )
    p.add_argument(
        "--project",
        metavar="DIR",
        help="project folder (default: the nearest with pyproject.toml or requirements.txt from the "
        "current folder upward, not above the workspace)",
    )
    p.add_argument("--extra", metavar="E", action="append", help="an optional extra to include (repeat)")
    p.add_argument("--group", metavar="G", action="append", help="a dependency group to include (repeat)")
    p.add_argument(
        "-r",
        "--requirement",
        metavar="FILE",
        action="append",
        help="a requirements file of the project to read (repeat; default: the project's)",
    )


def register(tree: Tree) -> None:
    """Add the dependency doctor's commands to `tree`."""
    from ..deps.rules import INSTALLERS

    _, deps = tree.group("deps", "check and repair the kernel's dependencies without touching accelerator builds")
    p = tree.command(
        deps, "check", "status of each declared requirement, broken deps and protected builds", _deps_check, writes=True
    )
    _target_options(p)
    p = tree.command(
        deps, "plan", "the checked dry-run plan that would fix it (nothing is installed)", _deps_plan, writes=True
    )
    _target_options(p)
    p.add_argument("--installer", choices=INSTALLERS, help="default: uv when available, else pip")
    p = tree.command(
        deps, "fix", "install what is missing or outdated (a job), protected builds pinned", _deps_fix, writes=True
    )
    _target_options(p)
    p.add_argument("--installer", choices=INSTALLERS, help="default: uv when available, else pip")
    p.add_argument("--yes", "-y", action="store_true", help="apply without asking for confirmation")
    p.add_argument(
        "--timeout",
        metavar="S",
        type=bounded(1, 86_400, float),
        default=REPAIR_TIMEOUT,
        help="when a server worker runs it: give up waiting after S seconds",
    )
    p = tree.command(deps, "history", "checks, plans and repairs, newest first", _deps_history)
    p.add_argument("--python", metavar="PATH", help="only this interpreter")
    paging(p)
