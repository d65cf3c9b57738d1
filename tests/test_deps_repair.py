"""The repair job end to end: a real venv (the kernel's, not the server's), a project
folder, real uv and pip from the local wheelhouse, run by the real job machinery."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from deps_support import isolated_env
from jupyter_mlops.deps.probe import probe
from jupyter_mlops.errors import InvalidInput
from jupyter_mlops.jobs.worker import Worker
from jupyter_mlops.services import Services

PROTECTED = ("torch", "torchvision", "pytorch-triton-rocm")


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clean = isolated_env(tmp_path / "cache")
    for key in list(os.environ):
        if key.startswith(("PIP_", "UV_")) and key not in clean:
            monkeypatch.delenv(key)
    for key, value in clean.items():
        monkeypatch.setenv(key, value)


def project(tmp_path: Path, wheelhouse: Path, *lines: str, pyproject: str | None = None) -> Path:
    folder = tmp_path / "project"
    folder.mkdir(exist_ok=True)
    (folder / "requirements.txt").write_text(
        "\n".join(["--no-index", f"--find-links {wheelhouse}", *lines]) + "\n")
    if pyproject is not None:
        (folder / "pyproject.toml").write_text(pyproject)
    return folder


def run_repair(services: Services, python: Path, folder: Path, **target: object) -> dict:
    job = services.deps.repair(services.deps.target(str(python), str(folder), **target), "tester")
    return Worker(services.store, place=services.jobs.place).run_job(job["id"])


def lines(services: Services, job_id: int) -> list[str]:
    return [entry["line"] for entry in services.jobs.log(job_id, limit=500)["lines"]]


@pytest.mark.parametrize("installer", ["uv", "pip"])
def test_repair_installs_missing_and_outdated_and_keeps_torch_byte_identical(
        installer: str, services: Services, rocm_env_copy: Path, wheelhouse: Path, tmp_path: Path) -> None:
    folder = project(tmp_path, wheelhouse, "torch", "torchvision", "alpha>=2", "beta>=1.5", "filler-03>=1.1")
    before = probe(rocm_env_copy)
    server_env = {k: d.version for k, d in probe(sys.executable).distributions.items()}
    job = services.deps.repair(services.deps.target(str(rocm_env_copy), str(folder)), "tester", installer=installer)
    done = Worker(services.store, place=services.jobs.place).run_job(job["id"])
    assert done["state"] == "succeeded", (done, lines(services, job["id"])[-20:])
    result = done["result"]
    assert sorted(result["installed"]) == ["alpha>=2", "beta>=1.5", "filelock", "filler-03>=1.1"]
    assert result["failed"] == {} and result["skipped"] == {} and result["restart_kernel"] is True
    assert result["needs_fix_after"] is False and "restart the kernel" in result["message"]
    after = probe(rocm_env_copy)
    assert (after.distributions["alpha"].version, after.distributions["beta"].version) == ("2.0", "1.5")
    assert "filelock" in after.distributions  # the protected triton's own missing dependency
    for key in ("torch", "torchvision", "pytorch-triton-rocm"):
        assert after.distributions[key].version == before.distributions[key].version
        assert after.distributions[key].record_sha256 == before.distributions[key].record_sha256
    log = lines(services, job["id"])
    assert any(line.startswith("$ ") and "-c" in line for line in log)
    assert any("protected: torch 2.3.1+rocm5.7" in line for line in log)
    # The server's own environment was not touched.
    assert {k: d.version for k, d in probe(sys.executable).distributions.items()} == server_env
    history = services.deps.history(python=str(rocm_env_copy))["items"]
    assert history[0]["kind"] == "repair" and history[0]["job_id"] == job["id"]
    # A second repair finds nothing to do.
    again = run_repair(services, rocm_env_copy, folder)
    assert again["state"] == "succeeded" and again["result"]["message"] == "nothing is missing or outdated"


def test_repair_skips_what_needs_a_newer_torch_and_installs_the_rest(
        services: Services, rocm_env_copy: Path, wheelhouse: Path, tmp_path: Path) -> None:
    folder = project(tmp_path, wheelhouse, "needs-new-torch", "alpha>=2")
    before = probe(rocm_env_copy)
    done = run_repair(services, rocm_env_copy, folder)
    assert done["state"] == "succeeded", done
    result = done["result"]
    assert result["installed"] == ["alpha>=2", "filelock"] or sorted(result["installed"]) == ["alpha>=2", "filelock"]
    (skipped,) = result["skipped"]
    assert skipped == "needs-new-torch"
    assert "replacing the protected torch 2.3.1+rocm5.7" in result["skipped"][skipped]
    assert result["needs_fix_after"] is True
    after = probe(rocm_env_copy)
    assert after.distributions["torch"].record_sha256 == before.distributions["torch"].record_sha256
    assert "needs-new-torch" not in after.distributions


def test_markers_and_extras_decide_what_is_repaired(
        services: Services, rocm_env_copy: Path, wheelhouse: Path, tmp_path: Path) -> None:
    pyproject = """
[project]
name = "demo"
version = "0.1"
dependencies = ["filler-05>=1.1", "needs-new-torch; python_version < '3.0'"]
[project.optional-dependencies]
gpu = ["beta>=1.5"]
"""
    folder = project(tmp_path, wheelhouse, pyproject=pyproject)
    (folder / "requirements.txt").write_text(f"--no-index\n--find-links {wheelhouse}\n")
    done = run_repair(services, rocm_env_copy, folder, requirement_files=["requirements.txt"])
    assert done["state"] == "succeeded", done
    assert "filler-05>=1.1" in done["result"]["installed"]
    assert not any(r.startswith(("beta", "needs-new-torch")) for r in done["result"]["installed"])
    assert done["result"]["skipped"] == {}  # its marker is false here: not even tried
    done = run_repair(services, rocm_env_copy, folder, extras=["gpu"], requirement_files=["requirements.txt"])
    assert "beta>=1.5" in done["result"]["installed"]
    assert "needs-new-torch" not in probe(rocm_env_copy).distributions


def test_bad_input_is_refused_before_any_job(services: Services, rocm_env: Path, wheelhouse: Path,
                                             tmp_path: Path) -> None:
    folder = project(tmp_path, wheelhouse, "alpha>=2")
    with pytest.raises(InvalidInput) as err:
        services.deps.repair(services.deps.target(str(tmp_path / "nope" / "python"), str(folder)), "tester")
    assert err.value.field == "python"
    (folder / "pyproject.toml").write_text("[project\nname = ")
    with pytest.raises(InvalidInput, match="pyproject.toml"):
        services.deps.repair(services.deps.target(str(rocm_env), str(folder)), "tester")
    (folder / "pyproject.toml").unlink()
    (folder / "requirements.txt").write_text("alpha >>= 2\n")
    with pytest.raises(InvalidInput, match="requirements.txt:1"):
        services.deps.repair(services.deps.target(str(rocm_env), str(folder)), "tester")
    with pytest.raises(InvalidInput, match="project"):
        services.deps.target(str(rocm_env), str(tmp_path / "missing-folder"))
    with pytest.raises(InvalidInput, match="installer"):
        services.deps.repair(services.deps.target(str(rocm_env), str(folder)), "tester", installer="conda")
    assert services.jobs.list()["items"] == [] and services.deps.history()["items"] == []
