"""`jupyter mlops ...` (console script `jupyter-mlops`): the `%mlops` commands in a shell.

Exit codes: 0 success, 1 a domain error (message on stderr), 2 bad usage, 130 interrupted."""
from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from . import commands
from .errors import MLOpsError

PROG = "jupyter mlops"


class _TextProgress:
    """A one-line progress report on stderr while a job runs (only on a terminal)."""

    def __init__(self) -> None:
        self.last = ""

    def update(self, job: dict[str, Any]) -> None:
        p = job["progress"]
        if job.get("kind") == "hub.download":
            text = commands.download_progress_text(job)
        else:
            text = f"job {job['id']} {job['state']}: {p['done'] or 0:g}/{p['total'] or 0:g} {p['unit'] or ''}".rstrip()
        if text != self.last:
            sys.stderr.write(f"\r{text}\x1b[K")
            sys.stderr.flush()
            self.last = text

    def close(self) -> None:
        if self.last:
            sys.stderr.write("\n")
            sys.stderr.flush()


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; print its answer as a text table (or JSON with --json); return the exit code."""
    words = list(sys.argv[1:] if argv is None else argv)
    progress = _TextProgress() if sys.stderr.isatty() else None
    try:
        try:
            result = commands.run(words, prog=PROG, on_progress=progress.update if progress else None)
        finally:
            if progress is not None:
                progress.close()
    except commands.HelpRequested as help_:
        print(help_.text.rstrip(), file=sys.stderr if help_.incomplete else sys.stdout)
        return 2 if help_.incomplete else 0
    except commands.UsageError as exc:
        if exc.usage:
            print(exc.usage, file=sys.stderr)
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    except MLOpsError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    try:
        print(result.text())
        sys.stdout.flush()
    except BrokenPipeError:  # `jupyter mlops ... | head`
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
