"""Helpers for the dependency-doctor tests: small wheels, the issue's wheelhouse, and
real virtual environments filled by real pip or uv with no network and none of the
machine's pip settings.

Use from a test module:

    from deps_support import build_wheel, install, make_venv   # helpers
    pytest_plugins = ["deps_support"]                         # fixtures

Loaded as a plugin, the fixtures `wheelhouse` and `rocm_env` are session-scoped and
built once for the whole run (a module-level cache keeps that true even for a module
that imports the fixture functions by name instead). `rocm_env` is SHARED: never
install into it; take `rocm_env_copy` (a fresh clone per test) to mutate.
"""
from __future__ import annotations

import base64
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import pytest

INSTALL_TIMEOUT = 180.0

# What `rocm_env` holds: an accelerator build of torch, a package pinning it, a
# protected package missing its own dependency (filelock is NOT installed), old
# versions of packages that have newer ones in the wheelhouse, and filler.
ROCM_ENV_PACKAGES: tuple[str, ...] = (
    "torch==2.3.1+rocm5.7",
    "torchvision==0.18.1+rocm5.7",
    "alpha==1.0",
    "beta==1.0",
    "accel==1.0",
    *(f"filler-{i:02d}==1.0" for i in range(10)),
)
ROCM_ENV_NO_DEPS: tuple[str, ...] = ("pytorch-triton-rocm==2.3.1",)

TORCH_ROCM_VERSION_PY = (
    "__version__ = '2.3.1+rocm5.7'\n"
    "debug = False\n"
    "cuda = None\n"
    "git_version = '63d5e9221bedd1546b7d364b5ce4171547db12a9'\n"
    "hip = '5.7.31921'\n"
)
# The plain PyPI build of torch 2.5.0 is a CUDA build (as on PyPI for Linux x86_64).
TORCH_PLAIN_VERSION_PY = (
    "from typing import Optional\n\n"
    "__all__ = ['__version__', 'debug', 'cuda', 'git_version', 'hip']\n"
    "__version__ = '2.5.0'\n"
    "debug = False\n"
    "cuda: Optional[str] = '12.1'\n"
    "git_version = '32f585d9346e316e554c8d9bf7548af9f62141fc'\n"
    "hip: Optional[str] = None\n"
    "xpu: Optional[str] = None\n"
)


def module_name(name: str) -> str:
    """Importable module name of a distribution name (`pytorch-triton-rocm` -> `pytorch_triton_rocm`)."""
    return re.sub(r"[-_.]+", "_", name).lower()


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"sha256={digest}"


def build_wheel(dest: str | os.PathLike[str], name: str, version: str, requires: Iterable[str] = (),
                files: Mapping[str, str | bytes] | None = None, *, extras: Iterable[str] = ()) -> Path:
    """Write a valid pure-Python wheel `name-version-py3-none-any.whl` into `dest`.

    `requires` become Requires-Dist lines (markers allowed); `extras` become
    Provides-Extra. `files` maps paths inside the wheel to contents; by default one
    module `<name>/__init__.py` with `__version__`. RECORD carries sha256 hashes and sizes.
    """
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    stem = f"{module_name(name)}-{version}"
    dist_info = f"{stem}.dist-info"
    if files is None:
        files = {f"{module_name(name)}/__init__.py": f"__version__ = {version!r}\n"}
    metadata = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}",
                f"Summary: test package {name}"]
    metadata += [f"Provides-Extra: {extra}" for extra in extras]
    metadata += [f"Requires-Dist: {req}" for req in requires]
    contents: dict[str, bytes] = {
        path: data.encode() if isinstance(data, str) else data for path, data in files.items()
    }
    contents[f"{dist_info}/METADATA"] = ("\n".join(metadata) + "\n\n").encode()
    contents[f"{dist_info}/WHEEL"] = (b"Wheel-Version: 1.0\nGenerator: deps_support\n"
                                      b"Root-Is-Purelib: true\nTag: py3-none-any\n")
    record_path = f"{dist_info}/RECORD"
    record = "".join(f"{path},{_record_hash(data)},{len(data)}\n" for path, data in contents.items())
    contents[record_path] = (record + f"{record_path},,\n").encode()
    wheel = dest / f"{stem}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as zf:
        for path, data in contents.items():
            zf.writestr(path, data)
    return wheel


def build_wheelhouse(dest: str | os.PathLike[str]) -> Path:
    """The issue's wheelhouse (returns `dest`):

    - torch 2.3.1+rocm5.7 (torch/version.py: hip '5.7.31921', cuda None) and a plain
      torch 2.5.0 (a CUDA build: cuda '12.1', hip None);
    - torchvision 0.18.1+rocm5.7 requiring torch==2.3.1;
    - needs-new-torch 1.0 requiring torch>=2.4;
    - alpha 1.0 / 2.0, beta 1.0 / 1.5 (old and new versions);
    - accel 1.0 (torch>=2.0) and accel 2.0 (torch>=2.4): newest needs a newer torch;
    - pytorch-triton-rocm 2.3.1 requiring filelock, and filelock 3.13.1 (installable,
      but left out of `rocm_env` so that protected package has a broken dependency);
    - filler-00 .. filler-09 1.0 and 1.1 (filler-0N requires filler-0(N-1) for N odd).
    """
    dest = Path(dest)
    build_wheel(dest, "torch", "2.3.1+rocm5.7", files={
        "torch/__init__.py": "__version__ = '2.3.1+rocm5.7'\n",
        "torch/version.py": TORCH_ROCM_VERSION_PY,
    })
    build_wheel(dest, "torch", "2.5.0", files={
        "torch/__init__.py": "__version__ = '2.5.0'\n",
        "torch/version.py": TORCH_PLAIN_VERSION_PY,
    })
    build_wheel(dest, "torchvision", "0.18.1+rocm5.7", ["torch==2.3.1"])
    build_wheel(dest, "needs-new-torch", "1.0", ["torch>=2.4"])
    build_wheel(dest, "alpha", "1.0")
    build_wheel(dest, "alpha", "2.0")
    build_wheel(dest, "beta", "1.0", ["alpha>=1.0"])
    build_wheel(dest, "beta", "1.5", ["alpha>=1.0"])
    build_wheel(dest, "accel", "1.0", ["torch>=2.0"])
    build_wheel(dest, "accel", "2.0", ["torch>=2.4"])
    build_wheel(dest, "pytorch-triton-rocm", "2.3.1", ["filelock"])
    build_wheel(dest, "filelock", "3.13.1")
    for i in range(10):
        requires = [f"filler-{i - 1:02d}>=1.0"] if i % 2 else []
        for version in ("1.0", "1.1"):
            build_wheel(dest, f"filler-{i:02d}", version, requires)
    return dest


def isolated_env(cache_dir: str | os.PathLike[str] | None = None) -> dict[str, str]:
    """The environment for pip/uv: none of the machine's settings, no index, no network."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PIP_", "UV_", "PYTHON", "VIRTUAL_ENV", "CONDA_"))}
    env.update({
        "PIP_CONFIG_FILE": os.devnull,
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "PIP_NO_INPUT": "1",
        "PIP_NO_CACHE_DIR": "1",
        "UV_NO_CONFIG": "1",
        "UV_OFFLINE": "1",
        "UV_PYTHON_DOWNLOADS": "never",
        "UV_NO_PROGRESS": "1",
    })
    if cache_dir is not None:
        env["UV_CACHE_DIR"] = os.fspath(cache_dir)
    return env


def uv_binary() -> str | None:
    """A uv binary: on PATH, or next to this interpreter (`pip install uv`)."""
    found = shutil.which("uv")
    if found:
        return found
    beside = Path(sys.executable).with_name("uv")
    return str(beside) if beside.exists() else None


def venv_python(path: str | os.PathLike[str]) -> Path:
    """The interpreter of the virtual environment at `path`."""
    return Path(path) / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _run(cmd: list[str], env: dict[str, str], timeout: float = INSTALL_TIMEOUT) -> None:
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")


def install(python: str | os.PathLike[str], packages: Iterable[str], wheelhouse: str | os.PathLike[str], *,
            installer: str = "pip", no_deps: bool = False,
            extra_find_links: Iterable[str | os.PathLike[str]] = ()) -> None:
    """Install `packages` into the environment of `python` from `wheelhouse` (and
    `extra_find_links`) only, with real pip (`python -m pip`) or uv (`uv pip install --python`)."""
    packages = list(packages)
    if not packages:
        return
    common = ["--no-index"]
    for links in (wheelhouse, *extra_find_links):
        common += ["--find-links", os.fspath(links)]
    if no_deps:
        common.append("--no-deps")
    if installer == "pip":
        _run([os.fspath(python), "-m", "pip", "install", "-q", *common, *packages], isolated_env())
    elif installer == "uv":
        uv = uv_binary()
        if uv is None:
            pytest.skip("uv is not installed")
        with tempfile.TemporaryDirectory(prefix="uv-cache-") as cache:
            _run([uv, "pip", "install", "-q", "--python", os.fspath(python), *common, *packages],
                 isolated_env(cache))
    else:
        raise ValueError(f"installer must be 'pip' or 'uv', got {installer!r}")


def make_venv(path: str | os.PathLike[str], packages: Iterable[str], wheelhouse: str | os.PathLike[str],
              installer: str = "pip", *, system_site_packages: bool = False,
              base_python: str | os.PathLike[str] | None = None) -> Path:
    """Create a real venv at `path` (with pip when installing with pip, without it for
    uv), install `packages` from `wheelhouse`, and return its interpreter."""
    cmd = [os.fspath(base_python or sys.executable), "-m", "venv"]
    if installer == "uv":
        cmd.append("--without-pip")
    if system_site_packages:
        cmd.append("--system-site-packages")
    _run([*cmd, os.fspath(path)], isolated_env())
    python = venv_python(path)
    install(python, packages, wheelhouse, installer=installer)
    return python


def clone_venv(python: str | os.PathLike[str], dest: str | os.PathLike[str]) -> Path:
    """Copy the venv of `python` to `dest` and return the copy's interpreter.

    A venv is found from its interpreter's location (pyvenv.cfg next to bin/), so a
    copy works; the only absolute paths are in bin/ scripts' shebangs and activate
    scripts, which are rewritten to the copy so `dest/bin/pip` cannot touch the source.
    """
    src_root = Path(python).parent.parent
    dest = Path(dest)
    shutil.copytree(src_root, dest, symlinks=True)
    old, new = os.fsencode(src_root), os.fsencode(dest)
    for script in (dest / "bin").iterdir():
        if script.is_symlink() or not script.is_file():
            continue
        data = script.read_bytes()
        if old in data[:4096]:
            script.write_bytes(data.replace(old, new))
    return venv_python(dest)


_SESSION: dict[str, Path] = {}


def _once(key: str, tmp_path_factory: pytest.TempPathFactory, build: Callable[[Path], Path]) -> Path:
    cache_key = f"{tmp_path_factory.getbasetemp()}:{key}"
    if cache_key not in _SESSION:
        _SESSION[cache_key] = build(tmp_path_factory.mktemp(key))
    return _SESSION[cache_key]


@pytest.fixture(scope="session")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The issue's wheelhouse (see build_wheelhouse), built once per session."""
    return _once("wheelhouse", tmp_path_factory, build_wheelhouse)


def build_rocm_env(path: Path, wheelhouse: Path, installer: str = "pip") -> Path:
    """A venv with torch 2.3.1+rocm5.7, torchvision, pytorch-triton-rocm (without
    filelock), alpha 1.0, beta 1.0, accel 1.0 and filler; returns its interpreter."""
    python = make_venv(path, ROCM_ENV_PACKAGES, wheelhouse, installer)
    install(python, ROCM_ENV_NO_DEPS, wheelhouse, installer=installer, no_deps=True)
    return python


@pytest.fixture(scope="session")
def rocm_env(tmp_path_factory: pytest.TempPathFactory, wheelhouse: Path) -> Path:
    """Interpreter of the SHARED rocm venv (built once with pip). Never install into it."""
    return _once("rocm-env", tmp_path_factory, lambda d: build_rocm_env(d / "venv", wheelhouse))


@pytest.fixture
def rocm_env_copy(rocm_env: Path, tmp_path: Path) -> Path:
    """Interpreter of a private clone of `rocm_env`, free to mutate (a copy is ~50 ms)."""
    return clone_venv(rocm_env, tmp_path / "rocm-env")
