"""Dependency doctor: history of checks, plans and repairs.

Revision ID: 0003_deps
Revises: 0002_jobs
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from jupyter_mlops.store.types import ID

revision = "0003_deps"
down_revision = "0002_jobs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deps_runs",
        sa.Column("id", ID, primary_key=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("python", sa.String(1024), nullable=False),
        sa.Column("project", sa.String(1024)),
        sa.Column("job_id", ID, sa.ForeignKey("jobs.id", ondelete="SET NULL")),
        sa.Column("needs_fix", sa.Boolean(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_deps_runs_python", "deps_runs", ["python", "id"])


def downgrade() -> None:
    op.drop_table("deps_runs")
