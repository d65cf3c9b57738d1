"""The dependency doctor as a service: check, plan, repair (a job) and history."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement
from sqlalchemy import select

from ..errors import Forbidden, InvalidInput
from ..jobs.queue import JobQueue
from ..paging import page
from ..paths import Roots
from ..store import Store
from ..store.schema import DepsRun
from .declared import Declaration, find_project, read_declared
from .interpreter import check_interpreter
from .plan import Plan, make_plan
from .probe import Probe, probe
from .rules import INSTALLERS
from .status import DEFAULT_PROTECTED, MISSING, OK, OUTDATED, Status, check

REPAIR_KIND = "deps.repair"


#: A project's own environments, whose interpreters the doctor may run (uv's and venv's names).
PROJECT_ENVS = (".venv", "venv")


def in_project_env(python: Any) -> bool:
    """Whether `python` names an interpreter in the bin folder of a `.venv` or `venv`."""
    if not isinstance(python, str) or not python:
        return False
    path = Path(python)
    return path.parent.name == "bin" and path.parent.parent.name in PROJECT_ENVS


@dataclass(frozen=True)
class Target:
    """Which environment, against which project and which of its declarations; `roots`
    are the folders its requirements files may include others from."""

    python: str
    project: str
    extras: tuple[str, ...] | None = None
    groups: tuple[str, ...] | None = None
    requirement_files: tuple[str, ...] | None = None
    roots: tuple[str, ...] = ()

    def to_params(self) -> dict[str, Any]:
        return {
            "python": self.python,
            "project": self.project,
            "extras": list(self.extras) if self.extras is not None else None,
            "groups": list(self.groups) if self.groups is not None else None,
            "requirement_files": list(self.requirement_files) if self.requirement_files is not None else None,
            "roots": list(self.roots),
        }


def make_target(
    python: Any,
    project: Any = None,
    *,
    roots: Roots,
    start: Path | None = None,
    stop: Path | None = None,
    extras: Any = None,
    groups: Any = None,
    requirement_files: Any = None,
) -> Target:
    """Validate a target: `python` an interpreter path; `project` a folder inside the
    `roots` (default: found upward from `start`, a relative one taken from `start`);
    `requirement_files` files inside the project. Bad input is InvalidInput naming the
    field, a path outside is Forbidden; nothing outside is read."""
    if not isinstance(python, str) or not python.strip():
        raise InvalidInput("python: give the path of the kernel's interpreter", field="python")
    base = start or Path.cwd()
    if project is None or project == "":
        found = find_project(base, stop=stop)
        if found is None:
            raise InvalidInput(
                f"project: no pyproject.toml or requirements.txt found from {base} upward; give the project folder",
                field="project",
            )
        project = str(found)
    if not isinstance(project, str):
        raise InvalidInput("project: must be a string (a folder)", field="project")
    folder = roots.resolve(project, "project", base=base)
    if not folder.is_dir():
        raise InvalidInput(f"project: {project!r} is not a folder", field="project")
    lists: dict[str, tuple[str, ...] | None] = {}
    for name, value in (("extras", extras), ("groups", groups), ("requirement_files", requirement_files)):
        if value is not None and (not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value)):
            raise InvalidInput(f"{name}: must be a list of strings", field=name)
        lists[name] = tuple(value) if value is not None else None
    if lists["requirement_files"] is not None:
        lists["requirement_files"] = tuple(
            str(roots.resolve(name, "requirement_files", base=folder, within=[folder]))
            for name in lists["requirement_files"]
        )
    return Target(python=python, project=str(folder), roots=tuple(str(r) for r in roots.roots), **lists)


def declaration_of(target: Target) -> Declaration:
    """What the target's project declares (its files may include others inside the roots)."""
    return read_declared(
        Path(target.project),
        extras=target.extras,
        groups=target.groups,
        requirement_files=target.requirement_files,
        roots=Roots(Path(r) for r in target.roots) if target.roots else Roots([Path(target.project)]),
    )


def to_install(status: Status) -> list[str]:
    """Requirement strings for what is missing or outdated and not protected, and for
    missing dependencies of installed distributions (installing those replaces nothing)."""
    wanted: dict[str, str] = {}
    for row in status.rows:
        if row.state in (MISSING, OUTDATED) and not row.protected:
            extras = f"[{','.join(sorted(row.extras))}]" if row.extras else ""
            wanted[row.key] = f"{row.name}{extras}{row.specifier}"
    for broken in status.broken:
        if broken.installed is None and broken.dependency.lower() not in status.protected:
            req = Requirement(broken.requirement)
            extras = f"[{','.join(sorted(req.extras))}]" if req.extras else ""
            wanted.setdefault(req.name.lower(), f"{req.name}{extras}{req.specifier}")
    return list(wanted.values())


def declared_after(status: Status) -> list[str]:
    """The active, unprotected declarations a plan must leave satisfied."""
    return [
        f"{row.name}{row.specifier}"
        for row in status.rows
        if row.state in (OK, MISSING, OUTDATED) and not row.protected
    ]


def diagnose(target: Target, protected_patterns: Sequence[str] = DEFAULT_PROTECTED) -> tuple[Probe, Status]:
    """Probe the target's interpreter and compare with its project's declarations."""
    env = probe(target.python)
    return env, check(env, declaration_of(target), protected_patterns=protected_patterns)


def plan_for(env: Probe, status: Status, target: Target, installer: str | None = None) -> Plan:
    """The checked plan that would fix `status`."""
    return make_plan(
        env,
        to_install(status),
        status.protected,
        declared=declared_after(status),
        index_options=declaration_of(target).index_options,
        installer=installer,
    )


def env_view(env: Probe) -> dict[str, Any]:
    """What a face shows about the environment."""
    return {
        "python": env.python,
        "prefix": env.prefix,
        "python_version": env.python_version,
        "distributions": len(env.distributions),
        "pip": env.pip_version,
        "uv": env.uv,
        "writable": env.writable,
        "externally_managed": env.externally_managed,
        "accelerator": asdict(env.accelerator),
    }


def record_run(
    store: Store,
    kind: str,
    actor: str,
    target: Target,
    *,
    needs_fix: bool,
    summary: dict[str, Any],
    job_id: int | None = None,
) -> int:
    """Keep one check, plan or repair in the history; returns its id."""
    with store.write() as s:
        run = DepsRun(
            kind=kind,
            actor=actor or "unknown",
            python=target.python,
            project=target.project,
            job_id=job_id,
            needs_fix=needs_fix,
            summary=summary,
        )
        s.add(run)
        s.flush()
        return run.id


class DepsService:
    """Check and plan in the caller's process; repair as a durable job. Requests name
    paths inside `roots` and interpreters of kernels or of `allowed_pythons`."""

    def __init__(
        self,
        store: Store,
        jobs: JobQueue,
        workspace_root: Path,
        protected_patterns: Sequence[str] = DEFAULT_PROTECTED,
        *,
        roots: Sequence[Path] = (),
        allowed_pythons: Sequence[Path] = (),
    ) -> None:
        self.store = store
        self.jobs = jobs
        self.workspace_root = Path(workspace_root).resolve()
        self.protected_patterns = tuple(protected_patterns)
        self.roots = Roots(roots or [self.workspace_root])
        self.allowed_pythons = tuple(allowed_pythons)

    def target(
        self,
        python: Any,
        project: Any = None,
        *,
        start: Path | None = None,
        extras: Any = None,
        groups: Any = None,
        requirement_files: Any = None,
        known_pythons: Sequence[str] = (),
    ) -> Target:
        """The target `python` x `project`. `python` must be an allowed interpreter (see
        `interpreter.check_interpreter`; `known_pythons` are vouched for by the caller, e.g.
        a running kernel's; the project's own `.venv` or `venv` is allowed too, as uv and
        `python -m venv` make it). Without `project`, it is found upward from `start`
        (default: the workspace root), never above the workspace root when `start` is inside it."""
        root = self.workspace_root
        begin = (start or root).resolve()
        stop = root if begin == root or root in begin.parents else None
        try:
            exe = check_interpreter(python, allowed=self.allowed_pythons, known=known_pythons)
        except Forbidden:
            if not in_project_env(python):
                raise
            exe = ""  # a project's own environment: allowed once the project is known
        target = make_target(
            python,
            project,
            roots=self.roots,
            start=begin,
            stop=stop,
            extras=extras,
            groups=groups,
            requirement_files=requirement_files,
        )
        if not exe:
            envs = [Path(target.project) / name for name in PROJECT_ENVS]
            exe = check_interpreter(python, allowed=[*self.allowed_pythons, *envs], known=known_pythons)
        return replace(target, python=exe)

    def check(self, target: Target, actor: str) -> dict[str, Any]:
        """The status of the target's environment against its project."""
        env, status = diagnose(target, self.protected_patterns)
        answer: dict[str, Any] = {"environment": env_view(env), "status": status.to_dict()}
        answer["run_id"] = record_run(
            self.store, "check", actor, target, needs_fix=status.needs_fix, summary=status.summary
        )
        return answer

    def plan(self, target: Target, actor: str, installer: str | None = None) -> dict[str, Any]:
        """Check, then the dry-run plan that would fix it (nothing is installed)."""
        env, status = diagnose(target, self.protected_patterns)
        plan = plan_for(env, status, target, installer)
        answer: dict[str, Any] = {"environment": env_view(env), "status": status.to_dict(), "plan": plan.to_dict()}
        answer["run_id"] = record_run(
            self.store,
            "plan",
            actor,
            target,
            needs_fix=status.needs_fix,
            summary={
                "ok": plan.ok,
                "changes": len(plan.changes),
                "problems": plan.problems,
                "resolver_error": plan.resolver_error,
            },
        )
        return answer

    def repair(self, target: Target, actor: str, installer: str | None = None) -> dict[str, Any]:
        """Queue the repair job (one at a time per interpreter); returns the job."""
        if installer is not None and installer not in INSTALLERS:
            raise InvalidInput(f"installer: must be uv or pip (got {installer!r})", field="installer")
        probe(target.python, timeout=30)  # a missing or broken interpreter fails here, before any job
        declaration_of(target)  # so does an unreadable project
        params = {
            **target.to_params(),
            "installer": installer,
            "protected_patterns": list(self.protected_patterns),
            "actor": actor,
        }
        return self.jobs.submit(REPAIR_KIND, params, owner=actor, dedupe_key=f"deps:{target.python}")

    def history(self, *, python: str | None = None, limit: Any = None, cursor: str | None = None) -> dict[str, Any]:
        """Checks, plans and repairs, newest first; one page."""
        stmt = select(DepsRun)
        if python:
            stmt = stmt.where(DepsRun.python == python)
        with self.store.read() as s:
            rows, nxt = page(s, stmt, DepsRun.id, descending=True, limit=limit, cursor=cursor)
            return {
                "items": [
                    {
                        "id": r.id,
                        "at": r.at.isoformat(),
                        "actor": r.actor,
                        "kind": r.kind,
                        "python": r.python,
                        "project": r.project,
                        "job_id": r.job_id,
                        "needs_fix": r.needs_fix,
                        "summary": r.summary,
                    }
                    for r in rows
                ],
                "next_cursor": nxt,
            }
