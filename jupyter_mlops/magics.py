"""`%mlops` / `%%mlops`: the command tree of `jupyter_mlops.cli` in a notebook.

A command's answer is returned as a `cli.Result`, which the notebook shows as an
HTML table (plain text in a terminal) and which code can keep: `r = %mlops releases
show 3; r["status"]`. A failure raises (so Run All stops at that cell) and shows as one
line, the message, not a traceback; the kernel never exits."""

from __future__ import annotations

import shlex
import sys
from typing import TYPE_CHECKING, Any

from IPython.core.magic import Magics, line_cell_magic, magics_class

from .cli.hub import download_progress_text
from .cli.render import Result, job_progress_text
from .cli.tree import HelpRequested, UsageError, build_parser, parse_body, run

if TYPE_CHECKING:
    from .services import Services

PROG = "%mlops"


@magics_class
class MLOpsMagics(Magics):
    """The `%mlops` line magic and `%%mlops` cell magic (a JSON body adds fields)."""

    def __init__(self, shell: Any = None, services: Services | None = None) -> None:
        super().__init__(shell)
        self.services = services

    @line_cell_magic
    def mlops(self, line: str, cell: str | None = None) -> Result | None:
        """Run an MLOps command, e.g. `%mlops models list --q llama`; `%mlops --help` lists them.

        As a cell magic the cell is a JSON object of extra fields, e.g.
        `%%mlops models create m1` then `{"storage_path": "/data/m1", "metadata": {...}}`."""
        try:
            argv = shlex.split(line)
            if not argv:
                raise HelpRequested(build_parser(PROG).format_help())
            body = parse_body(cell) if cell is not None else None
            progress = _Progress(self.shell, _label(argv)) if _wants_progress(argv) else None
            try:
                # `deps fix` without --yes shows the plan for a re-run with --yes (confirm=None);
                # a repair job's log lines are printed in the cell as they come.
                return run(
                    argv,
                    services=self.services,
                    body=body,
                    prog=PROG,
                    on_progress=progress.update if progress else None,
                    on_log=print,
                    confirm=None,
                )
            finally:
                if progress is not None:
                    progress.close()
        except HelpRequested as help_:
            print(help_.text.rstrip())
        except UsageError as exc:
            raise UsageError(f"{exc.message} (see {exc.prog or PROG} --help)", usage=exc.usage, prog=exc.prog) from None
        except ValueError as exc:  # shlex: unbalanced quotes
            raise UsageError(f"{PROG}: cannot split the line: {exc}", prog=PROG) from None
        return None


def _is_download(argv: list[str]) -> bool:
    words = [w for w in argv if not w.startswith("-")]
    return words[:1] == ["download"] or words[:2] == ["hub", "download"]


def _wants_progress(argv: list[str]) -> bool:
    words = [w for w in argv if not w.startswith("-")]
    return words[:2] in (["jobs", "selftest"], ["deps", "fix"]) or _is_download(argv)


def _label(argv: list[str]) -> str:
    words = [w for w in argv if not w.startswith("-")]
    if _is_download(argv):
        return "download"
    return "repair" if words[:2] == ["deps", "fix"] else "selftest"


class _Progress:
    """A live progress bar in the cell: an ipywidgets IntProgress in a kernel, else text."""

    def __init__(self, shell: Any, label: str = "selftest") -> None:
        self.bar: Any = None
        self.label: Any = None
        self._last = ""
        self.kind = label
        if getattr(shell, "kernel", None) is None:
            return  # no frontend to draw widgets: text lines instead
        try:
            import ipywidgets as w
            from IPython.display import display
        except ImportError:
            return
        self.bar = w.IntProgress(value=0, min=0, max=1, description=label, bar_style="info")
        self.label = w.Label("queued")
        display(w.HBox([self.bar, self.label]))

    def update(self, job: dict[str, Any]) -> None:
        p = job["progress"]
        total = int(p["total"] or 0)
        done = int(p["done"] or 0)
        state = job["state"]
        text = download_progress_text(job) if self.kind == "download" else job_progress_text(job)
        if self.bar is not None:
            self.bar.max = max(total, 1)
            self.bar.value = min(done, self.bar.max)
            self.label.value = text
            if state == "succeeded":
                self.bar.bar_style, self.bar.value = "success", self.bar.max
            elif state in ("failed", "cancelled", "interrupted"):
                self.bar.bar_style = "danger"
            return
        if text != self._last:
            width = 30
            filled = int(width * done / total) if total else 0
            sys.stdout.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {text}")
            sys.stdout.flush()
            self._last = text

    def close(self) -> None:
        if self.bar is None and self._last:
            sys.stdout.write("\n")
            sys.stdout.flush()


def register(ipython: Any, services: Services | None = None) -> None:
    """Register `%mlops` on an IPython shell (`%load_ext jupyter_mlops` calls this)."""
    ipython.register_magics(MLOpsMagics(ipython, services=services))
