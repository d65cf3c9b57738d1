"""Model registry: models, releases, artifacts, deployments, aliases, audit, dashboard."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .service import Registry

__all__ = ["Registry"]


def __getattr__(name: str) -> Any:
    # `rules` is imported by the routes table at server start; keep SQLAlchemy out of that path.
    if name == "Registry":
        from .service import Registry

        return Registry
    raise AttributeError(name)
