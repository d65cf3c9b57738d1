"""What every panel shares: the workspace's services and actor, one action at a time with
its buttons disabled, and errors and news shown in the panel rather than the log console."""

from __future__ import annotations

import html
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import ipywidgets as w

from ..errors import one_line
from ..identity import current_actor

if TYPE_CHECKING:
    from ..jobs.follow import Followed
    from ..services import Services


class ActionPanel(w.VBox):
    """A VBox whose subclass sets `status`, `error` and the buttons an action disables."""

    status: w.HTML
    error: w.HTML

    def __init__(self, services: Services | None = None, *, actor: str | None = None, **kwargs: Any) -> None:
        from .. import services as services_mod

        self.services = services or services_mod.services_for()
        self.actor = actor or current_actor()
        self._busy = False
        self._lock = threading.RLock()
        super().__init__(**{"layout": w.Layout(width="auto"), **kwargs})

    def _buttons(self) -> list[w.Button]:
        """The buttons disabled while an action runs."""
        return list(getattr(self, "buttons", ()))

    @property
    def busy(self) -> bool:
        """Whether an action runs or a job is followed (its buttons are disabled meanwhile)."""
        return self._busy

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        for b in self._buttons():
            b.disabled = busy

    def _act(self, fn: Callable[[], Any]) -> None:
        """Run `fn` with the buttons disabled; an answer of True keeps them disabled (a job
        is followed, which re-enables them when it ends). Errors go to the error area."""
        with self._lock:
            if self._busy:
                return
            self._set_busy(True)
        self.error.value = ""
        self.status.value = ""
        keep_busy = False
        try:
            keep_busy = fn() is True
        except Exception as exc:  # say it in the panel, not in the log console
            self.show_error(one_line(exc))
        finally:
            if not keep_busy:
                self._set_busy(False)

    def follow_job(
        self,
        job_id: int,
        *,
        on_job: Callable[[dict[str, Any]], None] | None = None,
        on_line: Callable[[str], None] | None = None,
    ) -> Followed:
        """See a job to its end, inline when no server worker is alive (call it in a thread)."""
        from ..jobs.follow import follow

        return follow(
            self.services.jobs, job_id, scratch=self.services.workspace.state_dir, on_job=on_job, on_line=on_line
        )

    def show_error(self, message: str) -> None:
        """Show `message` in the panel's error area."""
        self.error.value = f"<div style='color:#b00020'><b>Error:</b> {html.escape(message, quote=False)}</div>"

    def _say(self, message: str) -> None:
        self.status.value = f"<div>{html.escape(message, quote=False)}</div>"
