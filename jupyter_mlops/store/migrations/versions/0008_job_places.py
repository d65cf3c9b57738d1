"""Where a job may run: its place (host and workspace), and each worker's.

Revision ID: 0008_job_places
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_job_places"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Jobs queued before places existed stay without one: any worker may run them, as before.
    for table in ("jobs", "workers"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("place", sa.String(1024), nullable=True))


def downgrade() -> None:
    for table in ("jobs", "workers"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("place")
