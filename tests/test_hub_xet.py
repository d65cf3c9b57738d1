"""The model hub over Xet: the real huggingface_hub and hf_xet clients download Xet-backed
files from FakeHub's Xet CAS on 127.0.0.1 (tests/xet_cas.py, written from xet-core's spec;
the xorbs and shards were made by hf_xet itself when the repo was added), beside LFS and
plain files, in download jobs run by the real worker in real subprocesses."""
from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from hub_server import FakeHub, payload
from pg_support import db_settings

from jupyter_mlops.config import Settings
from jupyter_mlops.errors import InvalidInput
from jupyter_mlops.jobs.worker import Worker
from jupyter_mlops.services import Services
from jupyter_mlops.store.schema import Job

MB = 1 << 20


@pytest.fixture(autouse=True)
def _isolate_hf(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """huggingface_hub and hf_xet (here and in the jobs) see none of the machine's login,
    caches or telemetry."""
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.setenv("HF_XET_CACHE", str(tmp_path / "xet-cache"))
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    monkeypatch.setenv("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_ENDPOINT", "HF_HUB_CACHE", "HF_HUB_OFFLINE",
                 "HF_HUB_DISABLE_XET"):
        monkeypatch.delenv(name, raising=False)


MIXED = {"config.json": b'{"model_type": "tiny"}', "tokenizer.json": b'{"v": 1}',
         "lfs.bin": payload("lfs", 2 * MB), "model.safetensors": payload("xet", 6 * MB),
         "sub/small.xet": b"tiny xet file"}
XET = {"model.safetensors", "sub/small.xet"}


def start(hub_services: Services, data: dict[str, Any]) -> tuple[dict[str, Any], threading.Thread, dict[str, Any]]:
    job = hub_services.hub.start_download(data, "tester")
    out: dict[str, Any] = {}
    t = threading.Thread(target=lambda: out.update(Worker(hub_services.store, place=hub_services.jobs.place).run_job(job["id"])),
                         daemon=True)
    t.start()
    return job, t, out


def run(hub_services: Services, data: dict[str, Any]) -> dict[str, Any]:
    job = hub_services.hub.start_download(data, "tester")
    return Worker(hub_services.store, place=hub_services.jobs.place).run_job(job["id"])


def wait_for(pred: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def partials(hub_services: Services) -> list[str]:
    """Partial files anywhere in the model cache (per-repo blobs and the shared Xet store)."""
    root = hub_services.workspace.models_dir
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.name.endswith(".incomplete")
                  or ".tmp" in p.name)


def test_a_mixed_repo_downloads_xet_files_through_the_cas(hub_services: Services, hub: FakeHub) -> None:
    sha = hub.add_repo("org/mixed", MIXED, xet=XET)
    done = run(hub_services, {"repo_id": "org/mixed"})
    assert done["state"] == "succeeded", done["error"]
    local = Path(done["result"]["local_path"])
    assert {name: (local / name).read_bytes() for name in MIXED} == MIXED
    assert done["result"]["commit"] == sha and done["result"]["bytes_downloaded"] == sum(map(len, MIXED.values()))
    xorbs = hub.xorb_gets()
    assert xorbs and all(status == 206 and "Range" in headers for _p, headers, status in xorbs)
    gets = hub.file_gets("org/mixed")
    assert not [p for p in gets if p.endswith(tuple(XET))]  # no Xet file went over plain HTTP
    assert [p for p in gets if p.endswith("lfs.bin")] and [p for p in gets if p.endswith("config.json")]
    assert not [p for _m, p, _h in hub.requests if p.startswith("/xet-bridge/")]
    # a second download is served from the cache: nothing goes to the CAS
    n = len(hub.xorb_gets())
    again = run(hub_services, {"repo_id": "org/mixed"})
    assert again["state"] == "succeeded" and again["result"]["files_cached"] == len(MIXED)
    assert again["result"]["bytes_downloaded"] == 0 and len(hub.xorb_gets()) == n


def test_progress_reaches_the_store_twice_a_second(hub_services: Services, hub: FakeHub) -> None:
    hub.add_repo("org/slowxet", {"model.safetensors": payload("slow", 6 * MB)}, xet={"model.safetensors"})
    hub.throttle = 1.5 * MB
    job, thread, out = start(hub_services, {"repo_id": "org/slowxet"})
    seen: list[tuple[float, float]] = []
    deadline = time.monotonic() + 60
    while thread.is_alive() and time.monotonic() < deadline:  # bounded
        now = hub_services.jobs.get(job["id"])
        done = now["progress"]["done"] or 0
        if now["state"] == "running" and 0 < done < 6 * MB and (not seen or seen[-1][1] != done):
            seen.append((time.monotonic(), done))
        time.sleep(0.02)
    thread.join(10)
    assert out["state"] == "succeeded", out["error"]
    assert len(seen) >= 4, seen
    span = seen[-1][0] - seen[0][0]
    assert (len(seen) - 1) / span >= 2.0, (len(seen), span)
    assert [d for _t, d in seen] == sorted(d for _t, d in seen)  # never goes back


def test_cancel_mid_file_is_prompt_leaves_nothing_and_spares_the_other_download(hub_services: Services, hub: FakeHub) -> None:
    hub.add_repo("org/cancelme", {"model.safetensors": payload("c", 8 * MB)}, xet={"model.safetensors"})
    beside = {"weights.safetensors": payload("beside", 3 * MB), "config.json": b"{}"}
    hub.add_repo("org/beside", beside, xet={"weights.safetensors"})
    hub.throttle = 1 * MB
    job, thread, out = start(hub_services, {"repo_id": "org/cancelme"})
    other, other_thread, other_out = start(hub_services, {"repo_id": "org/beside"})
    wait_for(lambda: (hub_services.jobs.get(job["id"])["progress"]["done"] or 0) > 0)
    began = time.monotonic()
    hub_services.jobs.cancel(job["id"])
    thread.join(30)
    assert out["state"] == "cancelled" and time.monotonic() - began < 5, (out["state"], time.monotonic() - began)
    hub.throttle = None
    other_thread.join(60)
    assert other_out["state"] == "succeeded", other_out["error"]
    local = Path(other_out["result"]["local_path"])
    assert {n: (local / n).read_bytes() for n in beside} == beside
    assert partials(hub_services) == []
    snapshots = hub_services.workspace.models_dir / "models--org--cancelme" / "snapshots"
    assert not [p for p in snapshots.rglob("*") if p.is_file()] if snapshots.exists() else True


def test_kill_9_then_a_rerun_completes(hub_services: Services, hub: FakeHub) -> None:
    files = {"model.safetensors": payload("k9", 8 * MB), "config.json": b"{}"}
    hub.add_repo("org/killed", files, xet={"model.safetensors"})
    hub.throttle = 1 * MB
    job, thread, out = start(hub_services, {"repo_id": "org/killed"})
    wait_for(lambda: (hub_services.jobs.get(job["id"])["progress"]["done"] or 0) > 256 * 1024)
    with hub_services.store.read() as s:
        pid = s.get(Job, job["id"]).pid
    os.kill(pid, signal.SIGKILL)
    thread.join(30)
    assert out["state"] == "failed" and "signal 9" in out["error"]
    hub.throttle = None
    again = run(hub_services, {"repo_id": "org/killed"})
    assert again["state"] == "succeeded", again["error"]
    local = Path(again["result"]["local_path"])
    assert {n: (local / n).read_bytes() for n in files} == files
    assert partials(hub_services) == []


def test_disk_space_refusal_and_patterns(workspace: Path, hub: FakeHub, db_url: str | None) -> None:
    hub.add_repo("org/pat", MIXED, xet=XET)
    tight = Services(Settings.of(workspace, hf_endpoint=hub.url, download_disk_margin=1 << 60, **db_settings(db_url)))
    try:
        refused = run(tight, {"repo_id": "org/pat"})
        assert refused["state"] == "failed" and "not enough disk space" in refused["error"]
        assert hub.xorb_gets() == []  # refused before any transfer
        done = run(tight.__class__(Settings.of(workspace, hf_endpoint=hub.url, download_disk_margin=0,
                                                **db_settings(db_url))),
                   {"repo_id": "org/pat", "allow_patterns": ["*.json", "*.safetensors"], "ignore_patterns": ["tok*"]})
        assert done["state"] == "succeeded", done["error"]
        assert sorted(done["result"]["files"]) == ["config.json", "model.safetensors"]
        assert len({p for p, _h, _s in hub.xorb_gets()}) >= 1
    finally:
        tight.store.dispose()


def test_single_segment_repo_ids(hub_services: Services, hub: FakeHub) -> None:
    files = {"config.json": b'{"model_type": "gpt2"}', "model.safetensors": payload("gpt2", 2 * MB)}
    sha = hub.add_repo("gpt2", files, xet={"model.safetensors"})
    done = run(hub_services, {"repo_id": "gpt2"})
    assert done["state"] == "succeeded", done["error"]
    assert done["result"]["storage_path"] == f"hf://gpt2@{sha}"
    assert [r["repo_id"] for r in hub_services.hub.list_local()["items"]] == ["gpt2"]
    assert hub_services.hub.get_local("gpt2")["revisions"][0]["commit"] == sha
    model = hub_services.hub.create_model("gpt2", "main", None, "tester")
    assert model["storage_path"] == f"hf://gpt2@{sha}"
    hub_services.registry.create_model({"name": "other", "storage_path": "hf://gpt2"}, "tester")
    with pytest.raises(InvalidInput):
        hub_services.registry.create_model({"name": "bad", "storage_path": "hf://gpt2/x/y"}, "tester")
    gone = hub_services.hub.delete("gpt2", force=True, actor="tester")
    assert gone["scope"] == "repo" and gone["freed_bytes"] >= 2 * MB
    assert hub_services.hub.list_local()["items"] == []
    # the shared Xet store keeps nothing the deleted repo alone held
    store = hub_services.workspace.models_dir / "blobs"
    assert not [p for p in store.rglob("*") if p.is_file() and p.stat().st_size >= MB] if store.exists() else True
