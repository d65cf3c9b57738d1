"""Roles on the registry: who may change what. Every service that changes the registry
asks `Policy.authorize` before it writes, so no face can get past it.

- reader: reads only;
- writer: creates and updates models, releases, artifacts and deployments, sets, rolls back
  and deletes aliases (but protected ones), starts builds and pushes, scans a model's
  storage into artifacts and publishes models to S3;
- release manager: everything a writer does, and promotes, demotes, deprecates, deletes,
  imports from MLflow, and sets, moves, rolls back or deletes protected aliases.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ..errors import Forbidden

READER, WRITER, RELEASE_MANAGER = "reader", "writer", "release_manager"
#: The roles, weakest first.
ROLES = (READER, WRITER, RELEASE_MANAGER)
#: How a message names a role.
ROLE_TITLES = {READER: "reader", WRITER: "writer", RELEASE_MANAGER: "release manager"}
#: A `roles` key naming a JupyterHub group rather than a user.
GROUP_PREFIX = "group:"
DEFAULT_PROTECTED_ALIASES = ("production",)

#: The role each change of the registry needs (an alias action on a protected alias
#: needs the release manager role whatever this says).
ACTIONS: dict[str, str] = {
    "create_model": WRITER,
    "update_model": WRITER,
    "create_release": WRITER,
    "update_release": WRITER,
    "create_artifact": WRITER,
    "create_deployment": WRITER,
    "update_deployment": WRITER,
    "set_alias": WRITER,
    "delete_alias": WRITER,
    "rollback": WRITER,
    "set_default_model": WRITER,
    "build": WRITER,
    "push": WRITER,
    "scan": WRITER,
    "publish": WRITER,
    "promote": RELEASE_MANAGER,
    "demote": RELEASE_MANAGER,
    "deprecate": RELEASE_MANAGER,
    "delete_model": RELEASE_MANAGER,
    "delete_release": RELEASE_MANAGER,
    "delete_artifact": RELEASE_MANAGER,
    "delete_deployment": RELEASE_MANAGER,
    "import": RELEASE_MANAGER,
}
#: Alias actions: on a protected alias they need the release manager role.
ALIAS_ACTIONS = ("set_alias", "delete_alias", "rollback")


def _verb(action: str) -> str:
    return action.replace("_", " ")


@dataclass(frozen=True)
class Policy:
    """Who holds which role: `roles` maps user names and "group:<JupyterHub group>" to a
    role; anyone else has `default_role` (empty: release manager while `roles` is empty,
    so one person's registry works as before, else reader). `protected_aliases` may be
    set, moved or deleted only by release managers."""

    roles: Mapping[str, str] = field(default_factory=dict)
    default_role: str = ""
    protected_aliases: tuple[str, ...] = DEFAULT_PROTECTED_ALIASES

    def role_of(self, actor: str) -> str:
        """The strongest role `actor` holds: by name, by any of its groups (an `Actor`'s),
        else the default."""
        held = [self.roles[actor]] if actor in self.roles else []
        held += [self.roles[GROUP_PREFIX + g] for g in getattr(actor, "groups", ()) if GROUP_PREFIX + g in self.roles]
        if held:
            return max(held, key=ROLES.index)
        return self.default_role or (READER if self.roles else RELEASE_MANAGER)

    def needs(self, action: str, alias: str | None = None) -> str:
        """The role `action` needs (on `alias`, for an alias action)."""
        if action in ALIAS_ACTIONS and alias in self.protected_aliases:
            return RELEASE_MANAGER
        return ACTIONS[action]

    def authorize(self, actor: str, action: str, *, alias: str | None = None) -> str:
        """The actor's role when it may do `action` (on `alias`); else Forbidden naming the
        role needed and the one held, e.g. "promote: needs the release manager role (ada is a
        writer)"."""
        role, needed = self.role_of(actor), self.needs(action, alias)
        if ROLES.index(role) >= ROLES.index(needed):
            return role
        what = _verb(action)
        if alias and needed == RELEASE_MANAGER:
            what += f" {alias!r} (a protected alias)"
        article = "an" if ROLE_TITLES[role][0] in "aeiou" else "a"
        raise Forbidden(f"{what}: needs the {ROLE_TITLES[needed]} role ({actor} is {article} {ROLE_TITLES[role]})")
