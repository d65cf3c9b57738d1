"""Shared fixtures: a temporary workspace with a real store (SQLite in the workspace, or a
PostgreSQL database: see pg_support.py), and a real Jupyter server (pytest-jupyter) with the
extension and authentication required."""
from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.register_assert_rewrite("pg_support")
from pg_support import db_settings  # noqa: E402
from schema_support import check_answer

from jupyter_mlops.config import NAMES, MLOpsSettings, Settings
from jupyter_mlops.services import Services
from jupyter_mlops.store import engine as store_engine

pytest_plugins = ["pytest_jupyter.jupyter_server", "deps_support", "docker_support", "hub_server", "lab_support",
                  "mlflow_support", "pg_support", "s3_support"]


#: Variables that steer the settings (jupyter_mlops.config) which a test must not inherit;
#: DOCKER_HOST stays: tests/services.sh points it at the test daemon.
_SETTINGS_ENV = ("JUPYTER_MLOPS_SERVER_SETTINGS", "JUPYTER_CONFIG_PATH", "HF_ENDPOINT",
                 *(var for name in NAMES for var in MLOpsSettings.class_traits()[name].metadata["env"]
                   if var != "DOCKER_HOST"))


@pytest.fixture(autouse=True)
def _no_machine_settings(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Every face loads its settings from Jupyter's config path and the environment: a test
    sees neither the machine's config files nor its settings variables."""
    empty = tmp_path_factory.getbasetemp() / "no-jupyter-config"
    empty.mkdir(exist_ok=True)
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(empty))
    for var in _SETTINGS_ENV:
        if var in os.environ:
            monkeypatch.delenv(var)
    # the venvs and projects the tests make live under the run's temporary folder: the doctor
    # may run those venvs and read those projects (tests/test_hardening.py takes this back)
    monkeypatch.setenv("JUPYTER_MLOPS_ALLOWED_PYTHONS", str(tmp_path_factory.getbasetemp()))
    monkeypatch.setenv("JUPYTER_MLOPS_EXTRA_ROOTS", str(tmp_path_factory.getbasetemp()))


def settings_of(workspace: Path, tmp_path_factory: pytest.TempPathFactory, **values: Any) -> Settings:
    """Settings of a test workspace whose doctor may run the venvs and read the projects the
    tests make (under the run's temporary folder)."""
    base = str(tmp_path_factory.getbasetemp())
    return Settings.of(workspace, allowed_pythons=[base], extra_roots=[base], **values)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """An empty workspace folder."""
    root = tmp_path / "workspace"
    root.mkdir()
    return root


@pytest.fixture
def services(workspace: Path, tmp_path_factory: pytest.TempPathFactory, db_url: str | None) -> Iterator[Services]:
    """Services over a fresh store: SQLite in the workspace, or `db_url`."""
    svc = Services(settings_of(workspace, tmp_path_factory, **db_settings(db_url)))
    yield svc
    svc.store.dispose()
    store_engine._stores.pop(svc.store.url, None)


@pytest.fixture
def jp_server_config(jp_root_dir: Path, db_url: str | None) -> dict[str, Any]:
    return {
        "ServerApp": {
            "jpserver_extensions": {"jupyter_mlops": True},
            "allow_unauthenticated_access": False,
        },
        "MLOpsApp": {"workspace_dir": str(jp_root_dir), **db_settings(db_url)},
    }


@pytest.fixture
def api(jp_fetch: Any) -> Any:
    """Call /mlops/api/...: returns (status, json) and never raises on HTTP errors; a
    successful answer must match the schema the OpenAPI document gives it."""

    async def call(method: str, path: str, body: Any = None, raw: bytes | None = None,
                   **params: Any) -> tuple[int, Any]:
        kwargs: dict[str, Any] = {"method": method, "raise_error": False}
        if params:
            kwargs["params"] = params
        if raw is not None:
            kwargs["body"] = raw
        elif body is not None or method in ("POST", "PUT", "PATCH"):
            kwargs["body"] = json.dumps(body if body is not None else {})
        resp = await jp_fetch("mlops", "api", *path.strip("/").split("/"), **kwargs)
        text = resp.body.decode() if resp.body else ""
        answer = json.loads(text) if text else None
        check_answer(method, path, resp.code, answer)
        return resp.code, answer

    return call


@pytest.fixture
def hub_services(workspace: Path, hub: Any, db_url: str | None) -> Iterator[Services]:
    """Services whose model hub talks to the test Hub (`hub`), with no disk margin."""
    svc = Services(Settings.of(workspace, hf_endpoint=hub.url, download_disk_margin=0, **db_settings(db_url)))
    yield svc
    svc.store.dispose()
    store_engine._stores.pop(svc.store.url, None)
