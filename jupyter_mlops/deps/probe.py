"""Probe an interpreter's environment: one subprocess running `_probe_script.py`.

`probe(python)` returns a frozen `Probe`: paths, marker environment, installed
distributions keyed by canonical name, pip/uv availability, writability, PEP 668
and the accelerator build of torch. Nothing here imports the environment's packages.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import time
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..errors import InvalidInput, Unavailable

log = logging.getLogger(__name__)

__all__ = ["Accelerator", "Distribution", "HostSigns", "Probe", "canonical_name", "clean_env", "probe"]

_CANON = re.compile(r"[-_.]+")

# Variables that change what an interpreter imports or where it looks. The server's
# values say nothing about the kernel's environment, so they never leak into a probe.
_LEAKY_VARS = (
    "PYTHONPATH",
    "PYTHONHOME",
    "PYTHONSTARTUP",
    "PYTHONSAFEPATH",
    "PYTHONEXECUTABLE",
    "PYTHONINSPECT",
    "PYTHONDEVMODE",
    "PYTHONWARNINGS",
    "PYTHONPLATLIBDIR",
    "__PYVENV_LAUNCHER__",
)


def canonical_name(name: str) -> str:
    """PEP 503 normalised distribution name (`Foo_Bar.baz` -> `foo-bar-baz`)."""
    return _CANON.sub("-", name).lower()


@dataclass(frozen=True)
class Distribution:
    """One installed distribution as the probed interpreter sees it."""

    name: str
    key: str
    version: str
    requires: tuple[str, ...] = ()
    installer: str | None = None
    direct_url: dict[str, Any] | None = field(default=None, hash=False, compare=True)
    location: str = ""
    metadata_dir: str | None = None
    record_sha256: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        out = asdict(self)
        out["requires"] = list(self.requires)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Distribution:
        """Inverse of `to_dict` (also reads the probe script's output)."""
        return cls(
            name=str(data["name"]),
            key=str(data.get("key") or canonical_name(str(data["name"]))),
            version=str(data.get("version") or ""),
            requires=tuple(data.get("requires") or ()),
            installer=data.get("installer"),
            direct_url=data.get("direct_url"),
            location=str(data.get("location") or ""),
            metadata_dir=data.get("metadata_dir"),
            record_sha256=data.get("record_sha256"),
        )


@dataclass(frozen=True)
class HostSigns:
    """Signs of an accelerator on the host, whatever torch build is installed."""

    rocm: bool = False  # /opt/rocm exists
    kfd: bool = False  # /dev/kfd exists (AMD GPU kernel driver)
    nvidia: bool = False  # /proc/driver/nvidia/version or /dev/nvidiactl exists


@dataclass(frozen=True)
class Accelerator:
    """The torch build: platform is rocm | cuda | xpu | cpu, or none without torch."""

    platform: str = "none"
    torch_version: str | None = None
    hip: str | None = None
    cuda: str | None = None
    xpu: str | None = None
    source: str = ""
    host: HostSigns = field(default_factory=HostSigns)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Accelerator:
        """Read the probe script's `accelerator` object."""
        host = data.get("host") or {}
        return cls(
            platform=str(data.get("platform") or "none"),
            torch_version=data.get("torch_version"),
            hip=data.get("hip"),
            cuda=data.get("cuda"),
            xpu=data.get("xpu"),
            source=str(data.get("source") or ""),
            host=HostSigns(**{k: bool(host.get(k)) for k in ("rocm", "kfd", "nvidia")}),
        )


@dataclass(frozen=True)
class Probe:
    """What one interpreter's environment holds; `distributions` is keyed by canonical name."""

    python: str
    prefix: str
    base_prefix: str
    python_version: str
    marker_env: dict[str, str] = field(hash=False)
    distributions: dict[str, Distribution] = field(hash=False)
    shadowed: tuple[Distribution, ...] = ()  # same name later on sys.path: never imported
    pip_version: str | None = None
    uv: str | None = None  # a uv binary usable for this environment
    writable: bool = False  # purelib can be written by us
    externally_managed: bool = False  # PEP 668 marker and not a virtual environment
    accelerator: Accelerator = field(default_factory=Accelerator)
    purelib: str | None = None
    scripts: str | None = None
    duration: float = 0.0  # seconds the probe took

    @property
    def in_venv(self) -> bool:
        """True for a virtual environment (prefix differs from base_prefix)."""
        return self.prefix != self.base_prefix

    def get(self, name: str) -> Distribution | None:
        """The installed distribution of that name (any spelling), or None."""
        return self.distributions.get(canonical_name(name))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict; `from_dict(to_dict())` gives an equal Probe."""
        return {
            "python": self.python,
            "prefix": self.prefix,
            "base_prefix": self.base_prefix,
            "python_version": self.python_version,
            "marker_env": dict(self.marker_env),
            "distributions": [d.to_dict() for d in self.distributions.values()],
            "shadowed": [d.to_dict() for d in self.shadowed],
            "pip_version": self.pip_version,
            "uv": self.uv,
            "writable": self.writable,
            "externally_managed": self.externally_managed,
            "accelerator": asdict(self.accelerator),
            "purelib": self.purelib,
            "scripts": self.scripts,
            "duration": self.duration,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Probe:
        """Build from `to_dict()` output or from the probe script's JSON."""
        dists = data.get("distributions") or []
        if isinstance(dists, dict):
            dists = list(dists.values())
        parsed = [Distribution.from_dict(d) for d in dists]
        return cls(
            python=str(data["python"]),
            prefix=str(data["prefix"]),
            base_prefix=str(data.get("base_prefix") or data["prefix"]),
            python_version=str(data.get("python_version") or ""),
            marker_env={str(k): str(v) for k, v in (data.get("marker_env") or {}).items()},
            distributions={d.key: d for d in sorted(parsed, key=lambda d: d.key)},
            shadowed=tuple(Distribution.from_dict(d) for d in data.get("shadowed") or ()),
            pip_version=data.get("pip_version"),
            uv=data.get("uv"),
            writable=bool(data.get("writable")),
            externally_managed=bool(data.get("externally_managed")),
            accelerator=Accelerator.from_dict(data.get("accelerator") or {}),
            purelib=data.get("purelib"),
            scripts=data.get("scripts"),
            duration=float(data.get("duration") or 0.0),
        )


@lru_cache(maxsize=1)
def _script() -> str:
    return Path(__file__).with_name("_probe_script.py").read_text(encoding="utf-8")


def clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The server's environment without the variables that steer an interpreter's imports,
    plus `extra` (e.g. a kernelspec's `env`), for running another environment's Python."""
    env = {k: v for k, v in os.environ.items() if k not in _LEAKY_VARS}
    env["PYTHONIOENCODING"] = "utf-8"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    if extra:
        env.update(extra)
    return env


def _tail(text: bytes | str | None, limit: int = 2000) -> str:
    if not text:
        return ""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    text = text.strip()
    return text if len(text) <= limit else "..." + text[-limit:]


def find_uv(scripts: str | None) -> str | None:
    """The environment's own `uv` (in its scripts dir), else one the server can run."""
    candidates = []
    if scripts:
        candidates.append(os.path.join(scripts, "uv.exe" if os.name == "nt" else "uv"))
    found = shutil.which("uv")
    if found:
        candidates.append(found)
    # `pip install uv` into the server's own Python puts uv next to it, even when that
    # bin folder is not on PATH (a server started by absolute path).
    candidates.append(os.path.join(sysconfig.get_path("scripts"), "uv.exe" if os.name == "nt" else "uv"))
    for candidate in candidates:
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def probe(python: str | os.PathLike[str], timeout: float = 60, env: dict[str, str] | None = None) -> Probe:
    """Run the probe script with `python` and return what it saw.

    `env` adds variables the kernel runs with (a kernelspec's `env`). Raises InvalidInput
    (field `python`) when there is no executable interpreter there, Unavailable when it
    does not answer within `timeout` seconds or answers with something that is not a probe.
    """
    from .interpreter import executable

    exe = executable(python)
    # No `-I`: isolated mode implies `-s`, which hides the user site-packages that the
    # kernel (started as plain `python -m ipykernel_launcher`) does import. No `-E`
    # either: PYTHONNOUSERSITE / PYTHONUSERBASE from the kernelspec's env must count.
    # Instead the server's import-steering variables are removed from the environment
    # (clean_env), and the script drops the working directory from sys.path itself.
    # `-c` keeps the script's own folder (our package) off sys.path. What the interpreter
    # writes to stderr goes to the log, never into an answer.
    cmd = [exe, "-c", _script()]
    started = time.monotonic()
    try:
        done = subprocess.run(
            cmd, capture_output=True, timeout=timeout, env=clean_env(env), stdin=subprocess.DEVNULL, check=False
        )
    except subprocess.TimeoutExpired as exc:
        log.warning("jupyter_mlops: the probe of %s timed out; stderr: %s", exe, _tail(exc.stderr))
        raise Unavailable(
            f"python: {exe} did not finish the environment probe within {timeout:g} s", field="python"
        ) from None
    except OSError as exc:
        raise InvalidInput(f"python: cannot run {exe}: {exc.strerror or exc}", field="python") from None
    duration = time.monotonic() - started
    if done.returncode != 0:
        log.warning(
            "jupyter_mlops: the probe of %s exited with %s; stderr: %s", exe, done.returncode, _tail(done.stderr)
        )
        raise Unavailable(
            f"python: the environment probe failed with {exe} (exit code {done.returncode}; the server log has "
            "its error output)",
            field="python",
        )
    try:
        data = json.loads(done.stdout)
        if not isinstance(data, dict) or "distributions" not in data:
            raise ValueError("not a probe object")
        data["uv"] = find_uv(data.get("scripts"))
        data["duration"] = round(duration, 4)
        return Probe.from_dict(data)
    except (ValueError, KeyError, TypeError) as exc:
        log.warning(
            "jupyter_mlops: the probe of %s answered %r; stderr: %s", exe, _tail(done.stdout, 200), _tail(done.stderr)
        )
        raise Unavailable(
            f"python: {exe} answered the environment probe with something that is not its JSON ({exc})",
            field="python",
        ) from None


def _main(argv: list[str]) -> int:  # pragma: no cover - a debugging aid
    result = probe(argv[0] if argv else sys.executable)
    print(json.dumps(result.to_dict(), indent=2))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(_main(sys.argv[1:]))
