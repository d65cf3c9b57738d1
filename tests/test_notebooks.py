"""The demo notebooks executed with nbclient in a real python3 kernel on a temporary workspace."""
from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "registry.ipynb"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


def _cell(nb: Any, starts: str) -> Any:
    for cell in nb.cells:
        if cell.cell_type == "code" and cell.source.startswith(starts):
            return cell
    raise AssertionError(f"no code cell starts with {starts!r}")


def _text(cell: Any, kind: str = "text/plain") -> str:
    parts = []
    for out in cell.outputs:
        if out.output_type == "stream":
            if kind == out.name:
                parts.append(out.text)
        elif kind in out.get("data", {}):
            parts.append(out.data[kind])
    return "".join(parts)


@pytest.mark.timeout(240)
def test_registry_notebook_runs(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUPYTER_MLOPS_WORKSPACE", str(workspace))
    monkeypatch.setenv("JUPYTERHUB_USER", "nb-user")
    monkeypatch.delenv("JUPYTER_MLOPS_DB_URL", raising=False)
    monkeypatch.delenv("JUPYTER_MLOPS_MODELS_DIR", raising=False)
    run_dir = workspace / "run"
    run_dir.mkdir()
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(nb, timeout=90, startup_timeout=60, kernel_name="python3",
                   resources={"metadata": {"path": str(run_dir)}}).execute()

    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert errors == []
    assert f"workspace: {workspace}" in _text(_cell(nb, "import os"), "stdout")
    assert _text(_cell(nb, "%mlops --help"), "stdout").startswith("usage: %mlops")

    created = _cell(nb, "%mlops models create")
    assert "<table>" in _text(created, "text/html") and "demo-llm" in _text(created)

    bad = _cell(nb, "%mlops releases create demo-llm not-a-version")
    err = _text(bad, "stderr")
    assert err.startswith("mlops error: version: must be a version") and err.count("\n") == 1
    assert "Traceback" not in err

    listed = _text(_cell(nb, "%mlops releases list"), "text/html")
    assert "gguf-q4_k_m" in listed and "int8" in listed
    assert "is now released" in _text(_cell(nb, "%mlops promote"))
    audit = _text(_cell(nb, "%mlops audit"))
    assert "set_alias" in audit and "promote" in audit and "nb-user" in audit
    assert WIDGET_VIEW in _cell(nb, "from jupyter_mlops.widgets").outputs[0].data

    selftest = _cell(nb, "selftest = %mlops jobs selftest")
    bars = [o for o in selftest.outputs if o.output_type == "display_data" and WIDGET_VIEW in o.data]
    assert len(bars) == 1  # the live progress bar
    assert "succeeded (run inline)" in _text(selftest)
    assert "step 10 of 10" in _text(_cell(nb, "%mlops jobs log"))
    # The progress bar's last state, as the kernel sent it to the front end.
    states = nb.metadata["widgets"][WIDGET_STATE]["state"].values()
    bar = next(s["state"] for s in states if s["model_name"] == "IntProgressModel")
    assert bar["value"] == bar["max"] == 10 and bar["bar_style"] == "success"

    with sqlite3.connect(workspace / ".mlops" / "mlops.db") as conn:
        assert conn.execute("select name, parameter_count from models").fetchall() == [("demo-llm", 8_000_000_000)]
        assert conn.execute("select id, version, quantization, status from releases order by id").fetchall() == [
            (1, "1.0.0", "int8", "released"), (2, "1.0.0-gguf", "gguf-q4_k_m", "candidate")]
        assert conn.execute("select name, release_id from aliases").fetchall() == [("prod", 1)]
        assert conn.execute("select kind, state, owner from jobs").fetchall() == [
            ("diagnostic.count", "succeeded", "nb-user")]
        assert conn.execute("select distinct actor from audit_events").fetchall() == [("nb-user",)]


DEPS_NOTEBOOK = NOTEBOOK.with_name("dependencies.ipynb")


@pytest.mark.timeout(420)
def test_dependencies_notebook_runs(workspace: Path, monkeypatch: pytest.MonkeyPatch, rocm_env_copy: Path,
                                    wheelhouse: Path, tmp_path: Path) -> None:
    """The demo against a real rocm venv (not the kernel's own env) and a project whose
    requirements.txt points at the local wheelhouse only."""
    from deps_support import isolated_env
    from jupyter_mlops.deps.probe import probe

    for key in [k for k in __import__("os").environ if k.startswith(("PIP_", "UV_"))]:
        monkeypatch.delenv(key)
    for key, value in isolated_env(tmp_path / "uv-cache").items():
        monkeypatch.setenv(key, value)
    project = tmp_path / "demo-project"
    project.mkdir()
    (project / "requirements.txt").write_text(
        f"--no-index\n--find-links {wheelhouse}\nalpha>=2\nfilelock\ntorch\n")
    monkeypatch.setenv("JUPYTER_MLOPS_WORKSPACE", str(workspace))
    monkeypatch.setenv("JUPYTERHUB_USER", "nb-user")
    monkeypatch.setenv("MLOPS_DEMO_PROJECT", str(project))
    monkeypatch.setenv("MLOPS_DEMO_PYTHON", str(rocm_env_copy))
    monkeypatch.delenv("JUPYTER_MLOPS_DB_URL", raising=False)
    torch_record = probe(rocm_env_copy).distributions["torch"].record_sha256

    nb = nbformat.read(DEPS_NOTEBOOK, as_version=4)
    NotebookClient(nb, timeout=300, startup_timeout=60, kernel_name="python3",
                   resources={"metadata": {"path": str(workspace)}}).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert errors == []
    status = _text(_cell(nb, "status = %mlops deps check"))
    assert "outdated" in status and "missing" in status and "torch" in status
    assert "upgrade" in _text(_cell(nb, "%mlops deps plan"))
    assert "re-run with --yes" in _text(_cell(nb, "%mlops deps fix --python"))
    fixed = _cell(nb, "fixed = %mlops deps fix --yes")
    assert "succeeded (run inline)" in _text(fixed) and "restart the kernel" in _text(fixed)
    assert "protected: torch" in _text(fixed, "stdout")
    assert "repair" in _text(_cell(nb, "%mlops deps history"))
    assert WIDGET_VIEW in _cell(nb, "from jupyter_mlops.widgets").outputs[0].data
    after = probe(rocm_env_copy)
    assert after.distributions["alpha"].version == "2.0"
    assert after.distributions["torch"].record_sha256 == torch_record
    with sqlite3.connect(workspace / ".mlops" / "mlops.db") as conn:
        assert conn.execute("select kind, state, owner from jobs").fetchall() == [("deps.repair", "succeeded", "nb-user")]


HUB_NOTEBOOK = NOTEBOOK.with_name("model_hub.ipynb")


@pytest.mark.timeout(300)
def test_model_hub_notebook_runs(workspace: Path, monkeypatch: pytest.MonkeyPatch, hub: Any, tmp_path: Path) -> None:
    """The demo against FakeHub on 127.0.0.1 (the real huggingface_hub client in the kernel,
    the download job run inline by the kernel: no server here)."""
    from hub_server import payload

    sha = hub.add_repo("demo/tiny-llm", {"config.json": b'{"model_type": "tiny"}',
                                         "tiny-q4.gguf": payload("q4", 2 << 20), "tiny-q8.gguf": payload("q8", 1 << 20)})
    monkeypatch.setenv("JUPYTER_MLOPS_WORKSPACE", str(workspace))
    monkeypatch.setenv("JUPYTERHUB_USER", "nb-user")
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    monkeypatch.setenv("HUB_DEMO_REPO", "demo/tiny-llm")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_HUB_CACHE", "HF_HUB_OFFLINE", "JUPYTER_MLOPS_DB_URL",
                 "JUPYTER_MLOPS_MODELS_DIR"):
        monkeypatch.delenv(name, raising=False)
    nb = nbformat.read(HUB_NOTEBOOK, as_version=4)
    NotebookClient(nb, timeout=120, startup_timeout=60, kernel_name="python3",
                   resources={"metadata": {"path": str(workspace)}}).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert errors == []
    assert f"hub: {hub.url}" in _text(_cell(nb, "import os"), "stdout")
    got = _cell(nb, "job = %mlops download")
    assert any(o.output_type == "display_data" and WIDGET_VIEW in o.data for o in got.outputs)  # progress bar
    assert "downloaded demo/tiny-llm@main" in _text(got) and "run inline" in _text(got)
    assert [f for f in hub.file_gets("demo/tiny-llm") if "q8" in f] == []
    listed = _text(_cell(nb, "%mlops models --local"), "text/html")
    assert "demo/tiny-llm" in listed and sha[:8] in listed
    assert _text(_cell(nb, "model = %mlops hub register"), "stdout").strip() == f"hf://demo/tiny-llm@{sha}"
    refused = _text(_cell(nb, "%mlops delete $REPO"), "stderr")
    assert refused.startswith("mlops error: cannot delete demo/tiny-llm: it is the default model (demo-llm)")
    assert WIDGET_VIEW in _cell(nb, "from jupyter_mlops.widgets").outputs[0].data
    freed = _text(_cell(nb, "freed = %mlops delete $REPO --force"))
    assert "deleted demo/tiny-llm: freed 2.0 MiB" in freed
    assert "(0)" in _text(nb.cells[-1])
    states = nb.metadata["widgets"][WIDGET_STATE]["state"].values()
    bar = next(s["state"] for s in states if s["model_name"] == "IntProgressModel")
    assert bar["value"] == bar["max"] > 2_000_000 and bar["bar_style"] == "success"
    with sqlite3.connect(workspace / ".mlops" / "mlops.db") as conn:
        assert conn.execute("select kind, state, owner from jobs").fetchall() == [("hub.download", "succeeded", "nb-user")]
        assert conn.execute("select name, storage_path from models").fetchall() == [
            ("demo-llm", f"hf://demo/tiny-llm@{sha}")]
    assert not (workspace / "models" / "models--demo--tiny-llm").exists()


BUILDS_NOTEBOOK = NOTEBOOK.with_name("builds.ipynb")


@pytest.mark.timeout(300)
def test_builds_notebook_runs(workspace: Path, monkeypatch: pytest.MonkeyPatch, docker_api: Any, base_image: str,
                              registry_addr: str) -> None:
    """The demo against the test daemon (the kernel inherits DOCKER_HOST) with the test base
    image, pushing to the test registry; run twice: the second run reuses what the first made."""
    monkeypatch.setenv("JUPYTER_MLOPS_WORKSPACE", str(workspace))
    monkeypatch.setenv("JUPYTERHUB_USER", "nb-user")
    monkeypatch.setenv("JUPYTER_MLOPS_DEMO_BASE_IMAGE", base_image)
    monkeypatch.setenv("JUPYTER_MLOPS_DEMO_REGISTRY", registry_addr)
    for name in ("JUPYTER_MLOPS_DB_URL", "JUPYTER_MLOPS_MODELS_DIR", "JUPYTER_MLOPS_REGISTRY_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    runs = []
    for _ in range(2):
        nb = nbformat.read(BUILDS_NOTEBOOK, as_version=4)
        NotebookClient(nb, timeout=240, startup_timeout=60, kernel_name="python3",
                       resources={"metadata": {"path": str(workspace)}}).execute()
        errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
        assert errors == []
        assert all(not _text(c, "stderr") for c in nb.cells if c.cell_type == "code")  # no "mlops error:"
        runs.append(nb)
    first, again = runs
    assert f"workspace: {workspace}" in _text(_cell(first, "import os"), "stdout")
    assert "tiny-demo" in _text(_cell(first, "folder = root"), "text/html")
    built = _cell(first, "build = %mlops build")
    log = _text(built, "stdout")
    assert "Step 1/" in log and "Successfully tagged tiny-demo:1.0.0" in log and "run check: exited 0" in log
    assert "built tiny-demo:1.0.0 (image " in _text(built)
    assert "tiny-demo:1.0.0:none" in _text(_cell(first, "%mlops builds list"), "text/html")
    assert "Successfully built" in _text(_cell(first, "%mlops builds log"))
    pushed = _text(_cell(first, "pushed = None"))
    assert f"pushed {registry_addr}/demo/tiny-demo:1.0.0@sha256:" in pushed
    assert WIDGET_VIEW in _cell(first, "from jupyter_mlops.widgets").outputs[0].data
    assert "reused tiny-demo:1.0.0 (image " in _text(_cell(again, "build = %mlops build"))

    with sqlite3.connect(workspace / ".mlops" / "mlops.db") as conn:
        assert conn.execute("select name, storage_path from models").fetchall() == [
            ("tiny-demo", "demo-models/tiny-demo")]
        assert conn.execute("select version, quantization from releases").fetchall() == [("1.0.0", "none")]
        rows = conn.execute("select b.tag, b.image_id, b.reused, b.created_by, j.state from builds b "
                            "join jobs j on j.id = b.job_id order by b.id").fetchall()
        digests = conn.execute("select reference, digest from build_pushes order by id").fetchall()
        assert sorted(set(conn.execute("select kind, state, owner from jobs").fetchall())) == [
            ("build.image", "succeeded", "nb-user"), ("build.push", "succeeded", "nb-user")]
    assert [(tag, reused, who, state) for tag, _, reused, who, state in rows] == [
        ("tiny-demo:1.0.0", 0, "nb-user", "succeeded"), ("tiny-demo:1.0.0", 1, "nb-user", "succeeded")]
    assert rows[0][1] == rows[1][1] == docker_api.inspect_image("tiny-demo:1.0.0")["Id"]
    assert [ref for ref, _ in digests] == [f"{registry_addr}/demo/tiny-demo:1.0.0"] * 2
    assert digests[0][1] == digests[1][1] and digests[0][1].startswith("sha256:")


@pytest.mark.parametrize("path", [NOTEBOOK, DEPS_NOTEBOOK, HUB_NOTEBOOK, BUILDS_NOTEBOOK], ids=lambda p: p.stem)
def test_notebook_is_stored_clean(path: Path) -> None:
    """The committed demo notebooks carry no outputs (the test runs make them)."""
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in nb.cells if c.cell_type == "code")
    assert nb.metadata["kernelspec"]["name"] == "python3"
