"""DownloadPanel: download Hugging Face models with live progress, cancel them, and list
and delete what is in the workspace's model cache.

A thin face over `Services.hub`: a form (repo, revision, include, exclude globs), one
progress row a download job (bytes, rate, ETA, a cancel button), and the local models
with their sizes and a delete button behind a confirmation step. A job runs in the
server's worker when one is alive, else inline in a background thread of this kernel.
Refusals (in use, permission, bad input) are shown in the panel as the service words them."""

from __future__ import annotations

import html
import threading
import time
from typing import TYPE_CHECKING, Any

import ipywidgets as w

from ..cli.hub import download_progress_text
from ..cli.render import human_bytes
from ..errors import MLOpsError, one_line
from ..jobs import ACTIVE_STATES
from .panel import ActionPanel

if TYPE_CHECKING:
    from ..services import Services

RECENT = 10


def _globs(text: str) -> list[str] | None:
    """Comma-separated globs as a list (blank: None)."""
    parts = [p.strip() for p in (text or "").split(",") if p.strip()]
    return parts or None


class _JobRow:
    """One download job: label, progress bar, text, cancel button."""

    def __init__(self, panel: DownloadPanel, job: dict[str, Any]) -> None:
        params = job.get("params") or {}
        self.job_id = job["id"]
        self.title = w.HTML(
            f"<code>{html.escape(str(params.get('repo_id')))}"
            f"@{html.escape(str(params.get('revision') or 'main'))}</code>",
            layout=w.Layout(width="260px"),
        )
        self.bar = w.IntProgress(value=0, min=0, max=1, layout=w.Layout(width="220px"))
        self.text = w.Label("")
        self.cancel_button = w.Button(description="Cancel", icon="stop", layout=w.Layout(width="90px"))
        self.cancel_button.on_click(lambda _b: panel._act(lambda: panel.cancel(self.job_id)))
        self.box = w.HBox([self.title, self.bar, self.cancel_button, self.text])
        self.update(job)

    def update(self, job: dict[str, Any]) -> None:
        p = job["progress"]
        total = int(p.get("total") or 0)
        self.bar.max = max(total, 1)
        self.bar.value = min(int(p.get("done") or 0), self.bar.max)
        state = job["state"]
        self.text.value = download_progress_text(job)
        if state == "succeeded":
            self.bar.bar_style, self.bar.value = "success", self.bar.max
        elif state in ("failed", "cancelled", "interrupted"):
            self.bar.bar_style = "danger"
            if job.get("error"):
                self.text.value = f"download {job['id']} {state}: {job['error']}"
        else:
            self.bar.bar_style = "info"
        self.cancel_button.disabled = state not in ACTIVE_STATES or bool(job.get("cancel_requested"))


class DownloadPanel(ActionPanel):
    """A VBox over `services.hub` (default: the services of the current workspace)."""

    def __init__(self, services: Services | None = None, *, actor: str | None = None, **kwargs: Any) -> None:
        super().__init__(services, actor=actor, **kwargs)
        self._threads: dict[int, threading.Thread] = {}
        self.rows: dict[int, _JobRow] = {}
        self.local: dict[str, dict[str, Any]] = {}
        self.delete_buttons: dict[str, w.Button] = {}
        self.pending_delete: str | None = None
        self.last_delete: dict[str, Any] | None = None

        self.title = w.HTML(
            f"<b>Model hub</b> <small>{html.escape(self.services.hub.endpoint)} &rarr; "
            f"{html.escape(str(self.services.hub.models_dir))}</small>"
        )
        self.repo = w.Text(placeholder="org/name", description="repo")
        self.revision = w.Text(placeholder="main", description="revision")
        self.include = w.Text(placeholder="*.json, *Q4_K_M*.gguf", description="include")
        self.exclude = w.Text(placeholder="*.bin", description="exclude")
        self.download_button = w.Button(description="Download", button_style="primary", icon="download")
        self.refresh_button = w.Button(description="Refresh", icon="refresh")
        self.jobs_box = w.VBox([])
        self.local_box = w.VBox([])
        self.confirm_text = w.HTML("")
        self.force = w.Checkbox(value=False, description="force (even if in use)", indent=False)
        self.confirm_button = w.Button(description="Delete", button_style="danger", icon="trash")
        self.cancel_delete_button = w.Button(description="Keep", icon="times")
        self.confirm_box = w.VBox(
            [self.confirm_text, w.HBox([self.confirm_button, self.cancel_delete_button, self.force])],
            layout=w.Layout(display="none"),
        )
        self.status = w.HTML("")
        self.error = w.HTML("")

        self.download_button.on_click(lambda _b: self._act(self.start))
        self.refresh_button.on_click(lambda _b: self._act(self.refresh))
        self.confirm_button.on_click(lambda _b: self._act(self.confirm_delete))
        self.cancel_delete_button.on_click(lambda _b: self._act(self._keep))
        self.children = [
            self.title,
            w.HBox([w.VBox([self.repo, self.revision]), w.VBox([self.include, self.exclude])]),
            w.HBox([self.download_button, self.refresh_button]),
            w.HTML("<b>Downloads</b>"),
            self.jobs_box,
            w.HTML("<b>Local models</b>"),
            self.local_box,
            self.confirm_box,
            self.status,
            self.error,
        ]
        self._act(self.refresh)

    # -- plumbing ----------------------------------------------------------------------
    def _buttons(self) -> list[w.Button]:
        return [
            self.download_button,
            self.refresh_button,
            self.confirm_button,
            self.cancel_delete_button,
            *self.delete_buttons.values(),
        ]

    # -- downloads ---------------------------------------------------------------------
    def start(self) -> dict[str, Any]:
        """Queue a download from the form and follow it (inline in a thread when no server worker is alive)."""
        data: dict[str, Any] = {"repo_id": self.repo.value.strip()}
        if self.revision.value.strip():
            data["revision"] = self.revision.value.strip()
        for key, box in (("allow_patterns", self.include), ("ignore_patterns", self.exclude)):
            globs = _globs(box.value)
            if globs:
                data[key] = globs
        job = self.services.hub.start_download(data, self.actor)
        self._show_job(job)
        if job.get("deduplicated"):
            self._say(f"{data['repo_id']} is already being downloaded (job {job['id']}, {job['state']})")
        else:
            self._say(f"queued download job {job['id']} of {data['repo_id']}")
        self._follow(job["id"])
        return job

    def _show_job(self, job: dict[str, Any]) -> None:
        with self._lock:
            row = self.rows.get(job["id"])
            if row is None:
                self.rows[job["id"]] = _JobRow(self, job)
                ordered = sorted(self.rows.values(), key=lambda r: -r.job_id)
                self.jobs_box.children = [r.box for r in ordered]
            else:
                row.update(job)

    def _follow(self, job_id: int) -> None:
        if job_id in self._threads and self._threads[job_id].is_alive():
            return
        t = threading.Thread(target=self._run_follow, args=(job_id,), daemon=True, name=f"mlops-download-{job_id}")
        self._threads[job_id] = t
        t.start()

    def _run_follow(self, job_id: int) -> None:
        try:
            job = self.follow_job(job_id, on_job=self._show_job).job
            if job["state"] == "succeeded":
                out = job.get("result") or {}
                self._say(
                    f"downloaded {out.get('repo_id')}@{out.get('revision')}: "
                    f"{human_bytes(out.get('bytes_total'))} in {out.get('files_total')} files"
                )
            else:
                self.show_error(f"download job {job_id} {job['state']}: {job.get('error') or job.get('message')}")
            self._show_local()
        except Exception as exc:
            self.show_error(one_line(exc))

    def cancel(self, job_id: int) -> dict[str, Any]:
        """Ask a download job to stop."""
        job = self.services.hub.cancel(job_id)
        self._show_job(job)
        self._say(f"cancel requested for download job {job_id}")
        return job

    def wait(self, timeout: float = 120.0) -> None:
        """Block until every followed download has ended."""
        deadline = time.monotonic() + timeout
        for t in list(self._threads.values()):
            t.join(max(0.0, deadline - time.monotonic()))

    # -- local models ------------------------------------------------------------------
    def refresh(self) -> None:
        """Reload recent downloads (following active ones) and the local models."""
        for job in reversed(self.services.hub.downloads(limit=RECENT)["items"]):
            self._show_job(job)
            if job["state"] in ACTIVE_STATES:
                self._follow(job["id"])
        self._show_local()

    def _show_local(self) -> None:
        page = self.services.hub.list_local(limit=500)
        rows, buttons = [], {}
        for repo in page["items"]:
            rid = repo["repo_id"]
            revs = ", ".join(
                (",".join(r["refs"]) + " " if r["refs"] else "") + r["commit"][:8] for r in repo["revisions"]
            )
            label = w.HTML(
                f"<code>{html.escape(rid)}</code> &nbsp; {human_bytes(repo['size_on_disk'])}, "
                f"{repo['file_count']} files, {html.escape(revs)}"
                + (" <i>(downloading)</i>" if repo.get("downloading") else ""),
                layout=w.Layout(width="560px"),
            )
            button = w.Button(description="Delete", icon="trash", layout=w.Layout(width="90px"), disabled=self._busy)
            button.on_click(lambda _b, rid=rid: self._act(lambda: self.ask_delete(rid)))
            buttons[rid] = button
            rows.append(w.HBox([label, button]))
        with self._lock:
            self.local = {r["repo_id"]: r for r in page["items"]}
            self.delete_buttons = buttons
            self.local_box.children = rows or [w.HTML("<i>(no models in the cache)</i>")]
            if page.get("next_cursor"):
                self.local_box.children = [
                    *self.local_box.children,
                    w.HTML("<i>more models not shown; use `%mlops hub list`</i>"),
                ]

    def ask_delete(self, repo_id: str) -> None:
        """The confirmation step before deleting `repo_id` from the cache."""
        repo = self.local.get(repo_id)
        size = human_bytes(repo["size_on_disk"]) if repo else "?"
        self.pending_delete = repo_id
        self.force.value = False
        self.confirm_text.value = (
            f"Delete <code>{html.escape(repo_id)}</code> ({size}) from the model cache? This cannot be undone."
        )
        self.confirm_box.layout.display = None

    def _keep(self) -> None:
        self.pending_delete = None
        self.confirm_box.layout.display = "none"

    def confirm_delete(self) -> dict[str, Any] | None:
        """Delete the repo waiting for confirmation; the server's refusal is shown as an error."""
        repo_id = self.pending_delete
        if repo_id is None:
            return None
        try:
            answer = self.services.hub.delete(repo_id, force=self.force.value, actor=self.actor)
        except MLOpsError:
            self._show_local()
            raise  # kept pending: tick force and confirm again, or keep it
        self.last_delete = answer
        self._keep()
        self._say(
            f"deleted {repo_id}: freed {human_bytes(answer['freed_bytes'])}"
            + (f" (forced past: {'; '.join(answer['overridden'])})" if answer["forced"] else "")
        )
        self._show_local()
        return answer
