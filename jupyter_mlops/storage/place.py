"""Where a model's files are, by its storage_path: an s3:// prefix, or a folder (or file)
on this machine inside the allowed roots (an hf:// reference is its snapshot in the model
cache). The one place that tells them apart for scan, fetch and publish."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..paths import Roots
from . import files, s3
from .files import Entry
from .s3 import S3Options


@dataclass(frozen=True)
class Location:
    """A model's files: `uri` on S3 (remote), or `path` on this machine."""

    storage_path: str
    roots: Roots
    path: Path | None = None
    field: str = "storage_path"

    @property
    def remote(self) -> bool:
        """Whether the files are on S3."""
        return self.path is None

    def client(self, options: S3Options) -> Any:
        """An S3 client for a remote location (None for a local one)."""
        return s3.client(options) if self.remote else None

    def entries(self, client: Any, options: S3Options) -> list[Entry]:
        """The files, in path order."""
        if self.path is None:
            return files.s3_entries(client, self.storage_path, options)
        return files.local_entries(self.path, self.roots, self.field)


def model_location(
    storage_path: str, root: Path, models_dir: Path, roots: Sequence[Path], field: str = "storage_path"
) -> Location:
    """The location of `storage_path`: InvalidInput/Forbidden as `builds.service.model_files`
    says for a local path, InvalidInput for an s3:// URI that does not parse."""
    from ..builds.service import model_files

    allowed = Roots(roots)
    if s3.is_s3(storage_path):
        s3.parse_uri(storage_path, field)
        return Location(storage_path, allowed, field=field)
    return Location(storage_path, allowed, model_files(storage_path, root, models_dir, allowed, field), field)
