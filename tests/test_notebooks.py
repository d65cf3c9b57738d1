"""The demo notebooks as a newcomer runs them: the README's first command makes a folder
`demo-workspace` with copies of `notebooks/*.ipynb` and starts `jupyter lab` on it; each
notebook is opened (a kernel the server starts) and Run All runs it top to bottom, twice.
No environment variable steers them: what differs on this machine is in the server's
config file (the Hub at 127.0.0.1, the test daemon and base image), in pip's and uv's
configuration (a local package index, as a mirror is configured), and in the one cell the
hub and builds notebooks say to edit (the registry to push to)."""
from __future__ import annotations

import getpass
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from deps_support import build_wheel, isolated_env as pip_env
from hub_server import FakeHub, payload
from lab_support import LabServer, isolated_env, run_all, start_lab

from jupyter_mlops.deps.probe import probe

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
DEMOS = ("registry", "model_hub", "dependencies", "builds")
HUB_REPO = "hf-internal-testing/tiny-random-gpt2"


def _cell(nb: Any, starts: str) -> Any:
    cells = [c for c in nb.cells if c.cell_type == "code" and c.source.startswith(starts)]
    assert len(cells) == 1, f"{len(cells)} code cells start with {starts!r}"
    return cells[0]


def _text(cell: Any, kind: str = "text/plain") -> str:
    parts = []
    for out in cell.outputs:
        if out.output_type == "stream":
            if kind == out.name:
                parts.append(out.text)
        elif kind in out.get("data", {}):
            parts.append(out.data[kind])
    return "".join(parts)


def _errors(nb: Any) -> list[str]:
    return [f"{o.ename}: {o.evalue}" for c in nb.cells if c.cell_type == "code" for o in c.outputs
            if o.output_type == "error"]


def _all_ran(nb: Any) -> bool:
    return all(c.execution_count is not None for c in nb.cells if c.cell_type == "code")


@pytest.fixture
def demo(tmp_path: Path, hub: FakeHub, docker_host: str, base_image: str) -> Iterator[dict[str, Any]]:
    """The README's demo workspace and server, with this machine's differences in config."""
    root = tmp_path / "demo-workspace"
    root.mkdir()
    for path in NOTEBOOKS.glob("*.ipynb"):
        shutil.copy(path, root / path.name)
    sha = hub.add_repo(HUB_REPO, {"config.json": b'{"model_type": "gpt2"}', "tokenizer.json": b"{}",
                                  "model.safetensors": payload("st", 1 << 20),
                                  "pytorch_model.bin": payload("pt", 1 << 20)})
    wheels = tmp_path / "index"
    wheels.mkdir()
    for name, version in (("six", "1.17.0"), ("tomli", "2.2.1")):  # stand-ins for PyPI's
        build_wheel(wheels, name, version, files={f"{name}.py": f"__version__ = {version!r}\n"})
    home = tmp_path / "home"
    env = isolated_env(home, base={k: v for k, v in pip_env(tmp_path / "uv-cache").items()
                                   if not k.startswith(("JUPYTER_MLOPS_", "DOCKER_", "MLFLOW_"))
                                   and k != "JUPYTERHUB_USER"})
    # pip and uv find packages in the local index, as a machine configured for a mirror does
    env.update(PIP_NO_INDEX="1", PIP_FIND_LINKS=str(wheels), UV_FIND_LINKS=str(wheels))
    (Path(env["JUPYTER_CONFIG_DIR"]) / "jupyter_server_config.json").write_text(json.dumps({"MLOpsApp": {
        "hf_endpoint": hub.url, "download_disk_margin": 0, "docker_host": docker_host,
        "build_base_images": {"cpu": base_image}}}))
    server = start_lab(root, home, env=env)
    try:
        yield {"server": server, "root": root, "sha": sha, "env": env}
    finally:
        killed = server.stop()
        assert not killed, f"processes needed SIGKILL at stop: {killed}"


@pytest.mark.timeout(1200)
def test_demo_notebooks_run_all_in_the_demo_workspace(demo: dict[str, Any], hub: FakeHub, registry_addr: str,
                                                      docker_api: Any) -> None:
    server: LabServer = demo["server"]
    root: Path = demo["root"]
    edits = {"REGISTRY = ": f'REGISTRY = "{registry_addr}"'}
    runs = []
    for _ in range(2):  # Run All again changes nothing it should not
        books = {}
        for name in DEMOS:
            nb = run_all(server, f"{name}.ipynb", edits=edits if name == "builds" else None)
            assert _errors(nb) == [] and _all_ran(nb), (name, _errors(nb))
            books[name] = nb
        runs.append(books)
    first, again = runs

    # registry
    reg = first["registry"]
    assert f"{root}" in _text(_cell(reg, "%load_ext jupyter_mlops"))
    assert "<table>" in _text(_cell(reg, "found = %mlops models list --q demo-llm"), "text/html")
    assert _text(_cell(reg, "from jupyter_mlops.errors import InvalidInput"), "stdout").startswith(
        "version: must be a version")
    listed = _text(_cell(reg, "%mlops releases list"), "text/html")
    assert "int8" in listed and "gguf-q4_k_m" in listed
    assert "active" in _text(_cell(reg, "deployment = %mlops deployments create"), "text/html")
    assert "succeeded (run by the server's worker)" in _text(_cell(reg, "selftest = %mlops jobs selftest"))

    # model hub: downloaded by the server's worker from the configured Hub, the bin file left out
    hub_nb = first["model_hub"]
    assert hub.url in _text(_cell(hub_nb, "%load_ext jupyter_mlops"))
    got = _text(_cell(hub_nb, "job = %mlops download"))
    assert f"downloaded {HUB_REPO}@main" in got and "by the server's worker" in got
    assert not [f for f in hub.file_gets(HUB_REPO) if f.endswith(".bin")]
    assert _text(_cell(hub_nb, "name = REPO"), "stdout").strip() == f"hf://{HUB_REPO}@{demo['sha']}"
    refused = _text(_cell(hub_nb, "from jupyter_mlops.errors import Conflict"), "stdout")
    assert refused.startswith(f"cannot delete {HUB_REPO}: it is the default model (tiny-random-gpt2)")
    assert f"deleted {HUB_REPO}: freed" in _text(_cell(hub_nb, "freed = %mlops delete"))

    # dependencies: the demo made its project and venv, found two missing, installed them
    deps_nb = first["dependencies"]
    python = root / "demo-project" / ".venv" / "bin" / "python"
    status = _text(_cell(deps_nb, "status = %mlops deps check"))
    assert "six" in status and "tomli" in status and "missing" in status
    assert "re-run with --yes" in _text(_cell(deps_nb, "%mlops deps fix --python"))
    fixed = _text(_cell(deps_nb, "fixed = %mlops deps fix --yes"))
    assert "succeeded (run by the server's worker)" in fixed
    installed = probe(python).distributions
    assert (installed["six"].version, installed["tomli"].version) == ("1.17.0", "2.2.1")
    assert "ok" in _text(_cell(again["dependencies"], "status = %mlops deps check"))

    # builds: built from the configured base image, pushed to the registry the cell names, reused next time
    builds_nb = first["builds"]
    built = _cell(builds_nb, "build = %mlops build")
    assert "Successfully tagged tiny-demo:1.0.0" in _text(built, "stdout")
    assert "built tiny-demo:1.0.0 (image " in _text(built)
    assert f"pushed {registry_addr}/demo/tiny-demo:1.0.0@sha256:" in _text(_cell(builds_nb, "pushed = None"))
    assert "reused tiny-demo:1.0.0 (image " in _text(_cell(again["builds"], "build = %mlops build"))
    assert docker_api.inspect_image("tiny-demo:1.0.0")["Config"]["Labels"]

    # one person, one actor: the kernels above, the REST API (as the sidebar calls it) and the CLI
    server.ok("POST", "models", {"name": "from-rest", "storage_path": "/data/rest"})
    cli_env = {k: v for k, v in demo["env"].items() if k != "JUPYTERHUB_USER"}
    made = subprocess.run([sys.executable, "-m", "jupyter_mlops.cli", "models", "create", "from-cli",
                           "--storage-path", "/data/cli"], cwd=root, env=cli_env, capture_output=True, text=True,
                          timeout=120)
    assert made.returncode == 0, made.stderr
    with sqlite3.connect(root / ".mlops" / "mlops.db") as conn:
        actors = {a for (a,) in conn.execute("select distinct actor from audit_events")}
        owners = {o for (o,) in conn.execute("select distinct owner from jobs")}
        assert conn.execute("select count(*) from audit_events where entity_id in ('from-rest', 'from-cli')"
                            ).fetchone() == (2,)
    assert actors == owners == {getpass.getuser()}


@pytest.mark.timeout(300)
def test_a_failing_magic_stops_run_all_with_one_line(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    root.mkdir()
    home = tmp_path / "home"
    server = start_lab(root, home, env=isolated_env(home, base={k: v for k, v in os.environ.items()
                                                                if not k.startswith("JUPYTER_MLOPS_")}))
    try:
        server.put_notebook("stops.ipynb", [
            "%load_ext jupyter_mlops",
            "model = %mlops models show no-such-model",
            "print('never here', model['name'])",
        ])
        nb = run_all(server, "stops.ipynb")
    finally:
        server.stop()
    failed = nb.cells[1]
    (error,) = [o for o in failed.outputs if o.output_type == "error"]
    assert (error.ename, error.evalue) == ("NotFound", "model 'no-such-model' does not exist")
    assert len(error.traceback) == 1 and "model 'no-such-model' does not exist" in error.traceback[0]
    assert nb.cells[2].execution_count is None and nb.cells[2].outputs == []  # Run All stopped


@pytest.mark.parametrize("name", DEMOS)
def test_notebook_is_stored_clean(name: str) -> None:
    """The committed demo notebooks carry no outputs and need no environment variable."""
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    nbformat.validate(nb)
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in nb.cells if c.cell_type == "code")
    assert nb.metadata["kernelspec"]["name"] == "python3"
    assert not any("environ" in c.source or "getenv" in c.source for c in nb.cells if c.cell_type == "code")
