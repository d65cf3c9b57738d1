"""Durable jobs: rows in the store, run by a worker, each in its own subprocess."""
from __future__ import annotations

from .queue import ACTIVE_STATES, FINAL_STATES, JobQueue

__all__ = ["ACTIVE_STATES", "FINAL_STATES", "JobQueue"]
