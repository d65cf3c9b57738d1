"""SQLAlchemy ORM tables. Alembic migrations in `migrations/` must match these."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from .types import ID, name_type


def utcnow() -> datetime:
    """Timezone-aware now, the only clock the store uses."""
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator[datetime]):
    """DateTime stored naive-UTC, returned timezone-aware."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(timezone.utc).replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value


class Base(DeclarativeBase):
    """Declarative base for every table."""


class Model(Base):
    __tablename__ = "models"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(name_type(100), unique=True, nullable=False)
    storage_path: Mapped[str] = mapped_column(String(1024), nullable=False)
    repository: Mapped[str | None] = mapped_column(String(1024))
    company: Mapped[str | None] = mapped_column(String(200))
    base_model: Mapped[str | None] = mapped_column(String(200), index=True)
    parameter_count: Mapped[int | None] = mapped_column(BigInteger)
    description: Mapped[str | None] = mapped_column(Text)
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, nullable=False, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)

    tag_rows: Mapped[list[ModelTag]] = relationship(cascade="all, delete-orphan", order_by="ModelTag.tag")


class ModelTag(Base):
    __tablename__ = "model_tags"

    model_id: Mapped[int] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(name_type(64), primary_key=True)
    __table_args__ = (Index("ix_model_tags_tag", "tag"),)


class Release(Base):
    __tablename__ = "releases"
    __table_args__ = (
        UniqueConstraint("model_id", "version", "quantization", name="uq_release_identity"),
        Index("ix_releases_status", "status"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id", ondelete="RESTRICT"), nullable=False)
    version: Mapped[str] = mapped_column(String(64), nullable=False)
    quantization: Mapped[str] = mapped_column(String(64), nullable=False, default="none")
    release_notes: Mapped[str | None] = mapped_column(Text)
    #: The MLflow run it came from, as `runs:/<run id>` (set by a person or an import).
    mlflow_run: Mapped[str | None] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="candidate")
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, nullable=False, default=dict)
    auto_build: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)

    model: Mapped[Model] = relationship(lazy="joined", innerjoin=True)


class Artifact(Base):
    __tablename__ = "artifacts"
    __table_args__ = (
        CheckConstraint("(release_id IS NOT NULL) OR (model_id IS NOT NULL)", name="ck_artifact_owner"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    model_id: Mapped[int | None] = mapped_column(ForeignKey("models.id", ondelete="RESTRICT"), index=True)
    release_id: Mapped[int | None] = mapped_column(ForeignKey("releases.id", ondelete="RESTRICT"), index=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    path: Mapped[str] = mapped_column(String(1024), nullable=False)
    kind: Mapped[str] = mapped_column(String(32), nullable=False, default="file")
    size: Mapped[int | None] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64))
    #: What a scan saw of the file (see `storage.files.Entry.fingerprint`); None when recorded by hand.
    fingerprint: Mapped[str | None] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)


class Deployment(Base):
    __tablename__ = "deployments"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    release_id: Mapped[int] = mapped_column(ForeignKey("releases.id", ondelete="RESTRICT"), nullable=False, index=True)
    environment: Mapped[str] = mapped_column(String(64), nullable=False)
    endpoint: Mapped[str | None] = mapped_column(String(1024))
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="pending")
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)

    release: Mapped[Release] = relationship(lazy="joined", innerjoin=True)


class Alias(Base):
    __tablename__ = "aliases"

    model_id: Mapped[int] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(name_type(64), primary_key=True)
    release_id: Mapped[int] = mapped_column(ForeignKey("releases.id", ondelete="CASCADE"), nullable=False, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)


class AliasEvent(Base):
    """One change of an alias (set, move, delete, rollback, import): its timeline. `release_id`
    is the target after the change (None: deleted), `previous_release_id` the one before.
    No foreign keys: history outlives a deleted release or model."""

    __tablename__ = "alias_events"
    __table_args__ = (
        Index("ix_alias_events_alias", "model_id", "alias", "id"),
        Index("ix_alias_events_at", "model_id", "at"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    model_id: Mapped[int] = mapped_column(ID, nullable=False)
    model: Mapped[str] = mapped_column(String(100), nullable=False)
    alias: Mapped[str] = mapped_column(String(64), nullable=False)
    action: Mapped[str] = mapped_column(String(16), nullable=False)
    release_id: Mapped[int | None] = mapped_column(ID)
    previous_release_id: Mapped[int | None] = mapped_column(ID)
    actor: Mapped[str] = mapped_column(String(200), nullable=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)


class AuditEvent(Base):
    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_model", "model_id", "id"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    actor: Mapped[str] = mapped_column(String(200), nullable=False)
    action: Mapped[str] = mapped_column(String(64), nullable=False)
    entity_type: Mapped[str] = mapped_column(String(32), nullable=False)
    entity_id: Mapped[str] = mapped_column(String(200), nullable=False)
    # No foreign key: history outlives a deleted model.
    model_id: Mapped[int | None] = mapped_column(ID)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class Worker(Base):
    __tablename__ = "workers"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    host: Mapped[str] = mapped_column(String(255), nullable=False)
    pid: Mapped[int] = mapped_column(Integer, nullable=False)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: the place of the jobs it takes (`host:/workspace`), None: only jobs any worker may run
    place: Mapped[str | None] = mapped_column(String(1024))


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_state", "state", "id"),
        Index("ix_jobs_dedupe", "dedupe_key"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    kind: Mapped[str] = mapped_column(String(64), nullable=False)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    state: Mapped[str] = mapped_column(String(16), nullable=False, default="queued")
    owner: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    dedupe_key: Mapped[str | None] = mapped_column(String(512))
    #: where it must run (`host:/workspace`), None: on any worker
    place: Mapped[str | None] = mapped_column(String(1024))
    progress_done: Mapped[float] = mapped_column(Float, nullable=False, default=0)
    progress_total: Mapped[float | None] = mapped_column(Float)
    progress_unit: Mapped[str] = mapped_column(String(16), nullable=False, default="")
    progress_rate: Mapped[float | None] = mapped_column(Float)
    message: Mapped[str] = mapped_column(Text, nullable=False, default="")
    error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    worker_id: Mapped[int | None] = mapped_column(ForeignKey("workers.id", ondelete="SET NULL"))
    host: Mapped[str | None] = mapped_column(String(255))
    pid: Mapped[int | None] = mapped_column(Integer)
    log_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class JobLog(Base):
    __tablename__ = "job_logs"

    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    stream: Mapped[str] = mapped_column(String(8), nullable=False, default="out")
    line: Mapped[str] = mapped_column(Text, nullable=False)


class DepsRun(Base):
    """One dependency check, plan or repair of an environment, kept as history."""

    __tablename__ = "deps_runs"
    __table_args__ = (Index("ix_deps_runs_python", "python", "id"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    actor: Mapped[str] = mapped_column(String(200), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    python: Mapped[str] = mapped_column(String(1024), nullable=False)
    project: Mapped[str | None] = mapped_column(String(1024))
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))
    needs_fix: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)


class Setting(Base):
    """One workspace setting (e.g. the default model): a JSON value, who set it and when."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(200), nullable=False, default="")


class Build(Base):
    """One image build of a release: its options, its job, and what it produced.
    The model, version and quantization are kept so history outlives the release."""

    __tablename__ = "builds"
    __table_args__ = (Index("ix_builds_release", "release_id", "id"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    release_id: Mapped[int | None] = mapped_column(ForeignKey("releases.id", ondelete="SET NULL"))
    model: Mapped[str] = mapped_column(String(100), nullable=False)
    version: Mapped[str] = mapped_column(String(64), nullable=False)
    quantization: Mapped[str] = mapped_column(String(64), nullable=False)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))
    tag: Mapped[str] = mapped_column(String(255), nullable=False)
    options: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    context_hash: Mapped[str | None] = mapped_column(String(80))
    context_bytes: Mapped[int | None] = mapped_column(BigInteger)
    needed_bytes: Mapped[int | None] = mapped_column(BigInteger)
    context_files: Mapped[int | None] = mapped_column(Integer)
    image_id: Mapped[str | None] = mapped_column(String(80))
    image_size: Mapped[int | None] = mapped_column(BigInteger)
    reused: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    duration_s: Mapped[float | None] = mapped_column(Float)
    run_check: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class BuildPush(Base):
    """One push of a build's image to a registry, with the digest the registry answered."""

    __tablename__ = "build_pushes"
    __table_args__ = (Index("ix_build_pushes_build", "build_id", "id"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    build_id: Mapped[int] = mapped_column(ForeignKey("builds.id", ondelete="CASCADE"), nullable=False)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))
    reference: Mapped[str] = mapped_column(String(512), nullable=False)
    digest: Mapped[str | None] = mapped_column(String(80))
    created_by: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    pushed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class FileDigest(Base):
    """A file's sha256, valid while its size, mtime and inode are unchanged."""

    __tablename__ = "file_digests"

    path: Mapped[str] = mapped_column(String(4096), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger, nullable=False)
    mtime_ns: Mapped[int] = mapped_column(BigInteger, nullable=False)
    inode: Mapped[int] = mapped_column(BigInteger, nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
