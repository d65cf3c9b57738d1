"""One configuration for every face, through real parts: a real `jupyter lab` started with a
config file (protected_packages, a non-default db_url (a SQLite file elsewhere, or a
PostgreSQL database), hf_endpoint at the test Hub) and a
setting on its command line; a kernel that server starts; a kernel nbclient starts from
the same config path; and `jupyter mlops` subprocesses. Each runs `deps plan` (alpha
protected), `models list` (the server's models) and a download (from the configured
Hub); a repair submitted in the kernel runs in the server's worker with the configured
protected set, and a repair queued by the server runs inline elsewhere with the set it
carries."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from deps_support import isolated_env as pip_env
from hub_server import FakeHub
from lab_support import KERNEL_TIMEOUT, ServerKernel, isolated_env, start_lab
from nbclient import NotebookClient

from jupyter_mlops.deps.probe import probe

MARK = "@@mlops@@ "


def run_probe(kernel: ServerKernel, code: str) -> list[Any]:
    """Execute `code`; the values it printed after MARK (as JSON), in order. Fails on an error."""
    outputs, succeeded = kernel.execute(code)
    text = "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
    assert succeeded, (text, outputs)
    return [json.loads(line[len(MARK):]) for line in text.splitlines() if line.startswith(MARK)]
FILES = {"config.json": b'{"model_type": "tiny"}', "weights.bin": b"w" * 4096}


def project_for(folder: Path, wheelhouse: Path) -> Path:
    """A project declaring alpha>=2 (alpha 1.0 is installed: protected by the config, it
    must stay) and filelock (missing: the plan installs it)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "requirements.txt").write_text(f"--no-index\n--find-links {wheelhouse}\nalpha>=2\nfilelock\n")
    return folder


@pytest.fixture
def setup(tmp_path: Path, hub: FakeHub, rocm_env_copy: Path, wheelhouse: Path,
          db_url: str | None) -> Iterator[dict[str, Any]]:
    """The config file, a server started with it (and `max_jobs` on its command line), a
    model created through REST, a repo on the test Hub, and a venv + project for the doctor."""
    home, root = tmp_path / "home", tmp_path / "workspace"
    root.mkdir()
    team_db = tmp_path / "team" / "registry.db"
    team_url = db_url or f"sqlite:///{team_db}"
    env = isolated_env(home, base=pip_env(tmp_path / "uv-cache"))
    config_file = Path(env["JUPYTER_CONFIG_DIR"]) / "jupyter_server_config.json"
    config_file.write_text(json.dumps({"MLOpsApp": {
        "protected_packages": ["alpha"], "db_url": team_url, "hf_endpoint": hub.url,
        "download_disk_margin": 0, "max_jobs": 1}}))
    hub.add_repo("org/tiny", FILES)
    server = start_lab(root, home, env=env, extra_args=["--MLOpsApp.max_jobs=3"])
    try:
        model = server.ok("POST", "models", {"name": "shared-model", "storage_path": "hf://org/tiny"})
        assert team_db.is_file() is (db_url is None)  # the configured store
        assert not (root / ".mlops" / "mlops.db").exists()
        yield {"server": server, "env": env, "root": root, "config_file": config_file, "team_url": team_url,
               "model": model, "python": str(rocm_env_copy), "project": project_for(tmp_path / "proj", wheelhouse),
               "hub": hub}
    finally:
        killed = server.stop()
        assert not killed, f"processes needed SIGKILL at stop: {killed}"


PROBE_CELLS = [
    "%load_ext jupyter_mlops",
    "import json\ndef show(value):\n    print('" + MARK + "' + json.dumps(value, default=str))",
    "settings = %mlops config\nshow(settings.data)",  # name -> {value, source, ...}
    "planned = %mlops deps plan --python {python} --project {project} --installer pip\n"
    "show({{'protected': planned['status']['protected'], 'changes': planned['plan']['changes']}})",
    "models = %mlops models list\nshow([m['name'] for m in models['items']])",
    "done = %mlops download org/tiny\nshow({{'state': done['state'], 'params': done['params'], "
    "'result': done['result']}})",
]


def probe_cells(setup: dict[str, Any]) -> list[str]:
    return [c.format(python=setup["python"], project=setup["project"]) for c in PROBE_CELLS]


def check_probe(seen: list[Any], setup: dict[str, Any], *, server_handed: bool, changes: set[str]) -> None:
    """What every face must see: the configured protected set, store and Hub; `changes`
    are what the plan installs (never alpha)."""
    settings, planned, models, download = seen
    config_file = f"file {setup['config_file']}"
    prefix = "server (" if server_handed else ""
    assert settings["protected_packages"]["value"] == ["alpha"]
    assert settings["protected_packages"]["source"] == (f"server ({config_file})" if server_handed else config_file)
    assert settings["db_url"]["value"] == setup["team_url"]
    assert settings["hf_endpoint"]["value"] == setup["hub"].url
    assert settings["hf_endpoint"]["source"].startswith(prefix + "file ")
    # the server's command line reaches the kernels it starts, and only those
    assert settings["max_jobs"] == {**settings["max_jobs"], "value": 3, "source": "server (command line)"} \
        if server_handed else settings["max_jobs"]["value"] == 1
    assert "alpha" in planned["protected"] and "configured" in planned["protected"]["alpha"]
    assert {c["name"] for c in planned["changes"]} == changes  # alpha is left alone
    assert "shared-model" in models
    assert download["state"] == "succeeded", download
    assert download["params"]["endpoint"] == setup["hub"].url
    assert download["result"]["repo_id"] == "org/tiny"


@pytest.mark.timeout(600)
@pytest.mark.both_stores
def test_server_kernels_and_cli_share_one_configuration(setup: dict[str, Any], tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    server, hub = setup["server"], setup["hub"]
    # 1. a kernel the server started: the server's effective settings, its command line included
    server.put_notebook("probe/server.ipynb", [])
    kernel = ServerKernel(server, "probe/server.ipynb")
    try:
        gets = len(hub.file_gets("org/tiny"))
        seen = [v for cell in probe_cells(setup) for v in run_probe(kernel, cell)]
        check_probe(seen, setup, server_handed=True, changes={"filelock"})
        assert len(hub.file_gets("org/tiny")) > gets  # the bytes came from the configured Hub

        # a repair submitted in the kernel runs in the server's worker with the configured set
        alpha_before = probe(setup["python"]).distributions["alpha"].version
        (fixed,) = run_probe(kernel, 
            f"fixed = %mlops deps fix --yes --python {setup['python']} --project {setup['project']} "
            "--installer pip\nshow({'title': fixed.title, 'job': fixed.data})")
    finally:
        kernel.close()
    assert "run by the server's worker" in fixed["title"], fixed["title"]
    assert "alpha" in fixed["job"]["params"]["protected_patterns"]
    env_after = probe(setup["python"])
    assert env_after.distributions["alpha"].version == alpha_before == "1.0"
    assert "filelock" in env_after.distributions

    # 2. a kernel nbclient starts from the same config path (no server in between)
    for key in [k for k in os.environ if k.startswith(("JUPYTER_", "PIP_", "UV_", "HF_"))]:
        monkeypatch.delenv(key)
    for key, value in setup["env"].items():
        if key.startswith(("JUPYTER_", "IPYTHONDIR", "PIP_", "UV_", "HF_")):
            monkeypatch.setenv(key, value)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in probe_cells(setup)])
    NotebookClient(nb, timeout=int(KERNEL_TIMEOUT * 3), kernel_name="python3",
                   resources={"metadata": {"path": str(setup["root"])}}).execute()
    printed = "".join(o.get("text", "") for c in nb.cells for o in c.outputs if o.get("output_type") == "stream")
    seen = [json.loads(line[len(MARK):]) for line in printed.splitlines() if line.startswith(MARK)]
    check_probe(seen, setup, server_handed=False, changes=set())  # the repair installed filelock

    # 3. the CLI with the same config path
    def cli(*args: str) -> Any:
        env = {k: v for k, v in setup["env"].items() if k != "JUPYTER_MLOPS_SERVER_SETTINGS"}
        done = subprocess.run([sys.executable, "-m", "jupyter_mlops.cli", *args, "--json"], cwd=setup["root"],
                              env=env, capture_output=True, text=True, timeout=KERNEL_TIMEOUT * 3)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    settings = cli("config")
    assert settings["protected_packages"]["source"] == f"file {setup['config_file']}"
    planned = cli("deps", "plan", "--python", setup["python"], "--project", str(setup["project"]))
    assert "alpha" in planned["status"]["protected"]
    assert "shared-model" in [m["name"] for m in cli("models", "list")["items"]]
    done = cli("download", "org/tiny")
    assert done["state"] == "succeeded" and done["params"]["endpoint"] == hub.url


class TestJobCarriesItsSettings:
    """A repair queued by the server (REST) and run inline by another face (`jobs log
    --follow` in a CLI whose own config protects nothing) keeps the server's protected set."""

    @pytest.fixture
    def jp_server_config(self, jp_server_config: dict[str, Any]) -> dict[str, Any]:
        mlops = {**jp_server_config["MLOpsApp"], "run_worker": False, "protected_packages": ["alpha"]}
        return {**jp_server_config, "MLOpsApp": mlops}

    @pytest.mark.timeout(300)
    async def test_repair_queued_by_the_server_runs_inline_with_its_protected_set(
            self, api: Any, jp_root_dir: Path, rocm_env_copy: Path, wheelhouse: Path, tmp_path: Path) -> None:
        project = project_for(tmp_path / "proj", wheelhouse)
        code, job = await api("POST", "deps/repair", {"python": str(rocm_env_copy), "project": str(project),
                                                      "installer": "pip"})
        assert code == 201 and job["state"] == "queued", job
        assert "alpha" in job["params"]["protected_patterns"]
        env = {**pip_env(tmp_path / "uv-cache"), "JUPYTER_CONFIG_DIR": str(tmp_path / "empty-config"),
               "JUPYTER_MLOPS_WORKSPACE": str(jp_root_dir)}
        env.pop("JUPYTER_MLOPS_SERVER_SETTINGS", None)
        mine = subprocess.run([sys.executable, "-m", "jupyter_mlops.cli", "config", "protected_packages", "--json"],
                              env=env, capture_output=True, text=True, timeout=60)
        assert json.loads(mine.stdout)["value"] == []  # this face protects nothing itself
        followed = subprocess.run([sys.executable, "-m", "jupyter_mlops.cli", "jobs", "log", str(job["id"]),
                                   "--follow"], env=env, capture_output=True, text=True, timeout=240)
        assert followed.returncode == 0, followed.stderr
        assert "(run inline)" in followed.stdout
        code, done = await api("GET", f"jobs/{job['id']}")
        assert done["state"] == "succeeded", done
        after = probe(rocm_env_copy)
        assert after.distributions["alpha"].version == "1.0" and "filelock" in after.distributions


def test_broken_pipe_on_help_exits_quietly(tmp_path: Path) -> None:
    """`jupyter mlops models create --help | head -1`: no traceback, exit 0."""
    done = subprocess.run(f"{sys.executable} -m jupyter_mlops.cli models create --help | head -1; "
                          "exit ${PIPESTATUS[0]}", shell=True, executable="/bin/bash", cwd=tmp_path,
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, "JUPYTER_CONFIG_DIR": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage:") and done.stderr == ""


def test_config_command_names_sources_and_hides_secrets(tmp_path: Path) -> None:
    """`jupyter mlops config`: every setting with its source, as text and JSON; a password in
    db_url (from a file or the environment) never printed."""
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    config_file = config_dir / "jupyter_server_config.py"
    config_file.write_text("c.MLOpsApp.db_url = 'postgresql+psycopg://ada:file-s3cret@db.internal/registry'\n"
                           "c.MLOpsApp.protected_packages = ['flash-attn']\n")
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(config_dir), "HF_ENDPOINT": "http://hub.internal"}

    def config(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "jupyter_mlops.cli", "config", *args], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=60)

    text = config()
    assert text.returncode == 0, text.stderr
    lines = {line.split()[0]: line for line in text.stdout.splitlines()[3:]}
    assert f"file {config_file}" in lines["db_url"] and "ada:***@db.internal/registry" in lines["db_url"]
    assert f"file {config_file}" in lines["protected_packages"] and "flash-attn" in lines["protected_packages"]
    assert "environment HF_ENDPOINT" in lines["hf_endpoint"]
    assert lines["max_jobs"].split()[-1] == "default"
    env["JUPYTER_MLOPS_DB_URL"] = "postgresql://ada@db.internal/registry?password=env-s3cret"
    as_json = config("--json")
    assert as_json.returncode == 0, as_json.stderr
    rows = json.loads(as_json.stdout)
    assert rows["db_url"]["source"] == "environment JUPYTER_MLOPS_DB_URL"
    assert rows["db_url"]["value"] == "postgresql://ada@db.internal/registry?password=***"
    one = config("db_url")
    for out in (text, as_json, one):
        assert "s3cret" not in out.stdout + out.stderr
    assert config("nope").returncode == 1
