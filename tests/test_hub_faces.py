"""The model hub's faces through real parts: REST on a real Jupyter server whose worker
runs the download jobs in subprocesses, `jupyter mlops download|hub ...` as subprocesses,
`%mlops download` in an IPython shell, and DownloadPanel clicks. Every download is the
real huggingface_hub client against FakeHub (tests/hub_server.py) on 127.0.0.1."""
from __future__ import annotations

import asyncio
import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hub_server import FakeHub, payload
from rest_support import wait_job, walk
from magic_support import magic_fails
from store_support import assert_secret_nowhere

from jupyter_mlops import services as services_mod
from jupyter_mlops.services import Services
from jupyter_mlops.store import engine as store_engine

MB = 1 << 20
TOKEN = "hf_faceTOKENsecret0123456789"
FILES = {"config.json": b'{"model_type": "tiny"}', "model-q4.gguf": payload("q4", 2 * MB),
         "model-q8.gguf": payload("q8", MB), "sub/tokenizer.json": b'{"v": 1}'}
BIG = {"config.json": b"{}", "big.gguf": payload("big", 6 * MB)}


@pytest.fixture(autouse=True)
def _isolate_hf(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """huggingface_hub (here, in the server's job subprocesses, in CLI subprocesses) sees
    none of the machine's login, cache or telemetry; and nothing leaves 127.0.0.1."""
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    monkeypatch.setenv("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_ENDPOINT", "HF_HUB_CACHE", "HF_HUB_OFFLINE",
                 "JUPYTER_MLOPS_DB_URL", "JUPYTER_MLOPS_MODELS_DIR"):
        monkeypatch.delenv(name, raising=False)
    real_connect = socket.socket.connect

    def loopback_only(self: socket.socket, address: Any) -> Any:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            assert address[0] in ("127.0.0.1", "::1", "localhost"), f"network access to {address}"
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", loopback_only)
    yield


@pytest.fixture
def jp_server_config(jp_server_config: dict[str, Any], hub: FakeHub) -> dict[str, Any]:
    """The server's hub endpoint is FakeHub; no disk margin (the test disk may be small)."""
    return {**jp_server_config, "MLOpsApp": {**jp_server_config["MLOpsApp"], "hf_endpoint": hub.url,
                                             "download_disk_margin": 0}}


def snapshot(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table but the workers' heartbeats."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {t: sorted(conn.execute(f'SELECT * FROM "{t}"').fetchall(), key=repr)
                for t in tables if t != "workers"}




async def download(api: Any, body: dict[str, Any]) -> dict[str, Any]:
    code, job = await api("POST", "hub/downloads", body)
    assert code == 201, job
    done = await wait_job(api, job["id"], timeout=60)
    assert done["state"] == "succeeded", done
    return done


# -- REST ---------------------------------------------------------------------------------
@pytest.mark.timeout(120)
async def test_rest_download_runs_in_the_server_worker(api: Any, hub: FakeHub, jp_root_dir: Path,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    sha = hub.add_repo("org/tiny", FILES)
    hub.throttle = 4 * MB  # slow enough to watch progress move
    code, job = await api("POST", "hub/downloads", {"repo_id": "org/tiny", "allow_patterns": ["*.json", "*q4*"],
                                                     "token": TOKEN})
    assert code == 201 and job["state"] == "queued" and job["kind"] == "hub.download", job
    code, twin = await api("POST", "hub/downloads", {"repo_id": "org/tiny"})
    assert code == 200 and twin["deduplicated"] is True and twin["id"] == job["id"], twin
    seen_partial = False
    while True:
        code, now = await api("GET", f"jobs/{job['id']}")
        p = now["progress"]
        if now["state"] == "running" and p["total"] and 0 < p["done"] < p["total"]:
            seen_partial = True
        if now["state"] not in ("queued", "running"):
            break
        await asyncio.sleep(0.05)
    assert now["state"] == "succeeded", now
    assert seen_partial, "progress never showed a partial transfer"
    assert now["result"]["commit"] == sha and sorted(now["result"]["files"]) == [
        "config.json", "model-q4.gguf", "sub/tokenizer.json"]
    assert now["progress"]["unit"] == "B" and now["progress"]["done"] == now["progress"]["total"]
    # the token went to the Hub, and nowhere else
    assert any(h.get("Authorization") == f"Bearer {TOKEN}" for _m, _p, h in hub.requests)
    code, page = await api("GET", "hub/downloads", active="false")
    assert code == 200 and [j["id"] for j in page["items"]] == [job["id"]]
    code, log = await api("GET", f"jobs/{job['id']}/log")
    for text in (json.dumps(job), json.dumps(twin), json.dumps(now), json.dumps(page), json.dumps(log),
                 caplog.text):
        assert TOKEN not in text
    assert_secret_nowhere(jp_root_dir / ".mlops", TOKEN)
    code, active = await api("GET", "hub/downloads", active="true")
    assert active["items"] == []


@pytest.mark.timeout(120)
async def test_rest_cancel_a_throttled_download(api: Any, hub: FakeHub, jp_root_dir: Path) -> None:
    hub.add_repo("org/slow", BIG)
    hub.throttle = 256 * 1024
    code, job = await api("POST", "hub/downloads", {"repo_id": "org/slow"})
    assert code == 201, job
    for _ in range(400):
        code, now = await api("GET", f"jobs/{job['id']}")
        if now["state"] == "running" and now["progress"]["done"] > 0:
            break
        await asyncio.sleep(0.05)
    assert now["state"] == "running", now
    code, listed = await api("GET", "hub/models")
    assert [r["repo_id"] for r in listed["items"] if r["downloading"]] in ([], ["org/slow"])
    code, refused = await api("DELETE", "hub/models/org/slow")
    assert code in (404, 409), refused  # not cached yet, or refused while downloading
    if code == 409:
        assert "being downloaded" in refused["message"]
    code, cancelled = await api("POST", f"hub/downloads/{job['id']}/cancel")
    assert code == 200 and cancelled["cancel_requested"], cancelled
    final = await wait_job(api, job["id"], timeout=30)
    assert final["state"] == "cancelled", final
    assert not list((jp_root_dir / "models").glob("models--org--slow/blobs/*.incomplete"))
    code, missing = await api("POST", "hub/downloads/999999/cancel")
    assert code == 404, missing


@pytest.mark.timeout(120)
async def test_rest_list_show_register_default_and_delete(api: Any, hub: FakeHub, jp_root_dir: Path) -> None:
    sha = hub.add_repo("org/tiny", FILES)
    done = await download(api, {"repo_id": "org/tiny"})
    code, listed = await api("GET", "hub/models", q="tiny")
    assert code == 200 and [r["repo_id"] for r in listed["items"]] == ["org/tiny"], listed
    repo = listed["items"][0]
    assert repo["size_on_disk"] >= sum(len(v) for v in FILES.values()) and repo["file_count"] == 4
    assert repo["revisions"][0]["commit"] == sha and repo["revisions"][0]["refs"] == ["main"]
    assert repo["last_accessed"] and repo["last_modified"]
    code, one = await api("GET", "hub/models/org/tiny")
    assert code == 200 and one["repo_id"] == "org/tiny"
    code, nothing = await api("GET", "hub/models/org/none")
    assert code == 404, nothing

    code, model = await api("POST", "hub/models/org/tiny/register", {"name": "tiny-llm"})
    assert code == 201 and model["storage_path"] == f"hf://org/tiny@{sha}", model
    assert model["storage_path"] == done["result"]["storage_path"]
    code, again = await api("POST", "hub/models/org/tiny/register", {"name": "tiny-llm"})
    assert code == 409 and again["field"] == "name", again
    code, unknown = await api("POST", "hub/models/org/none/register", {})
    assert code == 404 and "download it first" in unknown["message"], unknown

    code, empty = await api("GET", "hub/default-model")
    assert code == 200 and empty["name"] is None
    code, default = await api("PUT", "hub/default-model", {"name": "tiny-llm"})
    assert code == 200 and default["name"] == "tiny-llm" and default["model"]["name"] == "tiny-llm", default
    code, missing = await api("PUT", "hub/default-model", {"name": "nope"})
    assert code == 404, missing

    # in use: refused with the reason, nothing deleted
    code, refused = await api("DELETE", "hub/models/org/tiny")
    assert code == 409 and "default model (tiny-llm)" in refused["message"], refused
    assert (jp_root_dir / "models" / "models--org--tiny").is_dir()
    # files of the revision: the default model's commit, still refused; forced it goes
    code, refused = await api("DELETE", "hub/models/org/tiny", files="model-q8.gguf")
    assert code == 409, refused
    code, freed = await api("DELETE", "hub/models/org/tiny", files="model-q8.gguf", force="true")
    assert code == 200 and freed["scope"] == "files" and freed["files"] == ["model-q8.gguf"], freed
    assert freed["freed_bytes"] >= MB and freed["forced"] is True
    code, cleared = await api("DELETE", "hub/default-model")
    assert code == 200 and cleared["name"] is None
    code, gone = await api("DELETE", "hub/models/org/tiny", revision="main")
    assert code == 200 and gone["scope"] == "revision" and gone["freed_bytes"] > 2 * MB, gone
    assert not (jp_root_dir / "models" / "models--org--tiny" / "snapshots" / sha).exists()
    code, audit = await api("GET", "audit", action="delete_local")
    assert code == 200 and len(audit["items"]) == 2


@pytest.mark.timeout(120)
async def test_rest_delete_refuses_on_permissions_naming_the_path(api: Any, hub: FakeHub, jp_root_dir: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root ignores file permissions")
    hub.add_repo("org/tiny", {"config.json": b"{}"})
    await download(api, {"repo_id": "org/tiny"})
    snapshots = jp_root_dir / "models" / "models--org--tiny" / "snapshots"
    os.chmod(snapshots, 0o500)
    try:
        code, refused = await api("DELETE", "hub/models/org/tiny")
    finally:
        os.chmod(snapshots, 0o700)
    assert code == 403 and str(snapshots) in refused["message"], refused


@pytest.mark.timeout(120)
async def test_rest_lists_page(api: Any, hub: FakeHub) -> None:
    for i in range(4):
        hub.add_repo(f"org/m{i}", {"config.json": b"{}"})
        await download(api, {"repo_id": f"org/m{i}"})
    for path, key in (("hub/models", "repo_id"), ("hub/downloads", "id")):
        code, everything = await api("GET", path, limit="500")
        assert code == 200 and everything["next_cursor"] is None and len(everything["items"]) == 4
        walked = [i[key] for page in await walk(api, path, 3) for i in page]
        assert walked == [i[key] for i in everything["items"]]


BAD = [
    ("POST", "hub/downloads", {"repo_id": "../../etc/passwd"}, {}, "repo_id"),
    ("POST", "hub/downloads", {"repo_id": "org/..", "revision": "main"}, {}, "repo_id"),
    ("POST", "hub/downloads", {"repo_id": "org/x/y"}, {}, "repo_id"),
    ("POST", "hub/downloads", {}, {}, "repo_id"),
    ("POST", "hub/downloads", {"repo_id": "org/tiny", "revision": "../main"}, {}, "revision"),
    ("POST", "hub/downloads", {"repo_id": "org/tiny", "revision": "a..b"}, {}, "revision"),
    ("POST", "hub/downloads", {"repo_id": "org/tiny", "allow_patterns": ["../*"]}, {}, "allow_patterns[0]"),
    ("POST", "hub/downloads", {"repo_id": "org/tiny", "ignore_patterns": "*.bin"}, {}, "ignore_patterns"),
    ("POST", "hub/downloads", {"repo_id": "org/tiny", "colour": "red"}, {}, "colour"),
    ("POST", "hub/downloads", {"repo_id": "org/tiny", "token": "hf_has space" + TOKEN}, {}, "token"),
    ("GET", "hub/models/%2E%2E/etc", None, {}, "repo_id"),
    ("GET", "hub/downloads", None, {"active": "perhaps"}, "active"),
    ("GET", "hub/models", None, {"limit": "0"}, "limit"),
    ("DELETE", "hub/models/org/tiny", None, {"files": "../../x"}, "files[0]"),
    ("DELETE", "hub/models/org/tiny", None, {"revision": "/etc"}, "revision"),
    ("DELETE", "hub/models/org/tiny", None, {"force": "maybe"}, "force"),
    ("DELETE", "hub/models/%2E%2E/tiny", None, {}, "repo_id"),
    ("POST", "hub/models/org/tiny/register", {"name": "../x"}, {}, "name"),
    ("POST", "hub/models/org/tiny/register", {"repo_id": "other/x"}, {}, "repo_id"),
    ("POST", "hub/models/org/tiny/register", {"revision": "a b"}, {}, "revision"),
    ("PUT", "hub/default-model", {}, {}, "name"),
    ("PUT", "hub/default-model", {"name": "a/b"}, {}, "name"),
    ("PUT", "hub/default-model", {"name": "m", "x": 1}, {}, "x"),
]


@pytest.mark.timeout(120)
async def test_rest_bad_input_names_the_field_and_changes_nothing(api: Any, hub: FakeHub, jp_root_dir: Path) -> None:
    hub.add_repo("org/tiny", FILES)
    await download(api, {"repo_id": "org/tiny"})
    db = jp_root_dir / ".mlops" / "mlops.db"
    cache = sorted(str(p) for p in (jp_root_dir / "models").rglob("*"))
    before = snapshot(db)
    for method, path, body, params, field in BAD:
        code, answer = await api(method, path, body, **params)
        assert code == 400 and answer.get("field") == field, (method, path, body, params, answer)
        assert answer["message"].startswith(f"{field}: "), answer
        assert TOKEN not in json.dumps(answer)
    assert snapshot(db) == before
    assert sorted(str(p) for p in (jp_root_dir / "models").rglob("*")) == cache


# -- CLI ------------------------------------------------------------------------------------
def _cli_env(workspace: Path, hub: FakeHub) -> dict[str, str]:
    return {**os.environ, "JUPYTER_MLOPS_WORKSPACE": str(workspace), "HF_ENDPOINT": hub.url,
            "JUPYTERHUB_USER": "cli-user"}


@pytest.mark.timeout(180)
def test_cli_download_list_register_delete(workspace: Path, hub: FakeHub, tmp_path: Path) -> None:
    sha = hub.add_repo("org/tiny", FILES)
    env = _cli_env(workspace, hub)

    def cli(*args: str, expect: int = 0) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run([sys.executable, "-m", "jupyter_mlops.cli", *args], env=env, cwd=tmp_path,
                              capture_output=True, text=True, timeout=120, check=False)
        assert proc.returncode == expect, (args, proc.returncode, proc.stdout, proc.stderr)
        return proc

    got = cli("download", "org/tiny", "--include", "*.json", "--include", "*q4*", "--exclude", "sub/*",
              "--token", TOKEN)
    assert "downloaded org/tiny@main" in got.stdout and "run inline" in got.stdout
    assert f"hf://org/tiny@{sha}" in got.stdout
    assert "succeeded: 2.0 MiB / 2.0 MiB (100%)" in got.stderr, got.stderr  # the progress line
    assert TOKEN not in got.stdout + got.stderr
    listed = cli("models", "--local")
    assert "org/tiny" in listed.stdout and "main " + sha[:8] in listed.stdout and "MiB" in listed.stdout
    assert json.loads(cli("hub", "list", "--json").stdout)["items"][0]["file_count"] == 2
    assert "models (0)" in cli("models", "list").stdout  # the registry list still works
    made = cli("hub", "register", "org/tiny", "--name", "tiny-llm")
    assert f"hf://org/tiny@{sha}" in made.stdout
    cli("hub", "default", "tiny-llm")
    refused = cli("delete", "org/tiny", expect=1)
    assert "default model (tiny-llm)" in refused.stderr
    bad = cli("hub", "download", "../etc", expect=1)
    assert bad.stderr.startswith("error: repo_id:")
    bad = cli("download", "org/tiny", "--token", "has space" + TOKEN, expect=1)
    assert "token:" in bad.stderr and TOKEN not in bad.stderr
    usage = cli("models", "--local", "list", expect=2)
    assert "--local" in usage.stderr
    gone = cli("hub", "delete", "org/tiny", "--force")
    assert "deleted org/tiny: freed" in gone.stdout and "forced past" in gone.stdout
    assert "(0)" in cli("hub", "list").stdout


# -- magic -------------------------------------------------------------------------------
def _forget_services() -> None:
    for hub_services in services_mod._cache.values():
        hub_services.store.dispose()
        store_engine._stores.pop(hub_services.store.url, None)
    services_mod._cache.clear()


@pytest.mark.timeout(180)
def test_magic_download_list_delete(workspace: Path, hub: FakeHub, monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    from IPython.core.interactiveshell import InteractiveShell

    sha = hub.add_repo("org/tiny", FILES)
    monkeypatch.setenv("JUPYTER_MLOPS_WORKSPACE", str(workspace))
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    monkeypatch.setenv("JUPYTERHUB_USER", "alice")
    _forget_services()
    try:
        sh = InteractiveShell.instance()
        sh.extension_manager.loaded.discard("jupyter_mlops")  # afresh, as in a new kernel
        sh.run_line_magic("load_ext", "jupyter_mlops")
        got = sh.run_line_magic("mlops", "download org/tiny --include *.json --include *q8*")
        out = capsys.readouterr()
        assert got is not None, out.err
        assert got["state"] == "succeeded" and got["result"]["commit"] == sha
        assert sorted(got["result"]["files"]) == ["config.json", "model-q8.gguf", "sub/tokenizer.json"]
        assert "download 1 org/tiny succeeded: 1.0 MiB / 1.0 MiB (100%)" in out.out  # the text progress bar
        listed = sh.run_line_magic("mlops", "models --local")
        assert [r["repo_id"] for r in listed.data["items"]] == ["org/tiny"] and "org/tiny" in listed.html()
        assert "not in the model cache" in magic_fails(sh, "delete org/none")
        gone = sh.run_line_magic("mlops", "delete org/tiny --file model-q8.gguf")
        assert gone["scope"] == "files" and gone["freed_bytes"] >= MB
        gone = sh.run_line_magic("mlops", "hub delete org/tiny")
        assert gone["scope"] == "repo"
        assert sh.run_line_magic("mlops", "models --local").data["items"] == []
    finally:
        _forget_services()


# -- widget ------------------------------------------------------------------------------


def _wait(pred: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.mark.timeout(180)
def test_panel_download_cancel_and_delete(hub_services: Services, hub: FakeHub) -> None:
    from jupyter_mlops.widgets import DownloadPanel

    sha = hub.add_repo("org/tiny", FILES)
    hub.add_repo("org/slow", BIG)
    panel = DownloadPanel(hub_services, actor="panel-user")
    children = panel.children
    assert "no models" in panel.local_box.children[0].value

    panel.repo.value = "../etc"
    panel.download_button.click()
    assert "repo_id:" in panel.error.value and not panel.rows and not panel.busy

    panel.repo.value = "org/tiny"
    panel.include.value = "*.json, *q4*"
    panel.download_button.click()
    assert panel.error.value == "", panel.error.value
    panel.wait(60)
    (row,) = panel.rows.values()
    assert row.bar.bar_style == "success" and row.bar.value == row.bar.max and row.cancel_button.disabled
    assert "succeeded" in row.text.value and "MiB" in row.text.value
    assert list(panel.local) == ["org/tiny"] and panel.local["org/tiny"]["revisions"][0]["commit"] == sha

    # cancel a throttled download from its row
    hub.throttle = 256 * 1024
    panel.repo.value, panel.include.value = "org/slow", ""
    panel.download_button.click()
    slow = max(panel.rows)
    _wait(lambda: hub_services.jobs.get(slow)["progress"]["done"] > 0)
    _wait(lambda: not panel.rows[slow].cancel_button.disabled)
    panel.rows[slow].cancel_button.click()
    panel.wait(30)
    assert hub_services.jobs.get(slow)["state"] == "cancelled"
    assert panel.rows[slow].bar.bar_style == "danger"
    hub.throttle = None
    panel.error.value = ""

    # delete: a confirmation step; the service's refusal is shown; force goes through
    hub_services.hub.create_model("org/tiny", "main", "tiny", "panel-user")
    hub_services.hub.set_default_model("tiny", "panel-user")
    panel.refresh_button.click()
    panel.delete_buttons["org/tiny"].click()
    assert panel.pending_delete == "org/tiny" and panel.confirm_box.layout.display is None
    assert "org/tiny" in panel.confirm_text.value and (hub_services.workspace.models_dir / "models--org--tiny").exists()
    panel.confirm_button.click()
    assert "default model (tiny)" in panel.error.value and panel.last_delete is None
    assert panel.pending_delete == "org/tiny"
    panel.force.value = True
    panel.confirm_button.click()
    assert panel.error.value == "" and panel.last_delete["freed_bytes"] > 2 * MB
    assert "freed" in panel.status.value and panel.confirm_box.layout.display == "none"
    assert "org/tiny" not in panel.local and not panel.busy
    assert all(not b.disabled for b in panel._buttons())
    assert panel.children == children  # the VBox assigned its children once


@pytest.mark.timeout(120)
async def test_rest_single_segment_repo_id(api: Any, hub: FakeHub, monkeypatch: pytest.MonkeyPatch,
                                           tmp_path: Path) -> None:
    """A single-part repo id (the Hub's legacy canonical models, as gpt2), Xet-backed: download,
    show, register (hf://gpt2@sha) and delete, over REST."""
    monkeypatch.setenv("HF_XET_CACHE", str(tmp_path / "xet"))
    sha = hub.add_repo("gpt2", {"config.json": b"{}", "model.safetensors": payload("gpt2", MB)},
                       xet={"model.safetensors"})
    await download(api, {"repo_id": "gpt2"})
    code, one = await api("GET", "hub/models/gpt2")
    assert code == 200 and one["repo_id"] == "gpt2", one
    code, model = await api("POST", "hub/models/gpt2", {"name": "gpt2-small"})
    assert code == 201 and model["storage_path"] == f"hf://gpt2@{sha}", model
    code, bad = await api("POST", "hub/models/gpt2/register", {})
    assert code == 405, bad  # that path is a two-part id's
    code, default = await api("PUT", "hub/default-model", {"name": "gpt2-small"})
    assert code == 200, default
    code, refused = await api("DELETE", "hub/models/gpt2")
    assert code == 409 and "default model (gpt2-small)" in refused["message"], refused
    code, gone = await api("DELETE", "hub/models/gpt2", force="true")
    assert code == 200 and gone["scope"] == "repo", gone
    code, listed = await api("GET", "hub/models")
    assert listed["items"] == []
