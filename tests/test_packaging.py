"""The package as users get it: a cheap import, and a wheel that enables the server
extension on install and ships its migrations and the prebuilt JupyterLab sidebar."""
from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("sqlalchemy", "alembic", "docker", "huggingface_hub", "ipywidgets", "IPython")


def test_import_and_extension_load_stay_cheap() -> None:
    code = (
        "import sys, jupyter_mlops\n"
        "points = jupyter_mlops._jupyter_server_extension_points()\n"
        "import jupyter_mlops.app, jupyter_mlops.server.routes\n"
        "points[0]['app']().initialize_handlers()\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == "", f"imported at server start: {out.stdout.strip()}"


def test_wheel_enables_the_extension_and_ships_migrations(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(tmp_path), str(ROOT)], check=True, timeout=300)
    (wheel,) = tmp_path.glob("jupyter_mlops-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    config = [n for n in names if n.endswith("etc/jupyter/jupyter_server_config.d/jupyter_mlops.json")]
    assert config, "the wheel does not enable the server extension on install"
    for needed in ("jupyter_mlops/py.typed", "jupyter_mlops/store/migrations/env.py",
                   "jupyter_mlops/store/migrations/versions/0001_registry.py",
                   "jupyter_mlops/store/migrations/versions/0002_jobs.py"):
        assert needed in names, f"{needed} missing from the wheel"
    assert b'"jupyter_mlops": true' in zipfile.ZipFile(wheel).read(config[0])
    lab = "jupyter_mlops-0.1.0.data/data/share/jupyter/labextensions/jupyter_mlops/"
    for needed in ("package.json", "install.json", "static/style.js"):
        assert lab + needed in names, f"the wheel does not ship the sidebar's {needed}"
    assert any(n.startswith(lab + "static/remoteEntry.") for n in names), "no remoteEntry.*.js in the wheel"
