"""The dependency doctor's faces through real parts: REST on a real Jupyter server (with
its worker and a real kernel), `jupyter mlops deps ...` as subprocesses, `%mlops deps`
in an IPython shell, and DependencyPanel clicks; real venvs filled from the wheelhouse."""
from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from deps_support import isolated_env, make_venv
from jupyter_mlops.deps.probe import probe
from magic_support import magic_fails
from rest_support import wait_job

PROTECTED = ("torch", "torchvision", "pytorch-triton-rocm")


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """pip/uv (here and in the server's worker subprocesses, which inherit it) see none of
    the machine's settings."""
    wanted = isolated_env(tmp_path / "uv-cache")
    for key in [k for k in os.environ if k.startswith(("PIP_", "UV_"))]:
        if key not in wanted:
            monkeypatch.delenv(key)
    for key, value in wanted.items():
        monkeypatch.setenv(key, value)


def write_project(folder: Path, wheelhouse: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "requirements.txt").write_text(
        f"--no-index\n--find-links {wheelhouse}\nalpha>=2\nfilelock\ntorch\n")
    return folder


@pytest.fixture
def project(tmp_path: Path, wheelhouse: Path) -> Path:
    return write_project(tmp_path / "proj", wheelhouse)


def records(python: Path) -> dict[str, str | None]:
    env = probe(python)
    return {k: env.distributions[k].record_sha256 for k in PROTECTED}


def db_rows(db: Path, table: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return conn.execute(f"SELECT * FROM {table} ORDER BY id").fetchall()


# -- REST ---------------------------------------------------------------------------------


@pytest.mark.timeout(300)
async def test_rest_status_plan_repair_history(api: Any, rocm_env_copy: Path, project: Path,
                                               jp_root_dir: Path) -> None:
    python = str(rocm_env_copy)
    code, status = await api("GET", "deps/status", python=python, project=str(project))
    assert code == 200, status
    states = {r["key"]: (r["state"], r["installed"]) for r in status["status"]["rows"]}
    assert states["alpha"] == ("outdated", "1.0") and states["filelock"][0] == "missing"
    torch = next(r for r in status["status"]["rows"] if r["key"] == "torch")
    assert torch["protected"] and torch["installed"] == "2.3.1+rocm5.7"
    assert status["status"]["needs_fix"] is True and "torch" in status["status"]["protected"]
    assert status["environment"]["python"] == python

    code, planned = await api("POST", "deps/plan", {"python": python, "project": str(project), "installer": "pip"})
    assert code == 200, planned
    plan = planned["plan"]
    assert plan["ok"] and {c["name"]: (c["before"], c["after"]) for c in plan["changes"]} == {
        "alpha": ("1.0", "2.0"), "filelock": (None, "3.13.1")}
    assert "torch==2.3.1+rocm5.7" in plan["constraints"]

    before = records(rocm_env_copy)
    code, job = await api("POST", "deps/repair", {"python": python, "project": str(project)})
    assert code == 201, job
    assert job["kind"] == "deps.repair"
    job = await wait_job(api, job["id"], timeout=240)
    assert job["state"] == "succeeded", job
    assert sorted(job["result"]["installed"]) == ["alpha>=2", "filelock"]
    assert job["result"]["restart_kernel"] is True
    assert records(rocm_env_copy) == before  # protected builds byte-identical
    after = probe(rocm_env_copy)
    assert after.distributions["alpha"].version == "2.0" and "filelock" in after.distributions
    code, log = await api("GET", f"jobs/{job['id']}/log")
    assert any("protected: torch" in line["line"] for line in log["lines"])

    code, history = await api("GET", "deps/history", python=python)
    assert code == 200
    assert [i["kind"] for i in history["items"]] == ["repair", "plan", "check"]
    assert history["items"][0]["job_id"] == job["id"]
    code, page = await api("GET", "deps/history", limit="1")
    assert len(page["items"]) == 1 and page["next_cursor"]


@pytest.fixture
def no_worker_config(jp_server_config: dict[str, Any]) -> dict[str, Any]:
    return jp_server_config


class TestBadInput:
    @pytest.fixture
    def jp_server_config(self, jp_server_config: dict[str, Any]) -> dict[str, Any]:
        return {**jp_server_config, "MLOpsApp": {**jp_server_config["MLOpsApp"], "run_worker": False}}

    async def test_bad_input_names_the_field_and_changes_nothing(
            self, api: Any, rocm_env: Path, project: Path, tmp_path: Path, jp_root_dir: Path) -> None:
        code, _ = await api("GET", "deps/history")
        assert code == 200
        db = jp_root_dir / ".mlops" / "mlops.db"
        before = (db_rows(db, "deps_runs"), db_rows(db, "jobs"))
        bad_pyproject = tmp_path / "badpy"
        bad_pyproject.mkdir()
        (bad_pyproject / "pyproject.toml").write_text("[project\nname = 'x'\n")
        bad_req = tmp_path / "badreq"
        bad_req.mkdir()
        (bad_req / "requirements.txt").write_text("alpha >>= 2\n")
        py, proj = str(rocm_env), str(project)
        cases = [
            ("GET", "deps/status", None, {"project": proj}, 400, "kernel_id"),
            ("GET", "deps/status", None, {"python": py, "kernel_id": "k", "project": proj}, 400, "kernel_id"),
            ("POST", "deps/plan", {"project": proj}, {}, 400, "kernel_id"),
            ("POST", "deps/repair", {"python": py, "kernel_id": "x", "project": proj}, {}, 400, "kernel_id"),
            ("POST", "deps/plan", {"python": py, "project": proj, "color": "red"}, {}, 400, "color"),
            ("POST", "deps/plan", {"python": py, "project": proj, "installer": "conda"}, {}, 400, "installer"),
            ("POST", "deps/plan", {"python": py, "project": proj, "extras": "a"}, {}, 400, "extras"),
            ("GET", "deps/status", None, {"kernel_id": "0000-not-a-kernel", "project": proj}, 404, "kernel_id"),
            ("POST", "deps/repair", {"kernel_id": "0000-not-a-kernel", "project": proj}, {}, 404, "kernel_id"),
            ("GET", "deps/status", None, {"python": str(tmp_path / "nope" / "python"), "project": proj}, 400, "python"),
            ("POST", "deps/repair", {"python": str(tmp_path / "nope" / "python"), "project": proj}, {}, 400, "python"),
            ("GET", "deps/status", None, {"python": py, "project": str(tmp_path / "missing")}, 400, "project"),
            ("POST", "deps/repair", {"python": py, "project": str(bad_pyproject)}, {}, 400, None),
            ("GET", "deps/status", None, {"python": py, "project": str(bad_pyproject)}, 400, None),
            ("POST", "deps/plan", {"python": py, "project": str(bad_req)}, {}, 400, None),
            ("GET", "deps/history", None, {"limit": "0"}, 400, "limit"),
        ]
        for method, path, body, params, status, field in cases:
            code, answer = await api(method, path, body, **params)
            assert code == status, (method, path, body, params, answer)
            if field:
                assert answer.get("field") == field, (method, path, answer)
            assert answer["message"], answer
        assert (db_rows(db, "deps_runs"), db_rows(db, "jobs")) == before


KERNEL_NAME = "mlops-deps-faces"


@pytest.fixture
def kernel_venv(tmp_path: Path, wheelhouse: Path) -> Path:
    """A venv seeing the server's ipykernel (system site-packages) with alpha 1.0 of its own."""
    return make_venv(tmp_path / "kvenv", ["alpha==1.0"], wheelhouse, system_site_packages=True)


@pytest.fixture
def kernelspec(jp_data_dir: Path, kernel_venv: Path) -> Path:
    spec_dir = jp_data_dir / "kernels" / KERNEL_NAME
    spec_dir.mkdir(parents=True)
    (spec_dir / "kernel.json").write_text(json.dumps({
        "argv": [str(kernel_venv), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "deps faces venv", "language": "python"}))
    return spec_dir


@pytest.mark.timeout(180)
async def test_status_by_kernel_id_checks_the_kernels_env(api: Any, jp_fetch: Any, kernelspec: Path,
                                                           kernel_venv: Path, tmp_path: Path,
                                                           wheelhouse: Path) -> None:
    proj = write_project(tmp_path / "kproj", wheelhouse)
    resp = await jp_fetch("api", "kernels", method="POST", body=json.dumps({"name": KERNEL_NAME}))
    kernel_id = json.loads(resp.body)["id"]
    try:
        code, status = await api("GET", "deps/status", kernel_id=kernel_id, project=str(proj))
        assert code == 200, status
        assert status["kernel"]["python"] == str(kernel_venv) != sys.executable
        assert status["environment"]["python"] == str(kernel_venv)
        rows = {r["key"]: (r["state"], r["installed"]) for r in status["status"]["rows"]}
        assert rows["alpha"] == ("outdated", "1.0")
        code, planned = await api("POST", "deps/plan", {"kernel_id": kernel_id, "project": str(proj)})
        assert code == 200, planned
        assert planned["status"]["python"] == str(kernel_venv)
    finally:
        await jp_fetch("api", "kernels", kernel_id, method="DELETE")


# -- CLI ----------------------------------------------------------------------------------
def cli(*args: str, cwd: Path, workspace: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "JUPYTER_MLOPS_WORKSPACE": str(workspace)}
    return subprocess.run([sys.executable, "-m", "jupyter_mlops.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)


@pytest.mark.timeout(300)
def test_cli_check_plan_fix(rocm_env_copy: Path, project: Path, workspace: Path) -> None:
    py = str(rocm_env_copy)
    done = cli("deps", "check", "--python", py, cwd=project, workspace=workspace)  # project found from cwd
    assert done.returncode == 0, done.stderr
    assert "outdated" in done.stdout and "missing" in done.stdout and "protected" in done.stdout
    assert "torch (" in done.stdout and "pytorch-triton-rocm 2.3.1 requires filelock (missing)" in done.stdout
    done = cli("deps", "plan", "--python", py, "--project", str(project), cwd=workspace, workspace=workspace)
    assert done.returncode == 0, done.stderr
    assert "alpha" in done.stdout and "upgrade" in done.stdout and "torch==2.3.1+rocm5.7" in done.stdout
    before = records(rocm_env_copy)
    done = cli("deps", "fix", "--python", py, "--project", str(project), cwd=workspace, workspace=workspace)
    assert done.returncode == 1 and "re-run with --yes" in done.stderr  # no terminal: refused
    assert probe(rocm_env_copy).distributions["alpha"].version == "1.0"
    done = cli("deps", "fix", "--yes", "--python", py, "--project", str(project), cwd=workspace,
               workspace=workspace)
    assert done.returncode == 0, done.stderr
    assert "succeeded (run inline)" in done.stdout and "restart the kernel" in done.stdout
    assert "protected: torch" in done.stderr  # the job's log, streamed
    assert records(rocm_env_copy) == before
    done = cli("deps", "history", cwd=workspace, workspace=workspace)
    assert done.returncode == 0 and "repair" in done.stdout and "plan" in done.stdout
    done = cli("deps", "check", "--python", str(workspace / "nope"), "--project", str(project), cwd=workspace,
               workspace=workspace)
    assert done.returncode == 1 and done.stderr.startswith("error: python")


# -- magic ----------------------------------------------------------------------------------
@pytest.mark.timeout(300)
def test_magic_check_plan_fix(services: Any, rocm_env_copy: Path, project: Path,
                              capsys: pytest.CaptureFixture[str]) -> None:
    from IPython.core.interactiveshell import InteractiveShell

    from jupyter_mlops.magics import register

    ip = InteractiveShell.instance()  # the one shell every magic test shares
    register(ip, services=services)
    line = f"deps check --python {rocm_env_copy} --project {project}"
    result = ip.run_line_magic("mlops", line)
    assert result is not None and result["status"]["needs_fix"]
    assert "outdated" in result.text()
    planned = ip.run_line_magic("mlops", f"deps fix --python {rocm_env_copy} --project {project}")
    assert "re-run with --yes" in planned.title
    assert probe(rocm_env_copy).distributions["alpha"].version == "1.0"
    before = records(rocm_env_copy)
    fixed = ip.run_line_magic("mlops", f"deps fix --yes --python {rocm_env_copy} --project {project}")
    out = capsys.readouterr().out
    assert fixed is not None and fixed["state"] == "succeeded", out
    assert "protected: torch" in out
    assert records(rocm_env_copy) == before
    assert magic_fails(ip, "deps check --python /nonexistent/python").startswith("python")


# -- widget ---------------------------------------------------------------------------------
@pytest.mark.timeout(300)
def test_panel_check_plan_confirm(services: Any, rocm_env_copy: Path, project: Path) -> None:
    from jupyter_mlops.widgets import DependencyPanel

    panel = DependencyPanel(services=services, python=str(rocm_env_copy), project=project)
    assert panel.error.value == ""
    assert "outdated" in panel.table.value and panel.fix_button.layout.display is None
    panel.fix_button.click()
    assert "alpha" in panel.plan_html.value and panel.confirm_box.layout.display is None
    panel.cancel_button.click()
    assert panel.plan_html.value == "" and panel.confirm_box.layout.display == "none"
    before = records(rocm_env_copy)
    panel.fix_button.click()
    panel.confirm_button.click()
    assert panel.busy and all(b.disabled for b in panel.buttons)
    job = panel.wait(240)
    assert job is not None and job["state"] == "succeeded", (job, panel.error.value)
    assert not panel.busy and "Restart the kernel" in panel.status.value
    assert "protected: torch" in panel.log_area.value
    assert panel.fix_button.layout.display == "none"  # nothing left to fix
    assert records(rocm_env_copy) == before

    bad = DependencyPanel(services=services, python="/nonexistent/python", project=project)
    assert "python" in bad.error.value and not bad.busy
