"""The registry through the real server and its real store (a SQLite file, a PostgreSQL database): models, releases and
their lifecycle, artifacts, deployments, aliases, audit, search, pagination, dashboard,
health, jobs, and the routes under a non-default base_url."""
from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from pathlib import Path
from typing import Any

import pytest
from jupyter_server.auth import IdentityProvider, User

from jupyter_mlops.deps.service import Target, record_run
from jupyter_mlops.registry import rules
from jupyter_mlops.server.routes import ROUTES
from rest_support import ok, walk

Api = Any
pytestmark = pytest.mark.both_stores


async def model(api: Api, name: str = "m1", **fields: Any) -> dict[str, Any]:
    return await ok(api, "POST", "models", {"name": name, "storage_path": f"/data/{name}", **fields})


async def release(api: Api, name: str = "m1", version: str = "1.0", **fields: Any) -> dict[str, Any]:
    return await ok(api, "POST", "releases", {"model": name, "version": version, **fields})


async def whoami(jp_fetch: Any) -> str:
    """The username Jupyter's identity provider gives the test's token."""
    resp = await jp_fetch("api", "me")
    return json.loads(resp.body)["identity"]["username"]


class Ada(IdentityProvider):
    """Token logins without a cookie are a fresh random `anonymous` user on every request
    in stock Jupyter; here they are always Ada, so the audit trail can be checked."""

    def generate_anonymous_user(self, handler: Any) -> User:
        return User(username="ada", name="Ada Lovelace", display_name="Ada Lovelace")


@pytest.fixture
def jp_server_config(jp_server_config: dict[str, Any]) -> dict[str, Any]:
    return {**jp_server_config, "ServerApp": {**jp_server_config["ServerApp"], "identity_provider_class": Ada}}


# -- models --------------------------------------------------------------------------------

@pytest.mark.parametrize("storage_path", ["s3://my-bucket/models/m1", "/data/models/m1", "relative/m1",
                                          "hf://org/name", "hf://Org-1/name.v2@main"])
async def test_model_create_read_update(api: Api, storage_path: str) -> None:
    fields = {"storage_path": storage_path, "repository": "https://git.example/m1", "company": "ACME",
              "base_model": "llama-3", "parameter_count": 8_000_000_000, "description": "a test model",
              "tags": ["llm", "chat", "llm"], "metadata": {"license": "apache-2.0", "nested": {"a": [1, 2]}}}
    created = await ok(api, "POST", "models", {"name": "m1", **fields})
    assert {k: created[k] for k in fields} == {**fields, "tags": ["chat", "llm"]}
    assert created["created_at"] == created["updated_at"]
    got = await ok(api, "GET", "models/m1")
    assert got == {**created, "release_count": 0, "aliases": {}, "stored": None}
    changed = await ok(api, "PATCH", "models/m1", {"description": None, "tags": [], "parameter_count": 7})
    assert (changed["description"], changed["tags"], changed["parameter_count"]) == (None, [], 7)
    assert changed["created_at"] == created["created_at"] < changed["updated_at"]
    assert (await ok(api, "GET", "models/m1"))["storage_path"] == storage_path


# -- releases ------------------------------------------------------------------------------

QUANT_SPELLINGS = [(None, "none"), ("none", "none"), ("fp16", "fp16"), ("FP16", "fp16"), ("float16", "fp16"),
                   ("BF16", "bf16"), ("int8", "int8"), ("INT4", "int4"), ("gguf", "gguf"),
                   ("gguf-q4_k_m", "gguf-q4_k_m"), ("GGUF-Q8_0", "gguf-q8_0"), ("Q4_K_M", "gguf-q4_k_m"),
                   ("IQ2_XXS", "gguf-iq2_xxs"), ("gguf_Q5_K_S", "gguf-q5_k_s"), ("exl2-4.0bpw", "exl2-4.0bpw"),
                   ("EXL2_6.5bpw", "exl2-6.5bpw"), ("mlx-4bit", "mlx-4bit"), ("MLX-8bit", "mlx-8bit"),
                   ("bnb-4bit", "bnb-4bit"), ("bitsandbytes-nf4", "bnb-nf4"), ("AWQ", "awq"), ("awq-4bit", "awq-4bit"),
                   ("GPTQ-4bit-128g", "gptq-4bit-128g"), ("my-quant+v2", "my-quant+v2")]


@pytest.mark.parametrize(("given", "stored"), QUANT_SPELLINGS)
async def test_release_fields(api: Api, given: str | None, stored: str) -> None:
    await model(api)
    quant = {} if given is None else {"quantization": given}
    created = await release(api, version="2.1.0-rc1", release_notes="first", metadata={"eval": {"mmlu": 0.61}},
                            auto_build=True, **quant)
    assert {k: created[k] for k in ("model", "version", "quantization", "status", "release_notes", "auto_build",
                                     "metadata")} == {
        "model": "m1", "version": "2.1.0-rc1", "quantization": stored, "status": "candidate",
        "release_notes": "first", "auto_build": True, "metadata": {"eval": {"mmlu": 0.61}}}
    build = created.pop("build")  # auto_build queued the release's build in the same transaction
    assert set(build) == {"id", "job_id", "tag"} and build["tag"].startswith("m1:2.1.0-rc1")
    assert await ok(api, "GET", f"releases/{created['id']}") == created
    changed = await ok(api, "PATCH", f"releases/{created['id']}", {"auto_build": False, "release_notes": None})
    assert (changed["auto_build"], changed["release_notes"], changed["version"]) == (False, None, "2.1.0-rc1")
    # the same version in another quantization is another release
    other = await release(api, version="2.1.0-rc1", quantization="int4" if stored != "int4" else "int8")
    assert other["id"] != created["id"]
    # another spelling of the same quantization is the same release: refused, not a twin
    if given is not None and given != stored:
        status, again = await api("POST", "releases", {"model": "m1", "version": "2.1.0-rc1", "quantization": stored})
        assert status == 409 and "already exists" in again["message"], again
    listed = await ok(api, "GET", "releases", model="m1", quantization=given or "none")
    assert [r["id"] for r in listed["items"]] == [created["id"]]  # a filter is normalised the same way


def test_lifecycle_table_is_the_issue_s() -> None:
    assert rules.TRANSITIONS["promote"][1] == "released" and "candidate" in rules.TRANSITIONS["promote"][0]
    assert rules.TRANSITIONS["demote"] == (("released",), "demoted")
    assert rules.TRANSITIONS["deprecate"][1] == "deprecated" and "released" in rules.TRANSITIONS["deprecate"][0]


def _route_to(status: str) -> list[str]:
    """The shortest list of actions taking a candidate to `status` (from rules.TRANSITIONS)."""
    seen, todo = {"candidate": []}, deque(["candidate"])
    while todo:
        here = todo.popleft()
        for action, (sources, target) in rules.TRANSITIONS.items():
            if here in sources and target not in seen:
                seen[target] = [*seen[here], action]
                todo.append(target)
    return seen[status]


@pytest.mark.parametrize("action", list(rules.TRANSITIONS))
@pytest.mark.parametrize("status", rules.RELEASE_STATUSES)
async def test_lifecycle(api: Api, status: str, action: str) -> None:
    await model(api)
    rid = (await release(api))["id"]
    for step in _route_to(status):
        await ok(api, "POST", f"releases/{rid}/{step}")
    assert (await ok(api, "GET", f"releases/{rid}"))["status"] == status
    sources, target = rules.TRANSITIONS[action]
    code, answer = await api("POST", f"releases/{rid}/{action}")
    if status in sources:
        assert (code, answer["status"]) == (200, target)
    else:
        assert code == 409 and status in answer["message"], answer
    after = await ok(api, "GET", f"releases/{rid}")
    assert after["status"] == (target if status in sources else status)


async def test_release_ids_are_never_reused(api: Api) -> None:
    await model(api)
    ids = [(await release(api, version=v))["id"] for v in ("1", "2", "3")]
    for victim in (ids[-1], ids[0], ids[1]):  # the highest id first, then the others
        version = (await ok(api, "GET", f"releases/{victim}"))["version"]
        await ok(api, "DELETE", f"releases/{victim}")
        assert (await api("GET", f"releases/{victim}"))[0] == 404
        again = await release(api, version=version)
        assert again["id"] not in ids and again["id"] > max(ids), (again, ids)
        ids.append(again["id"])
    # deleting the newest of all, then recreating it, still moves on
    await ok(api, "DELETE", f"releases/{ids[-1]}")
    assert (await release(api, version="9"))["id"] > max(ids)


# -- artifacts and deployments -------------------------------------------------------------

async def test_artifacts(api: Api) -> None:
    await model(api)
    rid = (await release(api))["id"]
    sha = "ab" * 32
    of_release = await ok(api, "POST", "artifacts", {"release_id": rid, "name": "model.safetensors",
                                                     "path": "s3://bucket/m1/model.safetensors", "kind": "weights",
                                                     "size": 123_456_789_012, "sha256": sha})
    of_model = await ok(api, "POST", "artifacts", {"model": "m1", "name": "card.md", "path": "/data/m1/card.md"})
    assert (of_release["release_id"], of_release["size"], of_release["sha256"]) == (rid, 123_456_789_012, sha)
    assert (of_model["release_id"], of_model["kind"], of_model["model_id"]) == (None, "file", of_release["model_id"])
    assert await ok(api, "GET", f"artifacts/{of_release['id']}") == of_release
    assert [a["id"] for a in (await ok(api, "GET", "artifacts", model="m1"))["items"]] == [of_model["id"],
                                                                                           of_release["id"]]
    assert [a["id"] for a in (await ok(api, "GET", "artifacts", release_id=str(rid)))["items"]] == [of_release["id"]]
    assert [a["id"] for a in (await ok(api, "GET", "artifacts", kind="weights"))["items"]] == [of_release["id"]]
    await ok(api, "DELETE", f"artifacts/{of_model['id']}")
    assert (await api("GET", f"artifacts/{of_model['id']}"))[0] == 404


async def test_deployments(api: Api) -> None:
    await model(api)
    rid = (await release(api))["id"]
    dep = await ok(api, "POST", "deployments", {"release_id": rid, "environment": "staging",
                                                "endpoint": "https://staging.example/v1", "notes": "canary"})
    assert (dep["status"], dep["endpoint"], dep["notes"]) == ("pending", "https://staging.example/v1", "canary")
    assert dep["created_at"] == dep["updated_at"]
    changed = await ok(api, "PATCH", f"deployments/{dep['id']}", {"status": "active"})
    assert changed["status"] == "active" and changed["updated_at"] > dep["updated_at"]
    for filters, found in [({"model": "m1"}, 1), ({"environment": "staging"}, 1), ({"environment": "prod"}, 0),
                           ({"status": "active"}, 1), ({"status": "retired"}, 0), ({"release_id": str(rid)}, 1)]:
        assert len((await ok(api, "GET", "deployments", **filters))["items"]) == found, filters
    assert (await api("DELETE", f"releases/{rid}"))[0] == 409  # deployed
    await ok(api, "DELETE", f"deployments/{dep['id']}")
    assert (await api("GET", f"deployments/{dep['id']}"))[0] == 404
    await ok(api, "DELETE", f"releases/{rid}")


# -- aliases -------------------------------------------------------------------------------

async def test_aliases_move_and_stay_within_their_model(api: Api) -> None:
    await model(api)
    await model(api, "other")
    r1, r2 = (await release(api, version="1"))["id"], (await release(api, version="2"))["id"]
    foreign = (await release(api, "other", version="1"))["id"]
    await ok(api, "PUT", "aliases/m1/production", {"release_id": r1})
    assert (await ok(api, "GET", "aliases/m1/production"))["release"]["id"] == r1
    await ok(api, "PUT", "aliases/m1/production", {"release_id": r2})  # moving, not adding
    assert (await ok(api, "GET", "aliases/m1/production"))["release"]["id"] == r2
    code, answer = await api("PUT", "aliases/m1/production", {"release_id": foreign})
    assert (code, answer["field"]) == (400, "release_id")
    await ok(api, "PUT", "aliases/m1/staging", {"release_id": r1})
    await ok(api, "PUT", "aliases/other/production", {"release_id": foreign})
    assert (await ok(api, "GET", "models/m1"))["aliases"] == {"production": r2, "staging": r1}
    listed = (await ok(api, "GET", "aliases", model="m1"))["items"]
    assert listed == [{"model": "m1", "alias": "production", "release_id": r2},
                      {"model": "m1", "alias": "staging", "release_id": r1}]
    events = (await ok(api, "GET", "audit", model="m1", entity_type="alias"))["items"]
    moved = [e for e in events if e["entity_id"] == "m1@production"]
    assert [(e["before"] or {}).get("release_id") for e in moved] == [r1, None]
    assert [e["after"]["release_id"] for e in moved] == [r2, r1]
    await ok(api, "DELETE", "aliases/m1/staging")
    assert (await api("GET", "aliases/m1/staging"))[0] == 404
    # deleting the release an alias points at removes the alias, and says so in the history
    await ok(api, "DELETE", f"releases/{r2}")
    assert (await ok(api, "GET", "models/m1"))["aliases"] == {}
    last = (await ok(api, "GET", "audit", model="m1", entity_type="alias"))["items"][0]
    assert (last["action"], last["entity_id"], last["before"]["release_id"], last["after"]) == (
        "delete_alias", "m1@production", r2, None)


# -- audit ---------------------------------------------------------------------------------

async def test_audit_records_who_what_when_and_survives_the_model(api: Api, jp_fetch: Any) -> None:
    user = await whoami(jp_fetch)
    assert user == "ada"
    start = time.time()
    await model(api, tags=["a"])
    await model(api, "bystander")
    await ok(api, "PATCH", "models/m1", {"description": "changed"})
    rid = (await release(api))["id"]
    await ok(api, "POST", f"releases/{rid}/promote")
    await ok(api, "PUT", "aliases/m1/production", {"release_id": rid})
    art = (await ok(api, "POST", "artifacts", {"release_id": rid, "name": "w", "path": "/w"}))["id"]
    dep = (await ok(api, "POST", "deployments", {"release_id": rid, "environment": "prod"}))["id"]
    await ok(api, "PATCH", f"deployments/{dep}", {"status": "active"})
    assert (await api("DELETE", "models/m1"))[0] == 409
    assert (await ok(api, "DELETE", "models/m1", cascade="true"))["releases_deleted"] == 1
    assert (await api("GET", "models/m1"))[0] == 404
    for gone in (f"releases/{rid}", f"artifacts/{art}", f"deployments/{dep}", "aliases/m1/production"):
        assert (await api("GET", gone))[0] == 404, gone

    events = [e for page in await walk(api, "audit", 3, model="m1") for e in page]
    assert [e["id"] for e in events] == sorted((e["id"] for e in events), reverse=True)
    assert {e["actor"] for e in events} == {user}
    assert all(start - 5 < _epoch(e["at"]) < time.time() + 5 for e in events)
    assert all(e["entity_id"] != "bystander" for e in events)
    what = [(e["entity_type"], e["action"]) for e in reversed(events)]
    assert what[:8] == [("model", "create"), ("model", "update"), ("release", "create"), ("release", "promote"),
                        ("alias", "set_alias"), ("artifact", "create"), ("deployment", "create"),
                        ("deployment", "update")]
    assert what[-1] == ("model", "delete")
    # the cascade says what it removed
    assert sorted(what[8:-1]) == [("alias", "delete_alias"), ("artifact", "delete"), ("deployment", "delete"),
                                  ("release", "delete")]
    update = events[-2]
    assert (update["before"]["description"], update["after"]["description"]) == (None, "changed")
    promote = next(e for e in events if e["action"] == "promote")
    assert (promote["before"]["status"], promote["after"]["status"]) == ("candidate", "released")
    assert (events[0]["before"]["name"], events[0]["after"]) == ("m1", None)
    code, answer = await api("GET", "audit", model="never-was")
    assert code == 404, answer


def _epoch(iso: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(iso).timestamp()


# -- search, filters, pagination -------------------------------------------------------------

async def test_walk_120_models(api: Api) -> None:
    names = [f"model-{i:03d}" for i in range(120)]
    for i, name in enumerate(reversed(names)):  # created out of order
        await model(api, name, tags=["even" if i % 2 else "odd"], base_model=f"base-{i % 3}",
                    description="has_underscore" if i == 7 else None)
    pages = await walk(api, "models", 50)
    assert [len(p) for p in pages] == [50, 50, 20]
    assert [m["name"] for p in pages for m in p] == names
    # filters narrow the walk without breaking it
    odd = [m["name"] for p in await walk(api, "models", 7, tag="odd") for m in p]
    assert odd == sorted(names[-1 - i] for i in range(0, 120, 2))
    base = [m["name"] for p in await walk(api, "models", 50, base_model="base-1") for m in p]
    assert len(base) == 40 and base == sorted(base)
    assert [m["name"] for m in (await ok(api, "GET", "models", q="MODEL-11"))["items"]] == [
        f"model-11{i}" for i in range(10)]
    assert [m["name"] for m in (await ok(api, "GET", "models", q="has_under"))["items"]] == [names[-8]]
    assert (await ok(api, "GET", "models", q="_", tag="odd"))["items"] == []  # `_` is not a wildcard
    assert (await ok(api, "GET", "models", q="%"))["items"] == []


async def test_filter_by_release_status(api: Api) -> None:
    for name in ("a", "b", "c"):
        await model(api, name)
    ra, rb = (await release(api, "a"))["id"], (await release(api, "b"))["id"]
    await ok(api, "POST", f"releases/{rb}/promote")
    for status, expected in [("candidate", ["a"]), ("released", ["b"]), ("deprecated", [])]:
        assert [m["name"] for m in (await ok(api, "GET", "models", status=status))["items"]] == expected
    releases = (await ok(api, "GET", "releases", status="candidate"))["items"]
    assert [r["id"] for r in releases] == [ra]
    assert [r["id"] for r in (await ok(api, "GET", "releases", model="b"))["items"]] == [rb]


ALL_LISTS = [r.path.strip("/") for r in ROUTES if "cursor" in next(iter(r.ops.values())).query]
#: The hub's lists are walked in test_hub_faces.py::test_rest_lists_page (they need FakeHub downloads),
#: builds in test_builds_api.py (they need a Docker daemon), a model's alias history in
#: test_api_alias_timeline.py.
LISTS = [p for p in ALL_LISTS if not p.startswith("hub/") and p != "builds" and "{" not in p]


def test_every_list_pages() -> None:
    assert set(ALL_LISTS) == {"models", "releases", "artifacts", "deployments", "aliases", "audit", "jobs",
                              "deps/history", "hub/downloads", "hub/models", "builds", "models/{name}/alias-history"}


@pytest.mark.parametrize("path", LISTS)
async def test_every_list_walks_each_item_once(api: Api, jp_serverapp: Any, path: str) -> None:
    for i in range(4):
        await model(api, f"m{i}")
        for v in ("1", "2"):
            rid = (await release(api, f"m{i}", v))["id"]
            await ok(api, "POST", "artifacts", {"release_id": rid, "name": "w", "path": "/w"})
            await ok(api, "POST", "deployments", {"release_id": rid, "environment": "prod"})
            await ok(api, "PUT", f"aliases/m{i}/alias-{v}", {"release_id": rid})
    services = jp_serverapp.web_app.settings["mlops_services"].get()
    for _ in range(7):
        services.jobs.submit("diagnostic.count", {"n": 1, "delay": 0})
    for i in range(5):
        record_run(services.store, "check", "tester", Target(f"/envs/{i}/bin/python", "/project"),
                   needs_fix=bool(i % 2), summary={"i": i})
    everything = await ok(api, "GET", path, limit="500")
    assert everything["next_cursor"] is None and len(everything["items"]) > 3
    pages = await walk(api, path, 3)
    assert [json.dumps(i, sort_keys=True) for p in pages for i in p if path != "jobs"] == [
        json.dumps(i, sort_keys=True) for i in everything["items"] if path != "jobs"]
    key = "id" if path != "aliases" else "alias"
    walked = [(i.get("model"), i[key]) for p in pages for i in p]
    assert walked == [(i.get("model"), i[key]) for i in everything["items"]]
    assert len(set(walked)) == len(walked)


# -- dashboard, health, openapi ------------------------------------------------------------

async def test_dashboard(api: Api, jp_root_dir: Path, db_url: str | None) -> None:
    weights = jp_root_dir / "models" / "org--m" / "w.bin"
    weights.parent.mkdir(parents=True)
    weights.write_bytes(b"\1" * 2_000_000)
    await model(api)
    ids = [(await release(api, version=str(v)))["id"] for v in range(7)]
    await ok(api, "POST", f"releases/{ids[0]}/promote")
    deps = [(await ok(api, "POST", "deployments", {"release_id": rid, "environment": "e"}))["id"] for rid in ids]
    await ok(api, "POST", "artifacts", {"model": "m1", "name": "w", "path": "/w"})
    board = await ok(api, "GET", "dashboard")
    assert board["counts"] == {
        "models": 1, "releases": 7, "artifacts": 1, "deployments": 7,
        "releases_by_status": {"candidate": 6, "released": 1, "demoted": 0, "deprecated": 0},
        "deployments_by_status": {"pending": 7, "active": 0, "failed": 0, "retired": 0}}
    assert [r["id"] for r in board["recent_releases"]] == ids[::-1][:5]
    assert [d["id"] for d in board["recent_deployments"]] == deps[::-1][:5]
    storage = board["storage"]
    assert storage["workspace"]["path"] == str(jp_root_dir.resolve())
    assert storage["models"]["path"] == str((jp_root_dir / "models").resolve())
    assert storage["models"]["used_bytes"] >= 2_000_000
    assert storage["workspace"]["used_bytes"] > 0 or db_url  # the database itself, on SQLite
    for place in storage.values():
        assert 0 < place["disk_free_bytes"] <= place["disk_total_bytes"]
    assert set(board["jobs"]) >= {"queued", "running", "succeeded", "failed", "cancelled", "interrupted"}


async def test_health(api: Api, jp_root_dir: Path, db_url: str | None) -> None:
    from jupyter_mlops.store.engine import HEAD_REVISION

    health = await ok(api, "GET", "health")
    assert health["status"] == "ok" and health["store_revision"] == HEAD_REVISION
    assert health["workspace"] == str(jp_root_dir.resolve())
    assert (jp_root_dir / ".mlops" / "mlops.db").is_file() is (db_url is None)


class TestOtherBaseURL:
    @pytest.fixture
    def jp_base_url(self) -> str:
        return "/hub/user/ada/"

    async def test_routes_live_under_base_url(self, api: Api, jp_auth_header: dict[str, str],
                                              http_server_client: Any) -> None:
        assert (await ok(api, "GET", "health"))["status"] == "ok"
        assert (await model(api))["name"] == "m1"
        assert (await ok(api, "GET", "openapi.json"))["servers"] == [{"url": "/hub/user/ada/mlops/api"}]
        resp = await http_server_client.fetch("/hub/user/ada/mlops/api/models/m1", raise_error=False,
                                              headers=jp_auth_header)
        assert resp.code == 200
        for wrong in ("/mlops/api/health", "/a%40b/mlops/api/health", "/hub/user/ada/api/health"):
            resp = await http_server_client.fetch(wrong, raise_error=False, headers=jp_auth_header)
            assert resp.code == 404, wrong


# -- jobs ----------------------------------------------------------------------------------

async def _until(api: Api, job_id: int, states: tuple[str, ...], timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job = await ok(api, "GET", f"jobs/{job_id}")
        if job["state"] in states or time.monotonic() > deadline:
            return job
        await asyncio.sleep(0.1)


async def test_jobs_list_get_log_cancel(api: Api, jp_serverapp: Any) -> None:
    jobs = jp_serverapp.web_app.settings["mlops_services"].get().jobs
    done = jobs.submit("diagnostic.count", {"n": 5, "delay": 0.01}, owner="ada")
    slow = jobs.submit("diagnostic.count", {"n": 600, "delay": 0.1})
    listed = (await ok(api, "GET", "jobs"))["items"]
    assert [j["id"] for j in listed][:2] == [slow["id"], done["id"]]
    finished = await _until(api, done["id"], ("succeeded", "failed"))
    assert (finished["state"], finished["result"], finished["owner"]) == ("succeeded", {"counted": 5}, "ada")
    log = await ok(api, "GET", f"jobs/{done['id']}/log")
    assert [line["line"] for line in log["lines"]] == [f"step {i} of 5" for i in range(1, 6)]
    seqs = [line["seq"] for line in log["lines"]]
    assert seqs == sorted(seqs) and log["next_after"] == seqs[-1]
    tail = await ok(api, "GET", f"jobs/{done['id']}/log", after=str(seqs[2]))
    assert [line["seq"] for line in tail["lines"]] == seqs[3:]
    assert (await ok(api, "GET", f"jobs/{done['id']}/log", after=str(seqs[-1])))["lines"] == []
    two = await ok(api, "GET", f"jobs/{done['id']}/log", limit="2")
    assert [line["seq"] for line in two["lines"]] == seqs[:2]

    cancelled = await ok(api, "POST", f"jobs/{slow['id']}/cancel")
    assert cancelled["cancel_requested"] is True
    assert (await _until(api, slow["id"], ("cancelled",)))["state"] == "cancelled"
    assert (await api("POST", f"jobs/{slow['id']}/cancel"))[0] == 409
    assert (await api("POST", f"jobs/{done['id']}/cancel"))[0] == 409
    assert [j["id"] for j in (await ok(api, "GET", "jobs", state="cancelled"))["items"]] == [slow["id"]]
    assert (await ok(api, "GET", "jobs", active="true"))["items"] == []
    assert (await api("GET", "jobs/424242"))[0] == 404
