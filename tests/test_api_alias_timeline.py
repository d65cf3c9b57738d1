"""The alias timeline, as_of and rollback through a real Jupyter server and its real store:
every answer checked against the OpenAPI document (the `api` fixture), refusals that
name the field and the rule and change nothing."""
from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from typing import Any

import pytest
from rest_support import ok, walk

pytestmark = pytest.mark.both_stores

Api = Any


async def instant() -> str:
    """A time strictly between the request before and the request after."""
    await asyncio.sleep(0.005)
    stamp = datetime.now(timezone.utc).isoformat()
    await asyncio.sleep(0.005)
    return stamp


async def timeline(api: Api, **params: Any) -> list[tuple[str, str, int | None, int | None]]:
    items = (await ok(api, "GET", "models/m1/alias-history", **params))["items"]
    return [(e["alias"], e["action"], e["previous_release_id"], e["release_id"]) for e in reversed(items)]


async def test_timeline_rollback_and_as_of(api: Api) -> None:
    before = await instant()
    await ok(api, "POST", "models", {"name": "m1", "storage_path": "/data/m1"})
    r1, r2, r3 = [(await ok(api, "POST", "releases", {"model": "m1", "version": v}))["id"]
                  for v in ("1.0", "2.0", "3.0")]
    # no previous target: refused, nothing recorded
    await ok(api, "PUT", "aliases/m1/production", {"release_id": r1})
    code, answer = await api("POST", "aliases/m1/production/rollback")
    assert code == 409 and answer["field"] == "alias" and "nothing to roll back to" in answer["message"]
    assert await timeline(api) == [("production", "set", None, r1)]
    t1 = await instant()
    await ok(api, "POST", f"releases/{r2}/promote")
    await ok(api, "PUT", "aliases/m1/production", {"release_id": r2})
    deployment = await ok(api, "POST", "deployments", {"release_id": r2, "environment": "prod", "status": "active"})
    t2 = await instant()
    await ok(api, "PUT", "aliases/m1/production", {"release_id": r3})
    await ok(api, "PATCH", f"deployments/{deployment['id']}", {"status": "retired"})
    await ok(api, "PUT", "aliases/m1/staging", {"release_id": r1})
    t3 = await instant()
    assert (await ok(api, "GET", "aliases/m1/production"))["rollback_to"] == r2
    event = await ok(api, "POST", "aliases/m1/production/rollback")
    assert (event["action"], event["previous_release_id"], event["release_id"], event["version"]) == (
        "rollback", r3, r2, "2.0")
    assert (await ok(api, "GET", "aliases/m1/production"))["release"]["id"] == r2
    await ok(api, "DELETE", "aliases/m1/staging")
    assert await timeline(api) == [
        ("production", "set", None, r1), ("production", "move", r1, r2), ("production", "move", r2, r3),
        ("staging", "set", None, r1), ("production", "rollback", r3, r2), ("staging", "delete", r1, None)]
    assert await timeline(api, alias="staging") == [("staging", "set", None, r1), ("staging", "delete", r1, None)]
    history = await ok(api, "GET", "models/m1/alias-history")
    assert history["rollback_to"] == {"production": r1}
    assert {e["actor"] for e in history["items"]} == {history["items"][0]["actor"]} != {""}
    pages = await walk(api, "models/m1/alias-history", 4)
    assert [len(p) for p in pages] == [4, 2]
    audit = (await ok(api, "GET", "audit", model="m1", action="rollback_alias"))["items"]
    assert [(a["before"]["release_id"], a["after"]["release_id"]) for a in audit] == [(r3, r2)]

    # what production was at each time, and the model's releases and deployments then
    async def production(at: str) -> dict[str, Any]:
        return await ok(api, "GET", "aliases/m1/production", as_of=at)

    assert [(await production(t))["release"]["id"] for t in (t1, t2, t3)] == [r1, r2, r3]
    assert (await production(t2))["release"]["status"] == "released"
    assert (await ok(api, "GET", "models/m1", as_of=t2))["aliases"] == {"production": r2}
    assert (await ok(api, "GET", "models/m1", as_of=t3))["aliases"] == {"production": r3, "staging": r1}
    releases = (await ok(api, "GET", "releases", model="m1", as_of=t1))["items"]
    assert [(r["id"], r["status"]) for r in releases] == [(r3, "candidate"), (r2, "candidate"), (r1, "candidate")]
    releases = (await ok(api, "GET", "releases", model="m1", as_of=t2, status="released"))["items"]
    assert [r["id"] for r in releases] == [r2]
    deployments = [(await ok(api, "GET", "deployments", model="m1", as_of=t))["items"] for t in (t1, t2, t3)]
    assert [[d["status"] for d in page] for page in deployments] == [[], ["active"], ["retired"]]

    # before the model existed: 404 from each; a malformed time: 400 naming as_of and the rule
    for path, params in (("models/m1", {}), ("aliases/m1/production", {}), ("releases", {"model": "m1"}),
                         ("deployments", {"model": "m1"})):
        code, answer = await api("GET", path, as_of=before, **params)
        assert code == 404 and "did not exist at" in answer["message"], (path, answer)
        code, answer = await api("GET", path, as_of="last tuesday", **params)
        assert code == 400 and answer["field"] == "as_of", (path, answer)
        assert answer["message"].startswith("as_of: must be an ISO 8601 time"), answer
    code, answer = await api("GET", "releases", as_of=t1)
    assert code == 400 and answer["field"] == "as_of" and "needs model" in answer["message"]
    code, answer = await api("GET", "aliases/m1/production", as_of=t1.replace("+00:00", "Z"))
    assert code == 200 and answer["release"]["id"] == r1


async def test_rollback_and_history_of_what_does_not_exist(api: Api) -> None:
    code, answer = await api("POST", "aliases/nope/production/rollback")
    assert code == 404 and "nope" in answer["message"]
    code, answer = await api("GET", "models/nope/alias-history")
    assert code == 404
    await ok(api, "POST", "models", {"name": "m1", "storage_path": "/data/m1"})
    code, answer = await api("POST", "aliases/m1/production/rollback")
    assert code == 404 and "no alias 'production'" in answer["message"]
    assert (await ok(api, "GET", "models/m1/alias-history"))["items"] == []
    code, answer = await api("GET", "models/m1/alias-history", alias="9x")
    assert code == 400 and answer["field"] == "alias"
