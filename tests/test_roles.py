"""Roles on the registry (reader, writer, release manager) and protected aliases, through
real parts: the services on the store fixture, a Hub-API-compatible server on 127.0.0.1 for
group membership, the CLI as a subprocess, `%mlops` in IPython, and two real Jupyter
servers (two users) on one store. A refusal is Forbidden (403), names the role needed,
and changes no row."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from jupyter_mlops.config import Settings, load_settings
from jupyter_mlops.errors import Forbidden, InvalidInput, MLOpsError
from jupyter_mlops.identity import Actor, current_actor
from jupyter_mlops.registry.roles import ACTIONS, RELEASE_MANAGER, ROLES, WRITER, Policy
from jupyter_mlops.services import Services
from conftest import settings_of
from store_support import all_rows
from hub_api_support import HubAPI

pytestmark = pytest.mark.both_stores

ROLES_CONFIG = {"rita": "reader", "will": "writer", "group:ml-leads": "release_manager"}
#: One actor per role: a reader and a writer by name, a release manager by JupyterHub group.
ACTORS = {"reader": Actor("rita"), "writer": Actor("will"), "release_manager": Actor("mia", ["ml-leads"])}



@pytest.fixture
def team(services: Services, workspace: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    """Services with roles configured, on the `services` fixture's store; model `m` with a
    candidate release (r1), a released one (r2), an artifact, a deployment, and aliases
    staging and production moved from r2 to r1, made by the release manager."""
    svc = Services(settings_of(workspace, tmp_path_factory, roles=ROLES_CONFIG), store=services.store)
    boss, reg = ACTORS["release_manager"], svc.registry
    reg.create_model({"name": "m", "storage_path": "/data/m"}, boss)
    r1 = reg.create_release({"model": "m", "version": "1"}, boss)["id"]
    r2 = reg.create_release({"model": "m", "version": "2"}, boss)["id"]
    reg.transition(r2, "promote", boss)
    reg.create_artifact({"release_id": r1, "name": "w", "path": "/data/m/w"}, boss)
    reg.create_deployment({"release_id": r1, "environment": "dev"}, boss)
    for alias in ("staging", "production"):  # each moved once: a rollback has somewhere to go
        reg.set_alias("m", alias, {"release_id": r2}, boss)
        reg.set_alias("m", alias, {"release_id": r1}, boss)
    svc.ids = {"r1": r1, "r2": r2}  # type: ignore[attr-defined]
    yield svc


Verb = Callable[[Services, Actor, dict[str, int]], Any]
#: Each change of the registry, by what it needs (roles.ACTIONS, and the alias cases).
VERBS: dict[str, tuple[str, Verb]] = {
    "create_model": (WRITER, lambda s, a, i: s.registry.create_model({"name": "n", "storage_path": "/d/n"}, a)),
    "update_model": (WRITER, lambda s, a, i: s.registry.update_model("m", {"description": "x"}, a)),
    "create_release": (WRITER, lambda s, a, i: s.registry.create_release({"model": "m", "version": "9"}, a)),
    "update_release": (WRITER, lambda s, a, i: s.registry.update_release(i["r1"], {"release_notes": "n"}, a)),
    "create_artifact": (WRITER, lambda s, a, i: s.registry.create_artifact({"model": "m", "name": "c", "path": "/d/c"}, a)),
    "create_deployment": (WRITER, lambda s, a, i: s.registry.create_deployment({"release_id": i["r1"], "environment": "qa"}, a)),
    "update_deployment": (WRITER, lambda s, a, i: s.registry.update_deployment(1, {"notes": "n"}, a)),
    "set_alias": (WRITER, lambda s, a, i: s.registry.set_alias("m", "staging", {"release_id": i["r2"]}, a)),
    "delete_alias": (WRITER, lambda s, a, i: s.registry.delete_alias("m", "staging", a)),
    "set_default_model": (WRITER, lambda s, a, i: s.hub.set_default_model("m", a)),
    "build": (WRITER, lambda s, a, i: s.builds.start({"release_id": i["r1"]}, a)),
    "push": (WRITER, lambda s, a, i: s.builds.push(1, {"repository": "127.0.0.1:1/m"}, a)),
    "scan": (WRITER, lambda s, a, i: s.storage_files.start_scan({"model": "m"}, a)),
    "publish": (WRITER, lambda s, a, i: s.storage_files.start_publish({"destination": "s3://bkt/m", "model": "m"}, a)),
    "promote": (RELEASE_MANAGER, lambda s, a, i: s.registry.transition(i["r1"], "promote", a)),
    "demote": (RELEASE_MANAGER, lambda s, a, i: s.registry.transition(i["r2"], "demote", a)),
    "deprecate": (RELEASE_MANAGER, lambda s, a, i: s.registry.transition(i["r1"], "deprecate", a)),
    "delete_model": (RELEASE_MANAGER, lambda s, a, i: s.registry.delete_model("m", a, cascade=True)),
    "delete_release": (RELEASE_MANAGER, lambda s, a, i: s.registry.delete_release(i["r2"], a, cascade=True)),
    "delete_artifact": (RELEASE_MANAGER, lambda s, a, i: s.registry.delete_artifact(1, a)),
    "delete_deployment": (RELEASE_MANAGER, lambda s, a, i: s.registry.delete_deployment(1, a)),
    "import": (RELEASE_MANAGER, lambda s, a, i: s.tracking.start_import({}, a)),
    "set_protected_alias": (
        RELEASE_MANAGER, lambda s, a, i: s.registry.set_alias("m", "production", {"release_id": i["r2"]}, a)),
    "delete_protected_alias": (RELEASE_MANAGER, lambda s, a, i: s.registry.delete_alias("m", "production", a)),
    "rollback": (WRITER, lambda s, a, i: s.registry.rollback_alias("m", "staging", a)),
    "rollback_protected_alias": (RELEASE_MANAGER, lambda s, a, i: s.registry.rollback_alias("m", "production", a)),
}


def test_every_action_is_exercised() -> None:
    assert set(ACTIONS) <= set(VERBS)


@pytest.mark.parametrize("verb", list(VERBS))
def test_each_verb_by_each_role(team: Services, verb: str) -> None:
    """The roles below the one needed are refused, naming it, and nothing changes; the one
    needed gets past the check (build, push and import may then fail for their own reasons:
    no Docker daemon, no build 1, no MLflow server; those are not refusals)."""
    needed, call = VERBS[verb]
    for role in ROLES:
        actor = ACTORS[role]
        before = all_rows(team.store)
        if ROLES.index(role) < ROLES.index(needed):
            with pytest.raises(Forbidden) as refused:
                call(team, actor, team.ids)  # type: ignore[attr-defined]
            title = needed.replace("_", " ")
            assert f": needs the {title} role ({actor} is a" in refused.value.message, refused.value.message
            assert refused.value.status == 403
            assert all_rows(team.store) == before, f"{verb} by a {role} changed rows"
            continue
        try:
            call(team, actor, team.ids)  # type: ignore[attr-defined]
        except MLOpsError as exc:  # a path outside the roots is Forbidden too, but no refusal by role
            # (scan and publish: /data/m is outside the allowed folders)
            assert verb in ("build", "push", "import", "scan", "publish") and ": needs the " not in exc.message, (
                verb, exc.message)
        else:
            if verb not in ("build", "push", "import", "scan", "publish"):
                assert team.registry.audit(limit=1)["items"][0]["actor"] == str(actor)
        break


def test_refusal_messages_name_the_role(team: Services) -> None:
    with pytest.raises(Forbidden, match=r"^promote: needs the release manager role \(will is a writer\)$"):
        team.registry.transition(team.ids["r1"], "promote", ACTORS["writer"])  # type: ignore[attr-defined]
    with pytest.raises(Forbidden, match=r"^create model: needs the writer role \(rita is a reader\)$"):
        team.registry.create_model({"name": "x", "storage_path": "/d/x"}, ACTORS["reader"])
    with pytest.raises(Forbidden, match=r"^set alias 'production' \(a protected alias\): needs the release manager "
                                         r"role \(will is a writer\)$"):
        team.registry.set_alias("m", "production", {"release_id": 1}, ACTORS["writer"])


def test_the_release_manager_moves_production_and_it_is_audited(team: Services) -> None:
    r2 = team.ids["r2"]  # type: ignore[attr-defined]
    team.registry.set_alias("m", "production", {"release_id": r2}, ACTORS["release_manager"])
    assert team.registry.get_alias("m", "production")["release"]["id"] == r2
    event = team.registry.audit(model="m", entity_type="alias", limit=1)["items"][0]
    assert (event["actor"], event["after"]["release_id"]) == ("mia", r2)


def test_protected_aliases_are_configurable(services: Services, workspace: Path,
                                            tmp_path_factory: pytest.TempPathFactory) -> None:
    svc = Services(settings_of(workspace, tmp_path_factory, roles={"will": "writer"}, protected_aliases=["gold"]),
                   store=services.store)
    svc.registry.create_model({"name": "m", "storage_path": "/d/m"}, "will")
    rid = svc.registry.create_release({"model": "m", "version": "1"}, "will")["id"]
    svc.registry.set_alias("m", "production", {"release_id": rid}, "will")  # not protected here
    before = all_rows(svc.store)
    with pytest.raises(Forbidden, match="set alias 'gold' \\(a protected alias\\)"):
        svc.registry.set_alias("m", "gold", {"release_id": rid}, "will")
    assert all_rows(svc.store) == before
    with pytest.raises(Forbidden, match="rollback 'gold'"):
        svc.registry.authorize("will", "rollback", alias="gold")
    assert svc.registry.authorize("will", "rollback", alias="production") == WRITER


def test_defaults_keep_one_persons_registry_as_it_was() -> None:
    """No roles configured: everyone is a release manager; once `roles` names anyone, the
    others are readers unless `default_role` says otherwise."""
    assert Policy().role_of("anyone") == RELEASE_MANAGER
    assert Policy(protected_aliases=("production",)).authorize("anyone", "set_alias", alias="production")
    assert Policy({"ada": "writer"}).role_of("bob") == "reader"
    assert Policy({"ada": "reader"}, default_role="writer").role_of("bob") == "writer"
    # the strongest role any entry gives
    both = Actor("ada", ["ml-leads", "interns"])
    assert Policy({"ada": "reader", "group:interns": "writer", "group:ml-leads": "release_manager"}).role_of(both) \
        == RELEASE_MANAGER
    assert Settings.of("/tmp").policy == Policy()


def test_role_settings_are_checked_and_come_from_config_files_only(
        workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(InvalidInput, match=r"^roles: ada: must be one of reader, writer, release_manager"):
        Settings.of(workspace, roles={"ada": "admin"})
    with pytest.raises(InvalidInput, match=r"^default_role: must be one of"):
        Settings.of(workspace, default_role="boss")
    with pytest.raises(InvalidInput, match=r"^protected_aliases: must start with a letter"):
        Settings.of(workspace, protected_aliases=["no way"])
    # a workspace's own file (anyone may write it) cannot give roles
    (workspace / ".mlops").mkdir()
    (workspace / ".mlops" / "config.json").write_text(json.dumps({"MLOpsApp": {"roles": {"me": "release_manager"}}}))
    with pytest.raises(InvalidInput, match=r"^roles: cannot be set in the workspace's own"):
        load_settings({"workspace_dir": str(workspace)})
    (workspace / ".mlops" / "config.json").unlink()
    # the system-wide config does
    system = tmp_path / "etc-jupyter"
    system.mkdir()
    (system / "jupyter_server_config.json").write_text(json.dumps(
        {"MLOpsApp": {"roles": ROLES_CONFIG, "default_role": "reader", "protected_aliases": ["production", "gold"]}}))
    settings = load_settings({"workspace_dir": str(workspace)}, config_paths=[str(system)])
    assert settings.policy == Policy(ROLES_CONFIG, "reader", ("production", "gold"))
    shown = {row["name"]: row for row in settings.describe()}
    assert shown["roles"]["value"] == ROLES_CONFIG and "release_manager" in shown["roles"]["help"]
    assert shown["protected_aliases"]["value"] == ["production", "gold"] and shown["roles"]["env"] == []


# -- group membership from the Hub API ------------------------------------------------------
@pytest.fixture
def hub_api() -> Iterator[HubAPI]:
    api = HubAPI({
        "ada-token": {"kind": "user", "name": "ada", "groups": ["ml-leads"], "admin": False},
        "bob-token": {"kind": "user", "name": "bob", "groups": []},
    })
    yield api
    api.close()


def test_kernel_and_cli_actor_comes_from_the_hub_api(hub_api: HubAPI) -> None:
    ada = current_actor({"JUPYTERHUB_API_URL": hub_api.url, "JUPYTERHUB_API_TOKEN": "ada-token",
                         "JUPYTERHUB_USER": "ada"})
    assert (str(ada), ada.groups) == ("ada", frozenset({"ml-leads"}))
    assert Policy(ROLES_CONFIG).role_of(ada) == RELEASE_MANAGER
    # the Hub names the token's owner, whatever $JUPYTERHUB_USER says
    bob = current_actor({"JUPYTERHUB_API_URL": hub_api.url, "JUPYTERHUB_API_TOKEN": "bob-token",
                         "JUPYTERHUB_USER": "ada"})
    assert (str(bob), bob.groups) == ("bob", frozenset())
    # a token the Hub refuses, or no Hub: $JUPYTERHUB_USER, no groups
    refused = current_actor({"JUPYTERHUB_API_URL": hub_api.url, "JUPYTERHUB_API_TOKEN": "stale",
                             "JUPYTERHUB_USER": "carol"})
    assert (str(refused), refused.groups) == ("carol", frozenset())
    assert str(current_actor({"JUPYTERHUB_USER": "dan"})) == "dan"


# -- faces: CLI and %mlops -------------------------------------------------------------------
@pytest.fixture
def system_config(tmp_path: Path) -> Path:
    """A system-wide Jupyter config dir (as /etc/jupyter) giving the team's roles."""
    system = tmp_path / "etc-jupyter"
    system.mkdir()
    (system / "jupyter_server_config.json").write_text(
        json.dumps({"MLOpsApp": {"roles": {"bob": "writer", "group:ml-leads": "release_manager"},
                                 "default_role": "reader"}}))
    return system


def _cli(workspace: Path, system: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "JUPYTER_MLOPS_WORKSPACE": str(workspace), "JUPYTER_CONFIG_PATH": str(system), **env}
    return subprocess.run([sys.executable, "-m", "jupyter_mlops.cli", *args], env=environ, capture_output=True,
                          text=True, timeout=120)


def test_cli_refuses_by_role_and_changes_nothing(workspace: Path, system_config: Path, hub_api: HubAPI) -> None:
    ada = {"JUPYTERHUB_API_URL": hub_api.url, "JUPYTERHUB_API_TOKEN": "ada-token", "JUPYTERHUB_USER": "ada"}
    bob = {"JUPYTERHUB_USER": "bob"}
    assert _cli(workspace, system_config, ada, "models", "create", "m", "--storage-path", "/d/m").returncode == 0
    made = _cli(workspace, system_config, bob, "releases", "create", "m", "1", "--json")
    assert made.returncode == 0, made.stderr
    rid = json.loads(made.stdout)["id"]
    svc = Services(load_settings({"workspace_dir": str(workspace)}))
    try:
        before = all_rows(svc.store)
        for who, args, message in [
            (bob, ("promote", str(rid)), "promote: needs the release manager role (bob is a writer)"),
            (bob, ("alias", "set", "m", "production", str(rid)),
             "set alias 'production' (a protected alias): needs the release manager role (bob is a writer)"),
            ({"JUPYTERHUB_USER": "eve"}, ("models", "create", "e", "--storage-path", "/d/e"),
             "create model: needs the writer role (eve is a reader)"),
        ]:
            proc = _cli(workspace, system_config, who, *args)
            assert proc.returncode == 1 and proc.stderr.strip() == f"error: {message}", proc.stderr
        assert all_rows(svc.store) == before
        assert _cli(workspace, system_config, ada, "alias", "set", "m", "production", str(rid)).returncode == 0
        assert svc.registry.audit(entity_type="alias", limit=1)["items"][0]["actor"] == "ada"
    finally:
        svc.store.dispose()


def test_magic_refuses_by_role_and_changes_nothing(workspace: Path, system_config: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from IPython.core.interactiveshell import InteractiveShell

    from jupyter_mlops import services as services_mod
    from magic_support import magic_fails

    monkeypatch.setenv("JUPYTER_MLOPS_WORKSPACE", str(workspace))
    monkeypatch.setenv("JUPYTER_CONFIG_PATH", str(system_config))
    monkeypatch.setenv("JUPYTERHUB_USER", "bob")
    services_mod._cache.clear()
    sh = InteractiveShell.instance()
    sh.extension_manager.loaded.discard("jupyter_mlops")
    sh.run_line_magic("load_ext", "jupyter_mlops")
    try:
        sh.run_line_magic("mlops", "models create m --storage-path /d/m")
        rid = sh.run_line_magic("mlops", "releases create m 1")["id"]
        svc = services_mod.services_for()
        before = all_rows(svc.store)
        assert magic_fails(sh, f"promote {rid}") == "promote: needs the release manager role (bob is a writer)"
        assert magic_fails(sh, "models delete m --cascade") == \
            "delete model: needs the release manager role (bob is a writer)"
        assert all_rows(svc.store) == before
    finally:
        for svc in services_mod._cache.values():
            svc.store.dispose()
        services_mod._cache.clear()


def test_widget_shows_the_refusal_and_changes_nothing(team: Services) -> None:
    from jupyter_mlops.widgets import RegistryPanel

    panel = RegistryPanel(services=team, actor=ACTORS["writer"])
    panel.models.value = "m"
    panel.release.value = team.ids["r1"]  # type: ignore[attr-defined]
    before = all_rows(team.store)
    panel.promote_button.click()
    assert "promote: needs the release manager role (will is a writer)" in panel.error.value, panel.error.value
    assert all_rows(team.store) == before
    assert not panel.promote_button.disabled  # the panel is not left busy
