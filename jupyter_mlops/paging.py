"""Keyset (cursor) pagination shared by every list."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from sqlalchemy import Select
from sqlalchemy.orm import InstrumentedAttribute, Session

from .errors import InvalidInput
from .fields import INT64_MAX

DEFAULT_LIMIT = 50
MAX_LIMIT = 500


def check_limit(limit: Any) -> int:
    """A page size between 1 and MAX_LIMIT, or InvalidInput naming `limit`."""
    if limit is None:
        return DEFAULT_LIMIT
    try:
        value = int(limit)
    except (TypeError, ValueError):
        raise InvalidInput(
            f"limit: must be a whole number from 1 to {MAX_LIMIT} (got {limit!r})", field="limit"
        ) from None
    if not 1 <= value <= MAX_LIMIT:
        raise InvalidInput(f"limit: must be a whole number from 1 to {MAX_LIMIT} (got {value})", field="limit")
    return value


def encode_cursor(value: Any, scope: str) -> str:
    """Opaque cursor for the last key of a page of the list `scope` (e.g. `jobs.id`)."""
    return base64.urlsafe_b64encode(json.dumps([scope, value]).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, kind: type, scope: str) -> Any:
    """The key a cursor of the list `scope` holds, or InvalidInput naming `cursor`. `kind`
    (int or str) is the type of the list's key: a cursor of another list, or one of any
    other shape (forged), is refused."""
    refused = InvalidInput("cursor: is not a cursor of this list (take next_cursor from its last page)", field="cursor")
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        decoded = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, TypeError, binascii.Error, RecursionError):
        raise refused from None
    if not isinstance(decoded, list) or len(decoded) != 2 or decoded[0] != scope:
        raise refused
    value = decoded[1]
    if (
        not isinstance(value, (int, str))
        or isinstance(value, bool)
        or not isinstance(value, kind)
        or (isinstance(value, int) and abs(value) > INT64_MAX)
    ):
        raise refused
    return value


def page(
    session: Session,
    stmt: Select[Any],
    key: InstrumentedAttribute[Any],
    *,
    descending: bool,
    limit: Any = None,
    cursor: str | None = None,
    scalars: bool = True,
) -> tuple[list[Any], str | None]:
    """One page of `stmt` ordered by the unique column `key`, and the next cursor.
    Rows are ORM objects (`scalars`) or Core rows with `key` among their columns."""
    size = check_limit(limit)
    scope = f"{key.class_.__tablename__}.{key.key}"
    if cursor:
        after = decode_cursor(cursor, key.type.python_type, scope)
        stmt = stmt.where(key < after if descending else key > after)
    stmt = stmt.order_by(key.desc() if descending else key.asc()).limit(size + 1)
    result = session.execute(stmt)
    rows = list(result.scalars().unique() if scalars else result)
    more = len(rows) > size
    rows = rows[:size]
    next_cursor = encode_cursor(getattr(rows[-1], key.key), scope) if more and rows else None
    return rows, next_cursor
