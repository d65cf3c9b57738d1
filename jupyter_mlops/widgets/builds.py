"""BuildPanel: build a Docker image of a release with the daemon's log live, cancel it,
see recent builds, and push an image to a registry.

A thin face over `Services.builds`: a form (model and release, or `MODEL:VERSION[:QUANT]`
typed; accelerator, base image, tag, no cache), the log of the job being followed, the
recent builds as a table, and a push row (build, registry, username, password). A job
runs in the server's worker when one is alive, else inline in a background thread of
this kernel (the same `jobs.follow` as the `%mlops` commands). Refusals are shown in the
panel as the service words them (each names its field)."""

from __future__ import annotations

import html
import threading
from typing import TYPE_CHECKING, Any

import ipywidgets as w

from ..builds.rules import ACCELERATORS
from ..cli.builds import BUILD_COLUMNS, build_row, push_text
from ..cli.render import html_table
from ..errors import InvalidInput, MLOpsError, one_line
from ..jobs import ACTIVE_STATES
from .panel import ActionPanel

if TYPE_CHECKING:
    from ..services import Services

RECENT = 10
#: The log box keeps this many last lines (a long build's log stays in the store).
LOG_LINES = 2000
CHOICES = 500


class BuildPanel(ActionPanel):
    """A VBox over `services.builds` (default: the services of the current workspace)."""

    def __init__(self, services: Services | None = None, *, actor: str | None = None, **kwargs: Any) -> None:
        super().__init__(services, actor=actor, **kwargs)
        self._thread: threading.Thread | None = None
        self.job: dict[str, Any] | None = None  # the job followed (a build's or a push's)
        self.build: dict[str, Any] | None = None  # the build last started or followed
        self.push_view: dict[str, Any] | None = None  # the push last started
        self.builds: list[dict[str, Any]] = []

        wide = w.Layout(width="420px")
        self.title = w.HTML(f"<b>Image builds</b> <small>{html.escape(str(self.services.workspace.root))}</small>")
        self.model = w.Dropdown(options=[], description="model", layout=wide)
        self.release = w.Dropdown(options=[], description="release", layout=wide)
        self.release_text = w.Text(placeholder="or type MODEL:VERSION[:QUANT]", description="or", layout=wide)
        self.accelerator = w.Dropdown(
            options=[("(release default)", ""), *((a, a) for a in ACCELERATORS)], value="", description="accelerator"
        )
        self.base_image = w.Text(placeholder="default: by accelerator", description="base image")
        self.tag = w.Text(placeholder="default: model:version[-quant]", description="tag")
        self.no_cache = w.Checkbox(value=False, description="no cache", indent=False)
        self.build_button = w.Button(description="Build", button_style="primary", icon="cube")
        self.cancel_button = w.Button(description="Cancel", icon="stop", disabled=True)
        self.refresh_button = w.Button(description="Refresh", icon="refresh")
        self.log_area = w.Textarea(
            value="",
            disabled=True,
            placeholder="the log of a build or push shows here",
            layout=w.Layout(width="auto", height="220px"),
        )
        self.builds_html = w.HTML("")
        self.push_build = w.Dropdown(options=[], description="build")
        self.registry = w.Text(placeholder="host[:port], e.g. 127.0.0.1:5000", description="registry")
        self.username = w.Text(placeholder="optional", description="username")
        self.password = w.Password(placeholder="never stored", description="password")
        self.push_button = w.Button(description="Push", icon="upload")
        self.status = w.HTML("")
        self.error = w.HTML("")
        self.buttons = (self.build_button, self.refresh_button, self.push_button)

        self.model.observe(self._on_model, names="value")
        self.build_button.on_click(lambda _b: self._act(self.start))
        self.refresh_button.on_click(lambda _b: self._act(self.refresh))
        self.push_button.on_click(lambda _b: self._act(self.push))
        self.cancel_button.on_click(lambda _b: self.cancel())
        self.children = [
            self.title,
            w.HBox(
                [
                    w.VBox([self.model, self.release, self.release_text]),
                    w.VBox([self.accelerator, self.base_image, self.tag, self.no_cache]),
                ]
            ),
            w.HBox([self.build_button, self.cancel_button, self.refresh_button]),
            self.log_area,
            w.HTML("<b>Recent builds</b>"),
            self.builds_html,
            w.HTML("<b>Push</b>"),
            w.HBox([self.push_build, self.registry]),
            w.HBox([self.username, self.password, self.push_button]),
            self.status,
            self.error,
        ]
        self._act(self.refresh)

    # -- the form ------------------------------------------------------------------------
    def _show_models(self) -> None:
        models = self.services.registry.list_models(limit=CHOICES)["items"]
        _choose(self.model, [(m["name"], m["name"]) for m in models])
        self._show_releases()

    def _show_releases(self) -> None:
        model = self.model.value
        items = self.services.registry.list_releases(model=model, limit=CHOICES)["items"] if model else []
        _choose(self.release, [(f"{r['version']} ({r['quantization']}, {r['status']})", r["id"]) for r in items])

    def _on_model(self, _change: Any) -> None:
        """A model was picked: list its releases (also while a job is followed)."""
        try:
            self._show_releases()
        except MLOpsError as exc:
            self.show_error(exc.message)

    def _release_id(self) -> int:
        typed = self.release_text.value.strip()
        if typed:
            return self.services.builds.release_id(typed)
        if self.release.value is None:
            raise InvalidInput("release: pick a model and a release, or type MODEL:VERSION[:QUANT]", field="release")
        return int(self.release.value)

    # -- actions -------------------------------------------------------------------------
    def start(self) -> bool:
        """Queue a build from the form and follow its log; the buttons stay disabled until it ends."""
        data: dict[str, Any] = {"release_id": self._release_id()}
        for key, value in (
            ("accelerator", self.accelerator.value),
            ("base_image", self.base_image.value.strip()),
            ("tag", self.tag.value.strip()),
        ):
            if value:
                data[key] = value
        if self.no_cache.value:
            data["no_cache"] = True
        self.build = build = self.services.builds.start(data, self.actor)
        self._say(
            f"build {build['id']} of {build_row(build)['release']} as {build['tag']}: "
            + ("joined the active build" if build.get("deduplicated") else "queued")
        )
        self._show_builds()
        return self._follow(build["job_id"])

    def push(self) -> bool:
        """Queue a push of the chosen build's image and follow it. The password is cleared
        from the form whatever happens (a saved widget state must not hold it)."""
        password, self.password.value = self.password.value, ""
        if self.push_build.value is None:
            raise InvalidInput("build: pick a built image to push", field="build")
        data: dict[str, Any] = {"registry": self.registry.value.strip()}
        if self.username.value.strip():
            data["username"] = self.username.value.strip()
        if password:
            data["password"] = password
        self.push_view = pushed = self.services.builds.push(int(self.push_build.value), data, self.actor)
        self._say(f"push {pushed['id']} of build {pushed['build_id']} as {pushed['reference']}: queued")
        return self._follow(pushed["job_id"])

    def cancel(self) -> dict[str, Any] | None:
        """Ask the followed job (a build or a push) to stop; works while the panel is busy."""
        if self.job is None or self.job["state"] not in ACTIVE_STATES:
            return None
        try:
            job = self.services.jobs.cancel(self.job["id"])
        except MLOpsError as exc:
            self.show_error(exc.message)
            return None
        self.cancel_button.disabled = True
        self._say(f"cancel requested for job {job['id']} ({job['kind']})")
        return job

    def refresh(self) -> bool:
        """Reload the models, releases and recent builds; follow the newest active build."""
        self._show_models()
        self._show_builds()
        active = next((b for b in self.builds if b["state"] in ACTIVE_STATES), None)
        if active is None:
            return False
        self.build = active
        return self._follow(active["job_id"])

    def _show_builds(self) -> None:
        self.builds = self.services.builds.list(limit=RECENT)["items"]
        rows = [build_row(b) for b in self.builds]
        self.builds_html.value = html_table(BUILD_COLUMNS, rows) if rows else "<i>(no builds yet)</i>"
        _choose(
            self.push_build, [(f"{b['id']}: {b['tag']} ({b['image']})", b["id"]) for b in rows if b.get("image_id")]
        )

    def wait(self, timeout: float = 600.0) -> dict[str, Any] | None:
        """Block until the followed job (if any) ends; returns it."""
        if self._thread is not None:
            self._thread.join(timeout)
        return self.job

    # -- following a job ---------------------------------------------------------------
    def _follow(self, job_id: int) -> bool:
        """Follow a job in a thread (running it inline when no server worker is alive)."""
        self.job = self.services.jobs.get(job_id)
        self.log_area.value = ""
        self.cancel_button.disabled = False
        self._thread = threading.Thread(
            target=self._run_follow, args=(job_id,), daemon=True, name=f"mlops-build-job-{job_id}"
        )
        self._thread.start()
        return True

    def _run_follow(self, job_id: int) -> None:
        lines: list[str] = []

        def on_job(job: dict[str, Any]) -> None:
            if lines:
                text = self.log_area.value + "".join(line + "\n" for line in lines)
                lines.clear()
                kept = text.splitlines(keepends=True)
                self.log_area.value = "".join(kept[-LOG_LINES:])
            self.job = job
            self._say(f"job {job_id} ({job['kind']}) {job['state']}: {job.get('message') or ''}")

        try:
            self._finished(self.follow_job(job_id, on_job=on_job, on_line=lines.append).job)
        except Exception as exc:
            self.show_error(one_line(exc))
        finally:
            self.cancel_button.disabled = True
            self._set_busy(False)

    def _finished(self, job: dict[str, Any]) -> None:
        self._show_builds()
        out = job.get("result") or {}
        if job["state"] != "succeeded":
            self.show_error(f"job {job['id']} ({job['kind']}) {job['state']}: {job.get('error') or job.get('message')}")
        elif "reference" in out:
            pushed = next(p for p in self.services.builds.get(out["build_id"])["pushes"] if p["job_id"] == job["id"])
            self.push_view = pushed
            self._say(f"pushed {push_text(pushed)}")
        else:
            self.build = build = self.services.builds.get(out["build_id"])
            self.push_build.value = build["id"]  # what was just built is what one pushes next
            row = build_row(build)
            self._say(
                f"{'reused' if build['reused'] else 'built'} {build['tag']} (image {row['image']}, "
                f"{row['size']}, {row['duration']}); context {row['context']}"
            )


def _choose(dropdown: w.Dropdown, options: list[tuple[str, Any]]) -> None:
    """New options for a dropdown, keeping its value when it is still there, else the first."""
    values = [v for _label, v in options]
    keep = dropdown.value
    dropdown.options = options
    dropdown.value = keep if keep in values else (values[0] if values else None)
