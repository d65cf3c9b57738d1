"""Plan an install with the protected builds pinned, by a dry run of uv or pip, and
check the plan instead of trusting it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from ..errors import InvalidInput, Unavailable

#: Options never passed to an installer: each can replace an accelerator build.
FORBIDDEN_OPTIONS = (
    "-U",
    "--upgrade",
    "--reinstall",
    "--force-reinstall",
    "--overrides",
    "--upgrade-strategy",
    "--torch-backend",
    "--break-system-packages",
)
DRY_RUN_TIMEOUT = 300.0
_UV_LINE = re.compile(r"^\s*([+-])\s+([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)")


class DistLike(Protocol):
    name: str
    version: str


class ProbeLike(Protocol):
    """What a plan reads of a probe: the interpreter, its distributions and its uv."""

    @property
    def python(self) -> str: ...
    @property
    def distributions(self) -> Mapping[str, Any]: ...
    @property
    def uv(self) -> str | None: ...


@dataclass(frozen=True)
class Change:
    """One distribution the plan installs: from `before` (None: new) to `after`."""

    name: str
    before: str | None
    after: str
    requested: bool

    @property
    def key(self) -> str:
        return canonicalize_name(self.name)

    @property
    def kind(self) -> str:
        if self.before is None:
            return "install"
        try:
            return "upgrade" if Version(self.after) > Version(self.before) else "downgrade"
        except InvalidVersion:
            return "change"


@dataclass
class Plan:
    """What one install call would do, and whether it may run."""

    installer: str
    requirements: list[str]
    constraints: list[str]
    changes: list[Change] = field(default_factory=list)
    held_back: list[dict[str, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    resolver_error: str | None = None

    @property
    def ok(self) -> bool:
        return not self.problems and self.resolver_error is None

    def to_dict(self) -> dict[str, Any]:
        return {
            "installer": self.installer,
            "requirements": self.requirements,
            "constraints": self.constraints,
            "changes": [{**asdict(c), "kind": c.kind} for c in self.changes],
            "held_back": self.held_back,
            "problems": self.problems,
            "resolver_error": self.resolver_error,
            "ok": self.ok,
        }


def protected_pins(probe: ProbeLike, protected: Mapping[str, str]) -> list[str]:
    """`name==version` for every installed protected distribution, local label included."""
    pins = []
    for key in sorted(protected):
        dist = probe.distributions.get(key)
        if dist is not None:
            pins.append(f"{dist.name}=={dist.version}")
    return pins


def installer_command(
    probe: ProbeLike,
    installer: str,
    *,
    dry_run: bool,
    constraints_file: Path,
    requirements: Sequence[str],
    index_options: Sequence[str],
) -> list[str]:
    """The exact install command: uv pip or pip, constraints on every call, nothing eager."""
    bad = [opt for opt in index_options if opt.split("=", 1)[0] in FORBIDDEN_OPTIONS]
    if bad:
        raise InvalidInput(
            f"index_options: {bad[0]} is never used: it can replace accelerator builds", field="index_options"
        )
    if installer == "uv":
        if not probe.uv:
            raise InvalidInput("installer: uv is not available for this environment", field="installer")
        cmd = [probe.uv, "pip", "install", "--color", "never", "--python", probe.python]
        if dry_run:
            cmd.append("--dry-run")
    elif installer == "pip":
        cmd = [probe.python, "-m", "pip", "install", "--disable-pip-version-check", "--no-input"]
        if dry_run:
            cmd += ["--dry-run", "--report", "-", "-q"]
    else:
        raise InvalidInput(f"installer: must be uv or pip (got {installer!r})", field="installer")
    return [*cmd, *index_options, "-c", str(constraints_file), *requirements]


def installer_env() -> dict[str, str]:
    """The environment for installer calls: no PYTHONPATH from the server."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "FORCE_COLOR", "CLICOLOR_FORCE")
    }
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env["NO_COLOR"] = "1"  # kernels set FORCE_COLOR; the output is parsed and logged as text
    return env


def _dry_run(
    probe: ProbeLike,
    installer: str,
    requirements: Sequence[str],
    pins: Sequence[str],
    index_options: Sequence[str],
    timeout: float,
) -> tuple[dict[str, str] | None, str]:
    """Resolve `requirements` under `pins`: {key: version to install} (None if it cannot) and the output."""
    with tempfile.TemporaryDirectory(prefix="mlops-plan-") as tmp:
        constraints = Path(tmp) / "constraints.txt"
        constraints.write_text("".join(f"{pin}\n" for pin in pins))
        cmd = installer_command(
            probe,
            installer,
            dry_run=True,
            constraints_file=constraints,
            requirements=requirements,
            index_options=index_options,
        )
        try:
            proc = subprocess.run(
                cmd, capture_output=True, text=True, timeout=timeout, env=installer_env(), stdin=subprocess.DEVNULL
            )
        except subprocess.TimeoutExpired:
            raise Unavailable(f"the {installer} dry run took longer than {timeout:.0f} s") from None
        except OSError as exc:
            raise Unavailable(f"could not run {installer}: {exc}") from None
    output = (proc.stdout + proc.stderr).strip()
    if proc.returncode != 0:
        return None, output
    if installer == "pip":
        report = json.loads(proc.stdout)
        return {
            canonicalize_name(item["metadata"]["name"]): item["metadata"]["version"]
            for item in report.get("install", [])
        }, output
    wanted: dict[str, str] = {}
    for line in output.splitlines():
        m = _UV_LINE.match(line)
        if m and m.group(1) == "+":
            wanted[canonicalize_name(m.group(2))] = m.group(3)
    return wanted, output


def make_plan(
    probe: ProbeLike,
    requirements: Sequence[str],
    protected: Mapping[str, str],
    *,
    declared: Sequence[str] = (),
    index_options: Sequence[str] = (),
    installer: str | None = None,
    timeout: float = DRY_RUN_TIMEOUT,
) -> Plan:
    """Dry-run `requirements` with every protected build pinned, then check the plan.

    Refused (problems) when it would change a protected distribution, downgrade one
    not asked for, or leave a `declared` requirement unsatisfied; versions the pins
    hold back (the resolver silently choosing older ones) are listed in `held_back`."""
    for text in requirements:
        try:
            Requirement(text)
        except InvalidRequirement as exc:
            raise InvalidInput(
                f"requirements: {text!r} is not a valid requirement ({exc})", field="requirements"
            ) from None
    chosen = installer or ("uv" if probe.uv else "pip")
    pins = protected_pins(probe, protected)
    plan = Plan(installer=chosen, requirements=list(requirements), constraints=pins)
    if not requirements:
        return plan
    # The pinned resolution and a free one side by side: the free one tells what the
    # pins hold back, or which protected build a failing requirement wants replaced.
    with ThreadPoolExecutor(max_workers=2) as pool:
        pinned_run = pool.submit(_dry_run, probe, chosen, requirements, pins, index_options, timeout)
        free_run = pool.submit(_dry_run, probe, chosen, requirements, (), index_options, timeout)
        wanted, output = pinned_run.result()
        free, _ = free_run.result()
    if wanted is None:
        plan.resolver_error = explain_failure(probe, requirements, protected, free, output)
        return plan
    requested = {canonicalize_name(Requirement(r).name) for r in requirements}
    for key, version in sorted(wanted.items()):
        dist = probe.distributions.get(key)
        before = dist.version if dist is not None else None
        if before == version:
            continue
        plan.changes.append(Change(dist.name if dist else key, before, version, key in requested))
    for change in plan.changes:
        if change.key in protected:
            plan.problems.append(
                f"it would replace {change.name} {change.before} with {change.after}, "
                f"which is protected: {protected[change.key]}"
            )
        elif change.kind == "downgrade" and not change.requested:
            plan.problems.append(
                f"it would downgrade {change.name} from {change.before} to {change.after}, which was not asked for"
            )
    after = {key: dist.version for key, dist in probe.distributions.items()}
    after.update({c.key: c.after for c in plan.changes})
    for text in declared:
        req = Requirement(text)
        have = after.get(canonicalize_name(req.name))
        if have is None or not req.specifier.contains(have, prereleases=True):
            plan.problems.append(f"{text} would still not be satisfied (it would have {have or 'nothing'})")
    plan.held_back = _held_back(probe, requirements, wanted, free, protected)
    return plan


def _held_back(
    probe: ProbeLike,
    requirements: Sequence[str],
    wanted: Mapping[str, str],
    free: Mapping[str, str] | None,
    protected: Mapping[str, str],
) -> list[dict[str, str]]:
    """Requested distributions the pins made the resolver take at an older version
    (compared with the `free` resolution), and why."""
    if not free:
        return []
    moved = [
        f"{probe.distributions[k].name} {free[k]}"
        for k in sorted(free)
        if k in protected and k in probe.distributions and probe.distributions[k].version != free[k]
    ]
    held = []
    for text in requirements:
        key = canonicalize_name(Requirement(text).name)
        if key in wanted and key in free and Version(free[key]) > Version(wanted[key]):
            held.append(
                {
                    "name": key,
                    "chosen": wanted[key],
                    "newest": free[key],
                    "why": f"{key} {free[key]} would need "
                    + (", ".join(moved) or "other versions")
                    + " in place of protected builds",
                }
            )
    return held


def explain_failure(
    probe: ProbeLike,
    requirements: Sequence[str],
    protected: Mapping[str, str],
    free: Mapping[str, str] | None,
    output: str,
) -> str:
    """Say which protected build a requirement needs replaced (from the `free`
    resolution), else the resolver's own words."""
    clashes = []
    for key, version in sorted((free or {}).items()):
        dist = probe.distributions.get(key)
        if key in protected and dist is not None and dist.version != version:
            clashes.append(f"the protected {dist.name} {dist.version} ({protected[key]}) with {version}")
    tail = "\n".join(output.splitlines()[-6:])
    if clashes:
        return (
            f"{', '.join(requirements)} cannot be installed without replacing "
            + "; ".join(clashes)
            + f". The installer said:\n{tail}"
        )
    return f"the installer found no solution:\n{tail}"
