"""The progress of a transfer or a hashing pass over a model's files: bytes and files done,
reported as its job's progress, and the cancel flag every worker thread checks."""

from __future__ import annotations

import threading
from typing import Any

from ..diskspace import mb


class TransferStopped(Exception):
    """Raised in a worker thread at its next chunk once the transfer is cancelled."""


class Transfer:
    """Bytes moved (or hashed) by one pass over `files_total` files, `files_skipped` of them
    needing no work; thread-safe."""

    def __init__(self, ctx: Any, verb: str, total: int, files_total: int, files_skipped: int = 0) -> None:
        self.ctx, self.verb, self.total = ctx, verb, total
        self.files_total, self.files_skipped = files_total, files_skipped
        self.done = self.files_done = 0
        self.lock = threading.Lock()
        self.cancelled = threading.Event()
        self.report()

    def add(self, n: int) -> None:
        """Count `n` more bytes; TransferStopped once cancelled (so the caller's request ends now)."""
        if self.cancelled.is_set():
            raise TransferStopped("cancelled")
        with self.lock:
            self.done += n
            self.report()

    def file_done(self) -> None:
        with self.lock:
            self.files_done += 1
            self.report()

    def report(self) -> None:
        if self.ctx is None:
            return
        skipped = f" ({self.files_skipped} already there)" if self.files_skipped else ""
        self.ctx.progress(
            self.done,
            self.total,
            "B",
            f"{self.verb} file {self.files_done} of {self.files_total - self.files_skipped}{skipped}; "
            f"{mb(self.done)} of {mb(self.total)}",
        )

    def subscriber(self) -> Any:
        """An s3transfer subscriber feeding this progress."""
        from s3transfer.subscribers import BaseSubscriber

        state = self

        class Progress(BaseSubscriber):  # type: ignore[misc]
            def on_progress(self, future: Any, bytes_transferred: int, **kwargs: Any) -> None:
                state.add(bytes_transferred)

        return Progress()
