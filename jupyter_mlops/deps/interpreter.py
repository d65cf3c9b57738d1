"""Which interpreters the dependency doctor may run. A caller's `python` must be a Python
interpreter of a kernel's environment (a kernelspec's interpreter, a running kernel's, or
this process's own), of the `allowed_pythons` setting, or of a folder the caller allows
(the project's own `.venv`); it is checked by a safe
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


#: What an interpreter next to a known one, or in an allowed folder, may be called.
PYTHON_NAME = re.compile(r"python(\d+(\.\d+)?)?")


def absolute(python: Any) -> str:
    """`python` as an absolute, normalized path (a bare name looked up on PATH), without
    looking at the file; InvalidInput naming `python` when it is empty or no usable path."""
    if not isinstance(python, (str, os.PathLike)) or not os.fspath(python).strip():
        raise InvalidInput("python: must be the path of a Python interpreter, got an empty value", field="python")
    raw = os.fspath(python)
    usable(raw, "python")
    path = raw if os.sep in raw else (shutil.which(raw) or raw)
    return os.path.normpath(os.path.abspath(os.path.expanduser(path)))


def executable(python: Any) -> str:
    """The absolute path of the executable file `python` names; InvalidInput naming
    `python` when there is none."""
    path = absolute(python)
    if not os.path.exists(path):
        raise InvalidInput(f"python: no interpreter at {os.fspath(python)!r} (the file does not exist)", field="python")
    if os.path.isdir(path) or not os.access(path, os.X_OK):
        raise InvalidInput(f"python: {os.fspath(python)!r} is not an executable file", field="python")
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
    """Whether `path` (absolute and normalized, not resolved: a venv's python is a link) is
    one of the `known` interpreters or an `allowed` entry itself, or is named like Python
    (`python`, `python3`, `python3.11`) and lies next to a known one (the same bin folder)
    or under an allowed folder."""
    known_paths = {os.path.normpath(k) for k in known}
    if path in known_paths or any(path == str(entry) for entry in allowed):
        return True
    if not PYTHON_NAME.fullmatch(os.path.basename(path)):
        return False
    folder = os.path.dirname(path)
    return folder in {os.path.dirname(k) for k in known_paths} or any(inside(Path(path), e) for e in allowed)


def check_interpreter(python: Any, *, allowed: Sequence[Path] = (), known: Iterable[str] = ()) -> str:
    """`python` as an absolute path when it is an allowed Python interpreter (see the module
    doc; `known` adds interpreters the caller vouches for, e.g. a running kernel's), else
    Forbidden (not allowed: said before the file is even looked at, so no answer tells
    whether a path exists) or InvalidInput (no executable there, or not Python), naming
    `python`. Nothing the executable writes is passed on."""
    from .probe import clean_env

    path = absolute(python)
    if not is_allowed(path, [*known, *kernel_interpreters(), sys.executable], allowed):
        raise Forbidden(
            f"python: {path} is not the interpreter of a kernel here; register its environment as a kernel "
            "(python -m ipykernel install --user --name NAME), make it the project's .venv, or add it to the "
            "allowed_pythons setting",
            field="python",
        )
    exe = executable(path)
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
