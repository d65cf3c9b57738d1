"""The environment probe against real virtual environments made by real pip and uv.

The accelerator cases use fake torch wheels (there is no GPU here): only
torch/version.py matters to the probe, which never imports torch."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import packaging.markers
import pytest
from deps_support import ROCM_ENV_PACKAGES, build_wheel, install, make_venv, uv_binary

from jupyter_mlops.deps.probe import Probe, probe
from jupyter_mlops.errors import InvalidInput, Unavailable

# The fixtures (wheelhouse, rocm_env, rocm_env_copy) as a plugin: one session instance
# shared by every module that names it.

ROCM_NAMES = {"torch", "torchvision", "pytorch-triton-rocm", "alpha", "beta", "accel",
              *(f"filler-{i:02d}" for i in range(10))}


def test_rocm_env_made_with_pip(rocm_env: Path) -> None:
    found = probe(rocm_env)
    assert found.python == str(rocm_env)
    assert found.prefix == str(rocm_env.parent.parent) and found.in_venv
    assert found.base_prefix == sys.base_prefix
    assert ROCM_NAMES <= set(found.distributions)
    assert found.pip_version is not None and found.get("pip") is not None
    torch = found.distributions["torch"]
    assert (torch.name, torch.version, torch.installer) == ("torch", "2.3.1+rocm5.7", "pip")
    assert found.get("TorchVision").requires == ("torch==2.3.1",)
    assert found.get("pytorch_triton_rocm").requires == ("filelock",)
    assert "filelock" not in found.distributions
    assert found.distributions["alpha"].version == "1.0"
    assert torch.direct_url is None
    assert torch.location == found.purelib
    assert len(torch.record_sha256 or "") == 64
    accel = found.accelerator
    assert (accel.platform, accel.torch_version, accel.hip, accel.cuda) == ("rocm", "2.3.1+rocm5.7", "5.7.31921", None)
    assert accel.source.startswith("version file ") and accel.source.endswith(os.path.join("torch", "version.py"))
    assert found.writable and not found.externally_managed
    assert found.uv is None or os.access(found.uv, os.X_OK)
    assert Probe.from_dict(found.to_dict()) == found


def test_env_made_with_uv_without_pip(wheelhouse: Path, tmp_path: Path) -> None:
    if uv_binary() is None:
        pytest.skip("uv is not installed")
    python = make_venv(tmp_path / "venv", ["torch==2.5.0", "beta==1.5"], wheelhouse, installer="uv")
    found = probe(python)
    assert found.pip_version is None and "pip" not in found.distributions
    assert {k: (d.version, d.installer) for k, d in found.distributions.items()} == {
        "torch": ("2.5.0", "uv"), "beta": ("1.5", "uv"), "alpha": ("2.0", "uv")}
    assert found.distributions["beta"].requires == ("alpha>=1.0",)
    # The plain torch 2.5.0 of the wheelhouse is a CUDA build (annotated assignments).
    assert (found.accelerator.platform, found.accelerator.cuda, found.accelerator.hip) == ("cuda", "12.1", None)
    assert found.uv is not None


def test_record_change_changes_hash_and_clone_is_independent(rocm_env: Path, rocm_env_copy: Path,
                                                             wheelhouse: Path) -> None:
    before = probe(rocm_env_copy)
    assert before.distributions["torch"].record_sha256 == probe(rocm_env).distributions["torch"].record_sha256
    install(rocm_env_copy, ["alpha==2.0"], wheelhouse)  # the clone's pip, not the shared env's
    after = probe(rocm_env_copy)
    assert after.distributions["alpha"].version == "2.0"
    assert after.distributions["alpha"].record_sha256 != before.distributions["alpha"].record_sha256
    assert after.distributions["torch"] == before.distributions["torch"]
    assert probe(rocm_env).distributions["alpha"].version == "1.0"
    record = Path(after.distributions["torch"].metadata_dir or "") / "RECORD"
    record.write_bytes(record.read_bytes() + b"torch/extra.py,,\n")
    assert probe(rocm_env_copy).distributions["torch"].record_sha256 != after.distributions["torch"].record_sha256


def test_marker_env_of_the_servers_own_interpreter() -> None:
    found = probe(sys.executable)
    assert found.marker_env == packaging.markers.default_environment()
    assert found.python_version == ".".join(map(str, sys.version_info[:3]))
    # The probe sees exactly what importlib.metadata sees in this process.
    from importlib import metadata
    versions: dict[str, str] = {}
    for dist in metadata.distributions():
        versions.setdefault(dist.metadata["Name"].lower().replace("_", "-").replace(".", "-"), dist.version)
    assert {k: d.version for k, d in found.distributions.items()} == versions


def test_pythonpath_of_the_server_does_not_leak(rocm_env: Path, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    build_wheel(tmp_path / "w", "leaky", "1.0")
    site = tmp_path / "site"
    shutil.unpack_archive(next((tmp_path / "w").iterdir()), site, "zip")
    monkeypatch.setenv("PYTHONPATH", str(site))
    monkeypatch.chdir(site)  # nor the working directory
    assert "leaky" not in probe(rocm_env).distributions
    # ... but the kernel's own environment (a kernelspec's env) does count.
    assert "leaky" in probe(rocm_env, env={"PYTHONPATH": str(site)}).distributions


def test_shadowed_duplicate_first_on_sys_path_wins(rocm_env: Path, tmp_path: Path) -> None:
    build_wheel(tmp_path / "w", "alpha", "9.0")
    early = tmp_path / "early"
    shutil.unpack_archive(next((tmp_path / "w").iterdir()), early, "zip")
    found = probe(rocm_env, env={"PYTHONPATH": str(early)})
    assert found.distributions["alpha"].version == "9.0"
    assert [(d.key, d.version) for d in found.shadowed] == [("alpha", "1.0")]


@pytest.mark.parametrize(("version_py", "version", "platform", "source"), [
    ("__version__ = '2.4.0+cpu'\ncuda = None\nhip = None\n", "2.4.0+cpu", "cpu", "version file"),
    ("__version__: str = '2.4.0+cu121'\ncuda: 'Optional[str]' = '12.1'\nhip = None\n", "2.4.0+cu121", "cuda",
     "version file"),
    ("__version__ = '2.5.0+xpu'\ncuda = None\nhip = None\nxpu = '20240702'\n", "2.5.0+xpu", "xpu", "version file"),
    (None, "2.3.1+rocm6.0", "rocm", "local version label"),
])
def test_accelerator_variants(tmp_path: Path, version_py: str | None, version: str, platform: str,
                              source: str) -> None:
    files = {"torch/__init__.py": "raise RuntimeError('the probe must never import torch')\n"}
    if version_py is not None:
        files["torch/version.py"] = version_py
    build_wheel(tmp_path / "w", "torch", version, files=files)
    python = make_venv(tmp_path / "venv", [f"torch=={version}"], tmp_path / "w",
                       installer="uv" if uv_binary() else "pip")
    accel = probe(python).accelerator
    assert (accel.platform, accel.torch_version) == (platform, version)
    assert accel.source.startswith(source)
    assert accel.host.rocm == os.path.exists("/opt/rocm")
    assert accel.host.kfd == os.path.exists("/dev/kfd")
    assert accel.host.nvidia == (os.path.exists("/proc/driver/nvidia/version") or os.path.exists("/dev/nvidiactl"))


def test_no_torch_is_platform_none(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(tmp_path / "v")], check=True, timeout=60)
    found = probe(tmp_path / "v" / "bin" / "python")
    assert found.distributions == {}
    assert (found.accelerator.platform, found.accelerator.torch_version) == ("none", None)


@pytest.mark.skipif(not Path("/usr/lib/python3.11/EXTERNALLY-MANAGED").exists() or not Path("/usr/bin/python3.11").exists(),
                    reason="needs a Debian python3.11 with a PEP 668 marker")
def test_externally_managed_system_python() -> None:
    found = probe("/usr/bin/python3.11")
    assert found.externally_managed and not found.in_venv


@pytest.mark.skipif(not Path(os.path.expanduser("~/.pyenv/versions/3.8.18/bin/python")).exists(),
                    reason="needs a Python 3.8 interpreter")
def test_script_runs_under_python_38() -> None:
    found = probe(os.path.expanduser("~/.pyenv/versions/3.8.18/bin/python"))
    assert found.python_version.startswith("3.8.") and found.marker_env["python_version"] == "3.8"


def test_missing_or_not_executable_interpreter(tmp_path: Path) -> None:
    for bad in (tmp_path / "nope" / "python", tmp_path, ""):
        with pytest.raises(InvalidInput) as err:
            probe(bad)
        assert err.value.field == "python"
    plain = tmp_path / "python"
    plain.write_text("not executable")
    with pytest.raises(InvalidInput, match="not an executable"):
        probe(plain)


def _fake_python(tmp_path: Path, body: str) -> Path:
    script = tmp_path / "fake-python"
    script.write_text("#!/bin/sh\n" + body)
    script.chmod(0o755)
    return script


def test_interpreter_printing_garbage(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """What the interpreter writes goes to the log, never into the answer."""
    with pytest.raises(Unavailable) as err:
        probe(_fake_python(tmp_path, "echo 'hello, not json'\necho 'something broke' >&2\n"))
    assert err.value.field == "python"
    assert "not its JSON" in err.value.message
    assert "something broke" not in err.value.message and "hello" not in err.value.message
    assert "something broke" in caplog.text


def test_interpreter_failing(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(Unavailable, match=r"exit code 3") as err:
        probe(_fake_python(tmp_path, "echo 'ImportError: boom' >&2\nexit 3\n"))
    assert "boom" not in err.value.message and "ImportError: boom" in caplog.text


def test_interpreter_hanging_is_stopped_at_the_timeout(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    started = time.monotonic()
    with pytest.raises(Unavailable, match=r"within 1 s") as err:
        probe(_fake_python(tmp_path, "echo 'about to hang' >&2\nexec sleep 30\n"), timeout=1)
    assert time.monotonic() - started < 5
    assert "about to hang" not in err.value.message and "about to hang" in caplog.text


def test_probe_of_150_distributions_is_fast(wheelhouse: Path, tmp_path: Path) -> None:
    """Not a benchmark: a guard that one probe of a 150-distribution env stays one cheap process."""
    if uv_binary() is None:
        pytest.skip("uv is not installed")
    bulk = tmp_path / "bulk"
    for i in range(140):
        build_wheel(bulk, f"bulk-{i:03d}", "1.0", [f"bulk-{i - 1:03d}"] if i else [])
    python = make_venv(tmp_path / "venv", [], wheelhouse, installer="uv")
    install(python, [*ROCM_ENV_PACKAGES, *(f"bulk-{i:03d}" for i in range(140))], wheelhouse, installer="uv",
            extra_find_links=[bulk])
    durations = []
    for _ in range(3):
        found = probe(python)
        durations.append(found.duration)
    assert len(found.distributions) >= 150
    assert min(durations) < 1.0, durations
