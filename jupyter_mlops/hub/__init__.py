"""Hugging Face model hub: download (a job), list and delete the local cache.

Nothing heavy here: huggingface_hub is imported inside the functions that use it."""
from __future__ import annotations

from .service import HubService

__all__ = ["HubService"]
