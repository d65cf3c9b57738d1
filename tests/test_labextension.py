"""The JupyterLab sidebar as users get it: the installed package ships the prebuilt
labextension, JupyterLab lists it enabled and OK and serves its assets, and the
TypeScript types of the REST answers match the OpenAPI document."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import jupyter_mlops

ROOT = Path(__file__).resolve().parents[1]
LABEXTENSION = ROOT / "labextension"


#: Where pip put the wheel's share/ data (pytest-jupyter hides it from the test servers).
INSTALLED = Path(sys.prefix) / "share" / "jupyter" / "labextensions"


def _installed_extension() -> Path:
    """The labextension folder the installed package put under share/jupyter/labextensions."""
    ext = INSTALLED / "jupyter_mlops"
    if not (ext / "package.json").is_file():
        pytest.fail(f"no {ext}: install the package (pip install .)")
    return ext


def test_labextension_list_shows_it_enabled_and_ok() -> None:
    jupyter = Path(sys.executable).with_name("jupyter")
    out = subprocess.run([str(jupyter), "labextension", "list"], capture_output=True, text=True, timeout=120,
                         check=False)
    listing = re.sub(r"\x1b\[[0-9;]*m", "", out.stdout + out.stderr)
    line = next((row for row in listing.splitlines() if row.strip().startswith("jupyter_mlops ")), None)
    assert line is not None, listing
    assert f"v{jupyter_mlops.__version__}" in line and "enabled" in line and "OK" in line, line
    assert "(python, jupyter_mlops)" in line, line


def test_installed_extension_is_the_python_packages() -> None:
    ext = _installed_extension()
    meta = json.loads((ext / "package.json").read_text())
    assert meta["name"] == "jupyter_mlops" and meta["version"] == jupyter_mlops.__version__
    assert json.loads((ext / "install.json").read_text())["packageName"] == "jupyter_mlops"
    assert meta["jupyterlab"]["_build"]["load"].startswith("static/remoteEntry.")
    assert jupyter_mlops._jupyter_labextension_paths() == [{"src": "labextension", "dest": "jupyter_mlops"}]


@pytest.fixture
def jp_server_config(jp_server_config: dict[str, Any]) -> dict[str, Any]:
    """The test server with JupyterLab too, finding the installed labextensions."""
    extensions = {**jp_server_config["ServerApp"]["jpserver_extensions"], "jupyterlab": True}
    return {**jp_server_config, "ServerApp": {**jp_server_config["ServerApp"], "jpserver_extensions": extensions},
            "LabApp": {"labextensions_path": [str(INSTALLED)]}}


async def test_server_serves_the_remote_entry(jp_fetch: Any) -> None:
    _installed_extension()
    page = (await jp_fetch("lab")).body.decode()
    config = json.loads(re.search(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>',
                                  page, re.DOTALL).group(1))
    listed = {ext["name"]: ext for ext in config["federated_extensions"]}
    assert "jupyter_mlops" in listed, sorted(listed)
    load = listed["jupyter_mlops"]["load"]
    assert re.fullmatch(r"static/remoteEntry\.[0-9a-f]+\.js", load), load
    entry = await jp_fetch("lab", "extensions", "jupyter_mlops", *load.split("/"))
    assert entry.code == 200 and b"jupyter_mlops" in entry.body
    style = await jp_fetch("lab", "extensions", "jupyter_mlops", "static", "style.js")
    assert style.code == 200


async def test_health_names_the_version_the_sidebar_checks(api: Any) -> None:
    code, health = await api("GET", "health")
    assert code == 200 and health["version"] == jupyter_mlops.__version__


def test_package_json_version_is_the_python_version() -> None:
    meta = json.loads((LABEXTENSION / "package.json").read_text())
    assert meta["name"] == "jupyter_mlops"
    assert meta["version"] == jupyter_mlops.__version__


def test_typescript_types_match_the_openapi_document() -> None:
    """src/types.ts is what scripts/openapi-types.py makes of the document right now."""
    out = subprocess.run([sys.executable, str(LABEXTENSION / "scripts" / "openapi-types.py"), "--check"],
                         capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr


def test_every_answer_has_a_schema() -> None:
    """Every verb but openapi.json documents what it answers, and every schema it names exists."""
    from jupyter_mlops.server.routes import ROUTES
    from jupyter_mlops.server.schemas import SCHEMAS

    missing = [f"{verb.upper()} {route.path}" for route in ROUTES for verb, op in route.ops.items()
               if op.response is None and route.path != "/openapi.json"]
    assert missing == []
    unknown = {op.response for route in ROUTES for op in route.ops.values()} - {None, *SCHEMAS}
    assert unknown == set()
