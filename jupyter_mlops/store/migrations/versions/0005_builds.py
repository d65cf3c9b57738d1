"""Image builds, their pushes, and a cache of file digests for build contexts.

Revision ID: 0005_builds
Revises: 0004_settings
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from jupyter_mlops.store.types import ID

revision = "0005_builds"
down_revision = "0004_settings"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "builds",
        sa.Column("id", ID, primary_key=True),
        sa.Column("release_id", ID, sa.ForeignKey("releases.id", ondelete="SET NULL")),
        sa.Column("model", sa.String(100), nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("quantization", sa.String(32), nullable=False),
        sa.Column("job_id", ID, sa.ForeignKey("jobs.id", ondelete="SET NULL")),
        sa.Column("tag", sa.String(255), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("context_hash", sa.String(80)),
        sa.Column("context_bytes", sa.BigInteger()),
        sa.Column("needed_bytes", sa.BigInteger()),
        sa.Column("context_files", sa.Integer()),
        sa.Column("image_id", sa.String(80)),
        sa.Column("image_size", sa.BigInteger()),
        sa.Column("reused", sa.Boolean(), nullable=False),
        sa.Column("duration_s", sa.Float()),
        sa.Column("run_check", sa.JSON()),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime()),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_builds_release", "builds", ["release_id", "id"])
    op.create_table(
        "build_pushes",
        sa.Column("id", ID, primary_key=True),
        sa.Column("build_id", ID, sa.ForeignKey("builds.id", ondelete="CASCADE"), nullable=False),
        sa.Column("job_id", ID, sa.ForeignKey("jobs.id", ondelete="SET NULL")),
        sa.Column("reference", sa.String(512), nullable=False),
        sa.Column("digest", sa.String(80)),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("pushed_at", sa.DateTime()),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_build_pushes_build", "build_pushes", ["build_id", "id"])
    op.create_table(
        "file_digests",
        sa.Column("path", sa.String(4096), primary_key=True),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("mtime_ns", sa.BigInteger(), nullable=False),
        sa.Column("inode", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("file_digests")
    op.drop_index("ix_build_pushes_build", "build_pushes")
    op.drop_table("build_pushes")
    op.drop_index("ix_builds_release", "builds")
    op.drop_table("builds")
