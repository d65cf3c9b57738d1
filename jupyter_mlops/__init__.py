"""jupyter_mlops: a Jupyter workspace as an MLOps workbench.

Only extension entry points live here; nothing heavy is imported."""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    from .app import MLOpsApp

    return [{"module": "jupyter_mlops.app", "app": MLOpsApp}]


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    """The prebuilt JupyterLab sidebar (built into jupyter_mlops/labextension)."""
    return [{"src": "labextension", "dest": "jupyter_mlops"}]


def load_ipython_extension(ipython: Any) -> None:
    """`%load_ext jupyter_mlops`: register the `%mlops` magic."""
    from .magics import register

    register(ipython)
