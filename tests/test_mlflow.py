"""MLflow through real parts: a real `mlflow server` on 127.0.0.1 (tests/mlflow_support.py),
filled through its REST API as MLflow users fill it; the import as a job run by the Jupyter
server's worker, inline by the CLI and a kernel; the run a release came from over REST, in
the CLI, the magic and the widget."""
from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from IPython.core.interactiveshell import InteractiveShell
from magic_support import magic_fails
from mlflow_support import MlflowServer
from rest_support import ok, wait_job
from store_support import assert_secret_nowhere

from jupyter_mlops.config import Settings
from jupyter_mlops.errors import InvalidInput, NotFound, Unavailable
from jupyter_mlops.jobs.follow import follow
from jupyter_mlops.services import Services
from jupyter_mlops.store import engine as store_engine
from lab_support import free_port


@pytest.fixture
def jp_server_config(jp_server_config: dict[str, Any], mlflow_server: MlflowServer) -> dict[str, Any]:
    return {**jp_server_config, "MLOpsApp": {**jp_server_config["MLOpsApp"], "mlflow_tracking_uri": mlflow_server.url}}


def unique(prefix: str) -> str:
    """A name no other test on the shared tracking server uses."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def sentiment(mlflow: MlflowServer) -> dict[str, Any]:
    """A registered model as a team keeps it: a name with a space, tags, two versions from
    two runs (v1 archived, v2 in production), alias champion -> v2."""
    name = unique("Sentiment Classifier")
    runs = [mlflow.run("train-a", {"accuracy": 0.91, "loss": 0.24}, {"lr": "3e-4", "epochs": "3"}),
            mlflow.run("train-b", {"accuracy": 0.94, "loss": 0.17}, {"lr": "1e-4", "epochs": "5"})]
    mlflow.model(name, description="classifies reviews", tags={"team": "nlp", "task": "sentiment"})
    versions = [mlflow.version(name, runs[0], description="first cut"), mlflow.version(name, runs[1])]
    mlflow.stage(name, versions[0], "Archived")
    mlflow.stage(name, versions[1], "Production")
    mlflow.alias(name, "champion", versions[1])
    return {"name": name, "local": name.replace(" ", "-"), "runs": runs, "versions": versions}


async def test_import_is_audited_idempotent_and_follows_changes(api: Any, mlflow_server: MlflowServer,
                                                                jp_root_dir: Path) -> None:
    s = sentiment(mlflow_server)
    plain = unique("plain")
    mlflow_server.model(plain)
    mlflow_server.version(plain, None)

    code, job = await api("POST", "mlflow/imports", {"names": [s["name"], plain]})
    assert code == 201 and job["kind"] == "mlflow.import" and job["params"]["tracking_uri"] == mlflow_server.url
    assert "secret_file" in job["params"]  # the URL and credentials travel in a one-shot file
    done = await wait_job(api, job["id"])
    assert done["state"] == "succeeded", done
    result = done["result"]
    assert {k: result[k] for k in ("models", "created", "updated", "unchanged", "releases_created", "aliases_set")} \
        == {"models": 2, "created": 2, "updated": 0, "unchanged": 0, "releases_created": 3, "aliases_set": 1}
    assert result["failed"] == [] and result["skipped"] == []

    model = await ok(api, "GET", f"models/{s['local']}")
    assert model["storage_path"] == f"models:/{s['name']}" and model["description"] == "classifies reviews"
    assert model["tags"] == ["task=sentiment", "team=nlp"]
    assert model["metadata"]["mlflow"]["name"] == s["name"]
    releases = {r["version"]: r for r in (await ok(api, "GET", "releases", model=s["local"]))["items"]}
    assert {v: (r["status"], r["mlflow_run"], r["release_notes"]) for v, r in releases.items()} == {
        "1": ("deprecated", f"runs:/{s['runs'][0]}", "first cut"), "2": ("released", f"runs:/{s['runs'][1]}", None)}
    assert releases["1"]["metadata"]["mlflow"]["source"] == f"runs:/{s['runs'][0]}/model"
    assert model["aliases"] == {"champion": releases["2"]["id"]}
    audit = (await ok(api, "GET", "audit", model=s["local"]))["items"]
    assert {e["action"] for e in audit} == {"import"} and len(audit) == 4  # model, 2 releases, alias

    # Again, nothing changed there: nothing changes here, nothing is recorded.
    done = await wait_job(api, (await ok(api, "POST", "mlflow/imports", {"names": [s["name"], plain]}))["id"])
    assert (done["result"]["unchanged"], done["result"]["releases_created"], done["result"]["aliases_set"]) == (2, 0, 0)
    assert len((await ok(api, "GET", "audit", model=s["local"]))["items"]) == 4

    # Changes there come here: a new version, the alias moved, the description edited.
    v3 = mlflow_server.version(s["name"], s["runs"][1], description="retrained")
    mlflow_server.alias(s["name"], "champion", v3)
    mlflow_server.call("PATCH", "registered-models/update", {"name": s["name"], "description": "v3 is better"})
    done = await wait_job(api, (await ok(api, "POST", "mlflow/imports", {"names": [s["name"]]}))["id"])
    assert (done["result"]["updated"], done["result"]["releases_created"], done["result"]["aliases_set"]) == (1, 1, 1)
    model = await ok(api, "GET", f"models/{s['local']}")
    new = (await ok(api, "GET", "releases", model=s["local"], version=v3))["items"][0]
    assert model["description"] == "v3 is better" and model["aliases"] == {"champion": new["id"]}
    assert new["status"] == "candidate"

    # The run a release came from, fetched from the tracking server.
    run = await ok(api, "GET", f"releases/{releases['2']['id']}/run")
    assert (run["run_id"], run["run_name"], run["status"]) == (s["runs"][1], "train-b", "FINISHED")
    assert run["metrics"] == {"accuracy": 0.94, "loss": 0.17} and run["params"] == {"lr": "1e-4", "epochs": "5"}
    assert run["url"] == f"{mlflow_server.url}/#/experiments/0/runs/{s['runs'][1]}"
    plain_release = (await ok(api, "GET", "releases", model=plain))["items"][0]
    code, answer = await api("GET", f"releases/{plain_release['id']}/run")
    assert code == 404 and "records no MLflow run" in answer["message"]


async def test_a_model_made_here_is_never_overwritten(api: Any, mlflow_server: MlflowServer) -> None:
    name = unique("taken")
    mlflow_server.model(name, description="from mlflow")
    await ok(api, "POST", "models", {"name": name, "storage_path": "/data/mine", "description": "mine"})
    done = await wait_job(api, (await ok(api, "POST", "mlflow/imports", {"names": [name]}))["id"])
    assert done["state"] == "succeeded"
    assert done["result"]["failed"] == [
        {"name": name, "error": f"name: a model named {name!r} exists here and was not imported from mlflow; "
                               "rename one of them"}]
    model = await ok(api, "GET", f"models/{name}")
    assert (model["description"], model["storage_path"]) == ("mine", "/data/mine")
    code, answer = await api("POST", "mlflow/imports", {"names": [name, 7]})
    assert code == 400 and answer["field"] == "names[1]"
    missing = unique("not-there")
    code, answer = await api("POST", "mlflow/imports", {"names": [missing, name]})
    done = await wait_job(api, answer["id"])
    assert done["state"] == "succeeded" and [f["name"] for f in done["result"]["failed"]] == [missing, name]
    assert done["result"]["failed"][0]["error"].startswith("MLflow: ")  # MLflow's own words


async def test_a_release_records_its_run(api: Any, mlflow_server: MlflowServer) -> None:
    run_id = mlflow_server.run("manual", {"f1": 0.8}, {"seed": "7"})
    await ok(api, "POST", "models", {"name": "hand-made", "storage_path": "/data/h"})
    made = await ok(api, "POST", "releases", {"model": "hand-made", "version": "1.0", "mlflow_run": run_id})
    assert made["mlflow_run"] == f"runs:/{run_id}"
    changed = await ok(api, "PATCH", f"releases/{made['id']}", {"mlflow_run": f"runs:/{run_id}/model"})
    assert changed["mlflow_run"] == f"runs:/{run_id}"  # the run, not the artifact path
    assert (await ok(api, "GET", f"releases/{made['id']}/run"))["metrics"] == {"f1": 0.8}
    for bad in ("runs:/../x", "runs:/", "a b", "x" * 301):
        code, answer = await api("PATCH", f"releases/{made['id']}", {"mlflow_run": bad})
        assert code == 400 and answer["field"] == "mlflow_run", (bad, answer)
    await ok(api, "PATCH", f"releases/{made['id']}", {"mlflow_run": "0" * 32})  # a run MLflow does not have
    code, answer = await api("GET", f"releases/{made['id']}/run")
    assert code == 404 and answer["message"].startswith("MLflow: "), answer


def test_the_service_says_what_is_wrong(workspace: Path, monkeypatch: pytest.MonkeyPatch,
                                        mlflow_server: MlflowServer) -> None:
    services = Services(Settings.of(workspace))
    try:
        with pytest.raises(InvalidInput, match="mlflow_tracking_uri: no MLflow tracking server is configured"):
            services.tracking.start_import({}, "ada")
        assert services.jobs.list()["items"] == []
        release = services.registry.create_release(
            {"model": services.registry.create_model({"name": "m", "storage_path": "/m"}, "ada")["name"],
             "version": "1", "mlflow_run": "abc123"}, "ada")
        with pytest.raises(InvalidInput, match="mlflow_tracking_uri"):
            services.tracking.release_run(release["id"])
    finally:
        services.store.dispose()
        store_engine._stores.pop(services.store.url, None)
    with pytest.raises(InvalidInput, match="mlflow_tracking_uri: must be the http:// or https:// URL"):
        Settings.of(workspace, mlflow_tracking_uri="sqlite:///mlruns.db")
    closed = Services(Settings.of(workspace, mlflow_tracking_uri=f"http://127.0.0.1:{free_port()}"))
    try:
        with pytest.raises(Unavailable, match="is unreachable"):
            closed.tracking.release_run(release["id"])
        with pytest.raises(NotFound, match="release 99 does not exist"):
            closed.tracking.release_run(99)
    finally:
        closed.store.dispose()
        store_engine._stores.pop(closed.store.url, None)


def test_credentials_reach_the_job_and_nothing_keeps_them(workspace: Path, monkeypatch: pytest.MonkeyPatch,
                                                          mlflow_server: MlflowServer) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", "tok-e2b9c1d0")
    password_url = mlflow_server.url.replace("http://", "http://ada:pw-5f1e8a@")
    services = Services(Settings.of(workspace, mlflow_tracking_uri=password_url))
    name = unique("secretive")
    mlflow_server.model(name)
    try:
        job = services.tracking.start_import({"names": [name]}, "ada")
        assert job["params"]["tracking_uri"] == mlflow_server.url.replace("http://", "http://ada:***@")
        secret_file = Path(job["params"]["secret_file"])
        assert oct(secret_file.stat().st_mode & 0o777) == "0o600"
        done = follow(services.jobs, job["id"], scratch=services.workspace.state_dir).require_success("import")
        assert done["result"]["created"] == 1 and not secret_file.exists()
    finally:
        services.store.dispose()
        store_engine._stores.pop(services.store.url, None)
    assert_secret_nowhere(workspace, "tok-e2b9c1d0")
    assert_secret_nowhere(workspace, "pw-5f1e8a")


def test_cli_magic_and_widget(workspace: Path, tmp_path: Path, mlflow_server: MlflowServer,
                              monkeypatch: pytest.MonkeyPatch) -> None:
    s = sentiment(mlflow_server)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER_MLOPS_", "MLFLOW_"))}
    env.update(JUPYTER_MLOPS_WORKSPACE=str(workspace), MLFLOW_TRACKING_URI=mlflow_server.url, JUPYTERHUB_USER="cli")

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "jupyter_mlops.cli", *args], env=env, cwd=tmp_path,
                              capture_output=True, text=True, timeout=300)

    imported = cli("mlflow", "import", s["name"])
    assert imported.returncode == 0, imported.stderr
    assert f"imported from MLflow at {mlflow_server.url}" in imported.stdout and "run inline" in imported.stdout
    assert "releases_created  2" in imported.stdout
    with sqlite3.connect(workspace / ".mlops" / "mlops.db") as conn:
        release_id = conn.execute("select r.id from releases r join models m on m.id = r.model_id "
                                  "where m.name = ? and r.version = '2'", (s["local"],)).fetchone()[0]
        assert conn.execute("select distinct actor, action from audit_events").fetchall() == [("cli", "import")]
    shown = cli("mlflow", "run", str(release_id))
    assert shown.returncode == 0, shown.stderr
    assert "metric accuracy  0.94" in shown.stdout and "param lr         1e-4" in shown.stdout
    assert json.loads(cli("mlflow", "run", str(release_id), "--json").stdout)["run_id"] == s["runs"][1]

    monkeypatch.setenv("JUPYTER_MLOPS_WORKSPACE", str(workspace))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server.url)
    from jupyter_mlops import services as services_mod

    services_mod._cache.clear()
    shell = InteractiveShell.instance()
    shell.extension_manager.loaded.discard("jupyter_mlops")
    shell.run_line_magic("load_ext", "jupyter_mlops")
    run = shell.run_line_magic("mlops", f"mlflow run {release_id}")
    assert run["metrics"]["accuracy"] == 0.94 and "metric loss" in run.html()
    assert magic_fails(shell, "mlflow run 999") == "release 999 does not exist"

    from jupyter_mlops.widgets import RegistryPanel

    panel = RegistryPanel(services_mod.services_for())
    panel.models.value = s["local"]
    panel.release.value = release_id
    assert f"MLflow run: runs:/{s['runs'][1]}" in panel.release_detail.value
    panel.run_button.click()
    assert panel.error.value == "" and "metric accuracy" in panel.release_detail.value
    assert "open in MLflow" in panel.release_detail.value
    for svc in services_mod._cache.values():
        svc.store.dispose()
        store_engine._stores.pop(svc.store.url, None)
    services_mod._cache.clear()
