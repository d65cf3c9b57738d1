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
