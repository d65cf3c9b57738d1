"""Roles under a JupyterHub-style identity in a real Jupyter server: the actor is the
identity provider's user, and their groups come from the Hub's user model.

JupyterHub's own identity provider (`jupyterhub.singleuser`) needs a running Hub and its OAuth
flow, which this machine does not have; `HubLikeIdentityProvider` stands in for it, a real
`jupyter_server` IdentityProvider that, like it, names the token's owner and keeps the Hub's
user model (with `groups`) on the user as `hub_user`."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jupyter_server.auth import IdentityProvider, User
from store_support import all_rows


#: The Hub's users by API token.
HUB_USERS = {
    "ada-token": {"kind": "user", "name": "ada", "groups": ["ml-leads"]},
    "bob-token": {"kind": "user", "name": "bob", "groups": ["ml"]},
}


class HubLikeIdentityProvider(IdentityProvider):
    """A token names a Hub user; the user carries the Hub's model as `hub_user`."""

    def get_user(self, handler: Any) -> User | None:
        scheme, _, token = (handler.request.headers.get("Authorization") or "").partition(" ")
        model = HUB_USERS.get(token) if scheme == "token" else None
        if model is None:
            return None
        handler._token_authenticated = True  # an API token: no XSRF cookie needed, as under the Hub
        user = User(username=str(model["name"]))
        user.hub_user = model  # type: ignore[attr-defined]
        return user


@pytest.fixture
def jp_server_config(jp_server_config: dict[str, Any]) -> dict[str, Any]:
    """The suite's server (conftest.py), under the Hub-like identity, with the team's roles."""
    jp_server_config["ServerApp"]["identity_provider_class"] = HubLikeIdentityProvider
    jp_server_config["MLOpsApp"]["roles"] = {"group:ml-leads": "release_manager", "group:ml": "writer"}
    return jp_server_config



async def test_groups_from_the_hub_user_give_the_roles(jp_fetch: Any, jp_root_dir: Path) -> None:
    async def call(token: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        resp = await jp_fetch("mlops", "api", *path.split("/"), method=method, raise_error=False,
                              headers={"Authorization": f"token {token}"},
                              body=json.dumps(body) if body is not None or method in ("POST", "PUT") else None)
        return resp.code, json.loads(resp.body or b"null")

    status, health = await call("bob-token", "GET", "health")
    assert (status, health["user"], health["role"]) == (200, "bob", "writer")
    assert (await call("ada-token", "GET", "health"))[1]["role"] == "release_manager"
    assert (await call("nobody", "GET", "health"))[0] == 403

    assert (await call("bob-token", "POST", "models", {"name": "m", "storage_path": "hf://a/m"}))[0] == 201
    status, release = await call("bob-token", "POST", "releases", {"model": "m", "version": "1"})
    assert status == 201
    before = all_rows(f"sqlite:///{jp_root_dir / '.mlops' / 'mlops.db'}")
    status, refused = await call("bob-token", "POST", f"releases/{release['id']}/promote")
    assert (status, refused) == (403, {"error": "Forbidden",
                                       "message": "promote: needs the release manager role (bob is a writer)"})
    assert all_rows(f"sqlite:///{jp_root_dir / '.mlops' / 'mlops.db'}") == before
    status, promoted = await call("ada-token", "POST", f"releases/{release['id']}/promote")
    assert (status, promoted["status"]) == (200, "released")
    status, audit = await call("ada-token", "GET", "audit")
    assert [(e["action"], e["actor"]) for e in audit["items"]] == [("promote", "ada"), ("create", "bob"),
                                                                  ("create", "bob")]
