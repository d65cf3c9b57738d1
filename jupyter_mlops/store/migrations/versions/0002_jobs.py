"""Durable jobs: workers, jobs and their ordered log lines.

Revision ID: 0002_jobs
Revises: 0001_registry
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from jupyter_mlops.store.types import ID

revision = "0002_jobs"
down_revision = "0001_registry"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "workers",
        sa.Column("id", ID, primary_key=True),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(), nullable=False),
        sa.Column("stopped_at", sa.DateTime()),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "jobs",
        sa.Column("id", ID, primary_key=True),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("dedupe_key", sa.String(512)),
        sa.Column("progress_done", sa.Float(), nullable=False),
        sa.Column("progress_total", sa.Float()),
        sa.Column("progress_unit", sa.String(16), nullable=False),
        sa.Column("progress_rate", sa.Float()),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("error", sa.Text()),
        sa.Column("result", sa.JSON()),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("worker_id", ID, sa.ForeignKey("workers.id", ondelete="SET NULL")),
        sa.Column("host", sa.String(255)),
        sa.Column("pid", sa.Integer()),
        sa.Column("log_count", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("started_at", sa.DateTime()),
        sa.Column("heartbeat_at", sa.DateTime()),
        sa.Column("finished_at", sa.DateTime()),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_jobs_state", "jobs", ["state", "id"])
    op.create_index("ix_jobs_dedupe", "jobs", ["dedupe_key"])
    op.create_table(
        "job_logs",
        sa.Column("job_id", ID, sa.ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("seq", sa.Integer(), primary_key=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("stream", sa.String(8), nullable=False),
        sa.Column("line", sa.Text(), nullable=False),
    )


def downgrade() -> None:
    for table in ("job_logs", "jobs", "workers"):
        op.drop_table(table)
