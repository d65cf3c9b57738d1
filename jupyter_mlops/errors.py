"""Domain errors shared by every service; each face maps them to its own output."""

from __future__ import annotations


class MLOpsError(Exception):
    """Base class: a failure the user can act on, with a plain message."""

    status = 500

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def to_dict(self) -> dict[str, object]:
        """JSON body for a face to send or print."""
        body: dict[str, object] = {"error": type(self).__name__, "message": self.message}
        if self.field:
            body["field"] = self.field
        return body

    def _render_traceback_(self) -> list[str]:
        """How IPython shows it when it stops a cell: one line, the message, no traceback."""
        return [f"\x1b[0;31m{type(self).__name__}\x1b[0m: {self.message}"]


class InvalidInput(MLOpsError):
    """Input broke a rule; the message names the field and the rule."""

    status = 400


class Forbidden(MLOpsError):
    """The caller may not do this (permissions, protected paths)."""

    status = 403


class NotFound(MLOpsError):
    """The named object does not exist."""

    status = 404


class Conflict(MLOpsError):
    """The request clashes with the current state (duplicate, in use, wrong lifecycle step)."""

    status = 409


class Unavailable(MLOpsError):
    """A backing service (database, daemon) is not ready or not reachable."""

    status = 503


def one_line(exc: BaseException) -> str:
    """A failure in one line: a domain error's message, else the exception's type and the
    first line of its text (never the chain of exceptions behind it)."""
    if isinstance(exc, MLOpsError):
        return exc.message
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__
