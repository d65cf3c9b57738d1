"""What a scan saw of each file it recorded: its fingerprint (an S3 ETag, or a file's
size and modification time), so a later scan hashes only what changed.

Revision ID: 0009_artifact_fingerprints
Revises: 0008_job_places
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_artifact_fingerprints"
down_revision = "0008_job_places"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Artifacts recorded by hand have none: a scan that meets one hashes its file again.
    with op.batch_alter_table("artifacts") as batch:
        batch.add_column(sa.Column("fingerprint", sa.String(256), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("artifacts") as batch:
        batch.drop_column("fingerprint")
