"""ipywidgets panels for notebook cells; ipywidgets is imported only when a panel is used."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .builds import BuildPanel
    from .deps import DependencyPanel
    from .hub import DownloadPanel
    from .registry import RegistryPanel

__all__ = ["BuildPanel", "DependencyPanel", "DownloadPanel", "RegistryPanel"]


def __getattr__(name: str) -> Any:
    if name == "RegistryPanel":
        from .registry import RegistryPanel

        return RegistryPanel
    if name == "DependencyPanel":
        from .deps import DependencyPanel

        return DependencyPanel
    if name == "DownloadPanel":
        from .hub import DownloadPanel

        return DownloadPanel
    if name == "BuildPanel":
        from .builds import BuildPanel

        return BuildPanel
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
