"""Registry: models, tags, releases, artifacts, deployments, aliases, audit.

Revision ID: 0001_registry
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from jupyter_mlops.store.types import ID, name_type

revision = "0001_registry"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "models",
        sa.Column("id", ID, primary_key=True),
        sa.Column("name", name_type(100), nullable=False, unique=True),
        sa.Column("storage_path", sa.String(1024), nullable=False),
        sa.Column("repository", sa.String(1024)),
        sa.Column("company", sa.String(200)),
        sa.Column("base_model", sa.String(200)),
        sa.Column("parameter_count", sa.BigInteger()),
        sa.Column("description", sa.Text()),
        sa.Column("metadata", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_models_base_model", "models", ["base_model"])
    op.create_table(
        "model_tags",
        sa.Column("model_id", ID, sa.ForeignKey("models.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("tag", name_type(64), primary_key=True),
    )
    op.create_index("ix_model_tags_tag", "model_tags", ["tag"])
    op.create_table(
        "releases",
        sa.Column("id", ID, primary_key=True),
        sa.Column("model_id", ID, sa.ForeignKey("models.id", ondelete="RESTRICT"), nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("quantization", sa.String(32), nullable=False),
        sa.Column("release_notes", sa.Text()),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("metadata", sa.JSON(), nullable=False),
        sa.Column("auto_build", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("model_id", "version", "quantization", name="uq_release_identity"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_releases_status", "releases", ["status"])
    op.create_table(
        "artifacts",
        sa.Column("id", ID, primary_key=True),
        sa.Column("model_id", ID, sa.ForeignKey("models.id", ondelete="RESTRICT")),
        sa.Column("release_id", ID, sa.ForeignKey("releases.id", ondelete="RESTRICT")),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("path", sa.String(1024), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("size", sa.BigInteger()),
        sa.Column("sha256", sa.String(64)),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("(release_id IS NOT NULL) OR (model_id IS NOT NULL)", name="ck_artifact_owner"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_artifacts_model_id", "artifacts", ["model_id"])
    op.create_index("ix_artifacts_release_id", "artifacts", ["release_id"])
    op.create_table(
        "deployments",
        sa.Column("id", ID, primary_key=True),
        sa.Column("release_id", ID, sa.ForeignKey("releases.id", ondelete="RESTRICT"), nullable=False),
        sa.Column("environment", sa.String(64), nullable=False),
        sa.Column("endpoint", sa.String(1024)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("notes", sa.Text()),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_deployments_release_id", "deployments", ["release_id"])
    op.create_table(
        "aliases",
        sa.Column("model_id", ID, sa.ForeignKey("models.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("name", name_type(64), primary_key=True),
        sa.Column("release_id", ID, sa.ForeignKey("releases.id", ondelete="CASCADE"), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_aliases_release_id", "aliases", ["release_id"])
    op.create_table(
        "audit_events",
        sa.Column("id", ID, primary_key=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("entity_type", sa.String(32), nullable=False),
        sa.Column("entity_id", sa.String(200), nullable=False),
        sa.Column("model_id", ID),
        sa.Column("before", sa.JSON()),
        sa.Column("after", sa.JSON()),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_audit_model", "audit_events", ["model_id", "id"])


def downgrade() -> None:
    for table in ("audit_events", "aliases", "deployments", "artifacts", "releases", "model_tags", "models"):
        op.drop_table(table)
