"""Model registry: models, releases, artifacts, deployments, aliases, audit, dashboard."""
from __future__ import annotations

from .service import Registry

__all__ = ["Registry"]
