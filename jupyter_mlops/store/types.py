"""Column types the ORM and the migrations share: each gives SQLite the DDL it always had."""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer, String
from sqlalchemy.types import TypeEngine

#: Row ids and the foreign keys to them: 64-bit on PostgreSQL (bigserial); on SQLite INTEGER,
#: the rowid alias that AUTOINCREMENT needs.
ID: TypeEngine[int] = BigInteger().with_variant(Integer(), "sqlite")


def name_type(length: int) -> TypeEngine[str]:
    """VARCHAR(length) compared and ordered byte by byte, as SQLite does: collation "C" on
    PostgreSQL, whatever the database's locale (lists page by name, and the aliases list's
    "model alias" key relies on " " sorting before every name character)."""
    return String(length).with_variant(String(length, collation="C"), "postgresql")
