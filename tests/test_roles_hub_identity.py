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
from sqlalchemy import select

from jupyter_mlops.store import Store
from jupyter_mlops.store.schema import Base

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
def jp_server_config(jp_root_dir: Path) -> dict[str, Any]:
    return {
        "ServerApp": {
            "jpserver_extensions": {"jupyter_mlops": True},
            "allow_unauthenticated_access": False,
            "identity_provider_class": HubLikeIdentityProvider,
        },
        "MLOpsApp": {
            "workspace_dir": str(jp_root_dir),
            "roles": {"group:ml-leads": "release_manager", "group:ml": "writer"},
        },
    }


def rows(root: Path) -> dict[str, list[Any]]:
    store = Store(f"sqlite:///{root / '.mlops' / 'mlops.db'}")
    try:
        with store.read() as s:
            return {t.name: sorted(map(tuple, s.execute(select(t)).all()), key=repr)
                    for t in Base.metadata.sorted_tables if t.name != "workers"}
    finally:
        store.dispose()


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
    before = rows(jp_root_dir)
    status, refused = await call("bob-token", "POST", f"releases/{release['id']}/promote")
    assert (status, refused) == (403, {"error": "Forbidden",
                                       "message": "promote: needs the release manager role (bob is a writer)"})
    assert rows(jp_root_dir) == before
    status, promoted = await call("ada-token", "POST", f"releases/{release['id']}/promote")
    assert (status, promoted["status"]) == (200, "released")
    status, audit = await call("ada-token", "GET", "audit")
    assert [(e["action"], e["actor"]) for e in audit["items"]] == [("promote", "ada"), ("create", "bob"),
                                                                  ("create", "bob")]
