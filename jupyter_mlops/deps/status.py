"""Compare what a project declares with what a probed environment has installed:
one row per declared name (ok, missing, outdated, protected, skipped), the protected
set (accelerator builds kept on purpose), and an offline `pip check` of the installed
distributions. Pure computation over the probe: no subprocess, no import of the
packages themselves."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from functools import lru_cache
from typing import Any, Protocol

from packaging.markers import Marker, UndefinedComparison, UndefinedEnvironmentName
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from .declared import Declaration, Declared, Unsupported, redact

#: Names (or globs over PEP 503 names) protected unless configured otherwise.
DEFAULT_PROTECTED = ("torch", "torchvision", "torchaudio", "triton", "pytorch-triton-rocm", "nvidia-*", "rocm-*")

#: Row states.
OK, MISSING, OUTDATED, PROTECTED, SKIPPED = "ok", "missing", "outdated", "protected", "skipped"
STATES = (OK, MISSING, OUTDATED, PROTECTED, SKIPPED)

# Local version labels of builds from an accelerator wheel index (PyTorch's ROCm, CUDA,
# XPU and CPU indexes, AMD's HIP builds). `+cpu` is included: it too comes only from
# the PyTorch index, and a swap for the PyPI build pulls in the CUDA stack.
_ACCELERATOR_LABEL = re.compile(r"^(rocm|hip|cu\d|cuda|xpu|cpu)", re.IGNORECASE)


class DistributionLike(Protocol):
    """What the check reads of one installed distribution (see deps.probe)."""

    @property
    def name(self) -> str: ...
    @property
    def version(self) -> str: ...
    @property
    def requires(self) -> Sequence[str]: ...


class ProbeLike(Protocol):
    """What the check reads of a probe: the marker environment and the installed
    distributions keyed by PEP 503 canonical name."""

    @property
    def marker_env(self) -> Mapping[str, str]: ...
    @property
    def distributions(self) -> Mapping[str, DistributionLike]: ...


@dataclass
class Row:
    """The state of one declared name. `specifier` is every active declaration and
    constraint intersected; `protected` is set for a protected installed distribution
    whatever the state."""

    name: str
    key: str
    state: str
    specifier: str
    installed: str | None
    protected: bool
    reason: str
    requirements: list[str]
    sources: list[str]
    extras: list[str] = field(default_factory=list)
    constraints: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "key": self.key,
            "state": self.state,
            "specifier": self.specifier,
            "installed": self.installed,
            "protected": self.protected,
            "reason": self.reason,
            "requirements": list(self.requirements),
            "sources": list(self.sources),
            "extras": list(self.extras),
            "constraints": list(self.constraints),
        }


@dataclass(frozen=True)
class Broken:
    """One `pip check` finding: `name` `version` requires `requirement`, whose
    distribution `dependency` is not installed (`installed` None) or does not satisfy it."""

    name: str
    version: str
    requirement: str
    dependency: str
    installed: str | None

    @property
    def kind(self) -> str:
        return "missing" if self.installed is None else "conflict"

    @property
    def message(self) -> str:
        """The line `pip check` prints for this finding."""
        if self.installed is None:
            return f"{self.name} {self.version} requires {self.dependency}, which is not installed."
        return (
            f"{self.name} {self.version} has requirement {self.requirement}, "
            f"but you have {self.dependency} {self.installed}."
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "requirement": self.requirement,
            "dependency": self.dependency,
            "installed": self.installed,
            "kind": self.kind,
            "message": self.message,
        }


@dataclass
class Status:
    """The whole comparison. `needs_fix` is true when a row is missing or outdated and
    not protected, or an installed distribution misses a dependency that is not protected
    (installing it replaces nothing)."""

    project: str
    python: str | None
    rows: list[Row]
    broken: list[Broken]
    protected: dict[str, str]
    unsupported: list[Unsupported]
    index_options: list[str]
    summary: dict[str, int]
    needs_fix: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "python": self.python,
            "rows": [r.to_dict() for r in self.rows],
            "broken": [b.to_dict() for b in self.broken],
            "protected": dict(self.protected),
            "unsupported": [u.to_dict() for u in self.unsupported],
            "index_options": [redact(o) for o in self.index_options],
            "summary": dict(self.summary),
            "needs_fix": self.needs_fix,
        }


# ---- protected set ---------------------------------------------------------------------


def protected_set(probe: ProbeLike, patterns: Iterable[str] = DEFAULT_PROTECTED) -> dict[str, str]:
    """Installed distributions to keep as they are: canonical name -> why.

    A distribution is protected when its name matches a configured name or glob, when
    its version carries an accelerator local label (`+rocm5.7`, `+cu121`, `+xpu`, ...),
    or when it pins (`==`/`===`, marker true without extras) a protected distribution,
    repeated until nothing changes (a pin on a pinning package counts too)."""
    dists = probe.distributions
    globs = [canonicalize_name(p) for p in patterns]
    reasons: dict[str, list[str]] = {}
    for key, dist in dists.items():
        if any(fnmatchcase(key, g) for g in globs):
            reasons.setdefault(key, []).append("configured as protected")
        label = _local(dist.version)
        if label and _ACCELERATOR_LABEL.match(label):
            reasons.setdefault(key, []).append(f"accelerator build {dist.version}")
    env = _Env(probe.marker_env)
    changed = True
    while changed:
        changed = False
        for key, dist in dists.items():
            for text in dist.requires:
                req = _requirement(text)
                if req is None or canonicalize_name(req.name) not in reasons or req.url:
                    continue
                pin = [s for s in req.specifier if s.operator == "===" or (s.operator == "==" and "*" not in s.version)]
                if not pin or not env.active(req.marker, ("",)):
                    continue
                why = f"pins {req.name}{','.join(str(s) for s in pin)}"
                if why not in reasons.get(key, ()):
                    reasons.setdefault(key, []).append(why)
                    changed = True
    return {key: "; ".join(why) for key, why in reasons.items()}


# ---- check -----------------------------------------------------------------------------


def check(
    probe: ProbeLike, declaration: Declaration, *, protected_patterns: Sequence[str] = DEFAULT_PROTECTED
) -> Status:
    """Compare `declaration` with the installed distributions of `probe`.

    Protected patterns are `protected_patterns` plus `[tool.jupyter-mlops] protected`.
    Markers are evaluated in the probe's marker environment: with the requirement's own
    extra, or (no extra) with none and each chosen extra. A name whose declarations are
    all inactive is a `skipped` row with the reason. Versions compare with prereleases."""
    dists = probe.distributions
    env = _Env(probe.marker_env)
    patterns = [*protected_patterns, *declaration.settings.get("protected", ())]
    protected = protected_set(probe, patterns)
    globs = [canonicalize_name(p) for p in patterns]
    chosen = ("", *declaration.extras)

    active: dict[str, list[Declared]] = {}
    inactive: dict[str, list[Declared]] = {}
    for declared in declaration.requirements:
        extras = (declared.extra,) if declared.extra is not None else chosen
        bucket = active if env.active(declared.requirement.marker, extras) else inactive
        bucket.setdefault(declared.key, []).append(declared)
    constraints: dict[str, list[Declared]] = {}
    for declared in declaration.constraints:
        if env.active(declared.requirement.marker, ("",)):
            constraints.setdefault(declared.key, []).append(declared)

    rows: list[Row] = []
    order = dict.fromkeys(d.key for d in declaration.requirements)
    for key in order:
        if key in active:
            rows.append(_row(key, active[key], constraints.get(key, []), dists, protected, globs, env))
        else:
            first = inactive[key][0]
            rows.append(
                Row(
                    name=first.requirement.name,
                    key=key,
                    state=SKIPPED,
                    specifier=str(first.requirement.specifier),
                    installed=_version_of(dists, key),
                    protected=key in protected,
                    reason=f"marker {first.requirement.marker} is false here" + _extra_note(first, chosen),
                    requirements=[d.text for d in inactive[key]],
                    sources=[d.source for d in inactive[key]],
                )
            )

    broken = pip_check(probe, extras={k: set().union(*(d.requirement.extras for d in v)) for k, v in active.items()})
    summary = dict.fromkeys(STATES, 0)
    for row in rows:
        summary[row.state] += 1
    summary["broken"] = len(broken)
    summary["unsupported"] = len(declaration.unsupported)
    needs_fix = any(r.state in (MISSING, OUTDATED) and not r.protected for r in rows) or any(
        b.installed is None
        and canonicalize_name(b.dependency) not in protected
        and not any(fnmatchcase(canonicalize_name(b.dependency), g) for g in globs)
        for b in broken
    )
    return Status(
        project=str(declaration.project),
        python=getattr(probe, "python", None),
        rows=rows,
        broken=broken,
        protected=protected,
        unsupported=list(declaration.unsupported),
        index_options=list(declaration.index_options),
        summary=summary,
        needs_fix=needs_fix,
    )


def _row(
    key: str,
    declared: list[Declared],
    constraints: list[Declared],
    dists: Mapping[str, DistributionLike],
    protected: dict[str, str],
    globs: Sequence[str],
    env: _Env,
) -> Row:
    """The row of one name from its active declarations and constraints."""
    spec = SpecifierSet()
    for d in (*declared, *constraints):
        spec &= d.requirement.specifier
    extras = set().union(*(d.requirement.extras for d in declared))
    shown = ", ".join(dict.fromkeys(str(d.requirement) for d in declared))
    row = Row(
        name=declared[0].requirement.name,
        key=key,
        state=OK,
        specifier=str(spec),
        installed=None,
        protected=key in protected,
        reason="",
        requirements=[d.text for d in declared],
        sources=list(dict.fromkeys(d.source for d in declared)),
        extras=sorted(extras),
        constraints=[f"{d.text} ({d.source})" for d in constraints],
    )
    dist = dists.get(key)
    if dist is None:
        row.state = MISSING
        if any(fnmatchcase(key, g) for g in globs):
            row.protected = True
            row.reason = (
                f"{row.name} is not installed and is configured as protected: "
                "install the build for this machine's accelerator from its wheel index by hand"
            )
        else:
            row.reason = f"not installed; declared {shown}"
        return row
    row.installed = dist.version
    version = _version(dist.version)
    if version is None:
        satisfied, why = False, f"installed version {dist.version!r} is not a PEP 440 version"
    else:
        satisfied = spec.contains(version, prereleases=True)
        why = f"installed {dist.version} does not satisfy {spec}"
        if (
            constraints
            and not satisfied
            and all(d.requirement.specifier.contains(version, prereleases=True) for d in declared)
        ):
            why += " (narrowed by constraints)"
    if not satisfied:
        if key in protected:
            row.state = PROTECTED
            row.reason = f"{dist.name} {dist.version} {_kept(protected[key])}; the declaration {shown} would replace it"
        else:
            row.state = OUTDATED
            row.reason = why
        return row
    missing = _extra_gaps(dist, sorted(extras), dists, env)
    if missing:
        row.state = MISSING
        row.reason = "; ".join(missing)
    elif row.protected:
        row.reason = f"satisfied; kept as installed ({protected[key]})"
    return row


def _kept(reason: str) -> str:
    """A protected-set reason as a clause: "is an accelerator build", "pins torch==2.3.1"."""
    parts = []
    for part in reason.split("; "):
        if part.startswith("accelerator build"):
            parts.append("is an accelerator build")
        elif part == "configured as protected":
            parts.append("is configured as protected")
        else:
            parts.append(part)
    return " and ".join(parts)


def _extra_gaps(
    dist: DistributionLike, extras: list[str], dists: Mapping[str, DistributionLike], env: _Env
) -> list[str]:
    """What the requested extras of an installed `dist` still need."""
    gaps = []
    for extra in extras:
        for text in dist.requires:
            req = _requirement(text)
            if req is None or req.marker is None or "extra" not in str(req.marker):
                continue
            if not env.active(req.marker, (extra,)) or env.active(req.marker, ("",)):
                continue
            dep = dists.get(canonicalize_name(req.name))
            if dep is None:
                gaps.append(f"extra {extra!r} needs {req.name}, which is not installed")
            else:
                version = _version(dep.version)
                if version is None or not req.specifier.contains(version, prereleases=True):
                    gaps.append(f"extra {extra!r} needs {req.name}{req.specifier}, but {dep.version} is installed")
    return gaps


def _extra_note(declared: Declared, chosen: tuple[str, ...]) -> str:
    if declared.extra is not None:
        return f" (extra {declared.extra!r})"
    if len(chosen) > 1:
        return f" (extras tried: {', '.join(repr(e) for e in chosen[1:])})"
    return ""


# ---- offline pip check -----------------------------------------------------------------


def pip_check(probe: ProbeLike, *, extras: Mapping[str, Iterable[str]] | None = None) -> list[Broken]:
    """`pip check` without pip: each installed distribution's requirements, markers
    evaluated in the probe's environment with the extras in use (requested by another
    installed distribution's active requirement, or by `extras`: key -> extra names),
    must be installed and satisfied. Findings sorted by name."""
    dists = probe.distributions
    env = _Env(probe.marker_env)
    parsed: dict[str, list[Requirement]] = {
        key: [r for r in map(_requirement, dist.requires) if r is not None] for key, dist in dists.items()
    }
    in_use: dict[str, set[str]] = {key: {""} for key in dists}
    for key, names in (extras or {}).items():
        if key in in_use:
            in_use[key].update(canonicalize_name(e) for e in names)
    pending = list(dists)
    while pending:  # extras switched on by active requirements, to a fixpoint
        key = pending.pop()
        for req in parsed[key]:
            if not req.extras or not env.active(req.marker, tuple(in_use[key])):
                continue
            wanted = canonicalize_name(req.name)
            new = {canonicalize_name(e) for e in req.extras} - in_use.get(wanted, {""})
            if wanted in in_use and new:
                in_use[wanted] |= new
                pending.append(wanted)
    found: list[Broken] = []
    for key, dist in dists.items():
        for req in parsed[key]:
            if not env.active(req.marker, tuple(in_use[key])):
                continue
            dep = dists.get(canonicalize_name(req.name))
            if dep is None:
                found.append(Broken(dist.name, dist.version, str(req), req.name, None))
                continue
            version = _version(dep.version)
            if req.specifier and (version is None or not req.specifier.contains(version, prereleases=True)):
                found.append(Broken(dist.name, dist.version, str(req), dep.name, dep.version))
    found.sort(key=lambda b: (canonicalize_name(b.name), b.requirement))
    return found


# ---- small cached helpers --------------------------------------------------------------


class _Env:
    """Marker evaluation in one marker environment, memoized per (marker, extra)."""

    def __init__(self, marker_env: Mapping[str, str]) -> None:
        self.env = dict(marker_env)
        self.memo: dict[tuple[str, str], bool] = {}

    def active(self, marker: Marker | None, extras: Iterable[str]) -> bool:
        """True when `marker` holds with any of `extras` ("" for none)."""
        if marker is None:
            return True
        text = str(marker)
        uses_extra = "extra" in text
        for extra in extras if uses_extra else ("",):
            memo_key = (text, extra)
            result = self.memo.get(memo_key)
            if result is None:
                try:
                    result = marker.evaluate({**self.env, "extra": extra})
                except (UndefinedComparison, UndefinedEnvironmentName):  # not for this environment
                    result = False
                self.memo[memo_key] = result
            if result:
                return True
        return False


@lru_cache(maxsize=8192)
def _requirement(text: str) -> Requirement | None:
    """A Requirement from installed metadata, None when the metadata is invalid (pip skips them too)."""
    try:
        return Requirement(text)
    except InvalidRequirement:
        return None


@lru_cache(maxsize=8192)
def _version(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None


def _local(text: str) -> str | None:
    version = _version(text)
    return version.local if version is not None else None


def _version_of(dists: Mapping[str, DistributionLike], key: str) -> str | None:
    dist = dists.get(key)
    return dist.version if dist is not None else None
