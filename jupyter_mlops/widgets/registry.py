"""RegistryPanel: browse models, see their releases, create, promote and demote releases,
see the timeline of a model's aliases and roll one back.

A thin face over `Services.registry`: every rule stays in the registry, whose
`MLOpsError` messages are shown in the panel's error area."""

from __future__ import annotations

import html
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ipywidgets as w

from ..cli.deployments import ARTIFACT_COLUMNS, DEPLOYMENT_COLUMNS
from ..cli.registry import RELEASE_COLUMNS, TIMELINE_COLUMNS
from ..cli.render import cell_text, html_record, html_table
from ..errors import InvalidInput, one_line
from ..registry.rules import QUANTIZATION_SUGGESTIONS
from .panel import ActionPanel

if TYPE_CHECKING:
    from ..services import Services

MODEL_FIELDS = (
    "storage_path",
    "base_model",
    "company",
    "parameter_count",
    "tags",
    "description",
    "release_count",
    "aliases",
)


class RegistryPanel(ActionPanel):
    """A VBox over the model registry of one workspace.

    `services` defaults to the services of the settings every face loads (see
    `jupyter_mlops.config`), with `workspace` as the workspace when given."""

    def __init__(
        self,
        services: Services | None = None,
        workspace: str | Path | None = None,
        *,
        page_size: int = 20,
        actor: str | None = None,
        **kwargs: Any,
    ) -> None:
        from .. import services as services_mod

        super().__init__(services or services_mod.services_for(workspace_dir=workspace), actor=actor, **kwargs)
        self.page_size = page_size
        self._cursors: list[str | None] = [None]  # cursor of each page seen; the last is shown
        self._next_cursor: str | None = None

        where = self.services.settings.where()
        self.title = w.HTML(
            f"<b>Model registry</b> <small>workspace {html.escape(where['path'])} · store "
            f"{html.escape(where['store'])}</small>"
        )
        self.search = w.Text(
            placeholder="search models (name or description)", continuous_update=False, layout=w.Layout(flex="1")
        )
        self.search_button = w.Button(description="Search", icon="search", layout=w.Layout(width="90px"))
        self.prev_button = w.Button(description="Prev", icon="chevron-left", layout=w.Layout(width="80px"))
        self.next_button = w.Button(description="Next", icon="chevron-right", layout=w.Layout(width="80px"))
        self.page_label = w.Label("")
        self.models = w.Select(options=[], rows=8, layout=w.Layout(width="35%"))
        self.model_info = w.HTML("<i>select a model</i>", layout=w.Layout(width="65%"))
        self.releases_html = w.HTML("")
        self.timeline_html = w.HTML("")
        self.alias = w.Dropdown(options=[], description="Alias", layout=w.Layout(width="420px"))
        self.rollback_button = w.Button(
            description="Roll back", icon="undo", tooltip="move the alias back to its previous target"
        )
        self.release = w.Dropdown(options=[], description="Release", layout=w.Layout(width="420px"))
        self.promote_button = w.Button(description="Promote", button_style="success", icon="arrow-up")
        self.demote_button = w.Button(description="Demote", button_style="warning", icon="arrow-down")
        self.run_button = w.Button(description="MLflow run", icon="flask", tooltip="metrics and params of its run")
        self.release_detail = w.HTML("")
        self.version = w.Text(placeholder="version, e.g. 1.0.0", description="Version", layout=w.Layout(width="260px"))
        self.quantization = w.Combobox(
            options=list(QUANTIZATION_SUGGESTIONS),
            placeholder="none, int8, Q4_K_M, exl2-4.0bpw…",
            ensure_option=False,
            description="Quant.",
            layout=w.Layout(width="280px"),
        )
        self.notes = w.Textarea(placeholder="release notes", layout=w.Layout(width="auto", height="48px"))
        self.create_button = w.Button(description="Create release", button_style="primary", icon="plus")
        self.status = w.HTML("")
        self.error = w.HTML("")

        self.search.observe(lambda _c: self._act(self._search), names="value")  # on Enter or leaving the box
        self.search_button.on_click(lambda _b: self._act(self._search))
        self.next_button.on_click(lambda _b: self._act(self._next_page))
        self.prev_button.on_click(lambda _b: self._act(self._prev_page))
        self.models.observe(self._on_model, names="value")
        self.release.observe(self._on_release, names="value")
        self.run_button.on_click(lambda _b: self._act(self._show_run))
        self.create_button.on_click(lambda _b: self._act(self._create_release))
        self.promote_button.on_click(lambda _b: self._act(lambda: self._transition("promote")))
        self.demote_button.on_click(lambda _b: self._act(lambda: self._transition("demote")))
        self.rollback_button.on_click(lambda _b: self._act(self._rollback))
        self.alias.observe(lambda _c: None if self._busy else self._refresh_buttons(), names="value")
        self.buttons = (
            self.search_button,
            self.prev_button,
            self.next_button,
            self.create_button,
            self.promote_button,
            self.demote_button,
            self.run_button,
            self.rollback_button,
        )

        self.children = [
            self.title,
            w.HBox([self.search, self.search_button, self.prev_button, self.next_button, self.page_label]),
            w.HBox([self.models, self.model_info]),
            w.HTML("<b>Releases</b>"),
            self.releases_html,
            w.HBox([self.release, self.promote_button, self.demote_button, self.run_button]),
            self.release_detail,
            w.HTML("<b>Alias timeline</b> <small>newest first</small>"),
            self.timeline_html,
            w.HBox([self.alias, self.rollback_button]),
            w.HTML("<b>New release</b>"),
            w.HBox([self.version, self.quantization]),
            self.notes,
            self.create_button,
            self.status,
            self.error,
        ]
        self._act(self._load_page)

    # -- plumbing ----------------------------------------------------------------------
    def _act(self, fn: Callable[[], None]) -> None:
        """Run one action with the buttons disabled; an error goes to the error area.
        An action started from inside another (a selection it made) runs as part of it."""
        if self._busy:
            fn()
            return
        with self._busy_buttons():
            self.error.value = ""
            self.status.value = ""
            try:
                fn()
            except Exception as exc:  # a bug or a broken store: say so in the panel, not in the log console
                self.show_error(one_line(exc))

    @contextmanager
    def _busy_buttons(self) -> Iterator[None]:
        self._busy = True
        for b in self.buttons:
            b.disabled = True
        try:
            yield
        finally:
            self._busy = False
            self._refresh_buttons()

    def _refresh_buttons(self) -> None:
        self.search_button.disabled = False
        self.prev_button.disabled = len(self._cursors) <= 1
        self.next_button.disabled = self._next_cursor is None
        self.create_button.disabled = self.models.value is None
        none = self.release.value is None
        self.promote_button.disabled = self.demote_button.disabled = self.run_button.disabled = none
        self.rollback_button.disabled = self.alias.value is None

    # -- models ------------------------------------------------------------------------
    def _search(self) -> None:
        self._cursors = [None]
        self._load_page()

    def _next_page(self) -> None:
        if self._next_cursor:
            self._cursors.append(self._next_cursor)
            self._load_page()

    def _prev_page(self) -> None:
        if len(self._cursors) > 1:
            self._cursors.pop()
            self._load_page()

    def _load_page(self) -> None:
        page = self.services.registry.list_models(
            q=self.search.value.strip() or None, limit=self.page_size, cursor=self._cursors[-1]
        )
        self._next_cursor = page["next_cursor"]
        names = [m["name"] for m in page["items"]]
        keep = self.models.value if self.models.value in names else None
        self.models.options = names
        self.models.value = keep
        self.page_label.value = f"page {len(self._cursors)}" + ("" if names else " (no models)")
        if keep is None:
            self._show_model(None)

    def _on_model(self, change: dict[str, Any]) -> None:
        if change["new"] != change["old"]:
            self._act(lambda: self._show_model(change["new"]))

    def _show_model(self, name: str | None) -> None:
        if name is None:
            self.model_info.value = "<i>select a model</i>"
            self.releases_html.value = ""
            self.release.options = []
            self.timeline_html.value = ""
            self.alias.options = []
            return
        self._show_model_info(name)
        self._load_releases(name)
        self._load_timeline(name)

    def _load_timeline(self, model: str) -> None:
        """The newest 20 changes of the model's aliases, and its aliases to roll back."""
        page = self.services.registry.alias_history(model, limit=20)
        items = page["items"]
        more = " <i>(newest 20 shown)</i>" if page["next_cursor"] else ""
        self.timeline_html.value = (html_table(TIMELINE_COLUMNS, items) + more) if items else "<i>no alias changes</i>"
        keep = self.alias.value
        self.alias.options = [
            (f"{alias} (back to release {target})" if target else f"{alias} (no earlier target)", alias)
            for alias, target in sorted(page["rollback_to"].items())
        ]
        self.alias.value = keep if keep in page["rollback_to"] else None

    def _rollback(self) -> None:
        model, alias = self.models.value, self.alias.value
        if model is None or alias is None:
            raise InvalidInput("alias: select a model and one of its aliases first", field="alias")
        event = self.services.registry.rollback_alias(model, alias, self.actor)
        self._show_model_info(model)
        self._load_timeline(model)
        self._say(f"{model}@{alias} rolled back: release {event['previous_release_id']} -> {event['release_id']}")

    def _load_releases(self, model: str, select: int | None = None) -> None:
        page = self.services.registry.list_releases(model=model, limit=100)
        items = page["items"]
        more = " <i>(newest 100 shown)</i>" if page["next_cursor"] else ""
        self.releases_html.value = (html_table(RELEASE_COLUMNS, items) + more) if items else "<i>no releases yet</i>"
        keep = select if select is not None else self.release.value
        self.release.options = [
            (f"{r['id']}: {r['version']} {r['quantization']} ({r['status']})", r["id"]) for r in items
        ]
        ids = [r["id"] for r in items]
        self.release.value = keep if keep in ids else (ids[0] if ids else None)

    # -- releases ----------------------------------------------------------------------
    def quantization_value(self) -> str:
        """The quantization typed or picked (the registry normalises it): none when empty."""
        return str(self.quantization.value).strip() or "none"

    def _on_release(self, change: dict[str, Any]) -> None:
        if change["new"] != change["old"]:
            self._act(lambda: self._show_release(change["new"]))

    def _show_release(self, release_id: int | None) -> None:
        """The selected release's deployments, artifacts and MLflow run reference."""
        if release_id is None:
            self.release_detail.value = ""
            return
        registry = self.services.registry
        release = registry.get_release(release_id)
        deployments = registry.list_deployments(release_id=release_id, limit=50)["items"]
        artifacts = registry.list_artifacts(release_id=release_id, limit=50)["items"]
        parts = [f"<b>Release {release_id}</b> MLflow run: {html.escape(release.get('mlflow_run') or 'none')}"]
        parts.append("<br><b>Deployments</b>")
        parts.append(html_table(DEPLOYMENT_COLUMNS, deployments) if deployments else " <i>none</i>")
        parts.append("<br><b>Artifacts</b>")
        parts.append(html_table(ARTIFACT_COLUMNS, artifacts) if artifacts else " <i>none</i>")
        self.release_detail.value = "".join(parts)

    def _show_run(self) -> None:
        """Fetch the selected release's MLflow run and show its metrics and params."""
        release_id = self.release.value
        if release_id is None:
            raise InvalidInput("release_id: select a release first", field="release_id")
        run = self.services.tracking.release_run(release_id)
        record: dict[str, Any] = {
            "run": f"{run['run_name'] or ''} ({run['run_id']})",
            "status": run["status"],
            **{f"metric {k}": v for k, v in sorted(run["metrics"].items())},
            **{f"param {k}": v for k, v in sorted(run["params"].items())},
        }
        link = f"<a href='{html.escape(run['url'])}' target='_blank'>open in MLflow</a>"
        self._show_release(release_id)
        self.release_detail.value += f"<br><b>MLflow run</b> {link}{html_record(record)}"

    def _create_release(self) -> None:
        model = self.models.value
        if model is None:
            raise InvalidInput("model: select a model first", field="model")
        data: dict[str, Any] = {
            "model": model,
            "version": self.version.value.strip(),
            "quantization": self.quantization_value(),
        }
        if self.notes.value.strip():
            data["release_notes"] = self.notes.value
        release = self.services.registry.create_release(data, self.actor)
        self._load_releases(model, select=release["id"])
        self._show_model_info(model)
        self.version.value = ""
        self.notes.value = ""
        self._say(f"created release {release['id']}: {model} {release['version']} {release['quantization']}")

    def _show_model_info(self, name: str) -> None:
        model = self.services.registry.get_model(name)
        rows = "".join(
            f"<tr><th style='text-align:left'>{k}</th><td>{html.escape(cell_text(model.get(k), 200))}</td></tr>"
            for k in MODEL_FIELDS
        )
        self.model_info.value = f"<b>{html.escape(name)}</b><table>{rows}</table>"

    def _transition(self, action: str) -> None:
        release_id = self.release.value
        if release_id is None:
            raise InvalidInput("release_id: select a release first", field="release_id")
        release = self.services.registry.transition(release_id, action, self.actor)
        self._load_releases(release["model"], select=release_id)
        self._say(f"release {release_id} is now {release['status']}")
