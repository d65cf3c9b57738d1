"""The active kernel's interpreter: a REAL ipykernel started by the Jupyter server's
kernel manager from a virtual environment that is not the server's Python."""
from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from jupyter_mlops.deps.kernel import kernel_python, kernelspec_python
from jupyter_mlops.errors import InvalidInput, NotFound, Unavailable

KERNEL_NAME = "mlops-kernel-venv"


@pytest.fixture(scope="module")
def kernel_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv that sees the server's ipykernel (system site-packages) but is another
    interpreter path: sys.executable and sys.prefix differ from the server's."""
    root = tmp_path_factory.mktemp("kernel-venv") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", "--system-site-packages", str(root)],
                   check=True, timeout=120)
    return root


@pytest.fixture
def kernelspec(jp_data_dir: Path, kernel_venv: Path) -> Path:
    """A kernelspec for the venv in the test's JUPYTER_DATA_DIR (pytest-jupyter's temp dir)."""
    spec_dir = jp_data_dir / "kernels" / KERNEL_NAME
    spec_dir.mkdir(parents=True)
    spec = {"argv": [str(kernel_venv / "bin" / "python"), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "MLOps test venv", "language": "python"}
    (spec_dir / "kernel.json").write_text(json.dumps(spec))
    return spec_dir


@contextlib.asynccontextmanager
async def running_kernel(km: Any) -> AsyncIterator[str]:
    """Start a kernel of the venv's kernelspec; always resume and shut it down after.
    (An async context manager, not a fixture: pytest-jupyter runs async tests, not
    async fixtures.)"""
    kernel_id = await km.start_kernel(kernel_name=KERNEL_NAME)
    try:
        yield kernel_id
    finally:
        pid = _kernel_pid(km, kernel_id)
        if pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
        await km.shutdown_kernel(kernel_id, now=True)


@pytest.fixture
def km(jp_serverapp: Any, kernelspec: Path) -> Any:
    """The Jupyter server's kernel manager (`serverapp.kernel_manager`), with the venv kernelspec."""
    return jp_serverapp.kernel_manager


def _kernel_pid(km: Any, kernel_id: str) -> int | None:
    provisioner = km.get_kernel(kernel_id).provisioner
    process = getattr(provisioner, "process", None)
    return process.pid if process is not None else None


async def test_asks_the_running_kernel(km: Any, kernel_venv: Path) -> None:
    async with running_kernel(km) as kernel_id:
        found = await asyncio.wait_for(kernel_python(km, kernel_id, timeout=30), 40)
        assert found.source == "kernel"
        assert found.kernel_name == KERNEL_NAME
        assert found.python == str(kernel_venv / "bin" / "python")
        assert found.python != sys.executable
        assert Path(found.prefix or "") == kernel_venv
        assert found.detail == ""
        again = await kernel_python(km, kernel_id, timeout=30)
        assert again == found
        # Both questions were silent: the user's first cell is still execution 1.
        client = km.get_kernel(kernel_id).client()
        client.start_channels()
        try:
            reply = await client.execute("1", reply=True, timeout=30)
        finally:
            client.stop_channels()
        assert reply["content"]["execution_count"] == 1


async def test_stopped_kernel_falls_back_to_kernelspec(km: Any, kernel_venv: Path) -> None:
    async with running_kernel(km) as kernel_id:
        assert (await kernel_python(km, kernel_id, timeout=30)).source == "kernel"  # it is up
        pid = _kernel_pid(km, kernel_id)
        assert pid
        os.kill(pid, signal.SIGSTOP)
        try:
            loop = asyncio.get_running_loop()
            started = loop.time()
            found = await kernel_python(km, kernel_id, timeout=1)
            assert loop.time() - started < 5
        finally:
            os.kill(pid, signal.SIGCONT)
        assert found.source == "kernelspec"
        assert found.python == str(kernel_venv / "bin" / "python")
        assert found.prefix is None
        assert "did not answer within 1 s" in found.detail


async def test_timeout_zero_reads_kernelspec_only(km: Any, kernel_venv: Path) -> None:
    async with running_kernel(km) as kernel_id:
        found = await kernel_python(km, kernel_id, timeout=0)
        assert (found.source, found.python) == ("kernelspec", str(kernel_venv / "bin" / "python"))


async def test_unknown_kernel_id(jp_serverapp: Any) -> None:
    with pytest.raises(NotFound) as err:
        await kernel_python(jp_serverapp.kernel_manager, "0000-not-a-kernel")
    assert err.value.field == "kernel_id" and "0000-not-a-kernel" in err.value.message
    with pytest.raises(InvalidInput):
        await kernel_python(jp_serverapp.kernel_manager, "")


def test_kernelspec_argv0_rules(tmp_path: Path) -> None:
    class Spec:
        def __init__(self, argv: list[str], env: dict[str, str] | None = None) -> None:
            self.argv, self.env = argv, env or {}

    # jupyter_client launches a bare `python`/`python3` as the server's own interpreter.
    assert kernelspec_python(Spec(["python", "-m", "ipykernel_launcher"]), "k") == sys.executable
    assert kernelspec_python(Spec(["python3"]), "k") == sys.executable
    # Other bare names are looked up on the kernel's PATH.
    fake = tmp_path / "bin" / "mypython"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    assert kernelspec_python(Spec(["mypython"], {"PATH": str(fake.parent)}), "k") == str(fake)
    for argv in (["{python}", "-m"], [], [str(tmp_path / "missing" / "python")]):
        with pytest.raises(Unavailable) as err:
            kernelspec_python(Spec(argv), "k")
        assert err.value.field == "kernel_id"
