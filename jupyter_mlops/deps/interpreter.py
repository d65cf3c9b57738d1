"""Which interpreters the dependency doctor may run. A caller's `python` must be a Python
interpreter of a kernel's environment (a kernelspec's interpreter, a running kernel's, or
this process's own) or of the `allowed_pythons` setting; it is checked by a safe
`-I -c` with a known answer before the probe or an installer ever runs through it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from ..errors import Forbidden, InvalidInput, MLOpsError
from ..paths import inside, usable

#: What an interpreter must print for CHECK: the marker and its major.minor version.
ANSWER = re.compile(r"jupyter-mlops-python (\d+)\.(\d+)")
CHECK = "import sys; sys.stdout.write('jupyter-mlops-python %d.%d' % sys.version_info[:2])"
CHECK_TIMEOUT = 20.0
#: The probe script needs this Python or newer.
OLDEST = (3, 8)


def executable(python: Any) -> str:
    """The absolute path of the executable file `python` names (a bare name is looked up on
    PATH); InvalidInput naming `python` when there is none."""
    if not isinstance(python, (str, os.PathLike)) or not os.fspath(python).strip():
        raise InvalidInput("python: must be the path of a Python interpreter, got an empty value", field="python")
    raw = os.fspath(python)
    usable(raw, "python")
    path = raw if os.sep in raw else (shutil.which(raw) or raw)
    path = os.path.abspath(os.path.expanduser(path))
    if not os.path.exists(path):
        raise InvalidInput(f"python: no interpreter at {raw!r} (the file does not exist)", field="python")
    if os.path.isdir(path) or not os.access(path, os.X_OK):
        raise InvalidInput(f"python: {raw!r} is not an executable file", field="python")
    return path


def kernel_interpreters() -> list[str]:
    """The interpreters of every kernelspec this process can start (as jupyter_client would)."""
    from jupyter_client.kernelspec import KernelSpecManager

    from .kernel import kernelspec_python

    found = []
    for name, info in KernelSpecManager().get_all_specs().items():
        spec = info.get("spec") or {}
        try:
            found.append(kernelspec_python(SimpleNamespace(argv=spec.get("argv"), env=spec.get("env")), name))
        except MLOpsError:  # a spec that names no interpreter here allows nothing
            continue
    return found


def is_allowed(path: str, known: Iterable[str], allowed: Iterable[Path]) -> bool:
    """Whether `path` (absolute, not resolved: a venv's python is a link) is one of the
    `known` interpreters or next to one (the same bin folder), or is or lies under one of
    the `allowed` entries."""
    norm = os.path.normpath(path)
    known_paths = {os.path.normpath(k) for k in known}
    if norm in known_paths or os.path.dirname(norm) in {os.path.dirname(k) for k in known_paths}:
        return True
    return any(norm == str(entry) or inside(Path(norm), entry) for entry in allowed)


def check_interpreter(python: Any, *, allowed: Sequence[Path] = (), known: Iterable[str] = ()) -> str:
    """`python` as an absolute path when it is an allowed Python interpreter (see the module
    doc; `known` adds interpreters the caller vouches for, e.g. a running kernel's), else
    Forbidden (not allowed) or InvalidInput (not Python), naming `python`. Nothing the
    executable writes is passed on."""
    from .probe import clean_env

    exe = executable(python)
    kernels = [*known, *kernel_interpreters(), sys.executable]
    if not is_allowed(exe, kernels, allowed):
        raise Forbidden(
            f"python: {exe} is not the interpreter of a kernel here; register its environment as a kernel "
            "(python -m ipykernel install --user --name NAME) or add it to the allowed_pythons setting",
            field="python",
        )
    try:
        done = subprocess.run(
            [exe, "-I", "-c", CHECK],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            timeout=CHECK_TIMEOUT,
            env=clean_env(),
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        done = None
    answer = ANSWER.fullmatch(done.stdout.decode("ascii", "replace")) if done and done.returncode == 0 else None
    if answer is None:
        raise InvalidInput(f"python: {exe} is not a Python interpreter (it did not answer as one)", field="python")
    version = (int(answer.group(1)), int(answer.group(2)))
    if version < OLDEST:
        raise InvalidInput(
            f"python: {exe} is Python {version[0]}.{version[1]}; the doctor needs {OLDEST[0]}.{OLDEST[1]} or newer",
            field="python",
        )
    return exe
