"""Hugging Face model hub: download (a job), list and delete the local cache.

Nothing heavy at import: the routes table reads `hub.rules` at server start, so the
service (and SQLAlchemy with it) loads on first use; huggingface_hub is imported
inside the functions that use it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .service import HubService

__all__ = ["HubService"]


def __getattr__(name: str) -> Any:
    if name == "HubService":
        from .service import HubService

        return HubService
    raise AttributeError(name)
