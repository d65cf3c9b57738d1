"""The store: SQLAlchemy engine and sessions over SQLite (WAL) or PostgreSQL."""

from __future__ import annotations

from .engine import Store, fetch, open_store

__all__ = ["Store", "fetch", "open_store"]
