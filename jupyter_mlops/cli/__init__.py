"""`jupyter mlops ...` (console script `jupyter-mlops`): the `%mlops` commands in a shell.

One module per capability (registry, jobs, deps, hub, builds, config) registers its
commands in the tree (`tree.py`); `render.py` shows answers as text, HTML or JSON.
Exit codes: 0 success, 1 a domain error (message on stderr), 2 bad usage, 130 interrupted."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any

from ..errors import MLOpsError
from .render import Result, job_progress_text
from .tree import HelpRequested, UsageError, run

PROG = "jupyter mlops"

__all__ = ["PROG", "HelpRequested", "Result", "UsageError", "main", "run"]


class _TextProgress:
    """A one-line progress report on stderr while a job runs (only on a terminal)."""

    def __init__(self) -> None:
        self.last = ""

    def update(self, job: dict[str, Any]) -> None:
        from .hub import download_progress_text

        text = download_progress_text(job) if job.get("kind") == "hub.download" else job_progress_text(job)
        if text != self.last:
            sys.stderr.write(f"\r{text}\x1b[K")
            sys.stderr.flush()
            self.last = text

    def close(self) -> None:
        if self.last:
            sys.stderr.write("\n")
            sys.stderr.flush()


def _print(text: str, *, to_stderr: bool = False) -> None:
    """Print, and leave quietly when the reader has gone (`jupyter mlops ... | head -1`)."""
    stream = sys.stderr if to_stderr else sys.stdout
    try:
        print(text, file=stream)
        stream.flush()
    except BrokenPipeError:
        # Python would report the broken pipe again when it flushes stdout at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
        os.close(devnull)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; print its answer as a text table (or JSON with --json); return the exit code."""
    words = list(sys.argv[1:] if argv is None else argv)
    progress = _TextProgress() if sys.stderr.isatty() else None
    try:
        try:
            result = run(words, prog=PROG, on_progress=progress.update if progress else None)
        finally:
            if progress is not None:
                progress.close()
    except HelpRequested as help_:
        _print(help_.text.rstrip(), to_stderr=help_.incomplete)
        return 2 if help_.incomplete else 0
    except UsageError as exc:
        if exc.usage:
            _print(exc.usage, to_stderr=True)
        _print(f"error: {exc.message}", to_stderr=True)
        return 2
    except MLOpsError as exc:
        _print(f"error: {exc.message}", to_stderr=True)
        return 1
    except KeyboardInterrupt:
        _print("interrupted", to_stderr=True)
        return 130
    if result.header() and not result.as_json:  # on stderr: the answer on stdout stays the answer alone
        _print(result.header(), to_stderr=True)
    _print(result.text())
    return 0
