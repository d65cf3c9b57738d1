"""Who acts: the name recorded in the audit history and as a job's owner, and the
JupyterHub groups that name the actor's role (`registry.roles`)."""

from __future__ import annotations

import getpass
import json
import os
import urllib.request
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

#: Seconds to wait for the Hub API before acting without groups.
HUB_TIMEOUT = 5.0


class Actor(str):
    """A user name (what the audit records) carrying the user's JupyterHub `groups`.

    A `str`, so it goes wherever a name goes (audit rows, job owners, job parameters)."""

    groups: frozenset[str]

    def __new__(cls, name: str, groups: Iterable[str] = ()) -> Actor:
        actor = super().__new__(cls, name)
        actor.groups = frozenset(groups)
        return actor


def current_actor(environ: Mapping[str, str] | None = None) -> Actor:
    """Who acts in a kernel or the CLI (or a server under Jupyter's own login): under
    JupyterHub (`JUPYTERHUB_API_URL` and `JUPYTERHUB_API_TOKEN` set) the Hub's answer to
    `GET /user` (the token's owner and their groups); else `$JUPYTERHUB_USER` or the login,
    with no groups (also when the Hub does not answer)."""
    environ = os.environ if environ is None else environ
    url, token = environ.get("JUPYTERHUB_API_URL"), environ.get("JUPYTERHUB_API_TOKEN")
    found = hub_user(url, token) if url and token else None
    if found:
        return found
    return Actor(environ.get("JUPYTERHUB_USER") or getpass.getuser())


@lru_cache(maxsize=8)
def hub_user(api_url: str, token: str) -> Actor | None:
    """The user a JupyterHub API token belongs to, with their groups (None when the Hub
    does not answer, or answers with no name); asked once per process."""
    request = urllib.request.Request(
        api_url.rstrip("/") + "/user", headers={"Authorization": f"token {token}", "Accept": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=HUB_TIMEOUT) as resp:
            model: Any = json.load(resp)
    except (OSError, ValueError):
        return None
    if not isinstance(model, dict) or not isinstance(model.get("name"), str) or not model["name"]:
        return None
    return Actor(model["name"], _groups(model))


def server_actor(user: Any) -> Actor:
    """The actor of a request under JupyterHub (or any identity provider but Jupyter's own):
    the provider's user name, and the groups JupyterHub's user model lists."""
    name = getattr(user, "username", None) or str(user)
    return Actor(name, _groups(getattr(user, "hub_user", None)))


def _groups(model: Any) -> list[str]:
    """The group names a JupyterHub user model lists (none when it lists none)."""
    groups = model.get("groups") if isinstance(model, dict) else None
    return [g for g in groups if isinstance(g, str)] if isinstance(groups, list) else []
