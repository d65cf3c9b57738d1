"""Durable jobs: rows in the store, run by a worker, each in its own subprocess.

Nothing heavy at import: the queue (and SQLAlchemy with it) loads on first use."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .queue import ACTIVE_STATES, FINAL_STATES, JobQueue

__all__ = ["ACTIVE_STATES", "FINAL_STATES", "JobQueue"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import queue

        return getattr(queue, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
