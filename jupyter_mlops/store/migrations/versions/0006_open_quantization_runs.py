"""Quantization labels up to 64 characters, and the MLflow run a release came from.

Revision ID: 0006_open_quantization_runs
Revises: 0005_builds
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_open_quantization_runs"
down_revision = "0005_builds"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # SQLite keeps any length in a VARCHAR; PostgreSQL needs the wider type.
    if op.get_bind().dialect.name != "sqlite":
        for table in ("releases", "builds"):
            op.alter_column(table, "quantization", type_=sa.String(64), existing_nullable=False)
    with op.batch_alter_table("releases") as batch:
        batch.add_column(sa.Column("mlflow_run", sa.String(300), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("releases") as batch:
        batch.drop_column("mlflow_run")
