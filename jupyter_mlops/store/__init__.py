"""The store: SQLAlchemy engine and sessions over SQLite (WAL) or PostgreSQL."""
from __future__ import annotations

from .engine import Store, open_store

__all__ = ["Store", "open_store"]
