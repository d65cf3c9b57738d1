"""The alias timeline: one row each time an alias is set, moved, deleted, rolled back or
imported; filled from the alias changes the audit history already holds.

Revision ID: 0007
Revises: 0006_open_quantization_runs
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from jupyter_mlops.store.types import ID

revision = "0007"
down_revision = "0006_open_quantization_runs"
branch_labels = None
depends_on = None

AUDIT = sa.table(
    "audit_events",
    sa.column("id", sa.Integer()),
    sa.column("at", sa.DateTime()),
    sa.column("actor", sa.String()),
    sa.column("action", sa.String()),
    sa.column("entity_type", sa.String()),
    sa.column("entity_id", sa.String()),
    sa.column("model_id", sa.Integer()),
    sa.column("before", sa.JSON()),
    sa.column("after", sa.JSON()),
)


def upgrade() -> None:
    events = op.create_table(
        "alias_events",
        sa.Column("id", ID, primary_key=True),
        sa.Column("model_id", ID, nullable=False),
        sa.Column("model", sa.String(100), nullable=False),
        sa.Column("alias", sa.String(64), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("release_id", ID),
        sa.Column("previous_release_id", ID),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_alias_events_alias", "alias_events", ["model_id", "alias", "id"])
    op.create_index("ix_alias_events_at", "alias_events", ["model_id", "at"])
    rows = op.get_bind().execute(
        sa.select(AUDIT).where(AUDIT.c.entity_type == "alias", AUDIT.c.model_id.is_not(None)).order_by(AUDIT.c.id)
    )
    backfill = [_event(row) for row in rows]
    if backfill:
        op.bulk_insert(events, backfill)


def _event(row: sa.Row[Any]) -> dict[str, object]:
    """The timeline row of one audited alias change (set_alias, delete_alias or import)."""
    model, _, alias = row.entity_id.rpartition("@")
    before = (row.before or {}).get("release_id")
    after = (row.after or {}).get("release_id")
    if row.action == "delete_alias" or after is None:
        action = "delete"
    elif row.action == "import":
        action = "import"
    else:
        action = "move" if before is not None and before != after else "set"
    return {
        "model_id": row.model_id,
        "model": model,
        "alias": alias,
        "action": action,
        "release_id": after,
        "previous_release_id": before,
        "actor": row.actor,
        "at": row.at,
    }


def downgrade() -> None:
    op.drop_index("ix_alias_events_at", "alias_events")
    op.drop_index("ix_alias_events_alias", "alias_events")
    op.drop_table("alias_events")
