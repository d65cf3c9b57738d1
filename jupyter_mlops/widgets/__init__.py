"""ipywidgets panels for notebook cells; ipywidgets is imported only when a panel is used."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .registry import RegistryPanel

__all__ = ["RegistryPanel"]


def __getattr__(name: str) -> Any:
    if name == "RegistryPanel":
        from .registry import RegistryPanel

        return RegistryPanel
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
