"""RegistryPanel driven in-process: widget values set, buttons clicked, the real store checked."""
from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from jupyter_mlops import services as services_mod
from jupyter_mlops.registry.rules import QUANTIZATION_SUGGESTIONS
from jupyter_mlops.services import Services
from jupyter_mlops.store import engine as store_engine
from jupyter_mlops.widgets import RegistryPanel

ACTOR = "widget-user"


def rows(workspace: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(workspace / ".mlops" / "mlops.db") as conn:
        return conn.execute(sql).fetchall()


@pytest.fixture
def panel(services: Services) -> RegistryPanel:
    for name in ("alpha", "beta", "gamma", "llama-small", "llama-large"):
        services.registry.create_model({"name": name, "storage_path": f"/models/{name}",
                                        "description": f"the {name} model"}, ACTOR)
    return RegistryPanel(services=services, page_size=2, actor=ACTOR)


def test_paging_and_search(panel: RegistryPanel) -> None:
    assert panel.models.options == ("alpha", "beta")
    assert panel.prev_button.disabled and not panel.next_button.disabled
    panel.next_button.click()
    assert panel.models.options == ("gamma", "llama-large")
    panel.next_button.click()
    assert panel.models.options == ("llama-small",)
    assert panel.next_button.disabled and not panel.prev_button.disabled
    panel.prev_button.click()
    assert panel.models.options == ("gamma", "llama-large")

    panel.search.value = "llama"  # Enter in the box searches
    assert panel.models.options == ("llama-large", "llama-small") and panel.prev_button.disabled
    panel.next_button.click()
    panel.search_button.click()  # the button searches again from the first page
    assert panel.models.options == ("llama-large", "llama-small") and panel.prev_button.disabled
    panel.search.value = "no-such-thing"
    panel.search_button.click()
    assert panel.models.options == () and "no models" in panel.page_label.value
    assert panel.error.value == ""


def test_create_promote_demote(panel: RegistryPanel, workspace: Path) -> None:
    assert panel.create_button.disabled  # no model selected yet
    panel.models.value = "beta"
    assert "/models/beta" in panel.model_info.value and "no releases yet" in panel.releases_html.value
    assert not panel.create_button.disabled

    panel.version.value = "1.0.0"
    panel.quantization.value = "int8"
    panel.notes.value = "first"
    panel.create_button.click()
    assert panel.error.value == "", panel.error.value
    assert rows(workspace, "select version, quantization, release_notes, status from releases") == [
        ("1.0.0", "int8", "first", "candidate")]
    (rid,) = rows(workspace, "select id from releases")[0]
    assert panel.release.value == rid and "1.0.0" in panel.releases_html.value
    assert "created release" in panel.status.value and panel.version.value == ""

    panel.promote_button.click()
    assert rows(workspace, f"select status from releases where id={rid}") == [("released",)]
    assert "now released" in panel.status.value
    panel.demote_button.click()
    assert rows(workspace, f"select status from releases where id={rid}") == [("demoted",)]
    assert rows(workspace, "select actor, action from audit_events where entity_type='release' order by id") == [
        (ACTOR, "create"), (ACTOR, "promote"), (ACTOR, "demote")]


def test_quantization_is_free_text_with_suggestions(panel: RegistryPanel, workspace: Path) -> None:
    assert list(panel.quantization.options) == list(QUANTIZATION_SUGGESTIONS)
    assert not panel.quantization.ensure_option  # anything may be typed; the registry's rule decides
    panel.models.value = "alpha"
    for version, typed in (("2.0", "Q4_K_M"), ("2.1", "EXL2_4.0bpw"), ("2.2", ""), ("2.3", "mlx-4bit")):
        panel.version.value = version
        panel.quantization.value = typed
        panel.create_button.click()
        assert panel.error.value == "", panel.error.value
    assert rows(workspace, "select version, quantization from releases order by id") == [
        ("2.0", "gguf-q4_k_m"), ("2.1", "exl2-4.0bpw"), ("2.2", "none"), ("2.3", "mlx-4bit")]

    panel.version.value = "2.4"
    panel.quantization.value = "q4 k m"  # the registry's rule refuses it
    panel.create_button.click()
    assert "quantization: must be a quantization such as" in panel.error.value
    panel.version.value = "2.0"
    panel.quantization.value = "gguf-q4_k_m"  # another spelling of an existing release
    panel.create_button.click()
    assert "release alpha:2.0:gguf-q4_k_m already exists" in panel.error.value
    assert rows(workspace, "select count(*) from releases") == [(4,)]


def test_a_release_shows_its_deployments_and_artifacts(panel: RegistryPanel, services: Services) -> None:
    release = services.registry.create_release({"model": "alpha", "version": "3.0"}, ACTOR)
    services.registry.create_deployment({"release_id": release["id"], "environment": "prod", "status": "active"},
                                        ACTOR)
    services.registry.create_artifact({"release_id": release["id"], "name": "w.gguf", "path": "/data/w.gguf",
                                       "kind": "weights"}, ACTOR)
    panel.models.value = "alpha"
    panel.release.value = release["id"]
    detail = panel.release_detail.value
    assert "prod" in detail and "active" in detail and "w.gguf" in detail and "MLflow run: none" in detail
    panel.run_button.click()  # no run recorded: said in the panel
    assert f"release {release['id']} records no MLflow run" in panel.error.value


def test_errors_show_in_the_panel_and_change_nothing(panel: RegistryPanel, workspace: Path,
                                                     services: Services) -> None:
    panel.models.value = "alpha"
    before = rows(workspace, "select count(*) from audit_events")

    panel.version.value = "not a version"
    panel.create_button.click()
    assert "Error:" in panel.error.value and "version: must be a version" in panel.error.value
    assert rows(workspace, "select count(*) from releases") == [(0,)]

    panel.version.value = ""
    panel.create_button.click()
    assert "version: must be a version" in panel.error.value

    panel.version.value = "1.0"
    panel.create_button.click()
    assert panel.error.value == ""  # cleared by the next action that works
    panel.demote_button.click()  # a candidate cannot be demoted
    assert "demote needs one that is released" in panel.error.value
    assert rows(workspace, "select status from releases") == [("candidate",)]
    assert not any(b.disabled for b in (panel.search_button, panel.create_button, panel.promote_button))

    services.registry.delete_model("beta", ACTOR)  # gone while the panel still lists it
    panel.models.value = "beta"
    assert "model 'beta' does not exist" in panel.error.value
    assert rows(workspace, "select count(*) from audit_events") == [(before[0][0] + 2,)]


def test_buttons_disabled_while_busy_and_children_assigned_once(panel: RegistryPanel,
                                                                 services: Services) -> None:
    changes: list[Any] = []
    panel.observe(changes.append, names="children")
    seen: dict[str, Any] = {}
    real = services.registry.create_release

    def watching(data: Any, actor: str) -> Any:  # observes the panel mid-call, then does the real work
        seen.update(busy=panel.busy, disabled=[b.disabled for b in panel.buttons])
        return real(data, actor)

    services.registry.create_release = watching  # type: ignore[method-assign]
    try:
        panel.models.value = "beta"
        panel.version.value = "3.0"
        panel.create_button.click()
    finally:
        del services.registry.create_release
    assert seen == {"busy": True, "disabled": [True] * len(panel.buttons)}
    assert not panel.busy and not panel.create_button.disabled
    assert changes == []
    assert len(panel.children) == 16


def test_panel_from_workspace_argument(workspace: Path) -> None:
    services_mod._cache.clear()
    try:
        panel = RegistryPanel(workspace=workspace)
        assert panel.services.workspace.root == workspace.resolve()
        assert panel.models.options == () and panel.error.value == ""
    finally:
        for svc in services_mod._cache.values():
            svc.store.dispose()
            store_engine._stores.pop(svc.store.url, None)
        services_mod._cache.clear()
