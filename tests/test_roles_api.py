"""Roles through REST: two real Jupyter servers (two users, Jupyter's own token login, as a
token-only client calls them) on one store, the team's roles in a system-wide config dir.
Ada's server learns who she is and her groups from a Hub-API-compatible server; Bob's from
$JUPYTERHUB_USER. A refusal is 403 JSON naming the role needed, and changes no row."""
from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hub_api_support import HubAPI
from store_support import all_rows
from lab_support import LabServer, isolated_env, start_lab

ROLES = {"bob": "writer", "group:ml-leads": "release_manager"}
pytestmark = pytest.mark.both_stores


@pytest.fixture
def pair(tmp_path: Path, db_url: str | None) -> Iterator[tuple[LabServer, LabServer, str]]:
    """Ada's and Bob's servers on one store (a SQLite file, or a PostgreSQL database); the
    roles in a system-wide config dir."""
    system = tmp_path / "etc-jupyter"
    system.mkdir()
    (system / "jupyter_server_config.json").write_text(json.dumps({"MLOpsApp": {"roles": ROLES}}))
    db_url = db_url or f"sqlite:///{tmp_path / 'team.db'}"
    hub = HubAPI({"ada-token": {"kind": "user", "name": "ada", "groups": ["ml-leads"]}})
    servers: list[LabServer] = []
    try:
        for name, extra in (("ada", {"JUPYTERHUB_API_URL": hub.url, "JUPYTERHUB_API_TOKEN": "ada-token"}), ("bob", {})):
            root, home = tmp_path / name / "workspace", tmp_path / name / "home"
            root.mkdir(parents=True)
            env = isolated_env(home, JUPYTERHUB_USER=name, JUPYTER_CONFIG_PATH=str(system), **extra)
            servers.append(start_lab(root, home, env=env, extra_args=[
                f"--MLOpsApp.workspace_dir={root}", f"--MLOpsApp.db_url={db_url}", "--MLOpsApp.run_worker=False"]))
        yield servers[0], servers[1], db_url
    finally:
        for server in servers:
            server.stop()
        hub.close()


def test_two_users_roles_and_protected_alias_over_rest(pair: tuple[LabServer, LabServer, str]) -> None:
    ada, bob, db_url = pair
    assert {k: ada.ok("GET", "health")[k] for k in ("user", "role")} == {"user": "ada", "role": "release_manager"}
    health = bob.ok("GET", "health")
    assert (health["user"], health["role"], health["protected_aliases"]) == ("bob", "writer", ["production"])

    ada.ok("POST", "models", {"name": "m", "storage_path": "hf://acme/m"})
    rid = bob.ok("POST", "releases", {"model": "m", "version": "1"})["id"]
    bob.ok("PUT", "aliases/m/staging", {"release_id": rid})  # a writer sets an unprotected alias

    before = all_rows(db_url)
    for method, path, body, message in [
        ("POST", f"releases/{rid}/promote", None, "promote: needs the release manager role (bob is a writer)"),
        ("PUT", "aliases/m/production", {"release_id": rid},
         "set alias 'production' (a protected alias): needs the release manager role (bob is a writer)"),
        ("DELETE", "models/m", None, "delete model: needs the release manager role (bob is a writer)"),
    ]:
        status, answer = bob.mlops(method, path, body, **({"cascade": "true"} if method == "DELETE" else {}))
        assert (status, answer) == (403, {"error": "Forbidden", "message": message}), (path, answer)
    assert all_rows(db_url) == before

    assert ada.ok("POST", f"releases/{rid}/promote")["status"] == "released"
    ada.ok("PUT", "aliases/m/production", {"release_id": rid})
    actors = [(e["action"], e["actor"]) for e in ada.ok("GET", "audit", model="m")["items"]]
    # token-only clients, yet each recorded as its user (not an anonymous id)
    assert actors == [("set_alias", "ada"), ("promote", "ada"), ("set_alias", "bob"), ("create", "bob"),
                      ("create", "ada")]


def test_the_alias_timeline_as_of_and_rollback_seen_from_both_servers(pair: tuple[LabServer, LabServer, str]) -> None:
    """Ada (release manager) moves `production` on her server; Bob reads who moved it and
    when, and what it was at a time between, on his; Bob may not roll a protected alias back
    (403, nothing changed), Ada may, and Bob sees the rollback."""
    import time
    from datetime import datetime, timezone

    ada, bob, db_url = pair
    ada.ok("POST", "models", {"name": "m", "storage_path": "hf://acme/m"})
    r1, r2 = (ada.ok("POST", "releases", {"model": "m", "version": v})["id"] for v in ("1.0", "2.0"))
    ada.ok("PUT", "aliases/m/production", {"release_id": r1})
    time.sleep(0.01)
    between = datetime.now(timezone.utc).isoformat()
    time.sleep(0.01)
    ada.ok("PUT", "aliases/m/production", {"release_id": r2})

    history = bob.ok("GET", "models/m/alias-history", alias="production")
    assert [(e["action"], e["release_id"], e["actor"]) for e in reversed(history["items"])] == [
        ("set", r1, "ada"), ("move", r2, "ada")]
    assert history["rollback_to"] == {"production": r1}
    assert bob.ok("GET", "aliases/m/production", as_of=between)["release"]["id"] == r1
    assert bob.ok("GET", "aliases/m/production")["release"]["id"] == r2

    before = all_rows(db_url)
    status, answer = bob.mlops("POST", "aliases/m/production/rollback")
    assert status == 403 and "needs the release manager role (bob is a writer)" in answer["message"], answer
    assert all_rows(db_url) == before
    event = ada.ok("POST", "aliases/m/production/rollback")
    assert (event["action"], event["release_id"]) == ("rollback", r1)
    assert bob.ok("GET", "aliases/m/production")["release"]["id"] == r1
    assert [e["actor"] for e in bob.ok("GET", "audit", model="m", action="rollback_alias")["items"]] == ["ada"]
