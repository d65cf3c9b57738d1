"""Stdlib-only probe run by a kernel environment's interpreter (Python >= 3.8).

Prints one JSON object describing that interpreter: paths, the PEP 508 marker
environment, every installed distribution, pip, writability, PEP 668 and the
accelerator build of torch (read from torch/version.py as text, never imported).
It must not import anything outside the standard library: the environment it
runs in does not have jupyter_mlops. `jupyter_mlops.deps.probe` runs it with
`python -c`; the file also runs as a plain script (`python _probe_script.py`).
"""

import os  # already loaded by site: importing it reads nothing from sys.path
import sys

# `-c` puts "" (the working directory) first on sys.path and a script run by path
# puts its own folder there: neither belongs to the environment, and either could
# shadow a stdlib module or add distributions. Drop it before importing anything else.
if sys.path and (
    sys.path[0] == ""
    or ("__file__" in globals() and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)))
):
    del sys.path[0]

import hashlib
import json
import platform
import re
import sysconfig

# importlib.metadata (with email, zipfile, csv ...) and ast cost more than the whole scan:
# they are imported only for what the plain folder scan below cannot read. Types are
# comments, read by the type checker only: nothing here imports typing.
MYPY = False
if MYPY:  # pragma: no cover
    from types import ModuleType  # noqa: F401 - used in type comments
    from typing import Any, Dict, Iterator, List, Optional, Tuple  # noqa: F401 - used in type comments

    Info = Dict[str, Any]

_CANON = re.compile(r"[-_.]+")
_LABELS = (("rocm", "rocm"), ("cu", "cuda"), ("xpu", "xpu"), ("cpu", "cpu"))


def canonical(name):
    # type: (str) -> str
    """PEP 503 normalised name."""
    return _CANON.sub("-", name).lower()


def _full_version(info):
    # type: (Any) -> str
    version = f"{info.major}.{info.minor}.{info.micro}"
    if info.releaselevel != "final":
        version += info.releaselevel[0] + str(info.serial)
    return version


def marker_environment():
    # type: () -> Dict[str, str]
    """The PEP 508 marker environment, exactly as packaging.markers.default_environment."""
    return {
        "implementation_name": sys.implementation.name,
        "implementation_version": _full_version(sys.implementation.version),
        "os_name": os.name,
        "platform_machine": platform.machine(),
        "platform_release": platform.release(),
        "platform_system": platform.system(),
        "platform_version": platform.version(),
        "python_full_version": platform.python_version(),
        "platform_python_implementation": platform.python_implementation(),
        "python_version": ".".join(platform.python_version_tuple()[:2]),
        "sys_platform": sys.platform,
    }


def _metadata():
    # type: () -> ModuleType
    from importlib import metadata

    return metadata


class _FolderDist:
    """A `.dist-info` or `.egg-info` folder (or egg-info file), read like importlib.metadata's
    PathDistribution for the few files the probe needs."""

    def __init__(self, path):
        # type: (str) -> None
        self._path = path

    def read_text(self, name):
        # type: (str) -> Optional[str]
        if os.path.isfile(self._path):  # an egg-info file is PKG-INFO itself
            target = self._path if name in ("", "PKG-INFO") else None
        else:
            target = os.path.join(self._path, name) if name else None
        if target is None:
            return None
        try:
            with open(target, encoding="utf-8") as fh:
                return fh.read()
        except (OSError, UnicodeDecodeError):
            return None

    @property
    def requires(self):
        # type: () -> List[str]
        # Only egg-info needs this (requires.txt sections to markers): importlib.metadata does it.
        import pathlib

        return _metadata().PathDistribution(pathlib.Path(self._path)).requires or []

    def locate_file(self, path):
        # type: (Any) -> str
        return os.path.join(os.path.dirname(self._path), str(path))


def _all_distributions():
    # type: () -> Iterator[Any]
    """Every distribution on sys.path, in importlib.metadata's order: folders are scanned
    directly; anything else (zip files, eggs) goes through importlib.metadata."""
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            if os.path.isfile(entry):
                for dist in _metadata().distributions(path=[entry]):
                    yield dist
            continue
        for name in names:
            low = name.lower()
            if low.endswith((".dist-info", ".egg-info")):
                yield _FolderDist(os.path.join(entry, name))


def _read_text(dist, name):
    # type: (Any, str) -> Optional[str]
    try:
        text = dist.read_text(name)  # type: Optional[str]
    except Exception:
        return None
    return text


def _record_sha256(dist):
    # type: (Any) -> Optional[str]
    """sha256 of the RECORD file's bytes (None when there is no RECORD)."""
    path = getattr(dist, "_path", None)
    if path is not None:
        try:
            with open(os.path.join(str(path), "RECORD"), "rb") as fh:
                return hashlib.sha256(fh.read()).hexdigest()
        except OSError:
            return None
    text = _read_text(dist, "RECORD")
    return hashlib.sha256(text.encode("utf-8")).hexdigest() if text is not None else None


def _headers(text):
    # type: (str) -> Dict[str, List[str]]
    """Core metadata headers (name -> list of values), reading only the header block.

    Same result as the email parser importlib.metadata uses for these fields, without
    walking the long description that follows the first blank line.
    """
    headers = {}  # type: Dict[str, List[str]]
    last = None  # type: Optional[str]
    for line in text.splitlines():
        if not line:
            break
        if line[0] in " \t" and last is not None:
            values = headers[last]
            values[-1] = values[-1] + " " + line.strip()
            continue
        key, sep, value = line.partition(":")
        if not sep:
            continue
        last = key.strip().lower()
        headers.setdefault(last, []).append(value.strip())
    return headers


def _describe(dist):
    # type: (Any) -> Optional[Info]
    """One distribution as a dict, or None when its metadata has no name."""
    text = _read_text(dist, "METADATA") or _read_text(dist, "PKG-INFO") or _read_text(dist, "") or ""
    headers = _headers(text)
    name = (headers.get("name") or [""])[0]
    if not name:
        return None
    requires = headers.get("requires-dist")
    if requires is None:
        requires = (_read_text(dist, "requires.txt") is not None and dist.requires) or []  # egg-info
    installer = _read_text(dist, "INSTALLER")
    direct_text = _read_text(dist, "direct_url.json")
    direct_url = None
    if direct_text is not None:
        try:
            direct_url = json.loads(direct_text)
        except ValueError:
            pass
    path = getattr(dist, "_path", None)
    location = os.path.dirname(str(path)) if path is not None else str(dist.locate_file(""))
    return {
        "name": name,
        "key": canonical(name),
        "version": (headers.get("version") or [""])[0],
        "requires": list(requires),
        "installer": installer.strip() or None if installer is not None else None,
        "direct_url": direct_url,
        "location": location,
        "metadata_dir": str(path) if path is not None else None,
        "record_sha256": _record_sha256(dist),
    }


def distributions():
    # type: () -> Tuple[Dict[str, Info], List[Info]]
    """(winners, shadowed): the first distribution of each name on sys.path wins."""
    found = {}  # type: Dict[str, Info]
    shadowed = []  # type: List[Info]
    for dist in _all_distributions():
        try:
            info = _describe(dist)
        except Exception:
            continue
        if info is None:
            continue
        if info["key"] in found:
            shadowed.append(info)
        else:
            found[info["key"]] = info
    return found, shadowed


def _torch_version_file(torch_info):
    # type: (Info) -> Optional[str]
    """Path of torch/version.py of the winning torch distribution, or None."""
    direct = os.path.join(torch_info["location"], "torch", "version.py")
    if os.path.isfile(direct):
        return direct
    try:
        dist = next(
            d
            for d in _metadata().distributions(path=[torch_info["location"]])
            if canonical(d.metadata["Name"] or "") == "torch"
        )
        for f in dist.files or ():
            if str(f).replace("\\", "/").endswith("torch/version.py"):
                candidate = str(dist.locate_file(f))
                if os.path.isfile(candidate):
                    return candidate
    except Exception:
        pass
    return None


def _literal_assignments(source):
    # type: (str) -> Dict[str, Any]
    """Top-level `name = literal` (and annotated) assignments of a module's source."""
    import ast

    values = {}  # type: Dict[str, Any]
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        for target in targets:
            if isinstance(target, ast.Name):
                try:
                    values[target.id] = ast.literal_eval(value)
                except ValueError:
                    pass
    return values


def _host_signs():
    # type: () -> Dict[str, bool]
    return {
        "rocm": os.path.exists("/opt/rocm"),
        "kfd": os.path.exists("/dev/kfd"),
        "nvidia": os.path.exists("/proc/driver/nvidia/version") or os.path.exists("/dev/nvidiactl"),
    }


def _label_platform(version):
    # type: (str) -> Optional[str]
    local = version.partition("+")[2].lower()
    for prefix, name in _LABELS:
        if local.startswith(prefix):
            return name
    return None


def accelerator(found):
    # type: (Dict[str, Info]) -> Dict[str, Any]
    """Which accelerator build torch is, from its version file (never imported)."""
    result = {  # type: Dict[str, Any]
        "platform": "none",
        "torch_version": None,
        "hip": None,
        "cuda": None,
        "xpu": None,
        "source": "no torch distribution",
        "host": _host_signs(),
    }
    torch = found.get("torch")
    if torch is None:
        return result
    result["torch_version"] = torch["version"]
    values = {}  # type: Dict[str, Any]
    path = _torch_version_file(torch)
    if path is not None:
        try:
            with open(path, "rb") as fh:
                values = _literal_assignments(fh.read().decode("utf-8", "replace"))
            result["source"] = "version file " + path
        except (OSError, SyntaxError, ValueError) as exc:
            result["source"] = f"unreadable version file {path}: {exc}"
    for key in ("hip", "cuda", "xpu"):
        value = values.get(key)
        result[key] = str(value) if value is not None else None
    if isinstance(values.get("__version__"), str):
        result["torch_version"] = values["__version__"]
    if result["hip"]:
        result["platform"] = "rocm"
    elif result["cuda"]:
        result["platform"] = "cuda"
    elif result["xpu"]:
        result["platform"] = "xpu"
    else:
        label = _label_platform(result["torch_version"] or "")
        if label is not None and not values:
            result["platform"] = label
            result["source"] = "local version label of " + (result["torch_version"] or "")
        else:
            result["platform"] = "cpu"
    return result


def _writable(path):
    # type: (str) -> bool
    while path and not os.path.exists(path):
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    return bool(path) and os.access(path, os.W_OK)


def main():
    # type: () -> None
    paths = sysconfig.get_paths()
    found, shadowed = distributions()
    in_venv = sys.prefix != getattr(sys, "base_prefix", sys.prefix)
    marker = os.path.join(paths.get("stdlib", ""), "EXTERNALLY-MANAGED")
    pip = found.get("pip")
    out = {
        "python": sys.executable,
        "prefix": sys.prefix,
        "base_prefix": getattr(sys, "base_prefix", sys.prefix),
        "python_version": platform.python_version(),
        "marker_env": marker_environment(),
        "purelib": paths.get("purelib"),
        "scripts": paths.get("scripts"),
        "distributions": sorted(found.values(), key=lambda d: d["key"]),
        "shadowed": shadowed,
        "pip_version": pip["version"] if pip else None,
        "writable": _writable(paths.get("purelib", "")),
        "externally_managed": (not in_venv) and os.path.isfile(marker),
        "accelerator": accelerator(found),
    }
    sys.stdout.write(json.dumps(out))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
