"""Image builds through the REST API of a real Jupyter server, whose worker runs the jobs
against the test Docker daemon and registry (tests/services.sh starts both)."""
from __future__ import annotations

import asyncio
import os
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from docker_support import RUNNING, SLEEPY_RUN
from rest_support import ok, wait_job, walk
from store_support import assert_secret_nowhere


@pytest.fixture
def jp_server_config(jp_server_config: dict[str, Any], docker_host: str) -> dict[str, Any]:
    return {**jp_server_config, "MLOpsApp": {**jp_server_config["MLOpsApp"], "docker_host": docker_host}}


async def model_release(api: Any, root: Path, name: str = "tiny", version: str = "1.0",
                        dockerfile: str | None = None, **fields: Any) -> dict[str, Any]:
    folder = root / "src" / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "weights.bin").write_bytes(os.urandom(16 * 1024))
    if dockerfile:
        (folder / "Dockerfile").write_text(dockerfile)
    code, _ = await api("GET", f"models/{name}")
    if code == 404:
        await ok(api, "POST", "models", {"name": name, "storage_path": f"src/{name}"})
    return await ok(api, "POST", "releases", {"model": name, "version": version, **fields})


async def log_text(api: Any, build_id: int) -> str:
    answer = await ok(api, "GET", f"builds/{build_id}/log", limit="500")
    return "\n".join(line["line"] for line in answer["lines"])


def counts(root: Path) -> tuple[int, int]:
    with sqlite3.connect(root / ".mlops" / "mlops.db") as db:
        return (db.execute("select count(*) from builds").fetchone()[0],
                db.execute("select count(*) from jobs").fetchone()[0])


async def test_build_push_and_read_back(api: Any, jp_root_dir: Path, base_image: str, registry_addr: str) -> None:
    rel = await model_release(api, jp_root_dir)
    code, build = await api("POST", "builds", {"release_id": rel["id"], "base_image": base_image, "tag": "rest/tiny:1"})
    assert code == 201 and build["state"] in ("queued", "running") and build["tag"] == "rest/tiny:1"
    job = await wait_job(api, build["job_id"])
    assert job["state"] == "succeeded", job["error"]
    got = await ok(api, "GET", f"builds/{build['id']}")
    assert got["state"] == "succeeded" and got["image_id"].startswith("sha256:") and got["pushes"] == []
    assert "Successfully built" in await log_text(api, build["id"])
    code, push = await api("POST", f"builds/{build['id']}/push", {"registry": registry_addr, "username": "ada",
                                                                  "password": "pw-never-stored"})
    assert code == 201 and push["reference"] == f"{registry_addr}/rest/tiny:1"
    assert (await wait_job(api, push["job_id"]))["state"] == "succeeded"
    pushes = (await ok(api, "GET", f"builds/{build['id']}"))["pushes"]
    assert [p["digest"][:7] for p in pushes] == ["sha256:"]
    assert_secret_nowhere(jp_root_dir / ".mlops", "pw-never-stored")


async def test_cancel_a_running_build(api: Any, jp_root_dir: Path, base_image: str) -> None:
    rel = await model_release(api, jp_root_dir, dockerfile=f"FROM {base_image}\n{SLEEPY_RUN}")
    build = await ok(api, "POST", "builds", {"release_id": rel["id"]})
    for _ in range(600):  # bounded: 60 s
        if RUNNING in await log_text(api, build["id"]):
            break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError("the build never reached its RUN step")
    answer = await ok(api, "POST", f"builds/{build['id']}/cancel")
    assert answer["id"] == build["id"]
    assert (await wait_job(api, build["job_id"], timeout=30))["state"] == "cancelled"
    assert (await ok(api, "GET", f"builds/{build['id']}"))["image_id"] is None


async def test_auto_build_and_the_list_filters_and_pages(api: Any, jp_root_dir: Path, base_image: str) -> None:
    made = []
    for i in range(5):
        rel = await model_release(api, jp_root_dir, name=f"m{i % 2}", version=str(i),
                                  dockerfile=f"FROM {base_image}\nCOPY weights.bin /w\n", auto_build=True)
        made.append(rel["build"]["id"])
    for build_id in made:
        build = await ok(api, "GET", f"builds/{build_id}")
        assert (await wait_job(api, build["job_id"]))["state"] == "succeeded"
    everything = await ok(api, "GET", "builds", limit="500")
    assert [b["id"] for b in everything["items"]] == sorted(made, reverse=True)
    pages = await walk(api, "builds", 2)
    assert [b["id"] for p in pages for b in p] == sorted(made, reverse=True) and len(pages) == 3
    assert {b["model"] for b in (await ok(api, "GET", "builds", model="m1"))["items"]} == {"m1"}
    one = (await ok(api, "GET", "builds", release_id=str(everything["items"][0]["release_id"])))["items"]
    assert [b["id"] for b in one] == [everything["items"][0]["id"]]
    assert (await ok(api, "GET", "builds", active="true"))["items"] == []


BAD = [
    ({"release_id": "1"}, "release_id"),
    ({}, "release_id"),
    ({"release_id": 1, "tag": "Has Space"}, "tag"),
    ({"release_id": 1, "tag": "ok:" + "x" * 200}, "tag"),
    ({"release_id": 1, "platform": "x86"}, "platform"),
    ({"release_id": 1, "build_args": ["A=1"]}, "build_args"),
    ({"release_id": 1, "no_cache": "yes"}, "no_cache"),
    ({"release_id": 1, "run_check": {"command": "true", "devices": "tpu"}}, "run_check"),
    ({"release_id": 1, "colour": "red"}, "colour"),
]


@pytest.mark.parametrize(("body", "field"), BAD)
async def test_bad_input_names_the_field_and_changes_nothing(api: Any, jp_root_dir: Path, body: dict[str, Any],
                                                            field: str) -> None:
    await model_release(api, jp_root_dir)
    before = counts(jp_root_dir)
    code, answer = await api("POST", "builds", body)
    assert code == 400, answer
    assert answer["field"] == field and field in answer["message"]
    assert counts(jp_root_dir) == before


async def test_bad_push_and_unknown_builds(api: Any, jp_root_dir: Path, base_image: str) -> None:
    rel = await model_release(api, jp_root_dir)
    build = await ok(api, "POST", "builds", {"release_id": rel["id"], "base_image": base_image})
    await wait_job(api, build["job_id"])
    code, answer = await api("POST", f"builds/{build['id']}/push", {"registry": "not a host"})
    assert (code, answer["field"]) == (400, "registry")
    code, answer = await api("POST", f"builds/{build['id']}/push", {"registry": "127.0.0.1:5000", "password": "x"})
    assert (code, answer["field"]) == (400, "username")  # password alone: the username that goes with it is missing
    for method, path in (("GET", "builds/999"), ("GET", "builds/999/log"), ("POST", "builds/999/cancel"),
                         ("POST", "builds/999/push")):
        code, answer = await api(method, path, {"registry": "127.0.0.1:5000"} if path.endswith("push") else None)
        assert code == 404 and "999" in answer["message"], (path, answer)
    code, answer = await api("POST", "builds", {"release_id": 999})
    assert code == 404 and "999" in answer["message"]


class TestNoDaemon:
    @pytest.fixture
    def jp_server_config(self, jp_server_config: dict[str, Any], tmp_path: Path,
                         monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
        monkeypatch.delenv("DOCKER_HOST", raising=False)  # the environment would win over the config
        return {**jp_server_config, "MLOpsApp": {**jp_server_config["MLOpsApp"],
                                                 "docker_host": f"unix://{tmp_path}/absent.sock"}}

    async def test_503_says_what_to_check_and_records_nothing(self, api: Any, jp_root_dir: Path) -> None:
        rel = await model_release(api, jp_root_dir)
        before = counts(jp_root_dir)
        code, answer = await api("POST", "builds", {"release_id": rel["id"]})
        assert code == 503
        assert "docker_host" in answer["message"] and "absent.sock" in answer["message"]
        assert counts(jp_root_dir) == before
