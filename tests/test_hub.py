"""Model hub: the real huggingface_hub client against a Hub-compatible server on
127.0.0.1 (tests/hub_server.py), jobs run by the real worker in real subprocesses."""
from __future__ import annotations

import os
import signal
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from hub_server import FakeHub, payload
from store_support import assert_secret_nowhere

from jupyter_mlops.errors import Conflict, InvalidInput, NotFound
from jupyter_mlops.jobs.worker import Worker
from jupyter_mlops.services import Services
from jupyter_mlops.store import engine as store_engine
from jupyter_mlops.store.schema import Job
from jupyter_mlops.config import Settings

if "hub" not in globals():  # until conftest registers the plugin
    from hub_server import hub  # noqa: F401

MB = 1 << 20
TOKEN = "hf_secretTOKEN1234567890abcdef"


@pytest.fixture(autouse=True)
def _isolate_hf(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep huggingface_hub away from the machine's login, cache and telemetry."""
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    monkeypatch.setenv("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_ENDPOINT", "HF_HUB_CACHE", "HF_HUB_OFFLINE"):
        monkeypatch.delenv(name, raising=False)




FILES = {"config.json": b'{"model_type": "tiny"}', "model-q4.gguf": payload("q4", 3 * MB),
         "model-q8.gguf": payload("q8", 2 * MB), "sub/tokenizer.json": b'{"v": 1}'}


def run(hub_services: Services, data: dict[str, Any]) -> dict[str, Any]:
    job = hub_services.hub.start_download(data, "tester")
    return Worker(hub_services.store, place=hub_services.jobs.place).run_job(job["id"])


def in_background(hub_services: Services, data: dict[str, Any]) -> tuple[dict[str, Any], threading.Thread, dict[str, Any]]:
    job = hub_services.hub.start_download(data, "tester")
    out: dict[str, Any] = {}
    t = threading.Thread(target=lambda: out.update(Worker(hub_services.store, place=hub_services.jobs.place).run_job(job["id"])), daemon=True)
    t.start()
    return job, t, out


def wait_for(pred: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def incomplete(hub_services: Services, repo: str) -> list[Path]:
    return list((hub_services.workspace.models_dir / ("models--" + repo.replace("/", "--")) / "blobs").glob("*.incomplete"))


# -- download -----------------------------------------------------------------------
def test_full_download(hub_services: Services, hub: FakeHub) -> None:
    sha = hub.add_repo("org/tiny", FILES)
    job = run(hub_services, {"repo_id": "org/tiny"})
    assert job["state"] == "succeeded", job["error"]
    r = job["result"]
    assert r["commit"] == sha and r["storage_path"] == f"hf://org/tiny@{sha}"
    assert sorted(r["files"]) == sorted(FILES)
    assert r["bytes_total"] == r["bytes_downloaded"] == sum(len(v) for v in FILES.values())
    assert r["bytes_cached"] == 0 and r["files_total"] == 4
    snap = Path(r["local_path"])
    for name, data in FILES.items():
        assert (snap / name).read_bytes() == data
    assert job["progress"]["done"] == job["progress"]["total"] == r["bytes_total"]
    assert job["progress"]["unit"] == "B" and "file 4 of 4" in job["message"]
    assert not incomplete(hub_services, "org/tiny")


def test_patterns_fetch_one_quantization(hub_services: Services, hub: FakeHub) -> None:
    hub.add_repo("org/tiny", FILES)
    job = run(hub_services, {"repo_id": "org/tiny", "allow_patterns": ["*q4*", "*.json"], "ignore_patterns": ["sub/*"]})
    assert job["state"] == "succeeded", job["error"]
    assert sorted(job["result"]["files"]) == ["config.json", "model-q4.gguf"]
    gets = hub.file_gets("org/tiny")
    assert not any("q8" in g or "tokenizer" in g for g in gets)
    assert not (Path(job["result"]["local_path"]) / "model-q8.gguf").exists()


def test_second_download_served_from_cache(hub_services: Services, hub: FakeHub) -> None:
    hub.add_repo("org/tiny", FILES)
    assert run(hub_services, {"repo_id": "org/tiny"})["state"] == "succeeded"
    gets = len(hub.file_gets())
    again = run(hub_services, {"repo_id": "org/tiny"})
    assert again["state"] == "succeeded", again["error"]
    assert len(hub.file_gets()) == gets  # no file body fetched again
    assert again["result"]["bytes_downloaded"] == 0
    assert again["result"]["bytes_cached"] == again["result"]["bytes_total"] > 0


def test_same_repo_revision_is_not_downloaded_twice_at_once(hub_services: Services, hub: FakeHub) -> None:
    hub.add_repo("org/tiny", FILES)
    a = hub_services.hub.start_download({"repo_id": "org/tiny"}, "a")
    b = hub_services.hub.start_download({"repo_id": "org/tiny", "revision": "main"}, "b")
    c = hub_services.hub.start_download({"repo_id": "org/tiny", "revision": "v1"}, "c")
    assert b["id"] == a["id"] and b["deduplicated"] and c["id"] != a["id"]


def test_cancel_mid_file_then_complete(hub_services: Services, hub: FakeHub) -> None:
    files = {"config.json": b"{}", "big.bin": payload("big", 6 * MB)}
    hub.add_repo("org/slow", files)
    hub.throttle = 1 * MB
    job, thread, out = in_background(hub_services, {"repo_id": "org/slow"})
    wait_for(lambda: hub_services.jobs.get(job["id"])["progress"]["done"] > 256 * 1024)
    asked = time.monotonic()
    hub_services.jobs.cancel(job["id"])
    thread.join(30)
    took = time.monotonic() - asked
    assert out["state"] == "cancelled"
    assert took < 4.0, f"cancel took {took:.1f}s"
    assert not incomplete(hub_services, "org/slow")  # no partial blob left behind
    hub.throttle = None
    again = run(hub_services, {"repo_id": "org/slow"})
    assert again["state"] == "succeeded", again["error"]
    assert (Path(again["result"]["local_path"]) / "big.bin").read_bytes() == files["big.bin"]


class _StartingThread:
    """A transfer thread seen while another thread is still starting it: join raises
    RuntimeError until it runs (`starts_after` tries, never when None)."""

    name = "ThreadPoolExecutor-0_0"

    def __init__(self, starts_after: int | None) -> None:
        self.starts_after = starts_after
        self.tries = 0
        self.joined = False

    def join(self, timeout: float | None = None) -> None:
        self.tries += 1
        if self.starts_after is None or self.tries <= self.starts_after:
            raise RuntimeError("cannot join thread before it is started")
        self.joined = True


def test_stopping_waits_for_a_transfer_thread_still_starting(monkeypatch: pytest.MonkeyPatch) -> None:
    """A cancel that lands while huggingface_hub starts a transfer thread waits for it
    instead of failing the job with "cannot join thread before it is started"."""
    from jupyter_mlops.hub import download

    starting, never = _StartingThread(starts_after=2), _StartingThread(starts_after=None)
    monkeypatch.setattr(download.threading, "enumerate", lambda: [starting])
    download._join_transfers(2.0)
    assert starting.joined and starting.tries == 3
    monkeypatch.setattr(download.threading, "enumerate", lambda: [never])
    began = time.monotonic()
    download._join_transfers(0.2)  # gives up at the deadline, raising nothing
    assert not never.joined and time.monotonic() - began < 1.0


def test_kill_9_then_rerun_completes(hub_services: Services, hub: FakeHub) -> None:
    files = {"big.bin": payload("big9", 6 * MB)}
    hub.add_repo("org/killed", files)
    hub.throttle = 1 * MB
    job, thread, out = in_background(hub_services, {"repo_id": "org/killed"})
    wait_for(lambda: hub_services.jobs.get(job["id"])["progress"]["done"] > 256 * 1024)
    with hub_services.store.read() as s:
        pid = s.get(Job, job["id"]).pid
    os.kill(pid, signal.SIGKILL)
    thread.join(30)
    assert out["state"] == "failed" and "signal 9" in out["error"]
    assert incomplete(hub_services, "org/killed"), "kill -9 leaves the partial blob"
    hub.throttle = None
    n = len(hub.requests)
    again = run(hub_services, {"repo_id": "org/killed"})
    assert again["state"] == "succeeded", again["error"]
    assert (Path(again["result"]["local_path"]) / "big.bin").read_bytes() == files["big.bin"]
    assert not incomplete(hub_services, "org/killed")  # the stale partial is cleaned
    # huggingface_hub does not resume across runs: the re-run fetches the whole file again.
    body_gets = [h for m, p, h in hub.requests[n:] if m == "GET" and "/resolve/" in p]
    assert body_gets and all("Range" not in h for h in body_gets)


@pytest.mark.parametrize("case", ["repo", "revision", "gated", "500", "network"])
def test_errors_are_clear(hub_services: Services, hub: FakeHub, case: str) -> None:
    hub.add_repo("org/there", {"a.txt": b"a"})
    hub.add_repo("org/gated", {"a.txt": b"a"}, gated=True, token=TOKEN)
    data: dict[str, Any] = {"repo_id": "org/there"}
    if case == "repo":
        data["repo_id"] = "org/missing"
    elif case == "revision":
        data["revision"] = "no-such-branch"
    elif case == "gated":
        data["repo_id"] = "org/gated"
    elif case == "500":
        hub.fail_status = 500
    elif case == "network":
        hub_services.hub.endpoint = "http://127.0.0.1:9"
    job = run(hub_services, data)
    assert job["state"] == "failed"
    err = job["error"]
    expected = {"repo": "repo org/missing not found", "revision": "revision 'no-such-branch' not found",
                "gated": "gated", "500": "HTTP 500", "network": "network failure talking to http://127.0.0.1:9"}
    assert expected[case] in err, err
    if case == "repo":
        assert "give a token" in err


def test_gated_with_token_and_token_never_stored(hub_services: Services, hub: FakeHub) -> None:
    hub.add_repo("org/gated", {"a.txt": b"a", "w.bin": payload("g", MB // 2)}, gated=True, token=TOKEN)
    job = hub_services.hub.start_download({"repo_id": "org/gated", "token": TOKEN}, "tester")
    token_file = Path(job["params"]["token_file"])
    assert token_file.parent == hub_services.workspace.state_dir / "secrets"
    assert oct(token_file.stat().st_mode & 0o777) == "0o600"
    done = Worker(hub_services.store, place=hub_services.jobs.place).run_job(job["id"])
    assert done["state"] == "succeeded", done["error"]
    assert not token_file.exists()  # the job read it, then deleted it
    assert any(h.get("Authorization") == f"Bearer {TOKEN}" for _, _, h in hub.requests)
    # Not in any row (jobs, logs, audit) nor the database files.
    assert TOKEN not in str(hub_services.jobs.get(job["id"])) and TOKEN not in str(hub_services.jobs.log(job["id"]))
    db = hub_services.workspace.sqlite_path
    hub_services.store.dispose()
    with sqlite3.connect(db) as con:
        dump = "\n".join(con.iterdump())
    assert TOKEN not in dump
    assert_secret_nowhere(db.parent, TOKEN)


def test_disk_space_refusal(workspace: Path, hub: FakeHub) -> None:
    hub.add_repo("org/tiny", FILES)
    s = Services(Settings.of(workspace, hf_endpoint=hub.url, download_disk_margin=1 << 60))
    try:
        job = run(s, {"repo_id": "org/tiny"})
        assert job["state"] == "failed"
        assert "not enough disk space" in job["error"] and "download_disk_margin" in job["error"]
        assert hub.file_gets() == []  # refused before any transfer
    finally:
        s.store.dispose()
        store_engine._stores.pop(s.store.url, None)


# -- list and delete ------------------------------------------------------------------
def two_revisions(hub_services: Services, hub: FakeHub) -> tuple[str, str]:
    old = hub.add_repo("org/tiny", FILES, tags=["v1"])
    assert run(hub_services, {"repo_id": "org/tiny", "revision": "v1"})["state"] == "succeeded"
    new = hub.add_repo("org/tiny", {**FILES, "model-q4.gguf": payload("q4-v2", 3 * MB)})
    assert run(hub_services, {"repo_id": "org/tiny"})["state"] == "succeeded"
    return old, new


def test_list_local_paginates(hub_services: Services, hub: FakeHub) -> None:
    for name in ("org/a", "org/b", "org/c"):
        hub.add_repo(name, {"x.txt": name.encode()})
        assert run(hub_services, {"repo_id": name})["state"] == "succeeded"
    first = hub_services.hub.list_local(limit=2)
    assert [r["repo_id"] for r in first["items"]] == ["org/a", "org/b"]
    rest = hub_services.hub.list_local(limit=2, cursor=first["next_cursor"])
    assert [r["repo_id"] for r in rest["items"]] == ["org/c"] and rest["next_cursor"] is None
    item = first["items"][0]
    assert item["file_count"] == 1 and item["size_on_disk"] > 0 and item["last_modified"]
    assert item["revisions"][0]["refs"] == ["main"]
    assert [r["repo_id"] for r in hub_services.hub.list_local(q="B")["items"]] == ["org/b"]


def test_delete_files_revision_repo_with_bytes_freed(hub_services: Services, hub: FakeHub) -> None:
    old, new = two_revisions(hub_services, hub)
    repo = hub_services.hub.get_local("org/tiny")
    assert {r["commit"] for r in repo["revisions"]} == {old, new}
    # one quantization's files, in both revisions: the shared q8 blob goes once
    out = hub_services.hub.delete("org/tiny", files=["*q8*"], actor="tester")
    assert out["scope"] == "files" and out["freed_bytes"] >= 2 * MB and out["expected_freed_bytes"] == 2 * MB
    assert all("model-q8.gguf" not in r["files"] for r in hub_services.hub.get_local("org/tiny")["revisions"])
    # the old revision: only its own q4 blob is freed, shared ones stay
    out = hub_services.hub.delete("org/tiny", revision="v1", actor="tester")
    assert out["scope"] == "revision" and out["commits"] == [old]
    assert out["expected_freed_bytes"] == 3 * MB and out["freed_bytes"] >= 3 * MB
    left = hub_services.hub.get_local("org/tiny")
    assert [r["commit"] for r in left["revisions"]] == [new]
    snap = Path(left["revisions"][0]["snapshot_path"])
    assert (snap / "config.json").read_bytes() == FILES["config.json"]
    # the whole repo
    out = hub_services.hub.delete("org/tiny", actor="tester")
    assert out["scope"] == "repo" and out["freed_bytes"] >= 3 * MB
    assert hub_services.hub.list_local()["items"] == []
    with pytest.raises(NotFound):
        hub_services.hub.delete("org/tiny", actor="tester")


def test_in_use_refusals_and_force(hub_services: Services, hub: FakeHub) -> None:
    hub.add_repo("org/tiny", FILES)
    assert run(hub_services, {"repo_id": "org/tiny"})["state"] == "succeeded"
    # being downloaded (a queued job counts)
    queued = hub_services.hub.start_download({"repo_id": "org/tiny", "revision": "main"}, "t")
    with pytest.raises(Conflict, match="being downloaded"):
        hub_services.hub.delete("org/tiny", actor="t")
    hub_services.jobs.cancel(queued["id"])
    # the default model
    model = hub_services.hub.create_model("org/tiny", actor="t")
    assert model["storage_path"].startswith("hf://org/tiny@") and model["name"] == "tiny"
    hub_services.hub.set_default_model("tiny", "t")
    assert hub_services.hub.default_model()["name"] == "tiny"
    with pytest.raises(Conflict, match="default model"):
        hub_services.hub.delete("org/tiny", files=["config.json"], actor="t")
    hub_services.hub.set_default_model(None, "t")
    # referenced by a release (a model with no release does not block)
    hub_services.hub.delete("org/tiny", files=["sub/tokenizer.json"], actor="t")
    hub_services.registry.create_release({"model": "tiny", "version": "1.0"}, "t")
    with pytest.raises(Conflict, match="has releases"):
        hub_services.hub.delete("org/tiny", actor="t")
    out = hub_services.hub.delete("org/tiny", force=True, actor="t")
    assert out["forced"] and out["overridden"]
    actions = [e["action"] for e in hub_services.registry.audit(limit=50)["items"]]
    assert "set_default_model" in actions and "delete_local" in actions


@pytest.mark.parametrize("bad", ["../x", "org/../x", "a/b/c", "/org/x", "org\\x", "org%2Fx", "org/x--y",
                                 "org/.x", "org/x.", "-org/x", "org-", "org/" + "x" * 97, "org/x/", "..", ""])
def test_bad_repo_ids_refused(hub_services: Services, bad: str) -> None:
    with pytest.raises(InvalidInput, match="repo_id"):
        hub_services.hub.start_download({"repo_id": bad}, "t")
    with pytest.raises(InvalidInput, match="repo_id"):
        hub_services.hub.delete(bad, actor="t")
    assert hub_services.jobs.list()["items"] == []


@pytest.mark.parametrize("bad", ["../config.json", "sub/../../x", "/etc/passwd", "sub\\x", "%2e%2e/x", "./x", ""])
def test_bad_file_names_and_patterns_refused(hub_services: Services, hub: FakeHub, bad: str) -> None:
    with pytest.raises(InvalidInput, match=r"files\[0\]"):
        hub_services.hub.delete("org/tiny", files=[bad], actor="t")
    with pytest.raises(InvalidInput, match=r"allow_patterns\[0\]"):
        hub_services.hub.start_download({"repo_id": "org/tiny", "allow_patterns": [bad]}, "t")


@pytest.mark.parametrize("bad", ["../main", "/main", "main..x", "a//b", "-x", "main/"])
def test_bad_revisions_refused(hub_services: Services, bad: str) -> None:
    with pytest.raises(InvalidInput, match="revision"):
        hub_services.hub.start_download({"repo_id": "org/tiny", "revision": bad}, "t")


def test_rules_give_openapi_schema() -> None:
    from jupyter_mlops.hub import rules

    schema = rules.DOWNLOAD.create_schema()
    assert schema["required"] == ["repo_id"] and "pattern" in schema["properties"]["repo_id"]
    assert schema["properties"]["allow_patterns"]["type"] == ["array", "null"]
