"""The alias timeline, --as-of and rollback through `jupyter mlops` (real subprocesses) and
`%mlops` (a real IPython shell), on a real workspace store."""
from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from pathlib import Path

from IPython.core.interactiveshell import InteractiveShell

from jupyter_mlops.cli import Result
from jupyter_mlops.services import Services
from jupyter_mlops.widgets import RegistryPanel
from magic_support import magic_fails
from test_cli import Run, cli, env  # noqa: F401  (fixtures)
from test_magics import mlops, shell  # noqa: F401  (fixture)


def instant() -> str:
    time.sleep(0.005)
    stamp = datetime.now(timezone.utc).isoformat()
    time.sleep(0.005)
    return stamp


def test_cli_history_as_of_and_rollback(cli: Run, workspace: Path) -> None:  # noqa: F811
    cli("models", "create", "m1", "--storage-path", "/data/m1")
    for version in ("1.0", "2.0"):
        cli("releases", "create", "m1", version)
    cli("alias", "set", "m1", "production", "1")
    refused = cli("alias", "rollback", "m1", "production", expect=1)
    assert refused.stderr.strip().endswith(
        "error: alias: m1@production has had no target before release 1; nothing to roll back to")
    t1 = instant()
    cli("aliases", "set", "m1", "production", "2")  # `aliases` names the group too
    cli("deployments", "create", "2", "prod", "--status", "active")
    t2 = instant()

    shown = cli("alias", "history", "m1", "production").stdout.splitlines()
    assert shown[0] == "timeline of m1@production, newest first (2)"
    assert shown[1].split() == ["production", "rolls", "back", "to", "release", "1"]
    rows = [line.split() for line in shown[4:]]
    assert [(r[1], r[2], r[-1]) for r in rows] == [("production", "move", "cli-user"), ("production", "set", "cli-user")]

    rolled = cli("alias", "rollback", "m1", "production")
    assert rolled.stdout.splitlines()[0] == "m1@production rolled back: release 2 -> release 1 (1.0)"
    events = json.loads(cli("aliases", "history", "m1", "--json").stdout)["items"]
    assert [(e["action"], e["release_id"]) for e in events] == [("rollback", 1), ("move", 2), ("set", 1)]

    at_t1 = json.loads(cli("alias", "show", "m1", "production", "--as-of", t1, "--json").stdout)
    at_t2 = json.loads(cli("alias", "show", "m1", "production", "--as-of", t2, "--json").stdout)
    assert (at_t1["release"]["id"], at_t2["release"]["id"]) == (1, 2)
    assert cli("alias", "show", "m1", "--as-of", t2).stdout.splitlines()[0] == f"aliases of m1 as of {t2} (1)"
    model = json.loads(cli("models", "show", "m1", "--as-of", t1, "--json").stdout)
    assert (model["release_count"], model["aliases"]) == (2, {"production": 1})
    deployed = json.loads(cli("deployments", "list", "--model", "m1", "--as-of", t1, "--json").stdout)["items"]
    assert deployed == []
    listed = cli("releases", "list", "--model", "m1", "--as-of", t2).stdout.splitlines()
    assert listed[0] == f"releases as of {t2} (2)"
    bad = cli("models", "show", "m1", "--as-of", "yesterday", expect=1)
    assert "error: as_of: must be an ISO 8601 time" in bad.stderr
    before = cli("alias", "history", "m1", "--json").stdout
    cli("alias", "rollback", "m1", "production", expect=1)
    assert cli("alias", "history", "m1", "--json").stdout == before


def test_magic_history_as_of_and_rollback(shell: InteractiveShell) -> None:  # noqa: F811
    mlops(shell, "models create m1 --storage-path /data/m1")
    for version in ("1.0", "2.0", "3.0"):
        mlops(shell, f"releases create m1 {version}")
    mlops(shell, "alias set m1 production 1")
    t1 = instant()
    mlops(shell, "alias set m1 production 2")
    mlops(shell, "alias set m1 production 3")
    history = mlops(shell, "alias history m1 production")
    assert isinstance(history, Result) and "production rolls back to" in history.html()
    assert history.data["rollback_to"] == {"production": 2}
    assert [e["actor"] for e in history.data["items"]] == ["alice"] * 3
    assert mlops(shell, "alias rollback m1 production")["release_id"] == 2
    assert mlops(shell, "aliases rollback m1 production")["release_id"] == 1
    message = magic_fails(shell, "alias rollback m1 production")
    assert message.endswith("nothing to roll back to")
    assert mlops(shell, f"alias show m1 production --as-of {t1}")["release"]["id"] == 1
    assert mlops(shell, f"models show m1 --as-of {t1}")["aliases"] == {"production": 1}
    message = magic_fails(shell, "alias show m1 production --as-of 2026-02-30")
    assert message.startswith("as_of: must be an ISO 8601 time")


def test_widget_timeline_and_rollback(services: Services) -> None:
    reg = services.registry
    reg.create_model({"name": "m1", "storage_path": "/data/m1"}, "alice")
    r1, r2 = (reg.create_release({"model": "m1", "version": v}, "alice")["id"] for v in ("1.0", "2.0"))
    reg.set_alias("m1", "production", {"release_id": r1}, "alice")
    reg.set_alias("m1", "staging", {"release_id": r1}, "alice")
    reg.set_alias("m1", "production", {"release_id": r2}, "bob")
    panel = RegistryPanel(services=services, actor="widget-user")
    panel.models.value = "m1"
    assert panel.timeline_html.value.count("<tr>") == 4  # a header and three changes
    assert panel.alias.options == (("production (back to release 1)", "production"),
                                   ("staging (no earlier target)", "staging"))
    assert panel.rollback_button.disabled  # no alias chosen yet
    panel.alias.value = "production"
    assert not panel.rollback_button.disabled
    panel.rollback_button.click()
    assert panel.error.value == "" and "rolled back: release 2 -&gt; 1" in panel.status.value
    assert reg.get_alias("m1", "production")["release"]["id"] == r1
    assert "rollback" in panel.timeline_html.value and "widget-user" in panel.timeline_html.value
    assert panel.alias.options[0] == ("production (no earlier target)", "production")
    panel.rollback_button.click()  # refused: shown in the panel, nothing changed
    assert "nothing to roll back to" in panel.error.value
    assert len(reg.alias_history("m1")["items"]) == 4
