"""A real Docker daemon and registry for the tests (pytest plugin).

`tests/services.sh run ...` starts a private `dockerd` and Debian's `docker-registry` on
127.0.0.1 and sets DOCKER_HOST and JUPYTER_MLOPS_TEST_REGISTRY. Without them the tests
that need Docker are skipped, except under CI (env CI set), where they fail.

Nothing can be pulled here, so `base_image` is made with `docker import` from a rootfs
this plugin assembles from the machine's own files: busybox-static (a shell), Debian's
python3.11 with its standard library and shared libraries, and Debian's pip, so a
Dockerfile's `RUN python -m pip install --no-index ...` works offline.
"""
from __future__ import annotations

import hashlib
import io
import os
import re
import subprocess
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REGISTRY_ENV = "JUPYTER_MLOPS_TEST_REGISTRY"
BASE_REPOSITORY = "jupyter-mlops-test/base"
# A RUN step that runs until cancelled. Its output RUNNING is not in the "Step n/m : RUN ..."
# line the daemon prints first, so seeing RUNNING in a log means the step's container runs.
SLEEPY_RUN = "RUN echo running-$((6*7)) && sleep 300\n"
RUNNING = "running-42"
PYTHON = Path("/usr/bin/python3.11")
STDLIB = Path("/usr/lib/python3.11")
DEBIAN_PIP = Path("/usr/lib/python3/dist-packages/pip")
BUSYBOX = Path("/bin/busybox")
STDLIB_SKIP = {"test", "idlelib", "tkinter", "turtledemo", "lib2to3", "ensurepip", "__pycache__",
               "EXTERNALLY-MANAGED"}


def missing(what: str) -> None:
    """Skip the test, or fail it under CI where the services must be there."""
    if os.environ.get("CI"):
        pytest.fail(f"{what} (CI must run the tests under tests/services.sh run)")
    pytest.skip(f"{what}: run the tests under tests/services.sh run")


def connect(host: str) -> Any:
    import docker

    return docker.APIClient(base_url=host, version="auto", timeout=120)


def run_container(docker_api: Any, image: str, command: list[str] | None = None) -> tuple[int, str]:
    """Run `command` in a throwaway container of `image`: (exit code, output)."""
    container = docker_api.create_container(image, command=command)
    try:
        docker_api.start(container)
        code = docker_api.wait(container, timeout=120)["StatusCode"]
        return code, docker_api.logs(container).decode()
    finally:
        docker_api.remove_container(container, force=True)


def wait_for(pred: Any, timeout: float = 60.0) -> None:
    """Poll `pred` every 0.1 s until it is true; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def log_text(svc: Any, job_id: int) -> str:
    """A job's whole log (at most 100 pages of 500 lines) as text."""
    lines: list[str] = []
    after = 0
    for _ in range(100):
        page = svc.jobs.log(job_id, after=after, limit=500)
        if not page["lines"]:
            break
        lines += [line["line"] for line in page["lines"]]
        after = page["next_after"]
    return "\n".join(lines)


@pytest.fixture(scope="session")
def docker_host() -> str:
    """The test daemon's DOCKER_HOST (it answers a ping)."""
    host = os.environ.get("DOCKER_HOST", "")
    if not host:
        missing("no Docker daemon: DOCKER_HOST is not set")
    try:
        client = connect(host)
        client.ping()
        client.close()
    except Exception as exc:  # noqa: BLE001 - any failure means no usable daemon
        missing(f"no Docker daemon at {host}: {exc}")
    return host


@pytest.fixture(scope="session")
def docker_api(docker_host: str) -> Iterator[Any]:
    """A low-level docker-py client on the test daemon."""
    client = connect(docker_host)
    yield client
    client.close()


@pytest.fixture(scope="session")
def registry_addr() -> str:
    """`127.0.0.1:PORT` of the test registry."""
    addr = os.environ.get(REGISTRY_ENV, "")
    if not addr:
        missing(f"no test registry: {REGISTRY_ENV} is not set")
    return addr


# -- the base image ------------------------------------------------------------------------

def _shared_libraries(binaries: list[Path]) -> set[Path]:
    """The shared libraries `ldd` says these binaries load (symlinks kept as given)."""
    found: set[Path] = set()
    for chunk in range(0, len(binaries), 200):
        out = subprocess.run(["ldd", *map(str, binaries[chunk:chunk + 200])], capture_output=True, text=True,
                             check=False).stdout
        for match in re.finditer(r"(/\S+\.so[\w.\-]*)", out):
            path = Path(match.group(1))
            if path.exists():
                found.add(path)
    return found


def _add_file(tar: tarfile.TarFile, source: Path, name: str, mode: int | None = None) -> None:
    info = tar.gettarinfo(str(source.resolve()), arcname=name.lstrip("/"))
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    if mode is not None:
        info.mode = mode
    with open(source.resolve(), "rb") as fh:
        tar.addfile(info, fh)


def _add_link(tar: tarfile.TarFile, name: str, target: str) -> None:
    info = tarfile.TarInfo(name.lstrip("/"))
    info.type = tarfile.SYMTYPE
    info.linkname = target
    tar.addfile(info)


def _add_dir(tar: tarfile.TarFile, name: str, mode: int = 0o755) -> None:
    info = tarfile.TarInfo(name.lstrip("/"))
    info.type = tarfile.DIRTYPE
    info.mode = mode
    tar.addfile(info)


def _tree(root: Path) -> Iterator[Path]:
    for path in sorted(root.rglob("*")):
        if STDLIB_SKIP.intersection(path.relative_to(root).parts):
            continue
        if path.is_file():
            yield path


def base_rootfs(dest: Path) -> Path:
    """Write the base image's rootfs tarball to `dest`."""
    for needed in (BUSYBOX, PYTHON, STDLIB, DEBIAN_PIP):
        if not needed.exists():
            pytest.fail(f"{needed} is missing: tests/services.sh install puts it there")
    stdlib = list(_tree(STDLIB))
    pip = list(_tree(DEBIAN_PIP))
    libs = _shared_libraries([PYTHON, *(p for p in stdlib if p.suffix == ".so")])
    applets = subprocess.run([str(BUSYBOX), "--list"], capture_output=True, text=True, check=True).stdout.split()
    with tarfile.open(dest, "w") as tar:
        for folder in ("bin", "etc", "root", "usr", "usr/bin", "usr/lib", "usr/local/bin", "lib64",
                       "lib/x86_64-linux-gnu", "usr/lib/python3/dist-packages"):
            _add_dir(tar, folder)
        _add_dir(tar, "tmp", 0o1777)
        _add_file(tar, BUSYBOX, "bin/busybox")
        for applet in applets:
            if applet != "busybox":
                _add_link(tar, f"bin/{applet}", "busybox")
        _add_file(tar, PYTHON, "usr/bin/python3.11")
        for alias in ("python3", "python"):
            _add_link(tar, f"usr/bin/{alias}", "python3.11")
        for path in sorted({*libs, *stdlib, *pip}):  # a set: ldd names a library once per binary
            _add_file(tar, path, str(path))
        passwd = b"root:x:0:0:root:/root:/bin/sh\n"
        info = tarfile.TarInfo("etc/passwd")
        info.size = len(passwd)
        tar.addfile(info, io.BytesIO(passwd))
    return dest


def _fingerprint() -> str:
    """Changes when the machine's python, pip or busybox change (then the image is remade)."""
    h = hashlib.sha256()
    for path in (BUSYBOX, PYTHON, DEBIAN_PIP / "__init__.py", Path(__file__)):
        st = path.stat()
        h.update(f"{path}:{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()[:12]


@pytest.fixture(scope="session")
def base_image(docker_api: Any, tmp_path_factory: pytest.TempPathFactory) -> str:
    """An imported image with sh (busybox), python3.11 and pip; made once per daemon."""
    reference = f"{BASE_REPOSITORY}:{_fingerprint()}"
    if not docker_api.images(name=reference, quiet=True):
        rootfs = base_rootfs(tmp_path_factory.mktemp("base-image") / "rootfs.tar")
        docker_api.import_image(src=str(rootfs), repository=BASE_REPOSITORY, tag=reference.split(":")[1],
                                changes=['ENV PATH=/usr/local/bin:/usr/bin:/bin', 'CMD ["sh"]'])
        rootfs.unlink()
    return reference
