"""DependencyPanel: the kernel's dependency status, the plan, and a confirmed repair job.

A thin face over `Services.deps`: the status table, a "Fix dependencies" button shown
only when something is missing or outdated, the plan for confirmation, then the repair
job's progress and log. The job runs in the server's worker when one is alive, else
inline in a background thread of this kernel."""

from __future__ import annotations

import html
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ipywidgets as w

from ..cli.deps import DEPS_COLUMNS, plan_result, status_record, status_rows
from ..cli.render import cell_text, html_record, html_table
from ..errors import one_line
from .panel import ActionPanel

if TYPE_CHECKING:
    from ..services import Services


class DependencyPanel(ActionPanel):
    """A VBox over `services.deps` for one interpreter (default: this kernel's) and project
    (default: found upward from the current folder, not above the workspace root)."""

    def __init__(
        self,
        services: Services | None = None,
        python: str | None = None,
        project: str | Path | None = None,
        *,
        installer: str | None = None,
        actor: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(services, actor=actor, **kwargs)
        self.python = python or sys.executable
        self.project = str(project) if project is not None else None
        self.installer = installer
        self.last_status: dict[str, Any] | None = None
        self.last_plan: dict[str, Any] | None = None
        self.job: dict[str, Any] | None = None
        self._thread: threading.Thread | None = None

        self.title = w.HTML(f"<b>Dependencies</b> <small>{html.escape(self.python)}</small>")
        self.check_button = w.Button(description="Check", icon="refresh")
        self.fix_button = w.Button(
            description="Fix dependencies", button_style="warning", icon="wrench", layout=w.Layout(display="none")
        )
        self.summary = w.HTML("")
        self.table = w.HTML("")
        self.plan_html = w.HTML("")
        self.confirm_button = w.Button(description="Confirm", button_style="danger", icon="check")
        self.cancel_button = w.Button(description="Cancel", icon="times")
        self.confirm_box = w.HBox([self.confirm_button, self.cancel_button], layout=w.Layout(display="none"))
        self.progress = w.IntProgress(value=0, min=0, max=1, description="repair", layout=w.Layout(display="none"))
        self.log_area = w.Textarea(
            value="", disabled=True, layout=w.Layout(width="auto", height="160px", display="none")
        )
        self.status = w.HTML("")
        self.error = w.HTML("")
        self.buttons = (self.check_button, self.fix_button, self.confirm_button, self.cancel_button)

        self.check_button.on_click(lambda _b: self._act(self.check))
        self.fix_button.on_click(lambda _b: self._act(self.show_plan))
        self.cancel_button.on_click(lambda _b: self._act(self._cancel))
        self.confirm_button.on_click(lambda _b: self._act(self.start_repair))
        self.children = [
            self.title,
            w.HBox([self.check_button, self.fix_button]),
            self.summary,
            self.table,
            self.plan_html,
            self.confirm_box,
            self.progress,
            self.log_area,
            self.status,
            self.error,
        ]
        self._act(self.check)

    def _target(self) -> Any:
        return self.services.deps.target(self.python, self.project, start=Path.cwd())

    # -- actions -----------------------------------------------------------------------
    def check(self) -> None:
        """Check the environment and show the status table."""
        answer = self.services.deps.check(self._target(), self.actor)
        self._show_status(answer)

    def _show_status(self, answer: dict[str, Any]) -> None:
        self.last_status = answer
        self.summary.value = html_record(status_record(answer))
        self.table.value = html_table(DEPS_COLUMNS, status_rows(answer["status"]))
        self.fix_button.layout.display = None if answer["status"]["needs_fix"] else "none"

    def show_plan(self) -> None:
        """The checked plan, with Confirm/Cancel when it may be applied."""
        answer = self.services.deps.plan(self._target(), self.actor, installer=self.installer)
        self.last_plan = answer
        self._show_status(answer)
        result = plan_result(answer)
        self.plan_html.value = result.html()
        ok = answer["status"]["needs_fix"] and answer["plan"]["ok"]
        self.confirm_box.layout.display = None if ok else "none"

    def _cancel(self) -> None:
        self.plan_html.value = ""
        self.confirm_box.layout.display = "none"

    def start_repair(self) -> bool:
        """Submit the repair job and follow it in a thread; the buttons stay disabled until it ends."""
        self.confirm_box.layout.display = "none"
        self.job = self.services.deps.repair(self._target(), self.actor, installer=self.installer)
        self.progress.layout.display = None
        self.log_area.layout.display = None
        self.progress.bar_style = "info"
        self.log_area.value = ""
        self._thread = threading.Thread(
            target=self._follow, args=(self.job["id"],), daemon=True, name=f"mlops-repair-{self.job['id']}"
        )
        self._thread.start()
        return True

    def wait(self, timeout: float = 600.0) -> dict[str, Any] | None:
        """Block until the running repair (if any) ends; returns the job."""
        if self._thread is not None:
            self._thread.join(timeout)
        return self.job

    def _follow(self, job_id: int) -> None:
        def on_job(job: dict[str, Any]) -> None:
            self.job = job
            p = job["progress"]
            self.progress.max = max(int(p["total"] or 0), 1)
            self.progress.value = min(int(p["done"] or 0), self.progress.max)
            self.status.value = html.escape(f"job {job_id} {job['state']}: {job.get('message') or ''}")

        def on_line(line: str) -> None:
            self.log_area.value += line + "\n"

        try:
            job = self.follow_job(job_id, on_job=on_job, on_line=on_line).job
            if job.get("state") == "succeeded":
                self.progress.bar_style, self.progress.value = "success", self.progress.max
                out = job.get("result") or {}
                self.status.value = (
                    "<div style='color:#1b5e20'>"
                    + html.escape(
                        f"installed: {cell_text(out.get('installed'), 400) or 'nothing'}; "
                        f"failed: {cell_text(list(out.get('failed') or {}), 400) or 'none'}; "
                        f"skipped: {cell_text(list(out.get('skipped') or {}), 400) or 'none'}. "
                        + (
                            "Restart the kernel to use the new packages."
                            if out.get("restart_kernel")
                            else str(out.get("message") or "")
                        )
                    )
                    + "</div>"
                )
                self.plan_html.value = ""
                self._show_status(self.services.deps.check(self._target(), self.actor))
            else:
                self.progress.bar_style = "danger"
                self.show_error(f"repair job {job_id} {job.get('state')}: {job.get('error') or job.get('message')}")
        except Exception as exc:
            self.show_error(one_line(exc))
        finally:
            self._set_busy(False)
