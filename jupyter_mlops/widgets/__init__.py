"""ipywidgets panels for notebook cells; ipywidgets is imported only when a panel is used."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .deps import DependencyPanel
    from .registry import RegistryPanel

__all__ = ["DependencyPanel", "RegistryPanel"]


def __getattr__(name: str) -> Any:
    if name == "RegistryPanel":
        from .registry import RegistryPanel

        return RegistryPanel
    if name == "DependencyPanel":
        from .deps import DependencyPanel

        return DependencyPanel
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
