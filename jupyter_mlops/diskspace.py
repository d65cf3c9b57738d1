"""The one disk-space rule for anything that writes model files (a Hub download, a fetch
from S3): refuse before starting when the disk cannot take it plus a margin."""

from __future__ import annotations

import shutil
from pathlib import Path

from .errors import MLOpsError


class NotEnoughSpace(MLOpsError):
    """The disk holding the model cache cannot take the transfer (plus the margin)."""

    status = 507


def mb(n: float) -> str:
    """Bytes as megabytes for a message."""
    return f"{n / 1e6:.1f} MB"


def require_space(folder: str | Path, needed: int, margin: int, what: str) -> None:
    """NotEnoughSpace unless the disk of `folder` has `needed` bytes plus `margin` (the
    download_disk_margin setting) free; `what` names the transfer in the message."""
    free = shutil.disk_usage(folder).free
    if free < needed + margin:
        raise NotEnoughSpace(
            f"not enough disk space in {folder}: {what} needs {mb(needed)} plus a margin of "
            f"{mb(margin)} (download_disk_margin), but only {mb(free)} is free"
        )
