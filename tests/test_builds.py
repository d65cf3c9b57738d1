"""Image builds through a real Docker daemon and registry (tests/services.sh starts both):
the service queues a build job, the worker runs it in a subprocess, the daemon builds."""
from __future__ import annotations

import hashlib
import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from deps_support import build_wheel
from docker_support import RUNNING, SLEEPY_RUN, log_text, run_container, wait_for
from sqlalchemy import func, select
from store_support import assert_secret_nowhere

from jupyter_mlops.builds.job import HASH_LABEL, LABEL
from jupyter_mlops.errors import Conflict, InvalidInput, Unavailable
from jupyter_mlops.jobs.worker import Worker
from jupyter_mlops.services import Services
from jupyter_mlops.store import engine as store_engine
from jupyter_mlops.store.schema import Build, BuildPush, Job
from jupyter_mlops.config import Settings


@pytest.fixture
def svc(workspace: Path, docker_host: str) -> Iterator[Services]:
    """Services over a fresh store, building on the test daemon."""
    s = Services(Settings.of(workspace, docker_host=docker_host))
    yield s
    s.store.dispose()
    store_engine._stores.pop(s.store.url, None)


def release(svc: Services, files: dict[str, str | bytes], *, model: str = "tiny", version: str = "1.0",
            **extra: Any) -> dict[str, Any]:
    """A model whose folder under the workspace holds `files` (plus unique weights), and a release."""
    folder = svc.workspace.root / "models-src" / model
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "weights.bin").write_bytes(os.urandom(64 * 1024))  # unique per test: no reuse across tests
    for name, data in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data.encode() if isinstance(data, str) else data)
    svc.registry.create_model({"name": model, "storage_path": f"models-src/{model}"}, "tester")
    return svc.registry.create_release({"model": model, "version": version, **extra}, "tester")


def run_build(svc: Services, data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Queue a build and run its job to the end: (job, build)."""
    build = svc.builds.start(data, "tester")
    job = Worker(svc.store, place=svc.jobs.place).run_job(build["job_id"])
    return job, svc.builds.get(build["id"])


def in_background(svc: Services, build: dict[str, Any]) -> tuple[threading.Thread, dict[str, Any]]:
    out: dict[str, Any] = {}
    t = threading.Thread(target=lambda: out.update(Worker(svc.store, place=svc.jobs.place).run_job(build["job_id"])), daemon=True)
    t.start()
    return t, out




def build_containers(docker_api: Any) -> list[dict[str, Any]]:
    """Containers still running a build step (the classic builder's intermediate containers)."""
    return [c for c in docker_api.containers() if "sleep" in c.get("Command", "")]


def rows(svc: Services, table: Any) -> int:
    with svc.store.read() as s:
        return int(s.scalar(select(func.count()).select_from(table)))


# -- building ------------------------------------------------------------------------------

def test_generated_build_installs_requirements_and_copies_weights_last(svc: Services, docker_api: Any,
                                                                       base_image: str) -> None:
    root = svc.workspace.root
    build_wheel(root / "third_party", "tinypkg", "0.1", files={"tinypkg/__init__.py": "VALUE = 42\n"})
    (root / "requirements.txt").write_text("--no-index\n--find-links third_party\ntinypkg==0.1\n")
    rel = release(svc, {"config.json": "{}", "scratch.tmp": "not for the image", ".dockerignore": "*.tmp\n"},
                  quantization="int8")
    job, build = run_build(svc, {"release_id": rel["id"], "base_image": base_image,
                                 "run_check": {"command": ["python", "-c", "import tinypkg; print(tinypkg.VALUE)"]}})
    assert job["state"] == "succeeded", job["error"]
    assert build["tag"] == "tiny:1.0-int8:latest" or build["tag"] == "tiny:1.0-int8"
    assert build["options"]["dockerfile"] == "generated" and build["options"]["base_image"] == base_image
    assert build["image_id"].startswith("sha256:") and build["image_size"] > 0 and build["duration_s"] > 0
    assert build["run_check"]["exit_code"] == 0 and build["run_check"]["output"] == "42\n"
    assert build["reused"] is False and build["context_files"] >= 4
    assert build["needed_bytes"] <= build["context_bytes"] < build["needed_bytes"] + 64 * 1024
    image = docker_api.inspect_image(build["tag"])
    labels = image["Config"]["Labels"]
    assert {k: labels[f"{LABEL}.{k}"] for k in ("model", "version", "quantization", "release-id")} == {
        "model": "tiny", "version": "1.0", "quantization": "int8", "release-id": str(rel["id"])}
    assert labels[HASH_LABEL] == build["context_hash"]
    assert image["Config"]["Env"] and "MODEL_DIR=/opt/model" in image["Config"]["Env"]
    weights = (root / "models-src/tiny/weights.bin").read_bytes()
    code, out = run_container(docker_api, build["tag"], ["sh", "-c", "sha256sum /opt/model/weights.bin; ls -A /opt/model"])
    assert code == 0
    assert out.split()[0] == hashlib.sha256(weights).hexdigest()
    assert sorted(out.split()[2:]) == ["config.json", "weights.bin"]  # .dockerignore kept scratch.tmp out
    # the weights are the last layer: a change of weights leaves the requirements layer cached
    steps = [h["CreatedBy"] for h in docker_api.history(build["tag"])]
    assert "COPY" in steps[1] and "/opt/model" in steps[1], steps[:3]  # [0] is the LABEL line
    log = log_text(svc, job["id"])
    assert "Step 1/" in log and "Successfully built" in log and "Dockerfile (generated):" in log


def test_build_from_the_model_cache_copies_real_files(svc: Services, docker_api: Any, base_image: str) -> None:
    repo = svc.workspace.models_dir / "models--org--tiny"
    data = os.urandom(32 * 1024)
    sha = hashlib.sha256(data).hexdigest()
    (repo / "blobs").mkdir(parents=True)
    (repo / "blobs" / sha).write_bytes(data)
    snap = repo / "snapshots" / ("c" * 40)
    snap.mkdir(parents=True)
    (snap / "model.safetensors").symlink_to(f"../../blobs/{sha}")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("c" * 40)
    svc.registry.create_model({"name": "cached", "storage_path": "hf://org/tiny"}, "tester")
    rel = svc.registry.create_release({"model": "cached", "version": "1"}, "tester")
    job, build = run_build(svc, {"release_id": rel["id"], "base_image": base_image})
    assert job["state"] == "succeeded", job["error"]
    code, out = run_container(docker_api, build["tag"],
                         ["sh", "-c", "test -f /opt/model/model.safetensors && ! test -L /opt/model/model.safetensors"
                                      " && sha256sum /opt/model/model.safetensors"])
    assert (code, out.split()[0]) == (0, sha)
    # a blob named by its sha256 is not read again to hash the context
    assert "hashing" not in log_text(svc, job["id"])


def test_custom_dockerfile_from_the_model_folder(svc: Services, docker_api: Any, base_image: str) -> None:
    rel = release(svc, {"Dockerfile": f"FROM {base_image}\nCOPY . /srv/model\nRUN test -f /srv/model/weights.bin\n"
                                      'CMD ["echo", "custom"]\n'})
    job, build = run_build(svc, {"release_id": rel["id"], "tag": "custom/tiny:v1"})
    assert job["state"] == "succeeded", job["error"]
    assert build["options"]["dockerfile"] == "custom"  # auto: the folder has a Dockerfile
    assert build["tag"] == "custom/tiny:v1"
    assert docker_api.inspect_image("custom/tiny:v1")["Config"]["Labels"][f"{LABEL}.model"] == "tiny"
    assert run_container(docker_api, "custom/tiny:v1", []) == (0, "custom\n")


def test_failing_run_is_reported_with_the_daemon_message(svc: Services, docker_api: Any, base_image: str) -> None:
    rel = release(svc, {"Dockerfile": f"FROM {base_image}\nRUN echo about to fail && exit 7\n"})
    job, build = run_build(svc, {"release_id": rel["id"], "tag": "fails/tiny:1"})
    assert job["state"] == "failed"
    assert "returned a non-zero code: 7" in job["error"]
    assert "about to fail" in log_text(svc, job["id"])
    assert build["image_id"] is None and build["image_size"] is None  # nothing half-recorded
    assert not docker_api.images(name="fails/tiny")


def test_failing_run_check_keeps_the_image_and_fails_the_job(svc: Services, base_image: str) -> None:
    rel = release(svc, {})
    job, build = run_build(svc, {"release_id": rel["id"], "base_image": base_image,
                                 "run_check": {"command": ["sh", "-c", "echo checking; exit 3"]}})
    assert job["state"] == "failed" and "exited 3" in job["error"]
    assert build["image_id"] and build["run_check"]["exit_code"] == 3 and build["run_check"]["output"] == "checking\n"


def test_rocm_run_check_without_a_gpu_says_which_device_is_missing(svc: Services, base_image: str) -> None:
    # No GPU here: the check asks the daemon for /dev/kfd and /dev/dri and must say it has none.
    rel = release(svc, {})
    job, build = run_build(svc, {"release_id": rel["id"], "base_image": base_image,
                                 "run_check": {"command": ["true"], "devices": "rocm"}})
    assert job["state"] == "failed"
    check = build["run_check"]
    assert check["exit_code"] is None and "/dev/kfd" in check["error"] and "could not start" in check["error"]
    assert build["image_id"]


def test_cancel_mid_build_stops_the_step(svc: Services, docker_api: Any, base_image: str) -> None:
    rel = release(svc, {"Dockerfile": f"FROM {base_image}\n{SLEEPY_RUN}"})
    build = svc.builds.start({"release_id": rel["id"]}, "tester")
    thread, out = in_background(svc, build)
    wait_for(lambda: RUNNING in log_text(svc, build["job_id"]))
    asked = time.monotonic()
    answer = svc.builds.cancel(build["id"])
    assert answer["id"] == build["id"]
    thread.join(30)
    assert out["state"] == "cancelled"
    assert time.monotonic() - asked < 10
    wait_for(lambda: not build_containers(docker_api), timeout=30)  # the daemon stopped the RUN step
    after = svc.builds.get(build["id"])
    assert after["image_id"] is None and after["state"] == "cancelled" and after["finished_at"]


def test_kill_9_mid_build_then_rerun(svc: Services, docker_api: Any, base_image: str) -> None:
    rel = release(svc, {"Dockerfile": f"FROM {base_image}\nARG NAP=0\nRUN echo napping $NAP && sleep $NAP\n"})
    first = svc.builds.start({"release_id": rel["id"], "build_args": {"NAP": "300"}}, "tester")
    thread, out = in_background(svc, first)
    wait_for(lambda: "napping 300" in log_text(svc, first["job_id"]))
    with svc.store.read() as s:
        pid = s.get(Job, first["job_id"]).pid
    os.kill(pid, signal.SIGKILL)
    thread.join(30)
    assert out["state"] == "failed" and "signal 9" in out["error"]
    assert svc.builds.get(first["id"])["image_id"] is None
    wait_for(lambda: not build_containers(docker_api), timeout=30)
    job, again = run_build(svc, {"release_id": rel["id"]})
    assert job["state"] == "succeeded", job["error"]
    assert again["image_id"]


def test_same_content_reuses_the_image_unless_no_cache(svc: Services, docker_api: Any, base_image: str) -> None:
    rel = release(svc, {"config.json": "{}"})
    job1, first = run_build(svc, {"release_id": rel["id"], "base_image": base_image})
    assert job1["state"] == "succeeded", job1["error"]
    job2, second = run_build(svc, {"release_id": rel["id"], "base_image": base_image, "tag": "tiny:again"})
    assert job2["state"] == "succeeded", job2["error"]
    assert second["reused"] is True and second["image_id"] == first["image_id"]
    assert second["context_hash"] == first["context_hash"]
    assert "Step" not in log_text(svc, job2["id"]) and "instead of building" in log_text(svc, job2["id"])
    assert docker_api.inspect_image("tiny:again")["Id"] == first["image_id"]
    job3, third = run_build(svc, {"release_id": rel["id"], "base_image": base_image, "tag": "tiny:fresh",
                                  "no_cache": True})
    assert job3["state"] == "succeeded", job3["error"]
    assert third["reused"] is False and third["image_id"] != first["image_id"]
    assert "Using cache" not in log_text(svc, job3["id"])


def test_auto_build_on_release_creation(svc: Services, docker_api: Any, base_image: str) -> None:
    rel = release(svc, {"Dockerfile": f"FROM {base_image}\nCOPY weights.bin /w\n"}, auto_build=True)
    assert rel["build"]["tag"] == "tiny:1.0"
    job = Worker(svc.store, place=svc.jobs.place).run_job(rel["build"]["job_id"])
    assert job["state"] == "succeeded", job["error"]
    build = svc.builds.get(rel["build"]["id"])
    assert docker_api.inspect_image(build["image_id"])["Config"]["Labels"][f"{LABEL}.release-id"] == str(rel["id"])
    assert [b["id"] for b in svc.builds.list(release_id=rel["id"])["items"]] == [build["id"]]


def test_an_active_build_of_the_same_release_and_tag_is_not_queued_twice(svc: Services, base_image: str) -> None:
    rel = release(svc, {})
    first = svc.builds.start({"release_id": rel["id"], "base_image": base_image}, "tester")
    again = svc.builds.start({"release_id": rel["id"], "base_image": base_image}, "tester")
    assert again["id"] == first["id"] and again.get("deduplicated") is True
    assert rows(svc, Build) == 1 and rows(svc, Job) == 1


# -- pushing -------------------------------------------------------------------------------

def test_push_then_pull_back_by_digest(svc: Services, docker_api: Any, base_image: str, registry_addr: str) -> None:
    rel = release(svc, {})
    job, build = run_build(svc, {"release_id": rel["id"], "base_image": base_image})
    assert job["state"] == "succeeded", job["error"]
    secret = "s3cret-pa55word-for-the-test"
    push = svc.builds.push(build["id"], {"registry": registry_addr, "repository": "team/tiny", "tag": "v1",
                                         "username": "ada", "password": secret}, "tester")
    assert push["reference"] == f"{registry_addr}/team/tiny:v1"
    pushed = Worker(svc.store, place=svc.jobs.place).run_job(push["job_id"])
    assert pushed["state"] == "succeeded", pushed["error"]
    record = svc.builds.get(build["id"])["pushes"][0]
    assert record["digest"].startswith("sha256:") and record["state"] == "succeeded"
    # the credentials were never stored: not in the database file, not in the log, no secret file left
    assert_secret_nowhere(svc.workspace.state_dir, secret)
    assert secret not in log_text(svc, push["job_id"])
    assert not any(p.is_file() for p in svc.workspace.state_dir.rglob("*") if "secret" in str(p))
    # pull back by digest: the registry has exactly the image that was built
    docker_api.remove_image(f"{registry_addr}/team/tiny:v1")
    chunks = list(docker_api.pull(f"{registry_addr}/team/tiny", tag=record["digest"], stream=True, decode=True))
    assert not [c for c in chunks if "error" in c], chunks
    assert docker_api.inspect_image(f"{registry_addr}/team/tiny@{record['digest']}")["Id"] == build["image_id"]


def test_push_to_nowhere_fails_clearly(svc: Services, base_image: str) -> None:
    rel = release(svc, {})
    job, build = run_build(svc, {"release_id": rel["id"], "base_image": base_image})
    assert job["state"] == "succeeded", job["error"]
    push = svc.builds.push(build["id"], {"registry": "127.0.0.1:1"}, "tester")
    pushed = Worker(svc.store, place=svc.jobs.place).run_job(push["job_id"])
    assert pushed["state"] == "failed" and "127.0.0.1:1" in pushed["error"]
    assert svc.builds.get(build["id"])["pushes"][0]["digest"] is None


def test_push_needs_a_built_image(svc: Services, base_image: str) -> None:
    rel = release(svc, {})
    build = svc.builds.start({"release_id": rel["id"], "base_image": base_image}, "tester")
    with pytest.raises(Conflict, match="no image yet"):
        svc.builds.push(build["id"], {"registry": "127.0.0.1:5000"}, "tester")
    with pytest.raises(InvalidInput) as err:
        svc.builds.push(build["id"], {"registry": "127.0.0.1:5000", "username": "ada"}, "tester")
    assert err.value.field == "password"
    assert rows(svc, BuildPush) == 0


# -- refusals: clear, and nothing recorded ---------------------------------------------------

def test_no_daemon_says_what_to_check_and_records_nothing(workspace: Path, tmp_path: Path) -> None:
    svc = Services(Settings.of(workspace, docker_host=f"unix://{tmp_path}/no-such-docker.sock"))
    try:
        rel = release(svc, {})
        jobs_before = rows(svc, Job)
        with pytest.raises(Unavailable) as err:
            svc.builds.start({"release_id": rel["id"]}, "tester")
        assert "docker_host" in err.value.message and "no-such-docker.sock" in err.value.message
        assert "docker service" in err.value.message
        assert rows(svc, Build) == 0 and rows(svc, Job) == jobs_before
    finally:
        svc.store.dispose()
        store_engine._stores.pop(svc.store.url, None)


@pytest.mark.parametrize(("data", "field"), [
    ({"tag": "Bad Tag"}, "tag"), ({"base_image": "UPPER/case"}, "base_image"), ({"tag": "reg.io:5000/A/b:1"}, "tag"),
    ({"tag": "team/Tiny:1"}, "tag"), ({"tag": "x:" + "t" * 129}, "tag"),
    ({"build_args": {"A": 1}}, "build_args"), ({"platform": "amd64"}, "platform"),
    ({"accelerator": "tpu"}, "accelerator"), ({"dockerfile": "custom"}, "dockerfile"),
    ({"project": "../outside"}, "project"), ({"include": ["nope"]}, "include"),
    ({"run_check": {"command": []}}, "run_check"), ({"release_id": 999}, None),
])
def test_bad_build_requests_are_refused(svc: Services, data: dict[str, Any], field: str | None) -> None:
    rel = release(svc, {})
    before = (rows(svc, Build), rows(svc, Job))
    with pytest.raises((InvalidInput, Exception)) as err:
        svc.builds.start({"release_id": rel["id"], **data}, "tester")
    if field:
        assert isinstance(err.value, InvalidInput) and err.value.field == field, err.value
        assert field in err.value.message
    else:
        assert "999" in str(err.value)
    assert (rows(svc, Build), rows(svc, Job)) == before


def test_release_reference_parsing(svc: Services) -> None:
    rel = release(svc, {}, quantization="int4")
    assert svc.builds.release_id("tiny:1.0:int4") == rel["id"]
    with pytest.raises(InvalidInput, match="MODEL:VERSION"):
        svc.builds.release_id("tiny")
    with pytest.raises(Exception, match="tiny:1.0:none"):
        svc.builds.release_id("tiny:1.0")


def test_build_log_reads_like_the_job_log(svc: Services, base_image: str) -> None:
    rel = release(svc, {})
    job, build = run_build(svc, {"release_id": rel["id"], "base_image": base_image})
    log = svc.builds.log(build["id"])
    assert log["lines"] and log["lines"] == svc.jobs.log(job["id"])["lines"]
    assert json.dumps(log)
