"""One-shot secret files: a token or registry credentials handed from a request to its
job without entering the store, the job's params or its log. Each file is 0600 in a
0700 folder, read and deleted by the job as it starts, and swept when no job claims it."""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path
from typing import Any

from .errors import InvalidInput

#: A secret file not claimed by an active job after this many seconds is a leftover.
GRACE = 60.0


class SecretFiles:
    """The secrets folder of a workspace."""

    def __init__(self, folder: str | Path, jobs: Any) -> None:
        self.folder = Path(folder)
        self.jobs = jobs

    def write(self, prefix: str, text: str | None) -> str | None:
        """A new one-shot file holding `text` (None when there is nothing to hold)."""
        if not text:
            return None
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(self.folder, 0o700)
        path = self.folder / f"{prefix}-{secrets.token_hex(8)}"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        return str(path)

    def submit(
        self, secret: str | None, kind: str, params: dict[str, Any], *, owner: str, dedupe_key: str
    ) -> dict[str, Any]:
        """Queue a job whose params name the one-shot file `secret`; the file is deleted when
        no new job will read it (the submit failed, or an active twin was answered instead)."""
        try:
            job: dict[str, Any] = self.jobs.submit(kind, params, owner=owner, dedupe_key=dedupe_key)
        except BaseException:
            forget(secret)
            raise
        if job.get("deduplicated"):
            forget(secret)
        return job

    def claimed(self) -> set[str]:
        """The secret files named in the params of active jobs (of any kind)."""
        found: set[str] = set()
        cursor = None
        while True:
            page = self.jobs.list(active=True, limit=500, cursor=cursor)
            for job in page["items"]:
                found.update(
                    v for v in job["params"].values() if isinstance(v, str) and v.startswith(str(self.folder) + os.sep)
                )
            cursor = page["next_cursor"]
            if not cursor:
                return found

    def clean(self) -> int:
        """Delete secret files older than GRACE that no active job claims; returns how many."""
        if not self.folder.is_dir():
            return 0
        wanted = self.claimed()
        removed = 0
        for path in self.folder.iterdir():
            try:
                if str(path) not in wanted and time.time() - path.stat().st_mtime > GRACE:
                    path.unlink()
                    removed += 1
            except FileNotFoundError:
                continue
        return removed


def forget(path: str | None) -> None:
    """Delete a secret file that no job will read."""
    if path:
        Path(path).unlink(missing_ok=True)


def take(path: str | None, field: str) -> str | None:
    """The secret in a one-shot file, which is deleted at once."""
    if not path:
        return None
    file = Path(path)
    try:
        return file.read_text().strip() or None
    except FileNotFoundError:
        raise InvalidInput(
            f"{field}: the secret for this job is gone (the job was already run); start it again", field=field
        ) from None
    finally:
        file.unlink(missing_ok=True)
