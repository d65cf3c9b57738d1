"""Workspace settings (the default model, ...).

Revision ID: 0004_settings
Revises: 0003_deps
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_settings"
down_revision = "0003_deps"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "settings",
        sa.Column("key", sa.String(100), primary_key=True),
        sa.Column("value", sa.JSON(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("updated_by", sa.String(200), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("settings")
