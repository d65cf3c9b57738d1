"""What every command answers, and how the faces show it: a `Result` rendered as text
(the CLI, a terminal), HTML (a notebook) or JSON (`--json`), plus the shared formatting
of cells, tables, sizes, durations and jobs."""

from __future__ import annotations

import html
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

MAX_CELL = 60


@dataclass
class Result:
    """What a command answers: `data` is the service's JSON; `rows`/`columns` a table,
    `record` a single object; faces render it as text, HTML or JSON."""

    title: str
    data: Any
    columns: tuple[str, ...] = ()
    rows: list[dict[str, Any]] | None = None
    record: dict[str, Any] | None = None
    next_cursor: str | None = None
    as_json: bool = False
    #: characters a table cell shows before it is cut with …
    cell_limit: int = MAX_CELL
    #: which workspace and store answered ({path, store}), when the command used one
    workspace: dict[str, str] | None = None

    def __getitem__(self, key: Any) -> Any:
        return self.data[key]

    def json(self) -> str:
        """The service's answer as indented JSON (an object answer also says which workspace)."""
        data = self.data
        if self.workspace is not None and isinstance(data, dict):
            data = {**data, "workspace": self.workspace}
        return json.dumps(data, indent=2, default=str)

    def header(self) -> str:
        """One line naming the workspace and store that answered ('' when none did)."""
        if self.workspace is None:
            return ""
        return f"workspace {self.workspace['path']} (store {self.workspace['store']})"

    def text(self) -> str:
        """A plain-text rendering: title, key/value lines, an aligned table, next cursor."""
        if self.as_json:
            return self.json()
        parts = [self.title] if self.title else []
        if self.record:
            width = max(len(k) for k in self.record)
            parts += [f"  {k.ljust(width)}  {cell_text(v, 200)}" for k, v in self.record.items()]
        if self.rows is not None:
            parts.append(text_table(self.columns, self.rows, self.cell_limit) if self.rows else "  (none)")
        if self.next_cursor:
            parts.append(f"more: --cursor {self.next_cursor}")
        return "\n".join(parts)

    def html(self) -> str:
        """An HTML rendering of the same content."""
        if self.as_json:
            return f"<pre>{html.escape(self.json())}</pre>"
        parts = [f"<div class='jp-mlops-result'><b>{html.escape(self.title)}</b>"]
        if self.record:
            parts.append(html_record(self.record))
        if self.rows is not None:
            parts.append(html_table(self.columns, self.rows, self.cell_limit) if self.rows else "<p><i>(none)</i></p>")
        if self.next_cursor:
            parts.append(f"<p>more: <code>--cursor {html.escape(self.next_cursor)}</code></p>")
        parts.append("</div>")
        return "".join(parts)

    def __repr__(self) -> str:
        return self.text()

    def _repr_html_(self) -> str:
        return self.html()


def cell_text(value: Any, limit: int = MAX_CELL) -> str:
    """One value as short text: lists joined, objects as compact JSON, None empty."""
    if value is None:
        text = ""
    elif isinstance(value, bool):
        text = "yes" if value else "no"
    elif isinstance(value, float):
        text = f"{value:.3g}"
    elif isinstance(value, (list, tuple)):
        text = ", ".join(cell_text(v, limit) for v in value)
    elif isinstance(value, dict):
        text = json.dumps(value, default=str, separators=(",", ":"))
    else:
        text = str(value)
    text = text.replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def text_table(columns: Sequence[str], rows: Sequence[dict[str, Any]], limit: int = MAX_CELL) -> str:
    """An aligned plain-text table, cells cut at `limit` characters."""
    cells = [[cell_text(r.get(c), limit) for c in columns] for r in rows]
    widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(columns)]

    def line(values: Sequence[str]) -> str:
        return "  ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)).rstrip()

    return "\n".join([line(columns), line(["-" * w for w in widths]), *(line(r) for r in cells)])


def html_table(columns: Sequence[str], rows: Sequence[dict[str, Any]], limit: int = MAX_CELL) -> str:
    """An HTML table with escaped cells, cut at `limit` characters."""
    head = "".join(f"<th style='text-align:left'>{html.escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>"
        + "".join(f"<td style='text-align:left'>{html.escape(cell_text(r.get(c), limit))}</td>" for c in columns)
        + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def html_record(record: dict[str, Any]) -> str:
    """An HTML table of one object's key/value lines, escaped."""
    body = "".join(
        f"<tr><th style='text-align:left'>{html.escape(k)}</th>"
        f"<td style='text-align:left'>{html.escape(cell_text(v, 400))}</td></tr>"
        for k, v in record.items()
    )
    return f"<table>{body}</table>"


def page_result(
    title: str,
    answer: dict[str, Any],
    columns: tuple[str, ...],
    shape: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> Result:
    """One page of a list answer (`items`, `next_cursor`) as a table titled `title (n)`."""
    items = answer["items"]
    rows = [shape(i) for i in items] if shape else items
    return Result(f"{title} ({len(items)})", answer, columns, rows=rows, next_cursor=answer.get("next_cursor"))


def queued_result(what: str, job: dict[str, Any]) -> Result:
    """The answer of a command run with --detach: the job queued (or the twin already active)."""
    state = "is already running" if job.get("deduplicated") else "queued"
    return Result(
        f"{what} job {job['id']} {state}; follow it with `jobs log {job['id']} --follow`", job, record=job_record(job)
    )


#: Seconds between progress lines when the output is not a terminal (a log, a notebook).
PROGRESS_LINE_EVERY = 1.0


def transfer_text(job: dict[str, Any], what: str, subject: str) -> str:
    """One line for a job moving bytes: `what id subject state: done / total (%) rate ETA - message`."""
    p = job["progress"]
    done, total = p.get("done") or 0, p.get("total")
    parts = [
        f"{what} {job['id']} {subject} {job['state']}:".replace("  ", " "),
        f"{human_bytes(done)} / {human_bytes(total)}" if total else human_bytes(done),
    ]
    if total:
        parts.append(f"({100 * done / total:.0f}%)")
    if p.get("rate") and job["state"] == "running":
        parts.append(f"{human_bytes(p['rate'])}/s")
    if p.get("eta_seconds") is not None and job["state"] == "running":
        parts.append(f"ETA {seconds_text(p['eta_seconds'])}")
    if job.get("message"):
        parts.append(f"- {job['message']}")
    return " ".join(parts)


def progress_reporter(
    on_progress: Callable[[dict[str, Any]], None] | None,
    say: Callable[[str], None],
    text: Callable[[dict[str, Any]], str],
) -> Callable[..., None]:
    """How a followed job's progress is shown: to `on_progress` (a terminal's bar), else as a
    line of `text(job)` at most every PROGRESS_LINE_EVERY seconds (and the final one) to `say`."""
    shown_at, shown = [0.0], [""]

    def report(current: dict[str, Any], final: bool = False) -> None:
        if on_progress is not None:
            on_progress(current)
            return
        line = text(current)
        now = time.monotonic()
        if line != shown[0] and (final or now - shown_at[0] >= PROGRESS_LINE_EVERY):
            say(line)
            shown_at[0], shown[0] = now, line

    return report


def human_bytes(n: float | None) -> str:
    """A byte count as people read it: 512 B, 1.5 KiB ... TiB (None: empty)."""
    if n is None:
        return ""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return str(value)


def seconds_text(seconds: float | None) -> str:
    """A duration as 42s, 3m07s or 2h05m (None: empty)."""
    if seconds is None:
        return ""
    whole = round(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"


# -- jobs, shown by every capability that runs one ------------------------------------------
JOB_COLUMNS = ("id", "kind", "state", "progress", "message", "owner", "created_at")
LOG_COLUMNS = ("seq", "at", "stream", "line")


def job_row(job: dict[str, Any]) -> dict[str, Any]:
    """A job with its progress as `done/total unit`."""
    p = job["progress"]
    if p["total"]:
        progress = f"{p['done']:g}/{p['total']:g} {p['unit'] or ''}".strip()
    else:
        progress = f"{p['done']:g}" if p["done"] else ""
    return {**job, "progress": progress}


def job_record(job: dict[str, Any]) -> dict[str, Any]:
    """A job's key/value lines."""
    place = job.get("place")
    row = {**job_row(job), "place": f"{place['host']}:{place['workspace']}" if place else "any worker"}
    keys = (
        "id",
        "kind",
        "state",
        "progress",
        "message",
        "error",
        "result",
        "params",
        "owner",
        "place",
        "cancel_requested",
        "log_count",
        "created_at",
        "started_at",
        "finished_at",
        "elapsed_seconds",
    )
    return {k: row.get(k) for k in keys}


def job_progress_text(job: dict[str, Any]) -> str:
    """One line for a running job: `job N state: done/total unit`."""
    p = job["progress"]
    return f"job {job['id']} {job['state']}: {p['done'] or 0:g}/{p['total'] or 0:g} {p['unit'] or ''}".rstrip()


def log_result(what: str, answer: dict[str, Any], after: int) -> Result:
    """A page of a job's log lines as a table titled `what`."""
    rows = answer["lines"]
    title = f"{what} log ({answer['state']}; lines {after + 1 if rows else after}-{answer['next_after']})"
    return Result(title, answer, LOG_COLUMNS, rows=rows)
