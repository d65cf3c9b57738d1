"""Models on S3 through a real S3 server (`rclone serve s3` on 127.0.0.1, tests/services.sh;
moto's standalone server for access denied): publish, scan, fetch and build, run as jobs by
the real worker in real subprocesses with the AWS chain's credentials."""
from __future__ import annotations

import hashlib
import os
import signal
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from pg_support import db_settings
from s3_support import MotoServer, S3Server, use_credentials
from store_support import assert_secret_nowhere
from sqlalchemy import func, select

from jupyter_mlops.config import Settings
from jupyter_mlops.errors import Forbidden, InvalidInput, NotFound, Unavailable
from jupyter_mlops.jobs.worker import Worker
from jupyter_mlops.services import Services
from jupyter_mlops.storage.fetch import cache_root
from jupyter_mlops.storage.s3 import MULTIPART_THRESHOLD
from jupyter_mlops.store import engine as store_engine
from jupyter_mlops.store.schema import Artifact, AuditEvent, Job, Model

MB = 1 << 20


def make_services(workspace: Path, server: S3Server, db_url: str | None = None, **values: Any) -> Services:
    values = {"download_disk_margin": 0, **values}
    settings = Settings.of(workspace, s3_endpoint_url=server.endpoint, s3_addressing_style="path",
                           **db_settings(db_url), **values)
    return Services(settings)


@pytest.fixture
def svc(workspace: Path, s3_creds: S3Server, db_url: str | None) -> Iterator[Services]:
    s = make_services(workspace, s3_creds, db_url)
    yield s
    s.store.dispose()
    store_engine._stores.pop(s.store.url, None)


def run(svc: Services, job: dict[str, Any]) -> dict[str, Any]:
    return Worker(svc.store, place=svc.jobs.place).run_job(job["id"])


def in_background(svc: Services, job: dict[str, Any]) -> tuple[threading.Thread, dict[str, Any]]:
    out: dict[str, Any] = {}
    t = threading.Thread(target=lambda: out.update(run(svc, job)), daemon=True)
    t.start()
    return t, out


def wait_for(pred: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def model_folder(root: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return root


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def artifacts(svc: Services, model: str) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    cursor = None
    for _ in range(100):  # bounded: 500 a page
        page = svc.registry.list_artifacts(model=model, limit=500, cursor=cursor)
        found.update((a["name"], a) for a in page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            return found
    raise AssertionError("too many pages")


def put_many(server: S3Server, bucket: str, files: dict[str, bytes]) -> None:
    client = server.client()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda kv: client.put_object(Bucket=bucket, Key=kv[0], Body=kv[1]), files.items()))


def keys(server: S3Server, bucket: str, prefix: str = "") -> list[str]:
    client = server.client()
    found: list[str] = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        found += [o["Key"] for o in page.get("Contents", [])]
    return found


def open_uploads(server: S3Server, bucket: str) -> list[Any]:
    return server.client().list_multipart_uploads(Bucket=bucket).get("Uploads", [])


def count(svc: Services, table: Any) -> int:
    with svc.store.read() as s:
        return int(s.scalar(select(func.count()).select_from(table)))


BIG = os.urandom(MULTIPART_THRESHOLD + 3 * MB)  # above the multipart threshold: sent in parts


# -- publish ---------------------------------------------------------------------------------
def test_publish_uploads_verifies_and_registers(svc: Services, s3_creds: S3Server, bucket: str) -> None:
    files = {"config.json": b'{"model_type": "tiny"}', "model.safetensors": BIG, "tok/tokenizer.json": b"{}"}
    folder = model_folder(svc.workspace.root / "src" / "tiny", files)
    job = svc.storage_files.start_publish(
        {"source": "src/tiny", "destination": f"s3://{bucket}/models/tiny", "model": "tiny"}, "tester")
    done = run(svc, job)
    assert done["state"] == "succeeded", done["error"]
    r = done["result"]
    assert (r["files"], r["uploaded_files"], r["bytes"]) == (3, 3, sum(map(len, files.values())))
    assert r["model"] == "tiny" and r["model_change"] == "created"
    client = s3_creds.client()
    for name, data in files.items():
        body = client.get_object(Bucket=bucket, Key=f"models/tiny/{name}")["Body"].read()
        assert body == data
        head = client.head_object(Bucket=bucket, Key=f"models/tiny/{name}")
        assert {k.lower(): v for k, v in head["Metadata"].items()}["sha256"] == sha(data)
    model = svc.registry.get_model("tiny")
    assert model["storage_path"] == f"s3://{bucket}/models/tiny"
    found = artifacts(svc, "tiny")
    assert {n: (a["size"], a["sha256"]) for n, a in found.items()} == {n: (len(d), sha(d)) for n, d in files.items()}
    assert found["model.safetensors"]["kind"] == "weights" and found["tok/tokenizer.json"]["kind"] == "tokenizer"
    assert found["config.json"]["path"] == f"s3://{bucket}/models/tiny/config.json"
    assert not open_uploads(s3_creds, bucket)
    assert folder.is_dir()
    # again: every object is there with the same size and sha256, nothing is sent
    again = run(svc, svc.storage_files.start_publish(
        {"source": "src/tiny", "destination": f"s3://{bucket}/models/tiny", "model": "tiny"}, "tester"))
    assert again["state"] == "succeeded", again["error"]
    assert again["result"]["uploaded_files"] == 0 and again["result"]["skipped_files"] == 3
    assert again["result"]["model_change"] == "unchanged"


def test_publish_a_cached_hub_snapshot_then_register_then_build(
    svc: Services, s3_creds: S3Server, bucket: str, hub: Any, docker_api: Any, base_image: str, docker_host: str,
) -> None:
    from hub_server import payload

    files = {"config.json": b'{"model_type": "tiny"}', "model.safetensors": payload("pub", 2 * MB)}
    hub.add_repo("org/pub", files)
    local = make_services(svc.workspace.root, s3_creds, hf_endpoint=hub.url, docker_host=docker_host)
    try:
        dl = run(local, local.hub.start_download({"repo_id": "org/pub"}, "tester"))
        assert dl["state"] == "succeeded", dl["error"]
        hf_path = dl["result"]["storage_path"]
        done = run(local, local.storage_files.start_publish(
            {"source": hf_path, "destination": f"s3://{bucket}/pub", "model": "pub"}, "tester"))
        assert done["state"] == "succeeded", done["error"]
        assert local.registry.get_model("pub")["storage_path"] == f"s3://{bucket}/pub"
        rel = local.registry.create_release({"model": "pub", "version": "1.0"}, "tester")
        build = local.builds.start({"release_id": rel["id"], "base_image": base_image}, "tester")
        job = run(local, {"id": build["job_id"]})
        assert job["state"] == "succeeded", job["error"]
        from docker_support import run_container

        code, out = run_container(docker_api, local.builds.get(build["id"])["tag"],
                                  ["sh", "-c", "sha256sum /opt/model/model.safetensors /opt/model/config.json"])
        assert code == 0
        sums = dict(reversed(line.split()) for line in out.strip().splitlines())
        assert sums == {"/opt/model/model.safetensors": sha(files["model.safetensors"]),
                        "/opt/model/config.json": sha(files["config.json"])}
        assert "to fetch" in "\n".join(line["line"] for line in local.jobs.log(job["id"])["lines"])
        # a later build of the model takes it from the cache: nothing is fetched again
        rel2 = local.registry.create_release({"model": "pub", "version": "2.0"}, "tester")
        build2 = local.builds.start({"release_id": rel2["id"], "base_image": base_image}, "tester")
        job2 = run(local, {"id": build2["job_id"]})
        assert job2["state"] == "succeeded", job2["error"]
        log2 = "\n".join(line["line"] for line in local.jobs.log(job2["id"])["lines"])
        assert "all 2 files already in the cache" in log2 or "all in the cache" in log2, log2
        assert_secret_nowhere(local.workspace.state_dir, s3_creds.secret)
    finally:
        local.store.dispose()


def test_cancel_mid_upload_leaves_no_partial_object(workspace: Path, slow_s3_server: S3Server, monkeypatch: pytest.MonkeyPatch,
                                                     tmp_path: Path) -> None:
    use_credentials(monkeypatch, tmp_path, slow_s3_server.key, slow_s3_server.secret)
    svc = make_services(workspace, slow_s3_server)
    client = slow_s3_server.client()
    client.create_bucket(Bucket="cancel-up")
    model_folder(workspace / "src" / "big", {"model.safetensors": BIG})
    job = svc.storage_files.start_publish(
        {"source": "src/big", "destination": "s3://cancel-up/big", "model": "big"}, "tester")
    thread, out = in_background(svc, job)
    wait_for(lambda: (svc.jobs.get(job["id"])["progress"]["done"] or 0) > 8 * MB)
    assert open_uploads(slow_s3_server, "cancel-up"), "the upload is in parts"
    began = time.monotonic()
    svc.jobs.cancel(job["id"])
    thread.join(30)
    assert out["state"] == "cancelled" and time.monotonic() - began < 10, (out["error"], time.monotonic() - began)
    assert keys(slow_s3_server, "cancel-up") == []  # nothing visible
    assert open_uploads(slow_s3_server, "cancel-up") == []  # and the parts are gone
    with pytest.raises(NotFound):
        svc.registry.get_model("big")
    svc.store.dispose()


# -- scan ------------------------------------------------------------------------------------
def test_scan_a_thousand_objects_then_report_what_changed(svc: Services, s3_creds: S3Server, bucket: str) -> None:
    files = {f"shards/part-{i:04d}.bin": f"shard {i}".encode() * 10 for i in range(1000)}
    files["config.json"] = b'{"a": 1}'
    files["model.safetensors"] = BIG
    put_many(s3_creds, bucket, {f"m/{k}": v for k, v in files.items()})
    svc.registry.create_model({"name": "many", "storage_path": f"s3://{bucket}/m"}, "tester")
    first = run(svc, svc.storage_files.start_scan({"model": "many"}, "tester"))
    assert first["state"] == "succeeded", first["error"]
    r = first["result"]
    assert (r["files"], r["hashed_files"], r["added_count"], r["removed_count"]) == (1002, 1002, 1002, 0)
    found = artifacts(svc, "many")
    assert len(found) == 1002
    assert {n: (a["size"], a["sha256"]) for n, a in found.items()} == {n: (len(d), sha(d)) for n, d in files.items()}
    # change one, delete one, add one: the scan hashes only those and says so
    client = s3_creds.client()
    client.put_object(Bucket=bucket, Key="m/config.json", Body=b'{"a": 2}')
    client.delete_object(Bucket=bucket, Key="m/shards/part-0007.bin")
    client.put_object(Bucket=bucket, Key="m/README.md", Body=b"# many")
    second = run(svc, svc.storage_files.start_scan({"model": "many"}, "tester"))
    assert second["state"] == "succeeded", second["error"]
    r = second["result"]
    assert (r["added"], r["changed"], r["removed"]) == (["README.md"], ["config.json"], ["shards/part-0007.bin"])
    assert r["hashed_files"] == 2 and r["reused_files"] == 1000 and r["unchanged"] == 1000
    found = artifacts(svc, "many")
    assert found["config.json"]["sha256"] == sha(b'{"a": 2}') and "shards/part-0007.bin" not in found
    with svc.store.read() as s:
        events = s.scalars(select(AuditEvent).where(AuditEvent.action == "scan")).all()
        assert len(events) == 2 and events[-1].after["counts"] == {"added": 1, "changed": 1, "removed": 1}
    # nothing changed: nothing hashed, nothing audited
    third = run(svc, svc.storage_files.start_scan({"model": "many"}, "tester"))
    assert third["result"]["hashed_files"] == 0 and third["result"]["unchanged"] == 1002


def test_scan_a_folder_on_this_machine(svc: Services) -> None:
    files = {"config.json": b"{}", "weights/model.gguf": b"gguf" * 1000}
    model_folder(svc.workspace.root / "local-model", files)
    svc.registry.create_model({"name": "local", "storage_path": "local-model"}, "tester")
    done = run(svc, svc.storage_files.start_scan({"model": "local"}, "tester"))
    assert done["state"] == "succeeded", done["error"]
    found = artifacts(svc, "local")
    assert {n: a["sha256"] for n, a in found.items()} == {n: sha(d) for n, d in files.items()}
    assert found["weights/model.gguf"]["path"] == str(svc.workspace.root / "local-model" / "weights" / "model.gguf")


def test_credentials_from_a_profile_of_the_shared_files(workspace: Path, s3_server: S3Server, bucket: str,
                                                        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    put_many(s3_server, bucket, {"m/a.bin": b"a"})
    use_credentials(monkeypatch, tmp_path, None, None)
    shared = tmp_path / "credentials"
    shared.write_text(f"[team]\naws_access_key_id = {s3_server.key}\naws_secret_access_key = {s3_server.secret}\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(shared))
    svc = make_services(workspace, s3_server, s3_profile="team")
    try:
        svc.registry.create_model({"name": "prof", "storage_path": f"s3://{bucket}/m"}, "tester")
        done = run(svc, svc.storage_files.start_scan({"model": "prof"}, "tester"))
        assert done["state"] == "succeeded", done["error"]
        assert artifacts(svc, "prof")["a.bin"]["sha256"] == sha(b"a")
        assert_secret_nowhere(svc.workspace.state_dir, s3_server.secret)  # read from the chain, never kept
    finally:
        svc.store.dispose()
    other = make_services(workspace, s3_server, s3_profile="nobody-has-it")
    try:
        refused = _refused(other, lambda: other.storage_files.start_scan({"model": "prof"}, "tester"))
        assert isinstance(refused, InvalidInput) and refused.field == "s3_profile", refused
    finally:
        other.store.dispose()


# -- errors ----------------------------------------------------------------------------------
def _refused(svc: Services, start: Any) -> Exception:
    before = (count(svc, Job), count(svc, Artifact), count(svc, Model), count(svc, AuditEvent))
    with pytest.raises(Exception) as caught:
        start()
    assert (count(svc, Job), count(svc, Artifact), count(svc, Model), count(svc, AuditEvent)) == before
    return caught.value


def test_wrong_credentials_missing_bucket_no_credentials_and_endpoint_down(
    svc: Services, s3_creds: S3Server, bucket: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, workspace: Path,
) -> None:
    model_folder(workspace / "src" / "m", {"a.bin": b"a"})
    svc.registry.create_model({"name": "there", "storage_path": f"s3://{bucket}/there"}, "tester")
    svc.registry.create_model({"name": "nobucket", "storage_path": "s3://no-such-bucket/x"}, "tester")

    missing = _refused(svc, lambda: svc.storage_files.start_scan({"model": "nobucket"}, "tester"))
    assert isinstance(missing, NotFound) and "bucket no-such-bucket does not exist" in str(missing)
    missing = _refused(svc, lambda: svc.storage_files.start_publish(
        {"source": "src/m", "destination": "s3://no-such-bucket/m", "model": "m"}, "tester"))
    assert isinstance(missing, NotFound)

    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wrong-secret")
    wrong = _refused(svc, lambda: svc.storage_files.start_scan({"model": "there"}, "tester"))
    assert isinstance(wrong, Forbidden) and wrong.field == "credentials"
    assert "AWS_SECRET_ACCESS_KEY" in str(wrong) and "wrong-secret" not in str(wrong)

    use_credentials(monkeypatch, tmp_path, None, None)
    none = _refused(svc, lambda: svc.storage_files.start_publish(
        {"source": "src/m", "destination": f"s3://{bucket}/m", "model": "m"}, "tester"))
    assert isinstance(none, InvalidInput) and none.field == "credentials" and "AWS_ACCESS_KEY_ID" in str(none)

    use_credentials(monkeypatch, tmp_path, s3_creds.key, s3_creds.secret)
    from s3_support import free_port

    down = make_services(workspace, S3Server(f"http://127.0.0.1:{free_port()}", "k", "s"))
    try:
        refused = _refused(down, lambda: down.storage_files.start_scan({"model": "there"}, "tester"))
        assert isinstance(refused, Unavailable) and "s3_endpoint_url" in str(refused)
    finally:
        down.store.dispose()


def test_credentials_that_fail_in_the_job_record_nothing(svc: Services, s3_creds: S3Server, bucket: str,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    put_many(s3_creds, bucket, {"m/a.bin": b"a", "m/b.bin": b"b"})
    svc.registry.create_model({"name": "late", "storage_path": f"s3://{bucket}/m"}, "tester")
    job = svc.storage_files.start_scan({"model": "late"}, "tester")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "revoked")  # the worker's job sees these
    done = run(svc, job)
    assert done["state"] == "failed" and "refused the credentials" in done["error"]
    assert artifacts(svc, "late") == {}


def test_access_denied_names_the_permission(workspace: Path, moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch,
                                            tmp_path: Path) -> None:
    use_credentials(monkeypatch, tmp_path, moto_server.key, moto_server.secret)
    moto_server.client().create_bucket(Bucket="guarded")
    moto_server.client().put_object(Bucket="guarded", Key="m/a.bin", Body=b"a")
    svc = make_services(workspace, moto_server)
    try:
        svc.registry.create_model({"name": "guarded", "storage_path": "s3://guarded/m"}, "tester")
        model_folder(workspace / "src" / "m", {"a.bin": b"a", "b.bin": b"b"})
        # may not even list: refused at once, naming the permission
        use_credentials(monkeypatch, tmp_path, *moto_server.nobody)
        denied = _refused(svc, lambda: svc.storage_files.start_scan({"model": "guarded"}, "tester"))
        assert isinstance(denied, Forbidden) and "s3:ListBucket" in str(denied)
        # may list and read but not write: the upload is refused in the job, nothing is registered
        use_credentials(monkeypatch, tmp_path, *moto_server.reader)
        job = svc.storage_files.start_publish({"source": "src/m", "destination": "s3://guarded/new", "model": "new"},
                                              "tester")
        done = run(svc, job)
        assert done["state"] == "failed" and "access denied" in done["error"] and "s3:PutObject" in done["error"]
        with pytest.raises(NotFound):
            svc.registry.get_model("new")
        assert keys(moto_server, "guarded", "new/") == []
    finally:
        svc.store.dispose()


# -- fetch -----------------------------------------------------------------------------------
def cache_files(svc: Services) -> list[str]:
    root = cache_root(svc.workspace.models_dir)
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and not p.is_symlink())


def test_fetch_is_content_addressed_and_reused(svc: Services, s3_creds: S3Server, bucket: str) -> None:
    files = {"model.safetensors": BIG, "config.json": b'{"x": 1}', "same/config.json": b'{"x": 1}'}
    put_many(s3_creds, bucket, {f"m/{k}": v for k, v in files.items()})
    first = run(svc, svc.storage_files.start_fetch({"uri": f"s3://{bucket}/m"}, "tester"))
    assert first["state"] == "succeeded", first["error"]
    r = first["result"]
    assert (r["files"], r["fetched_files"], r["bytes"]) == (3, 3, sum(map(len, files.values())))
    local = Path(r["local_path"])
    assert {k: (local / k).read_bytes() for k in files} == files
    assert (local / "config.json").is_symlink()  # into the blobs, named by sha256
    blobs = [p for p in cache_files(svc) if p.startswith("blobs/")]
    assert sorted(blobs) == sorted({f"blobs/{sha(d)}" for d in files.values()})  # the same content once
    assert not list((cache_root(svc.workspace.models_dir) / "tmp").iterdir())
    # again: nothing moves
    again = run(svc, svc.storage_files.start_fetch({"uri": f"s3://{bucket}/m"}, "tester"))
    assert again["result"]["fetched_files"] == 0 and again["result"]["local_path"] == str(local)
    # the same objects under another prefix: a new folder, no bytes fetched
    put_many(s3_creds, bucket, {"copy/config.json": files["config.json"]})
    copy = run(svc, svc.storage_files.start_fetch({"uri": f"s3://{bucket}/copy"}, "tester"))
    assert copy["state"] == "succeeded" and copy["result"]["fetched_files"] == 0


def test_fetch_refuses_when_the_disk_is_too_small(workspace: Path, s3_creds: S3Server, bucket: str) -> None:
    put_many(s3_creds, bucket, {"m/w.bin": b"w" * 1000})
    svc = make_services(workspace, s3_creds, download_disk_margin=1 << 60)
    try:
        done = run(svc, svc.storage_files.start_fetch({"uri": f"s3://{bucket}/m"}, "tester"))
        assert done["state"] == "failed" and "not enough disk space" in done["error"]
        assert "download_disk_margin" in done["error"]
        assert [p for p in cache_files(svc) if not p.startswith("tmp/")] == []
    finally:
        svc.store.dispose()


def test_cancel_then_kill_9_mid_fetch_then_rerun_completes(
    workspace: Path, slow_s3_server: S3Server, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    use_credentials(monkeypatch, tmp_path, slow_s3_server.key, slow_s3_server.secret)
    svc = make_services(workspace, slow_s3_server)
    client = slow_s3_server.client()
    client.create_bucket(Bucket="kill-fetch")
    client.put_object(Bucket="kill-fetch", Key="m/model.safetensors", Body=BIG)
    try:
        # cancel: ends promptly, leaves no temporary file
        job = svc.storage_files.start_fetch({"uri": "s3://kill-fetch/m"}, "tester")
        thread, out = in_background(svc, job)
        wait_for(lambda: (svc.jobs.get(job["id"])["progress"]["done"] or 0) > 4 * MB)
        began = time.monotonic()
        svc.jobs.cancel(job["id"])
        thread.join(30)
        assert out["state"] == "cancelled" and time.monotonic() - began < 10, out["error"]
        assert cache_files(svc) == []
        # kill -9: leaves its temporary folder, which the next fetch removes, then completes
        job = svc.storage_files.start_fetch({"uri": "s3://kill-fetch/m"}, "tester")
        thread, out = in_background(svc, job)
        wait_for(lambda: (svc.jobs.get(job["id"])["progress"]["done"] or 0) > 4 * MB)
        with svc.store.read() as s:
            pid = s.get(Job, job["id"]).pid
        os.kill(pid, signal.SIGKILL)
        thread.join(30)
        assert out["state"] == "failed" and "signal 9" in out["error"]
        assert [p for p in cache_files(svc) if p.startswith("tmp/")], "kill -9 leaves the partial file"
        again = run(svc, svc.storage_files.start_fetch({"uri": "s3://kill-fetch/m"}, "tester"))
        assert again["state"] == "succeeded", again["error"]
        assert (Path(again["result"]["local_path"]) / "model.safetensors").read_bytes() == BIG
        assert [p for p in cache_files(svc) if p.startswith("tmp/")] == []
        assert "left by an earlier interrupted fetch" in "\n".join(
            line["line"] for line in svc.jobs.log(again["id"])["lines"])
    finally:
        svc.store.dispose()
