"""The JupyterLab sidebar end to end: a real `jupyter lab` (tests/lab_support.py) with the
extension as installed in this environment, driven by headless Debian Chromium through
Python Playwright, on a temporary workspace; downloads go to FakeHub on 127.0.0.1, builds
to the Docker daemon of tests/services.sh. Screenshots land in test-artifacts/e2e/.

Sections, in the order the panel lands (select them with -k):
  smoke      JupyterLab itself, a notebook cell run through the UI (no extension needed)
  packaging  the wheel installed with no Node.js on PATH serves the panel
  panel/jobs the sidebar, its tabs, the dashboard header, the Jobs tab
  registry, deps, models, builds   one section a tab

Every element is found by a `data-testid` (the contract is in the report of the sidebar
issue and in each test's docstring); nothing is skipped to hide a missing tab: a test of a
tab that is not built yet fails.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hub_server import FakeHub, payload
from lab_support import (
    ARTIFACTS,
    SIDEBAR_ID,
    TABS,
    Lab,
    LabServer,
    build_wheel,
    isolated_env,
    new_lab,
    page_config,
    start_lab,
)

MB = 1 << 20


# pytest-jupyter's autouse fixtures run an asyncio loop around every test; the Playwright
# sync API marks its own loop as running in this thread while the module's browser lives,
# so these tests (which start no in-process server) turn them off for this module only.
@pytest.fixture
def jp_asyncio_loop() -> None:
    return None


@pytest.fixture
def jp_server_cleanup() -> None:
    return None


def unique(prefix: str) -> str:
    """A name no other test of the shared server uses."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


# ==== smoke: JupyterLab and the plumbing (pass without the extension) =========================

# The smoke tests check JupyterLab and the harness only: uncaught page errors fail them, the
# console is left to the panel tests (an extension's failed request is theirs to report).

def test_smoke_jupyterlab_loads_and_the_launcher_shows(lab: Lab) -> None:
    lab.wait_text(".jp-Launcher", "Notebook")
    assert lab.page_errors == []


def test_smoke_a_notebook_cell_runs_in_the_kernel(lab: Lab) -> None:
    path = f"{unique('smoke')}/cells.ipynb"
    lab.server.put_notebook(path, ["import sys; print(sys.executable)", "21 * 2"])
    lab.open_notebook(path)
    python = Path(lab.run_cell(path, 0).strip())
    assert python.parent == Path(sys.executable).parent and python.samefile(sys.executable)  # this venv
    assert lab.run_cell(path, 1).strip() == "42"
    kernels = lab.server.request("GET", "api/kernels")[1]
    assert lab.kernel_id(path) in {k["id"] for k in kernels}
    assert lab.page_errors == []


# ==== packaging: the wheel without Node.js ===================================================

@pytest.fixture(scope="session")
def mlops_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's wheel, built once (the build may use Node.js; installing it must not)."""
    return build_wheel(tmp_path_factory.mktemp("wheel"))


def _uv() -> list[str]:
    try:
        from uv import find_uv_bin

        return [find_uv_bin()]
    except ImportError:
        return [sys.executable, "-m", "uv"]


def test_packaging_wheel_installed_without_nodejs_serves_the_sidebar(mlops_wheel: Path, tmp_path: Path,
                                                                    lab_browser: Any) -> None:
    """A fresh venv gets the wheel (and jupyterlab, its `lab` extra) from `uv pip install`
    with a PATH that has no Node.js; `jupyter labextension list` says enabled and OK, a
    server from that venv serves the remote entry and the browser shows the sidebar."""
    nonode = tmp_path / "bin"  # the only other PATH entry: a shell and the base python3, no Node.js
    nonode.mkdir()
    for tool, target in {"sh": Path("/bin/sh"), "python3": Path(sys.base_prefix, "bin", "python3")}.items():
        if target.exists():
            os.symlink(target, nonode / tool)
    venv = tmp_path / "venv"
    path = f"{venv / 'bin'}:{nonode}"
    for tool in ("node", "nodejs", "npm", "yarn"):
        assert not shutil.which(tool, path=path), f"{tool} is on the test PATH"
    env = isolated_env(tmp_path / "home", PATH=path, UV_NO_CONFIG="1")
    for name in ("VIRTUAL_ENV", "PYTHONPATH", "UV_PYTHON", "CONDA_PREFIX"):
        env.pop(name, None)
    started = time.monotonic()
    subprocess.run([*_uv(), "venv", "-q", "--python", sys.executable, str(venv)], env=env, check=True, timeout=120)
    subprocess.run([*_uv(), "pip", "install", "-q", "--python", str(venv / "bin" / "python"),
                    f"jupyter_mlops[lab] @ {mlops_wheel.as_uri()}"], env=env, check=True, timeout=240)
    print(f"venv + install: {time.monotonic() - started:.1f} s")

    listed = subprocess.run([str(venv / "bin" / "jupyter-labextension"), "list"], env=env,
                            capture_output=True, text=True, timeout=120, check=False)
    out = re.sub(r"\x1b\[[0-9;]*m", "", listed.stdout + listed.stderr)  # no colours
    assert re.search(r"jupyter_mlops v\S+ enabled\s+OK", out), out
    package = venv / "share" / "jupyter" / "labextensions" / "jupyter_mlops" / "package.json"
    load = json.loads(package.read_text())["jupyterlab"]["_build"]["load"]

    root = tmp_path / "workspace"
    root.mkdir()
    server = start_lab(root, tmp_path / "home", bindir=venv / "bin", env=env)
    try:
        assert server.has_mlops, server.log_tail()
        federated = {e["name"]: e for e in page_config(server)["federated_extensions"]}
        assert federated["jupyter_mlops"]["load"] == load, federated
        status, body = server.request("GET", f"lab/extensions/jupyter_mlops/{load}", raw=True)
        assert status == 200 and b"jupyter_mlops" in body, (status, body[:200])
        lab = new_lab(lab_browser, server, "e2e-wheel")
        try:
            lab.goto()
            lab.open_mlops()
            lab.wait_visible(lab.testid("mlops-tab-jobs"))
            lab.page.screenshot(path=str(ARTIFACTS / "test_packaging_wheel_panel.png"))
            lab.assert_no_console_errors()
        finally:
            lab.page.context.close()
    finally:
        killed = server.stop()
    assert killed == [], f"processes needed SIGKILL at stop: {killed}"


# ==== the panel, the dashboard header and the Jobs tab ==========================================

def test_panel_opens_with_its_tabs_and_dashboard(lab: Lab) -> None:
    """Contract: left-sidebar widget `#jupyter-mlops-sidebar` (its tab `data-id` the same),
    tab buttons `mlops-tab-<registry|dependencies|models|builds|jobs>`, tab roots
    `mlops-<name>`, header `mlops-dashboard` with `mlops-dashboard-count[data-key=models|
    releases|deployments]` whose text holds the number, and `mlops-disk` (used/free text)."""
    server = lab.server
    name = unique("dash")
    server.ok("POST", "models", {"name": name, "storage_path": f"src/{name}"})
    panel = lab.open_mlops()
    for tab in TABS:
        lab.wait_visible(lab.testid(f"mlops-tab-{tab}"))
    for tab in TABS:
        root = lab.tab(tab)
        assert root.is_visible()
        others = [t for t in TABS if t != tab]
        assert not any(lab.testid(f"mlops-{t}").is_visible() for t in others), tab
    dashboard = lab.wait_visible(lab.testid("mlops-dashboard"))
    counts = server.ok("GET", "dashboard")["counts"]
    for key in ("models", "releases", "deployments"):
        lab.wait_text(lab.testid("mlops-dashboard-count", key=key), re.compile(rf"(^|\D){counts[key]}(\D|$)"))
    lab.wait_text(lab.testid("mlops-disk"), re.compile("free", re.IGNORECASE))
    assert panel.is_visible() and dashboard.first.is_visible()
    lab.assert_no_console_errors()


def test_panel_header_says_which_workspace_and_store(lab: Lab) -> None:
    """Contract: `mlops-workspace` in the header shows the workspace folder's name and the store
    in a word (`SQLite`, `PostgreSQL @ host`), each in full in its tooltip, from `GET
    dashboard`'s `workspace` {path, store}; a server that does not send it (before issue 15's
    backend) gets no such line and no error."""
    board = lab.server.ok("GET", "dashboard")
    lab.open_mlops()
    lab.wait_visible(lab.testid("mlops-dashboard-count", key="models"))
    line = lab.testid("mlops-workspace")
    path, store = board["workspace"]["path"], board["workspace"]["store"]
    assert path == str(lab.server.root_dir) and store == f"sqlite:///{path}/.mlops/mlops.db", board["workspace"]
    lab.wait_text(line, Path(path).name)
    assert line.locator(f'[title="Workspace {path}"]').count() == 1
    assert line.locator(f'[title="Store {store}"]').inner_text() == "SQLite"
    lab.assert_no_console_errors()


def test_panel_restores_its_tab_after_reload(lab: Lab) -> None:
    lab.tab("models")
    lab.wait_saved(tab="models")
    lab.reload()
    lab.wait_visible(f"#{SIDEBAR_ID}")
    lab.wait_visible(lab.testid("mlops-models"))
    lab.assert_no_console_errors()


def test_panel_restores_what_was_open_after_reload(lab: Lab, lab_hub: FakeHub) -> None:
    """Kept in the workspace besides the tab: the registry's search and open model, the open
    job (with its log) and the Jobs tab's "active only"."""
    server, name = lab.server, unique("restore")
    server.ok("POST", "models", {"name": name, "storage_path": f"src/{name}"})
    root = lab.tab("registry")
    root.locator('[data-testid="mlops-model-search"]').fill(name)
    root.locator(f'[data-testid="mlops-model-row"][data-name="{name}"]').click()
    lab.wait_visible(root.locator(f'[data-testid="mlops-model-detail"][data-name="{name}"]'))
    lab.wait_saved(**{"registry.model": name, "registry.search": name})
    lab.reload()
    root = lab.wait_visible(lab.testid("mlops-registry"))
    detail = lab.wait_visible(root.locator(f'[data-testid="mlops-model-detail"][data-name="{name}"]'))
    detail.locator('[data-testid="mlops-model-back"]').click()
    assert root.locator('[data-testid="mlops-model-search"]').input_value() == name

    repo = f"e2e/{unique('restore')}"
    lab_hub.add_repo(repo, {"config.json": b"{}"})
    job = server.wait_job(server.ok("POST", "hub/downloads", {"repo_id": repo})["id"], timeout=60)
    jobs = lab.tab("jobs")
    row = jobs.locator(f'[data-testid="mlops-job-row"][data-job-id="{job["id"]}"]')
    row.locator('[role="button"]').first.click()
    lab.wait_visible(row.locator('[data-testid="mlops-log"]'))
    lab.wait_saved(**{"tab": "jobs", "jobs.job": job["id"]})
    lab.reload()
    lab.wait_visible(lab.testid("mlops-jobs"))
    lab.wait_visible(row.locator('[data-testid="mlops-log"]'))

    active_only = lab.testid("mlops-jobs").locator('input[type="checkbox"]')
    active_only.check()
    row.wait_for(state="detached")  # succeeded: not active
    lab.wait_saved(**{"jobs.activeOnly": True})
    lab.reload()
    assert lab.wait_visible(lab.testid("mlops-jobs").locator('input[type="checkbox"]')).is_checked()
    lab.assert_no_console_errors()


#: (top, left, width, height) of every tab button, in order, the top from the tab strip's top
#: (the dashboard above may grow once its figures arrive).
_TAB_BOXES = """els => els.map(e => { const r = e.getBoundingClientRect();
                                        const strip = e.parentElement.getBoundingClientRect();
                                        return [r.top - strip.top, r.left, r.width, r.height]; })"""
#: Whether anything inside a tab button is cut (wider than its box).
_TAB_CUT = """els => els.flatMap(b => [b, ...b.querySelectorAll('*')])
                     .filter(e => e.scrollWidth > e.clientWidth).map(e => e.outerHTML.slice(0, 120))"""
#: 'ok' when `text` shows whole inside `root`: each deepest element holding it is cut by no
#: box up to `root` (overflow hidden, clip or scroll narrower than its content), or the element
#: or a box around it has a title holding the whole text; else what is wrong.
_READABLE = """(root, text) => {
  const holding = [...root.querySelectorAll('*')].filter(e => (e.textContent || '').includes(text)
                                                          || (e.title || '').includes(text));
  const deepest = holding.filter(e => ![...e.children].some(c => holding.includes(c)));
  if (!deepest.length) { return `not found: ${text}`; }
  for (const el of deepest) {
    let titled = false, cut = false;
    for (let e = el; e && e !== root.parentElement; e = e.parentElement) {
      titled = titled || (e.title || '').includes(text);
      const overflow = getComputedStyle(e).overflowX;
      cut = cut || (overflow !== 'visible' && e.scrollWidth > e.clientWidth);
    }
    if (cut && !titled) { return `cut, with no title: ${el.outerHTML.slice(0, 200)}`; }
  }
  return 'ok';
}"""


def _assert_readable(container: Any, *texts: str) -> None:
    for text in texts:
        assert container.evaluate(_READABLE, text) == "ok", text


def test_panel_tab_strip_keeps_one_row_and_long_names_are_readable(lab: Lab) -> None:
    """At the default sidebar width the tab buttons share one top offset (one row), nothing in
    them is cut, and selecting another tab moves none of them. Long names (an alias, a release
    with a GGUF quantization, an s3:// storage path, the storage path's hint) are readable:
    shown whole, or their full text in the title of the element that cuts them."""
    server, name = lab.server, unique("long-names-of-a-model")
    storage = f"s3://bucket-with-a-long-name/models/{name}/2024-05/weights-and-tokenizer"
    alias = "production-candidate-eu-west-1"
    server.ok("POST", "models", {"name": name, "storage_path": storage})
    release = server.ok("POST", "releases", {"model": name, "version": "1.0.0", "quantization": "gguf-q4_k_m"})
    server.ok("PUT", f"aliases/{name}/{alias}", {"release_id": release["id"]})

    panel = lab.open_mlops()
    width = panel.bounding_box()["width"]
    assert width <= 300, f"the sidebar is {width}px wide, not its default"
    buttons = lab.page.locator('[role="tablist"] [data-testid^="mlops-tab-"]')
    lab.wait_visible(buttons)
    assert buttons.count() == len(TABS)
    first = buttons.evaluate_all(_TAB_BOXES)
    assert len({top for top, *_ in first}) == 1, first
    assert buttons.evaluate_all(_TAB_CUT) == []
    for tab in (*TABS[1:], TABS[0]):
        lab.tab(tab)
        assert buttons.evaluate_all(_TAB_BOXES) == first, tab  # one row, nothing moved
        assert buttons.evaluate_all(_TAB_CUT) == [], tab
    for tab in TABS:  # the full name is the tooltip
        assert lab.testid(f"mlops-tab-{tab}").get_attribute("title").lower().startswith(tab)

    root = lab.tab("registry")
    lab.wait_visible(root.locator(f'[data-testid="mlops-model-row"][data-name="{name}"]'))
    _assert_readable(root, name, storage, "hf://org/name[@revision], s3://bucket/key or a folder")
    root.locator(f'[data-testid="mlops-model-row"][data-name="{name}"]').click()
    detail = lab.wait_visible(root.locator(f'[data-testid="mlops-model-detail"][data-name="{name}"]'))
    lab.wait_visible(detail.locator(f'[data-testid="mlops-alias-row"][data-alias="{alias}"]'))
    lab.wait_visible(detail.locator('[data-testid="mlops-release-row"]'))
    _assert_readable(detail, name, storage, f"@{alias}", "→ 1.0.0 (gguf-q4_k_m)", "1.0.0 (gguf-q4_k_m)")
    dashboard = lab.testid("mlops-dashboard")
    lab.wait_text(dashboard, name)
    _assert_readable(dashboard, f"{name} 1.0.0 (gguf-q4_k_m)")
    lab.assert_no_console_errors()


def test_panel_polls_gently_and_pauses_when_hidden(lab: Lab, lab_hub: FakeHub) -> None:
    """Live updates poll with backoff: with a dozen active jobs (two slow downloads running,
    ten queued behind them) the panel makes a few requests a second at most while it shows,
    and next to none while it is collapsed."""
    lab_hub.throttle = 64 * 1024
    repos = [f"e2e/{unique('many')}" for _ in range(12)]
    for repo in repos:
        lab_hub.add_repo(repo, {"w.bin": payload(repo, 2 * MB)})
    jobs = [lab.server.ok("POST", "hub/downloads", {"repo_id": repo})["id"] for repo in repos]
    try:
        lab.tab("jobs")
        lab.wait_visible(lab.testid("mlops-job-row", job_id=jobs[-1]))
        shown = lab.api_calls_during(10)
        assert len(shown) <= 30, shown
        lab.sidebar_tab().click()  # collapse the left area: the panel is hidden
        lab.page.locator(f"#{SIDEBAR_ID}").wait_for(state="hidden", timeout=10_000)
        lab.page.wait_for_timeout(1000)  # a request already in flight may still land
        hidden = lab.api_calls_during(8)
        assert len(hidden) <= 1, hidden
    finally:
        for job in jobs:
            lab.server.mlops("POST", f"hub/downloads/{job}/cancel")
        for job in jobs:
            lab.server.wait_job(job, timeout=30)
    lab.assert_no_console_errors()


def test_panel_has_command_palette_entries(lab: Lab) -> None:
    """Contract: every `mlops:*` command is a palette item (category "MLOps"), among them
    `mlops:open-<tab>` for every tab and the row actions (promote, cancel, push, delete...);
    running one from the palette opens the panel at that tab."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    palette = lab.page.locator(".lm-CommandPalette")
    for _ in range(20):  # a keypress before JupyterLab has bound its shortcuts is lost
        lab.page.keyboard.press("Control+Shift+C")
        try:
            palette.wait_for(state="visible", timeout=1500)
            break
        except PlaywrightTimeout:
            continue
    lab.wait_visible(palette)
    palette.locator("input").first.fill("MLOps")
    for tab in TABS:
        lab.wait_visible(palette.locator(f'.lm-CommandPalette-item[data-command="mlops:open-{tab}"]'))
    commands = set(lab.page.evaluate(
        "() => window.jupyterapp.commands.listCommands().filter(id => id.startsWith('mlops:'))"))
    items = palette.locator('.lm-CommandPalette-item[data-command^="mlops:"]')
    deadline = time.monotonic() + 10  # the palette re-renders as other plugins add commands
    while True:
        in_palette = set(items.evaluate_all("els => els.map(e => e.dataset.command)"))
        if in_palette == commands or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert commands == in_palette, (commands - in_palette, in_palette - commands)
    for command in ("promote-release", "demote-release", "deprecate-release", "set-alias", "delete-alias",
                    "rollback-alias",
                    "show-model-history", "cancel-download", "delete-local-model", "cancel-build",
                    "push-build", "show-build", "cancel-job", "show-job", "restart-kernel", "create-deployment",
                    "set-deployment-status", "delete-deployment", "add-artifact", "delete-artifact"):
        assert f"mlops:{command}" in commands, command
    palette.locator('.lm-CommandPalette-item[data-command="mlops:open-builds"]').click()
    lab.wait_visible(lab.testid("mlops-builds"))
    lab.assert_no_console_errors()


def test_jobs_tab_shows_a_job_started_from_a_notebook_magic(lab: Lab, lab_hub: FakeHub) -> None:
    """A `%mlops jobs selftest` cell waits on a diagnostic.count job run by the server's worker;
    the Jobs tab shows its row running with progress, then succeeded; a detached
    `%mlops download` from the same notebook shows too. Contract: rows `mlops-job-row`
    with `data-job-id`, `data-kind`, `data-state`; `mlops-job-progress` inside a running row."""
    repo = f"e2e/{unique('magic')}"
    lab_hub.add_repo(repo, {"config.json": b"{}", "w.bin": payload(repo, 2 * MB)})
    path = f"{unique('jobs')}/magic.ipynb"
    lab.server.put_notebook(path, ["%load_ext jupyter_mlops",
                                   "%mlops jobs selftest --n 40 --delay 0.25",
                                   f"%mlops download {repo} --detach"])
    lab.open_notebook(path)
    assert "error" not in lab.run_cell(path, 0).lower()
    before = {j["id"] for j in lab.server.ok("GET", "jobs", kind="diagnostic.count", limit="500")["items"]}
    lab.run_cell(path, 1, wait=False)
    deadline = time.monotonic() + 30
    while True:  # the job the cell submitted
        new = [j for j in lab.server.ok("GET", "jobs", kind="diagnostic.count", limit="500")["items"]
               if j["id"] not in before]
        if new:
            job_id = new[0]["id"]
            break
        assert time.monotonic() < deadline, "the magic submitted no job"
        time.sleep(0.2)

    lab.tab("jobs")
    row = lab.testid("mlops-job-row", job_id=job_id)
    lab.wait_attr(row, "data-kind", "diagnostic.count")
    lab.wait_attr(row, "data-state", "running")
    lab.wait_visible(row.locator('[data-testid="mlops-job-progress"]'))
    lab.wait_attr(row, "data-state", "succeeded", timeout=60)
    lab.wait_text(lab.cell(path, 1).locator(".jp-InputPrompt"), re.compile(r"\[\d+\]"), timeout=30)
    assert f"selftest job {job_id} succeeded" in lab.cell_output(path, 1)

    out = lab.run_cell(path, 2)
    found = re.search(r"download job (\d+)", out)
    assert found, out
    download = lab.testid("mlops-job-row", job_id=found.group(1))
    lab.wait_attr(download, "data-kind", "hub.download")
    lab.wait_attr(download, "data-state", "succeeded", timeout=60)
    # a download acts on this workspace's files: the row says where it runs, in full in its tooltip
    place = download.locator('[data-testid="mlops-job-place"]')
    lab.wait_text(place, f"in {lab.server.root_dir.name}")
    assert place.get_attribute("title") == f"runs on {socket.gethostname()} in {lab.server.root_dir.resolve()}"
    assert row.locator('[data-testid="mlops-job-place"]').count() == 0, "a selftest may run on any worker"
    lab.assert_no_console_errors()


def test_jobs_tab_cancels_a_running_job(lab: Lab, cli_selftest: Any) -> None:
    """A job started by the CLI (`jupyter mlops jobs selftest`, a minute of work) is cancelled
    from the tab. Contract: `mlops-job-cancel` in a queued/running row; the row turns `cancelled`."""
    job = cli_selftest(n=600, delay=0.1)
    row = lab.testid("mlops-job-row", job_id=job)
    lab.tab("jobs")
    lab.wait_attr(row, "data-state", "running", timeout=30)
    row.locator('[data-testid="mlops-job-cancel"]').click()
    _confirm_if_asked(lab)
    lab.wait_attr(row, "data-state", "cancelled", timeout=30)
    assert lab.server.ok("GET", f"jobs/{job}")["state"] == "cancelled"

    # the palette's mlops:cancel-job offers the running jobs only, and shows the one cancelled
    other = cli_selftest(n=600, delay=0.1)
    lab.server.wait_job(other, until=("running",), timeout=30)
    lab.command("mlops:open-registry")
    lab.start_command("mlops:cancel-job")
    options = lab.pick("Cancel which job?", re.compile(rf"^#{other} diagnostic\.count · running"))
    assert not any(o.startswith(f"#{job} ") for o in options), options
    lab.toast(f"Cancelling job #{other} (diagnostic.count).")
    assert lab.command_result() is True
    lab.wait_attr(lab.testid("mlops-job-row", job_id=other), "data-state", "cancelled", timeout=30)
    lab.assert_no_console_errors()


def test_jobs_tab_says_a_failure_in_one_line_and_folds_its_traceback(lab: Lab, cli_selftest: Any) -> None:
    """A failed job's row shows its error in one line; its log shows the job's own lines, and
    the traceback (the `trace` stream) folded under `mlops-log-trace`, whole when opened."""
    job = cli_selftest(n=3, delay=0.05, fail_at=3)
    failed = lab.server.wait_job(job, timeout=60)
    assert failed["error"] == "RuntimeError: asked to fail at step 3"
    lab.tab("jobs")
    row = lab.testid("mlops-job-row", job_id=job)
    lab.wait_attr(row, "data-state", "failed", timeout=30)
    assert row.locator(".jp-mlops-error").inner_text() == "RuntimeError: asked to fail at step 3"
    row.locator(".jp-mlops-job-head").click()
    log = row.locator('[data-testid="mlops-log"]')
    lab.wait_text(log, "step 2 of 3")
    trace = log.locator('[data-testid="mlops-log-trace"]')
    lines = [ln["line"] for ln in lab.server.ok("GET", f"jobs/{job}/log")["lines"] if ln["stream"] == "trace"]
    lab.wait_text(trace.locator("summary"), f"traceback ({len(lines)} lines)")
    assert not trace.locator(".jp-mlops-log-line").first.is_visible()  # folded
    trace.locator("summary").click()
    assert trace.locator(".jp-mlops-log-line").last.inner_text() == "RuntimeError: asked to fail at step 3"
    lab.assert_no_console_errors()


@pytest.fixture
def cli_selftest(lab_server: LabServer) -> Iterator[Any]:
    """`start(n, delay) -> job id`: run `jupyter mlops jobs selftest` against the lab's workspace
    in a subprocess (the server's worker runs the job; the CLI waits on its row). At teardown
    the test's jobs still active are cancelled through REST and the CLI processes reaped."""
    started: list[tuple[subprocess.Popen[bytes], int]] = []

    def start(n: int = 600, delay: float = 0.1, fail_at: int | None = None) -> int:
        listed = lab_server.ok("GET", "jobs", kind="diagnostic.count", limit="500")["items"]
        before = {j["id"] for j in listed}
        failing = ["--fail-at", str(fail_at)] if fail_at else []
        proc = subprocess.Popen([str(Path(sys.executable).with_name("jupyter-mlops")), "jobs", "selftest",
                                 "--n", str(n), "--delay", str(delay), *failing,
                                 "--workspace", str(lab_server.root_dir)],
                                env=lab_server.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while True:
            new = [j["id"] for j in lab_server.ok("GET", "jobs", kind="diagnostic.count", limit="500")["items"]
                   if j["id"] not in before]
            if new:
                started.append((proc, new[0]))
                return int(new[0])
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                proc.wait(5)
                raise AssertionError(f"the CLI submitted no job (exit {proc.poll()})")
            time.sleep(0.2)

    yield start
    for proc, job_id in started:
        if lab_server.ok("GET", f"jobs/{job_id}")["state"] in ("queued", "running"):
            lab_server.mlops("POST", f"jobs/{job_id}/cancel")
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def _confirm_if_asked(lab: Lab, timeout: float = 2.0) -> None:
    """Accept a JupyterLab confirmation dialog when one opens within `timeout` s."""
    button = lab.page.locator(".jp-Dialog .jp-Dialog-button.jp-mod-accept")
    try:
        button.wait_for(state="visible", timeout=timeout * 1000)
    except Exception:  # noqa: BLE001 - no dialog: the action needed no confirmation
        return
    button.click()


# ==== Registry tab ===============================================================================

def test_registry_creates_a_model_and_a_release_through_the_forms(lab: Lab) -> None:
    """Contract (in `mlops-registry`): `mlops-model-search` input, rows `mlops-model-row`
    [data-name]; form `mlops-model-name`, `mlops-model-storage-path`, `mlops-model-create`;
    a server validation error shows in `mlops-field-error[data-field=<field>]`; selecting a
    row shows `mlops-model-detail` with rows `mlops-release-row` [data-release-id,
    data-version, data-status] and the release form `mlops-release-version`,
    `mlops-release-quantization`, `mlops-release-create`; `mlops-release-promote` in a row."""
    server, name = lab.server, unique("reg")
    root = lab.tab("registry")

    # inline validation error from the server; nothing is created
    root.locator('[data-testid="mlops-model-name"]').fill("bad name!")
    root.locator('[data-testid="mlops-model-storage-path"]').fill(f"src/{name}")
    root.locator('[data-testid="mlops-model-create"]').click()
    lab.wait_text(root.locator('[data-testid="mlops-field-error"][data-field="name"]'),
                  "must start with a letter or digit")
    assert not [m for m in server.ok("GET", "models", q="bad")["items"] if m["name"].startswith("bad")]

    root.locator('[data-testid="mlops-model-name"]').fill(name)
    root.locator('[data-testid="mlops-model-create"]').click()
    row = root.locator(f'[data-testid="mlops-model-row"][data-name="{name}"]')
    lab.wait_visible(row)
    assert server.ok("GET", f"models/{name}")["storage_path"] == f"src/{name}"
    assert not root.locator('[data-testid="mlops-field-error"]').is_visible()

    root.locator('[data-testid="mlops-model-search"]').fill(name)
    lab.wait_visible(row)
    assert root.locator('[data-testid="mlops-model-row"]').count() == 1
    row.click()
    detail = lab.wait_visible(root.locator('[data-testid="mlops-model-detail"]'))
    lab.wait_text(detail, name)

    detail.locator('[data-testid="mlops-release-version"]').fill("not a version")
    detail.locator('[data-testid="mlops-release-create"]').click()
    lab.wait_text(detail.locator('[data-testid="mlops-field-error"][data-field="version"]'), "must be a version")
    detail.locator('[data-testid="mlops-release-version"]').fill("1.0.0")
    detail.locator('[data-testid="mlops-release-quantization"]').fill("gguf-q4_k_m")
    detail.locator('[data-testid="mlops-release-create"]').click()
    release = detail.locator('[data-testid="mlops-release-row"][data-version="1.0.0"]')
    lab.wait_attr(release, "data-status", "candidate")
    (made,) = server.ok("GET", "releases", model=name)["items"]
    assert made["version"] == "1.0.0" and made["quantization"] == "gguf-q4_k_m"
    assert release.get_attribute("data-release-id") == str(made["id"])

    release.locator('[data-testid="mlops-release-promote"]').click()
    _confirm_if_asked(lab)
    lab.wait_attr(release, "data-status", "released")
    assert server.ok("GET", f"releases/{made['id']}")["status"] == "released"
    # the two refusals asked for above are the only failed answers; the browser logs each one
    refused = [re.sub(r"^(\d+ \w+) \S*/mlops/api/", r"\1 ", e) for e in lab.http_errors]
    assert refused == ["400 POST models", "400 POST releases"], lab.http_errors
    lab.assert_no_console_errors(ignore=["the server responded with a status of 400 (Bad Request)"])



def test_registry_release_quantization_is_free_text(lab: Lab) -> None:
    """The release form's quantization is a free text input with suggestions (`<datalist>`
    options, e.g. exl2-4.0bpw, mlx-4bit, bnb-4bit); what the server stores is said after
    creating when it normalised the text (`mlops-release-quantization-stored`), and what it
    refuses shows under the input (`mlops-field-error[data-field=quantization]`). Q4_K_M is
    accepted (as gguf-q4_k_m) by a server that takes GGUF types as people write them, refused
    by one that does not: the form shows the server's answer either way."""
    server, name = lab.server, unique("quant")
    server.ok("POST", "models", {"name": name, "storage_path": f"src/{name}"})
    root = lab.tab("registry")
    lab.command("mlops:create-release", {"model": name})
    detail = lab.wait_visible(root.locator(f'[data-testid="mlops-model-detail"][data-name="{name}"]'))
    quantization = detail.locator('[data-testid="mlops-release-quantization"]')
    listed = quantization.evaluate("e => [...e.list.options].map(o => o.value)")
    assert {"none", "fp16", "gguf-q4_k_m", "exl2-4.0bpw", "mlx-4bit", "bnb-4bit"} <= set(listed), listed

    def create(version: str, typed: str) -> None:
        detail.locator('[data-testid="mlops-release-version"]').fill(version)
        quantization.fill(typed)
        detail.locator('[data-testid="mlops-release-create"]').click()

    create("1.0", "not valid!")
    status, refusal = server.mlops("POST", "releases", {"model": name, "version": "9.9", "quantization": "not valid!"})
    assert status == 400 and refusal["field"] == "quantization", refusal
    lab.wait_text(detail.locator('[data-testid="mlops-field-error"][data-field="quantization"]'),
                  refusal["message"].removeprefix("quantization: "))
    assert not server.ok("GET", "releases", model=name)["items"]

    create("1.0", "FP16")
    lab.wait_text(detail.locator('[data-testid="mlops-release-quantization-stored"]'),
                  "quantization FP16 is stored as fp16")
    lab.wait_visible(detail.locator('[data-testid="mlops-release-row"][data-version="1.0"]'))
    assert server.ok("GET", "releases", model=name)["items"][0]["quantization"] == "fp16"

    status, answer = server.mlops("POST", "releases", {"model": unique("absent"), "version": "1", "quantization": "Q4_K_M"})
    gguf_types_accepted = answer.get("field") != "quantization"
    create("2.0", "Q4_K_M")
    if gguf_types_accepted:
        lab.wait_text(detail.locator('[data-testid="mlops-release-quantization-stored"]'),
                      "quantization Q4_K_M is stored as gguf-q4_k_m")
        made = [r for r in server.ok("GET", "releases", model=name)["items"] if r["version"] == "2.0"]
        assert [r["quantization"] for r in made] == ["gguf-q4_k_m"], made
    else:
        lab.wait_text(detail.locator('[data-testid="mlops-field-error"][data-field="quantization"]'),
                      answer["message"].removeprefix("quantization: "))
    lab.assert_no_console_errors(ignore=["the server responded with a status of 400 (Bad Request)"])


def test_registry_release_form_sends_the_mlflow_run(lab: Lab) -> None:
    """The release form's `mlops-release-mlflow-run` is sent as `mlflow_run` when filled: what
    the server refuses shows under it (`mlops-field-error[data-field=mlflow_run]`), left empty
    it is not sent. (The run section of a release row, `mlops-release-run`, is tested against
    the MLflow server below.)"""
    server, name = lab.server, unique("run")
    server.ok("POST", "models", {"name": name, "storage_path": f"src/{name}"})
    detail = _open_model(lab, name)
    detail.locator('[data-testid="mlops-release-version"]').fill("1.0")
    detail.locator('[data-testid="mlops-release-mlflow-run"]').fill("not a run id!")
    detail.locator('[data-testid="mlops-release-create"]').click()
    status, refusal = server.mlops("POST", "releases",
                                   {"model": unique("absent"), "version": "1", "mlflow_run": "not a run id!"})
    assert (status, refusal["field"]) == (400, "mlflow_run"), refusal
    lab.wait_text(detail.locator('[data-testid="mlops-field-error"][data-field="mlflow_run"]'),
                  refusal["message"].removeprefix("mlflow_run: "))
    assert server.ok("GET", "releases", model=name)["items"] == []

    detail.locator('[data-testid="mlops-release-mlflow-run"]').fill("")
    detail.locator('[data-testid="mlops-release-create"]').click()
    row = detail.locator('[data-testid="mlops-release-row"][data-version="1.0"]')
    lab.wait_visible(row)
    assert row.locator('[data-testid="mlops-release-run"]').count() == 0
    lab.assert_no_console_errors(ignore=["the server responded with a status of 400 (Bad Request)"])


def test_registry_release_shows_its_mlflow_run(lab: Lab, mlflow_server: Any) -> None:
    """A release made in the form with a real MLflow run (the test tracking server, which the
    lab server is configured with) shows the run when its section opens: the name linking to
    the run's page, status, metrics and params, read from MLflow; a run MLflow does not have
    shows MLflow's message."""
    server, name = lab.server, unique("tracked")
    run_id = mlflow_server.run("train-e2e", {"accuracy": 0.93, "loss": 0.125}, {"lr": "3e-4", "epochs": "4"})
    server.ok("POST", "models", {"name": name, "storage_path": f"src/{name}"})
    detail = _open_model(lab, name)
    detail.locator('[data-testid="mlops-release-version"]').fill("1.0")
    detail.locator('[data-testid="mlops-release-mlflow-run"]').fill(f"runs:/{run_id}/model")
    detail.locator('[data-testid="mlops-release-create"]').click()
    row = detail.locator('[data-testid="mlops-release-row"][data-version="1.0"]')
    lab.wait_visible(row)
    assert server.ok("GET", "releases", model=name)["items"][0]["mlflow_run"] == f"runs:/{run_id}"
    section = row.locator('[data-testid="mlops-release-run"]')
    section.locator("summary").click()
    metrics = section.locator('[data-testid="mlops-run-metrics"]')
    lab.wait_text(metrics, "accuracy")
    assert "0.93" in metrics.inner_text() and "0.125" in metrics.inner_text()
    params = section.locator('[data-testid="mlops-run-params"]').inner_text()
    assert "lr" in params and "3e-4" in params and "epochs" in params
    link = section.locator(f'a[href="{mlflow_server.url}/#/experiments/0/runs/{run_id}"]')
    assert link.inner_text() == "train-e2e"
    assert "finished" in section.inner_text()

    missing = server.ok("POST", "releases", {"model": name, "version": "2.0", "mlflow_run": "0" * 32})
    lab.reload()
    detail = _open_model(lab, name)
    other = detail.locator(f'[data-testid="mlops-release-row"][data-version="2.0"] [data-testid="mlops-release-run"]')
    lab.wait_visible(other)
    other.locator("summary").click()
    status, answer = server.mlops("GET", f"releases/{missing['id']}/run")
    assert status == 404
    lab.wait_text(other.locator('[data-testid="mlops-release-run-error"]'), answer["message"])
    lab.assert_no_console_errors(ignore=["the server responded with a status of 404 (Not Found)"])


def test_registry_aliases_history_and_palette_actions(lab: Lab) -> None:
    """Contract (in `mlops-model-detail`): alias rows `mlops-alias-row` [data-alias,
    data-release-id] with `mlops-alias-delete` (a confirmation dialog); the alias form
    `mlops-alias-name`, `mlops-alias-release` (a <select> of release ids), `mlops-alias-set`;
    `mlops-model-history` (a <details>) lists `mlops-audit-row` [data-action]. Palette
    commands: `mlops:create-release {model}` opens the model and focuses
    `mlops-release-version`, `mlops:promote-release {id}` promotes, `mlops:create-model`
    goes back to the list and focuses `mlops-model-name`."""
    from playwright.sync_api import expect

    server, name = lab.server, unique("alias")
    server.ok("POST", "models", {"name": name, "storage_path": f"src/{name}"})
    first = server.ok("POST", "releases", {"model": name, "version": "1.0"})
    second = server.ok("POST", "releases", {"model": name, "version": "2.0", "quantization": "int4"})
    root = lab.tab("registry")
    lab.command("mlops:create-release", {"model": name})
    detail = lab.wait_visible(root.locator(f'[data-testid="mlops-model-detail"][data-name="{name}"]'))
    expect(detail.locator('[data-testid="mlops-release-version"]')).to_be_focused()

    # a version-like alias is refused inline; then the alias is set, moved and deleted
    detail.locator('[data-testid="mlops-alias-name"]').fill("v2")
    detail.locator('[data-testid="mlops-alias-release"]').select_option(str(second["id"]))
    detail.locator('[data-testid="mlops-alias-set"]').click()
    lab.wait_text(detail.locator('[data-testid="mlops-field-error"][data-field="alias"]'), "not look like a version")
    detail.locator('[data-testid="mlops-alias-name"]').fill("prod")
    detail.locator('[data-testid="mlops-alias-set"]').click()
    alias = detail.locator('[data-testid="mlops-alias-row"][data-alias="prod"]')
    lab.wait_attr(alias, "data-release-id", str(second["id"]))
    assert server.ok("GET", f"aliases/{name}/prod")["release"]["id"] == second["id"]
    detail.locator('[data-testid="mlops-alias-name"]').fill("prod")
    detail.locator('[data-testid="mlops-alias-release"]').select_option(str(first["id"]))
    detail.locator('[data-testid="mlops-alias-set"]').click()
    lab.wait_attr(alias, "data-release-id", str(first["id"]))

    lab.command("mlops:promote-release", {"id": first["id"]})
    row = detail.locator(f'[data-testid="mlops-release-row"][data-release-id="{first["id"]}"]')
    lab.wait_attr(row, "data-status", "released")
    assert server.ok("GET", f"releases/{first['id']}")["status"] == "released"

    alias.locator('[data-testid="mlops-alias-delete"]').click()
    lab.page.locator(".jp-Dialog .jp-Dialog-button.jp-mod-accept").click()
    alias.wait_for(state="detached")
    assert server.mlops("GET", f"aliases/{name}/prod")[0] == 404

    history = detail.locator('[data-testid="mlops-model-history"]')
    history.locator("summary").click()
    for action in ("create", "set_alias", "promote", "delete_alias"):
        lab.wait_visible(history.locator(f'[data-testid="mlops-audit-row"][data-action="{action}"]'))
    lab.wait_text(history, "candidate → released")

    lab.command("mlops:create-model")
    expect(root.locator('[data-testid="mlops-model-name"]')).to_be_focused()
    assert not detail.is_visible()
    refused = [re.sub(r"^(\d+ \w+) \S*/mlops/api/", r"\1 ", e) for e in lab.http_errors]
    assert refused == [f"400 PUT aliases/{name}/v2"], lab.http_errors
    lab.assert_no_console_errors(ignore=["the server responded with a status of 400 (Bad Request)"])


def test_registry_alias_timeline_and_rollback(lab: Lab) -> None:
    """Contract (in `mlops-model-detail`): `mlops-alias-timeline` lists `mlops-alias-event`
    [data-alias, data-action, data-release-id], newest first; an alias row with an earlier
    target has `mlops-alias-rollback` [data-rollback-to], which asks first (declined:
    nothing changes). `mlops:rollback-alias {model, alias}` confirms and says where the alias
    went; with no earlier target it says so and changes nothing."""
    server, name = lab.server, unique("rollback")
    server.ok("POST", "models", {"name": name, "storage_path": f"src/{name}"})
    r1, r2, r3 = (server.ok("POST", "releases", {"model": name, "version": v})["id"] for v in ("1.0", "2.0", "3.0"))
    server.ok("PUT", f"aliases/{name}/prod", {"release_id": r1})
    server.ok("PUT", f"aliases/{name}/prod", {"release_id": r2})
    detail = _open_model(lab, name)
    timeline = detail.locator('[data-testid="mlops-alias-timeline"]')
    events = timeline.locator('[data-testid="mlops-alias-event"]')
    lab.wait_attr(events.first, "data-action", "move")
    assert events.evaluate_all("els => els.map(e => [e.dataset.action, e.dataset.releaseId])") == [
        ["move", str(r2)], ["set", str(r1)]]
    lab.wait_text(events.first, f"@prod moved #{r1} → 2.0 #{r2}")

    alias = detail.locator('[data-testid="mlops-alias-row"][data-alias="prod"]')
    button = alias.locator('[data-testid="mlops-alias-rollback"]')
    lab.wait_attr(button, "data-rollback-to", str(r1))
    button.click()
    lab.wait_text(lab.dialog("Roll back alias"), f"Move {name}@prod back from 2.0 #{r2} to 1.0 #{r1}?")
    lab.page.locator(".jp-Dialog .jp-Dialog-button.jp-mod-reject").click()
    time.sleep(0.5)
    assert server.ok("GET", f"aliases/{name}/prod")["release"]["id"] == r2  # declined: nothing changed
    button.click()
    lab.dialog("Roll back alias").locator(".jp-Dialog-button.jp-mod-accept").click()
    lab.wait_attr(alias, "data-release-id", str(r1))
    lab.wait_attr(events.first, "data-action", "rollback")
    button.wait_for(state="detached")  # no earlier target now
    assert server.ok("GET", f"aliases/{name}/prod")["release"]["id"] == r1

    # from the palette: confirmed, said; then refused with nothing to roll back to
    server.ok("PUT", f"aliases/{name}/prod", {"release_id": r3})
    lab.start_command("mlops:rollback-alias", {"model": name, "alias": "prod"})
    lab.dialog("Roll back alias").locator(".jp-Dialog-button.jp-mod-accept").click()
    lab.toast(f"{name}@prod is back on 1.0 #{r1}.")
    assert lab.command_result() is True
    lab.wait_attr(alias, "data-release-id", str(r1))
    assert lab.command("mlops:rollback-alias", {"model": name, "alias": "prod"}) is False
    lab.toast(f"{name}@prod has had no target before release #{r1}; nothing to roll back to.")
    history = server.ok("GET", f"models/{name}/alias-history")["items"]
    assert [(e["action"], e["release_id"]) for e in history] == [
        ("rollback", r1), ("move", r3), ("rollback", r1), ("move", r2), ("set", r1)]
    assert lab.http_errors == [], lab.http_errors
    lab.assert_no_console_errors()


def test_registry_alias_form_offers_every_release(lab: Lab) -> None:
    """The model page shows 20 releases (Show more for the rest); the alias form's release
    <select> offers all of them."""
    server, name = lab.server, unique("many")
    server.ok("POST", "models", {"name": name, "storage_path": f"src/{name}"})
    for i in range(23):
        server.ok("POST", "releases", {"model": name, "version": f"1.{i}"})
    root = lab.tab("registry")
    lab.command("mlops:create-release", {"model": name})
    detail = lab.wait_visible(root.locator(f'[data-testid="mlops-model-detail"][data-name="{name}"]'))
    lab.wait_visible(detail.locator('[data-testid="mlops-release-row"]'))
    assert detail.locator('[data-testid="mlops-release-row"]').count() == 20
    options = detail.locator('[data-testid="mlops-alias-release"] option')
    deadline = time.monotonic() + 15
    while options.count() != 23:
        assert time.monotonic() < deadline, options.count()
        time.sleep(0.2)
    lab.assert_no_console_errors()


def test_registry_palette_picks_a_release_and_acts_on_it(lab: Lab) -> None:
    """The row actions from the palette, each without arguments: the command lists what it
    applies to in a picker (a JupyterLab dialog with a <select>), asks what else it needs,
    says the outcome in a notification and shows the model. Promote offers candidates and
    demoted releases only; set-alias asks the name; delete-alias and deprecate confirm (a
    declined confirmation changes nothing); show-model-history opens the history; a refusal
    (an unknown id) is said as an error."""
    server, name = lab.server, unique("pick")
    server.ok("POST", "models", {"name": name, "storage_path": f"src/{name}"})
    first = server.ok("POST", "releases", {"model": name, "version": "1.0"})
    second = server.ok("POST", "releases", {"model": name, "version": "2.0", "quantization": "int4"})
    root = lab.tab("jobs")

    lab.start_command("mlops:promote-release")
    lab.pick("Promote an MLOps Release: which release?",
             re.compile(rf"^{name} 2\.0 \(int4\) · candidate · #{second['id']}$"))
    lab.toast(f"Promoted {name} 2.0 (int4).")
    assert lab.command_result() is True
    root = lab.testid("mlops-registry")
    detail = lab.wait_visible(root.locator(f'[data-testid="mlops-model-detail"][data-name="{name}"]'))
    lab.wait_attr(detail.locator(f'[data-testid="mlops-release-row"][data-release-id="{second["id"]}"]'),
                  "data-status", "released")
    lab.start_command("mlops:promote-release")
    options = lab.pick("Promote an MLOps Release: which release?", re.compile(rf"#{first['id']}$"))
    assert not any(o.endswith(f"#{second['id']}") for o in options), options  # released: not offered
    lab.toast(f"Promoted {name} 1.0.")

    lab.start_command("mlops:set-alias")
    lab.pick("Point an alias at which release?", re.compile(rf"#{second['id']}$"))
    dialog = lab.dialog(f"Alias for {name} 2.0 (int4)")
    dialog.locator("input").fill("stable")
    dialog.locator(".jp-Dialog-button.jp-mod-accept").click()
    lab.toast(f"{name}@stable → 2.0 (int4).")
    assert server.ok("GET", f"aliases/{name}/stable")["release"]["id"] == second["id"]
    lab.wait_visible(detail.locator('[data-testid="mlops-alias-row"][data-alias="stable"]'))

    lab.start_command("mlops:delete-alias")
    lab.pick("Delete which alias?", f"{name}@stable → #{second['id']}")
    lab.dialog("Delete alias").locator(".jp-Dialog-button.jp-mod-accept").click()
    lab.toast(f"Deleted the alias {name}@stable.")
    assert server.mlops("GET", f"aliases/{name}/stable")[0] == 404

    lab.start_command("mlops:deprecate-release")
    lab.pick("Deprecate an MLOps Release: which release?", re.compile(rf"#{first['id']}$"))
    lab.dialog("Deprecate release").locator(".jp-Dialog-button.jp-mod-reject").click()
    assert lab.command_result() is False
    assert server.ok("GET", f"releases/{first['id']}")["status"] == "released"

    lab.command("mlops:open-jobs")
    lab.start_command("mlops:show-model-history")
    lab.pick("The history of which model?", name)
    history = detail.locator('[data-testid="mlops-model-history"]')
    lab.wait_visible(history.locator('[data-testid="mlops-audit-row"][data-action="delete_alias"]'))
    assert history.get_attribute("open") is not None

    assert lab.command("mlops:promote-release", {"id": 987654}) is False
    lab.toast("release 987654 does not exist")
    refused = [re.sub(r"^(\d+ \w+) \S*/mlops/api/", r"\1 ", e) for e in lab.http_errors]
    assert refused == ["404 GET releases/987654"], lab.http_errors
    lab.assert_no_console_errors(ignore=["the server responded with a status of 404 (Not Found)"])

def _open_model(lab: Lab, name: str) -> Any:
    """The Registry tab on model `name`'s page (through `mlops:open-model {name}`)."""
    root = lab.tab("registry")
    lab.command("mlops:open-model", {"name": name})
    return lab.wait_visible(root.locator(f'[data-testid="mlops-model-detail"][data-name="{name}"]'))


def _refused(lab: Lab) -> list[str]:
    """The answers >= 400 the page received, as "status METHOD path" under /mlops/api/."""
    return [re.sub(r"^(\d+ \w+) \S*/mlops/api/", r"\1 ", e) for e in lab.http_errors]


def test_registry_deployments_on_the_model_page_and_from_the_palette(lab: Lab) -> None:
    """Contract (in `mlops-model-detail`): the section `mlops-model-deployments` lists rows
    `mlops-deployment-row` [data-deployment-id, data-release-id, data-environment, data-status]
    with a status <select> `mlops-deployment-status` (pending/active/failed/retired) and
    `mlops-deployment-delete` (a confirmation); its "New deployment" form has
    `mlops-deployment-release` (a <select> of release ids), `mlops-deployment-environment`,
    `mlops-deployment-endpoint`, `mlops-deployment-create`, a refusal under its field. Palette:
    `mlops:create-deployment {release_id}` asks the environment, `mlops:set-deployment-status`
    picks the deployment and the status, `mlops:delete-deployment` confirms."""
    server, name = lab.server, unique("deploy")
    server.ok("POST", "models", {"name": name, "storage_path": f"src/{name}"})
    first = server.ok("POST", "releases", {"model": name, "version": "1.0"})
    second = server.ok("POST", "releases", {"model": name, "version": "2.0", "quantization": "int4"})
    detail = _open_model(lab, name)
    section = detail.locator('[data-testid="mlops-model-deployments"]')
    section.locator("summary", has_text="New deployment").click()
    section.locator('[data-testid="mlops-deployment-release"]').select_option(str(second["id"]))
    environment = section.locator('[data-testid="mlops-deployment-environment"]')
    environment.fill("bad env!")
    section.locator('[data-testid="mlops-deployment-create"]').click()
    lab.wait_text(section.locator('[data-testid="mlops-field-error"][data-field="environment"]'),
                  "must use only letters, digits")
    assert server.ok("GET", "deployments", model=name)["items"] == []

    environment.fill("production")
    section.locator('[data-testid="mlops-deployment-endpoint"]').fill("http://127.0.0.1:9/v1")
    section.locator('[data-testid="mlops-deployment-create"]').click()
    row = section.locator('[data-testid="mlops-deployment-row"][data-environment="production"]')
    lab.wait_attr(row, "data-status", "pending")
    lab.wait_text(row, "2.0 (int4)")
    lab.wait_text(row, "http://127.0.0.1:9/v1")
    (made,) = server.ok("GET", "deployments", model=name)["items"]
    assert made["release_id"] == second["id"] and made["endpoint"] == "http://127.0.0.1:9/v1", made
    assert not section.locator('[data-testid="mlops-field-error"]').is_visible()

    row.locator('[data-testid="mlops-deployment-status"]').select_option("active")
    lab.wait_attr(row, "data-status", "active")
    assert server.ok("GET", f"deployments/{made['id']}")["status"] == "active"
    row.locator('[data-testid="mlops-deployment-delete"]').click()
    lab.dialog("Delete deployment").locator(".jp-Dialog-button.jp-mod-accept").click()
    row.wait_for(state="detached")
    assert server.mlops("GET", f"deployments/{made['id']}")[0] == 404

    lab.command("mlops:open-jobs")
    lab.start_command("mlops:create-deployment", {"release_id": first["id"]})
    dialog = lab.dialog(f"Deploy {name} 1.0")
    dialog.locator("input").fill("staging")
    dialog.locator(".jp-Dialog-button.jp-mod-accept").click()
    lab.toast(f"Deployed {name} 1.0 → staging (pending).")
    assert lab.command_result() is True
    staging = section.locator('[data-testid="mlops-deployment-row"][data-environment="staging"]')
    lab.wait_attr(staging, "data-release-id", str(first["id"]))

    lab.start_command("mlops:set-deployment-status")
    lab.pick("Set the status of which deployment?", re.compile(rf" {name} 1\.0 → staging · pending$"))
    lab.pick(re.compile("^Status of "), "failed")
    lab.toast(f"{name} 1.0 → staging is failed.")
    lab.wait_attr(staging, "data-status", "failed")

    lab.start_command("mlops:delete-deployment")
    lab.pick("Delete which deployment?", re.compile(rf" {name} 1\.0 → staging · failed$"))
    lab.dialog("Delete deployment").locator(".jp-Dialog-button.jp-mod-accept").click()
    lab.toast(f"Deleted the deployment {name} 1.0 → staging.")
    staging.wait_for(state="detached")
    assert server.ok("GET", "deployments", model=name)["items"] == []
    assert _refused(lab) == ["400 POST deployments"], lab.http_errors
    lab.assert_no_console_errors(ignore=["the server responded with a status of 400 (Bad Request)"])


def test_registry_artifacts_on_the_model_page_and_from_the_palette(lab: Lab) -> None:
    """Contract (in `mlops-model-detail`): the section `mlops-model-artifacts` lists rows
    `mlops-artifact-row` [data-artifact-id, data-release-id ('' for the model's own),
    data-name, data-kind] with `mlops-artifact-delete` (a confirmation); its "New artifact" form
    has `mlops-artifact-owner` (a <select>: '' the model, or a release id), `mlops-artifact-name`,
    `mlops-artifact-path`, `mlops-artifact-kind`, `mlops-artifact-size`, `mlops-artifact-sha256`,
    `mlops-artifact-create`, a refusal under its field. Palette: `mlops:add-artifact {name}`
    asks the path and the name (the path's last part when left empty), `mlops:delete-artifact`
    picks one and confirms."""
    server, name = lab.server, unique("artifact")
    server.ok("POST", "models", {"name": name, "storage_path": f"src/{name}"})
    release = server.ok("POST", "releases", {"model": name, "version": "1.0"})
    detail = _open_model(lab, name)
    section = detail.locator('[data-testid="mlops-model-artifacts"]')
    section.locator("summary", has_text="New artifact").click()

    def field(key: str) -> Any:
        return section.locator(f'[data-testid="mlops-artifact-{key}"]')

    field("owner").select_option(str(release["id"]))
    field("name").fill("weights.gguf")
    field("path").fill(f"s3://bucket/{name}/weights.gguf")
    field("kind").select_option("weights")
    field("size").fill("1234")
    field("sha256").fill("not-a-checksum")
    field("create").click()
    lab.wait_text(section.locator('[data-testid="mlops-field-error"][data-field="sha256"]'),
                  "must be 64 lowercase hex digits")
    assert server.ok("GET", "artifacts", model=name)["items"] == []
    digest = "ab" * 32
    field("sha256").fill(digest)
    field("create").click()
    weights = section.locator('[data-testid="mlops-artifact-row"][data-name="weights.gguf"]')
    lab.wait_attr(weights, "data-release-id", str(release["id"]))
    assert weights.get_attribute("data-kind") == "weights"
    lab.wait_text(weights, "1.23 KB")
    (made,) = server.ok("GET", "artifacts", release_id=str(release["id"]))["items"]
    assert (made["size"], made["sha256"], made["path"]) == (1234, digest, f"s3://bucket/{name}/weights.gguf")

    field("owner").select_option("")
    field("name").fill("README.md")
    field("path").fill(f"src/{name}/README.md")
    field("create").click()
    readme = section.locator('[data-testid="mlops-artifact-row"][data-name="README.md"]')
    lab.wait_attr(readme, "data-release-id", "")
    readme.locator('[data-testid="mlops-artifact-delete"]').click()
    lab.dialog("Delete artifact").locator(".jp-Dialog-button.jp-mod-accept").click()
    readme.wait_for(state="detached")
    assert [a["name"] for a in server.ok("GET", "artifacts", model=name)["items"]] == ["weights.gguf"]

    lab.command("mlops:open-jobs")
    lab.start_command("mlops:add-artifact", {"name": name})
    dialog = lab.dialog(f"Add an artifact to {name}")
    dialog.locator("input").fill("hf://org/tokenizer@main")
    dialog.locator(".jp-Dialog-button.jp-mod-accept").click()
    lab.dialog("Name of the artifact at hf://org/tokenizer@main").locator(".jp-Dialog-button.jp-mod-accept").click()
    lab.toast(f"Added tokenizer (file) to {name}.")
    assert lab.command_result() is True
    tokenizer = section.locator('[data-testid="mlops-artifact-row"][data-name="tokenizer"]')
    lab.wait_attr(tokenizer, "data-release-id", "")

    lab.start_command("mlops:delete-artifact")
    lab.pick("Delete which artifact?", re.compile(rf" weights\.gguf · weights · {name} 1\.0$"))
    lab.dialog("Delete artifact").locator(".jp-Dialog-button.jp-mod-accept").click()
    lab.toast(f"Deleted the artifact weights.gguf of {name} 1.0.")
    weights.wait_for(state="detached")
    assert [a["name"] for a in server.ok("GET", "artifacts", model=name)["items"]] == ["tokenizer"]
    assert _refused(lab) == ["400 POST artifacts"], lab.http_errors
    lab.assert_no_console_errors(ignore=["the server responded with a status of 400 (Bad Request)"])


# ==== Dependencies tab ===========================================================================

DEPS_PROJECT = """\
[project]
name = "e2e-deps"
version = "0"
dependencies = ["ipykernel", "packaging>=999", "jupyter-mlops-e2e-absent>=1", "tornado>=999"]

[tool.jupyter-mlops]
protected = ["tornado"]
"""
DEPS_OK_PROJECT = """\
[project]
name = "e2e-deps-ok"
version = "0"
dependencies = ["ipykernel", "packaging"]
"""


def test_registry_model_page_scans_and_publishes_its_storage(lab: Lab, s3_server: Any) -> None:
    """Contract (in `mlops-model-detail`): `mlops-model-storage` holds `mlops-model-stored` (the
    size its last scan found, or that it was never scanned), `mlops-storage-scan` (starts a
    scan job), `mlops-storage-job` [data-state] (the started job: progress, then its outcome),
    and a "Publish to S3" form with `mlops-storage-destination`, `mlops-storage-source` and
    `mlops-storage-publish`, a refusal under its field."""
    import uuid

    server, name = lab.server, unique("stored")
    bucket = f"e2e-{uuid.uuid4().hex[:12]}"
    client = s3_server_client(s3_server)
    client.create_bucket(Bucket=bucket)
    client.put_object(Bucket=bucket, Key="m/config.json", Body=b"{}")
    client.put_object(Bucket=bucket, Key="m/model.safetensors", Body=b"w" * 3000)
    server.ok("POST", "models", {"name": name, "storage_path": f"s3://{bucket}/m"})
    detail = _open_model(lab, name)
    section = detail.locator('[data-testid="mlops-model-storage"]')
    lab.wait_text(section.locator('[data-testid="mlops-model-stored"]'), "not scanned")
    section.locator('[data-testid="mlops-storage-scan"]').click()
    lab.wait_visible(section.locator('[data-testid="mlops-storage-job"][data-state="succeeded"]'))
    lab.wait_text(section.locator('[data-testid="mlops-storage-job"]'), "2 added")
    lab.wait_text(section.locator('[data-testid="mlops-model-stored"]'), "2 files · 3.00 KB")
    lab.wait_text(detail.locator('[data-testid="mlops-model-artifacts"]'), "model.safetensors")
    # publish a folder of the workspace: a bad destination is refused under its field, then it goes
    folder = server.root_dir / "src" / name
    folder.mkdir(parents=True)
    (folder / "weights.bin").write_bytes(b"x" * 5000)
    section.locator("summary", has_text="Publish to S3").click()
    section.locator('[data-testid="mlops-storage-destination"]').fill("gs://elsewhere/m")
    section.locator('[data-testid="mlops-storage-source"]').fill(f"src/{name}")
    section.locator('[data-testid="mlops-storage-publish"]').click()
    lab.wait_text(section.locator('[data-testid="mlops-field-error"][data-field="destination"]'), "s3://")
    section.locator('[data-testid="mlops-storage-destination"]').fill(f"s3://{bucket}/published")
    section.locator('[data-testid="mlops-storage-publish"]').click()
    lab.wait_text(section.locator('[data-testid="mlops-storage-job"][data-state="succeeded"]'), "1 uploaded")
    lab.wait_text(section.locator('[data-testid="mlops-model-stored"]'), "1 file · 5.00 KB")
    assert server.ok("GET", f"models/{name}")["storage_path"] == f"s3://{bucket}/published"
    assert client.get_object(Bucket=bucket, Key="published/weights.bin")["Body"].read() == b"x" * 5000


def s3_server_client(server: Any) -> Any:
    """A boto3 client of the run's S3 server."""
    return server.client()


def test_deps_tab_shows_the_status_of_the_focused_notebooks_kernel(lab: Lab) -> None:
    """Two notebooks in two projects; the tab follows the notebook in focus. Contract (in
    `mlops-dependencies`): `mlops-deps-interpreter` (text holds the kernel's sys.executable),
    table `mlops-deps-status` with rows `mlops-deps-row` [data-package = declared name,
    data-status = ok|missing|outdated|protected|skipped] holding the reason text, and
    `mlops-deps-fix` shown only when something is missing or outdated."""
    base = unique("deps")
    lab.server.put_file(f"{base}/broken/pyproject.toml", DEPS_PROJECT)
    lab.server.put_file(f"{base}/fine/pyproject.toml", DEPS_OK_PROJECT)
    broken, fine = f"{base}/broken/nb.ipynb", f"{base}/fine/nb.ipynb"
    lab.server.put_notebook(broken, ["import sys; print(sys.executable)"])
    lab.server.put_notebook(fine, ["import sys; print(sys.executable)"])
    lab.open_notebook(broken)
    python = lab.run_cell(broken, 0).strip()
    assert Path(python).samefile(sys.executable)
    lab.open_notebook(fine)
    lab.activate(broken)

    root = lab.tab("dependencies")
    lab.wait_text(root.locator('[data-testid="mlops-deps-interpreter"]'), python)
    table = root.locator('[data-testid="mlops-deps-status"]')
    expected = {"ipykernel": "ok", "packaging": "outdated", "jupyter-mlops-e2e-absent": "missing",
                "tornado": "protected"}
    for package, status in expected.items():
        lab.wait_attr(table.locator(f'[data-testid="mlops-deps-row"][data-package="{package}"]'),
                      "data-status", status, timeout=60)
    lab.wait_text(table.locator('[data-testid="mlops-deps-row"][data-package="tornado"]'), "protected")
    assert table.locator('[data-testid="mlops-deps-row"]').count() == len(expected)
    lab.wait_visible(root.locator('[data-testid="mlops-deps-fix"]'))

    lab.activate(fine)  # focus moves: the tab follows the other kernel and project
    for package in ("ipykernel", "packaging"):
        lab.wait_attr(table.locator(f'[data-testid="mlops-deps-row"][data-package="{package}"]'),
                      "data-status", "ok", timeout=60)
    lab.page.wait_for_function(
        """() => document.querySelectorAll('[data-testid="mlops-deps-row"]').length === 2""", timeout=20_000)
    assert not root.locator('[data-testid="mlops-deps-fix"]').is_visible()
    lab.assert_no_console_errors()


def test_deps_tab_offers_to_choose_the_project_when_none_is_found(lab: Lab) -> None:
    """A notebook with no declaration in its folder or above it: the tab shows the empty state
    `mlops-deps-empty` (what it looks for, no error) and the field `mlops-deps-project`, whose
    `<datalist>` `mlops-deps-project-folders` offers the workspace's folders that start with
    what is typed; `mlops-deps-project-use` uses the folder. A folder that is not there (400),
    one outside the allowed folders (403) and one that declares nothing show the server's
    message in `mlops-field-error[data-field=project]` and are not kept; a good one is checked
    (`mlops-deps-row`), kept for that notebook across a reload (saved `deps.projects`), and
    `mlops-deps-project-change` then `mlops-deps-project-forget` goes back to the empty state."""
    base = unique("noproj")
    lab.server.put_file(f"{base}/app/requirements.txt", "packaging\n")
    lab.server.put_file(f"{base}/apples/readme.txt", "no declaration here\n")
    nb = f"{base}/notebooks/nb.ipynb"
    lab.server.put_notebook(nb, ["1"])
    lab.open_notebook(nb)
    root = lab.tab("dependencies")
    empty = lab.wait_visible(root.locator('[data-testid="mlops-deps-empty"]'), timeout=60)
    for text in ("pyproject.toml", "[project]", "requirements.txt"):
        lab.wait_text(empty, text)
    assert root.locator('[role="alert"]').count() == 0  # an empty state, not an error

    field = root.locator('[data-testid="mlops-deps-project"]')
    field.fill(f"{base}/ap")
    options = root.locator('[data-testid="mlops-deps-project-folders"] option')
    deadline = time.monotonic() + 10
    while options.evaluate_all("os => os.map(o => o.value)") != [f"{base}/app", f"{base}/apples"]:
        assert time.monotonic() < deadline, options.evaluate_all("os => os.map(o => o.value)")
        time.sleep(0.1)

    error = root.locator('[data-testid="mlops-field-error"][data-field="project"]')
    use = root.locator('[data-testid="mlops-deps-project-use"]')
    for folder, message in ((f"{base}/nothing", "is not a folder"), ("/", "outside the allowed folders"),
                            (f"{base}/apples", "neither pyproject.toml nor requirements.txt")):
        field.fill(folder)
        use.click()
        lab.wait_text(error, message)
        lab.wait_visible(empty)
        assert field.input_value() == folder  # still there to correct
        assert lab.wait_saved().get("deps.projects", {}).get(nb) is None

    field.fill(f"{base}/app")
    use.click()
    row = root.locator('[data-testid="mlops-deps-row"][data-package="packaging"]')
    lab.wait_attr(row, "data-status", "ok", timeout=60)
    assert not empty.is_visible() and not error.is_visible()
    lab.wait_text(root.locator('[data-testid="mlops-deps-project-used"]'), f"{base}/app (chosen)")
    lab.wait_saved(where=lambda state: state.get("deps.projects", {}).get(nb) == f"{base}/app")

    lab.reload()
    lab.wait_kernel_idle(nb)
    root = lab.wait_visible(lab.testid("mlops-dependencies"))
    lab.wait_attr(row, "data-status", "ok", timeout=60)
    root.locator('[data-testid="mlops-deps-project-change"]').click()
    root.locator('[data-testid="mlops-deps-project-forget"]').click()
    lab.wait_visible(root.locator('[data-testid="mlops-deps-empty"]'), timeout=60)
    lab.wait_saved(where=lambda state: nb not in state.get("deps.projects", {}))
    lab.assert_no_console_errors(ignore=[re.compile(r"the server responded with a status of (400|403)")])


def test_deps_tab_fixes_a_missing_package_and_restarts_the_kernel(lab: Lab, tmp_path: Path) -> None:
    """Contract: `mlops-deps-fix` plans (POST deps/plan) and asks in a JupyterLab dialog listing
    `mlops-deps-change` [data-package] with `before → after`; accepting starts the repair job,
    shown in `mlops-deps-repair` [data-state] with its live log (`mlops-log`); once it succeeded
    the table is checked again and `mlops-deps-restart` restarts the kernel, which then imports
    the package. Palette: `mlops:fix-dependencies` with nothing to fix says so in a dialog. The
    package is a wheel built here, installed offline (--no-index --find-links) into the lab's
    own environment and uninstalled at the end."""
    from deps_support import build_wheel, module_name

    package = unique("mlops-e2e-fix")
    build_wheel(tmp_path / "wheels", package, "1.0")
    base = unique("depsfix")
    lab.server.put_file(f"{base}/requirements.txt",
                        f"--no-index\n--find-links {tmp_path / 'wheels'}\n{package}>=1\npackaging\n")
    nb = f"{base}/nb.ipynb"
    lab.server.put_notebook(nb, [f"import {module_name(package)} as m; print(m.__version__)"])
    try:
        lab.open_notebook(nb)
        root = lab.tab("dependencies")
        row = root.locator(f'[data-testid="mlops-deps-row"][data-package="{package}"]')
        lab.wait_attr(row, "data-status", "missing", timeout=60)
        root.locator('[data-testid="mlops-deps-fix"]').click()
        change = lab.page.locator(f'.jp-Dialog [data-testid="mlops-deps-change"][data-package="{package}"]')
        lab.wait_text(change, "not installed → 1.0", timeout=60)
        lab.page.locator(".jp-Dialog .jp-Dialog-button.jp-mod-accept").click()
        repair = root.locator('[data-testid="mlops-deps-repair"]')
        lab.wait_attr(repair, "data-state", "succeeded", timeout=120)
        lab.wait_text(repair.locator('[data-testid="mlops-log"]'), package)
        lab.wait_attr(row, "data-status", "ok", timeout=60)
        assert not root.locator('[data-testid="mlops-deps-fix"]').is_visible()
        # a reload keeps the finished repair, its outcome and the restart
        lab.wait_saved(where=lambda state: (state.get("deps.repair") or {}).get("ended") is True)
        lab.reload()
        root = lab.wait_visible(lab.testid("mlops-dependencies"))
        lab.wait_attr(repair, "data-state", "succeeded", timeout=30)
        lab.wait_text(repair.locator('[data-testid="mlops-log"]'), package)
        root.locator('[data-testid="mlops-deps-restart"]').click()
        lab.dialog("Restart kernel").locator(".jp-Dialog-button.jp-mod-accept").click()
        repair.wait_for(state="detached", timeout=30_000)
        lab.wait_kernel_idle(nb)
        assert lab.run_cell(nb, 0).strip() == "1.0"

        lab.command("mlops:fix-dependencies")
        lab.wait_text(lab.page.locator(".jp-Dialog"), "Nothing to install or change", timeout=60)
        lab.page.locator(".jp-Dialog .jp-Dialog-button.jp-mod-accept").click()
        # JupyterLab itself logs these when a kernel restarts under it: the debugger restoring its state,
        # the subshell request (ipykernel 7) the restart cancels, and the widget manager's stale comm
        lab.assert_no_console_errors(ignore=["Could not restore the debugger state",
                                             "Canceled future for create_subshell_request",
                                             re.compile(r"Comm not found for comm id")])
    finally:
        subprocess.run([sys.executable, "-m", "pip", "uninstall", "-y", "-q", package], check=False,
                        capture_output=True, timeout=120)


# ==== Models tab =================================================================================

def test_models_tab_starts_and_cancels_a_download(lab: Lab, lab_hub: FakeHub) -> None:
    """Contract (in `mlops-models`): form `mlops-download-repo`, `mlops-download-revision`,
    `mlops-download-include`, `mlops-download-exclude`, `mlops-download-start`; rows
    `mlops-download-row` [data-job-id, data-repo, data-state] with `mlops-download-progress`
    (bytes, rate, ETA text) and `mlops-download-cancel`."""
    repo = f"e2e/{unique('slow')}"
    lab_hub.add_repo(repo, {"config.json": b"{}", "big.gguf": payload(repo, 8 * MB)})
    lab_hub.throttle = 256 * 1024  # 32 s for the big file: time to watch and cancel
    root = lab.tab("models")
    root.locator('[data-testid="mlops-download-repo"]').fill(repo)
    root.locator('[data-testid="mlops-download-start"]').click()
    row = root.locator(f'[data-testid="mlops-download-row"][data-repo="{repo}"]')
    lab.wait_attr(row, "data-state", "running", timeout=30)
    progress = row.locator('[data-testid="mlops-download-progress"]')
    lab.wait_text(progress, re.compile(r"\d(\.\d+)?\s*(B|KiB|MiB|kB|MB)\b"), timeout=30)
    job_id = int(row.get_attribute("data-job-id") or 0)
    assert lab.server.ok("GET", f"jobs/{job_id}")["kind"] == "hub.download"

    # cancelled from the palette (the row's button is used in the refusals test)
    lab.start_command("mlops:cancel-download")
    lab.pick("Cancel which download?", re.compile(rf"^#{job_id} {re.escape(repo)}@main · running"))
    lab.toast(f"Cancelling the download of {repo}.")
    lab.wait_attr(row, "data-state", "cancelled", timeout=30)
    assert lab.server.ok("GET", f"jobs/{job_id}")["state"] == "cancelled"
    lab.assert_no_console_errors()


def test_models_tab_downloads_lists_and_deletes_a_model(lab: Lab, lab_hub: FakeHub) -> None:
    """Contract: local models `mlops-local-model` [data-repo] with a size text and
    `mlops-local-delete` (a JupyterLab confirmation dialog, then the row goes)."""
    repo = f"e2e/{unique('tiny')}"
    lab_hub.add_repo(repo, {"config.json": b'{"model_type": "tiny"}', "model-q4.gguf": payload(repo, 2 * MB),
                            "model-q8.gguf": payload(repo + "8", MB)})
    root = lab.tab("models")
    root.locator('[data-testid="mlops-download-repo"]').fill(repo)
    root.locator('[data-testid="mlops-download-include"]').fill("*.json, *q4*")
    root.locator('[data-testid="mlops-download-start"]').click()
    row = root.locator(f'[data-testid="mlops-download-row"][data-repo="{repo}"]')
    lab.wait_attr(row, "data-state", "succeeded", timeout=60)
    local = root.locator(f'[data-testid="mlops-local-model"][data-repo="{repo}"]')
    lab.wait_text(local, re.compile(r"2(\.\d)?\s*MiB|2\.10?\s*MB"), timeout=30)
    (listed,) = [m for m in lab.server.ok("GET", "hub/models", q=repo.split("/")[1])["items"]]
    assert listed["file_count"] == 2, listed

    # deleted from the palette (the row's button is used in the refusals test): the same dialog
    lab.start_command("mlops:delete-local-model")
    lab.pick("Delete which downloaded model?", re.compile(rf"^{re.escape(repo)} · "))
    lab.dialog(f"Delete {repo}?").locator(".jp-Dialog-button.jp-mod-accept").click()
    lab.toast(re.compile(rf"Deleted {re.escape(repo)}: [\d.]+\s*[KM]i?B freed"))
    local.wait_for(state="detached", timeout=30_000)
    assert lab.server.mlops("GET", f"hub/models/{repo}")[0] == 404
    lab.assert_no_console_errors()


def test_models_tab_shows_refusals_and_deduplicates(lab: Lab, lab_hub: FakeHub) -> None:
    """Contract: a refused download shows the server's message in `mlops-field-error`
    [data-field=repo_id]; starting a repo@revision already downloading answers the running job
    (200, deduplicated), said in the form, with still one row; a delete refused while in use
    (409) shows the server's reason in `mlops-local-error` in the row, and the dialog's
    checkbox (force) deletes it anyway, the bytes freed in `mlops-local-notice`. Palette:
    `mlops:download-model {repo}` fills `mlops-download-repo`."""
    server = lab.server
    root = lab.tab("models")
    root.locator('[data-testid="mlops-download-repo"]').fill("not a repo")
    root.locator('[data-testid="mlops-download-start"]').click()
    lab.wait_text(root.locator('[data-testid="mlops-field-error"][data-field="repo_id"]'), "org/name")

    slow = f"e2e/{unique('twice')}"
    lab_hub.add_repo(slow, {"config.json": b"{}", "big.gguf": payload(slow, 8 * MB)})
    lab_hub.throttle = 128 * 1024
    root.locator('[data-testid="mlops-download-repo"]').fill(slow)
    root.locator('[data-testid="mlops-download-start"]').click()
    row = root.locator(f'[data-testid="mlops-download-row"][data-repo="{slow}"]')
    lab.wait_attr(row, "data-state", "running", timeout=30)
    root.locator('[data-testid="mlops-download-start"]').click()
    lab.wait_text(root.locator('[data-testid="mlops-download-form"]'), "already downloading")
    assert row.count() == 1
    row.locator('[data-testid="mlops-download-cancel"]').click()
    lab.wait_attr(row, "data-state", "cancelled", timeout=30)
    lab_hub.throttle = None

    repo = f"e2e/{unique('used')}"
    lab_hub.add_repo(repo, {"config.json": b"{}", "w.gguf": payload(repo, MB)})
    server.wait_job(server.ok("POST", "hub/downloads", {"repo_id": repo})["id"], timeout=60)
    name = unique("uses")
    server.ok("POST", "models", {"name": name, "storage_path": f"hf://{repo}"})
    server.ok("POST", "releases", {"model": name, "version": "1.0"})
    lab.command("mlops:refresh")
    local = root.locator(f'[data-testid="mlops-local-model"][data-repo="{repo}"]')
    local.locator('[data-testid="mlops-local-delete"]').click()
    lab.page.locator(".jp-Dialog .jp-Dialog-button.jp-mod-accept").click()
    lab.wait_text(local.locator('[data-testid="mlops-local-error"]'), f"registry model {name}")
    local.locator('[data-testid="mlops-local-delete"]').click()
    lab.page.locator(".jp-Dialog .jp-Dialog-checkbox input").check()
    lab.page.locator(".jp-Dialog .jp-Dialog-button.jp-mod-accept").click()
    local.wait_for(state="detached", timeout=30_000)
    lab.wait_text(root.locator('[data-testid="mlops-local-notice"]'), re.compile(r"\d[\d.]*\s*[KM]B freed"))
    assert server.mlops("GET", f"hub/models/{repo}")[0] == 404

    lab.command("mlops:open-jobs")
    lab.command("mlops:download-model", {"repo": "org/from-palette"})
    assert root.locator('[data-testid="mlops-download-repo"]').input_value() == "org/from-palette"
    refused = [re.sub(r"^(\d+ \w+) \S*/mlops/api/", r"\1 ", e) for e in lab.http_errors]
    assert refused == ["400 POST hub/downloads", f"409 DELETE hub/models/{repo}"], lab.http_errors
    lab.assert_no_console_errors(ignore=[re.compile(r"the server responded with a status of (400|409)")])


# ==== Builds tab ================================================================================

def _release_for_build(server: LabServer, name: str) -> dict[str, Any]:
    folder = server.root_dir / "src" / name
    folder.mkdir(parents=True)
    (folder / "weights.bin").write_bytes(os.urandom(16 * 1024))
    server.ok("POST", "models", {"name": name, "storage_path": f"src/{name}"})
    return server.ok("POST", "releases", {"model": name, "version": "1.0"})


def test_builds_tab_shows_a_build_started_elsewhere(lab: Lab, base_image: str) -> None:
    """A build started through REST shows with its state and live log. Contract (in
    `mlops-builds`): rows `mlops-build-row` [data-build-id, data-release-id, data-state];
    clicking a row shows its live log in `mlops-log` (the shared log view); palette commands
    `mlops:show-build {id}` (opens that row and its log) and `mlops:start-build {release_id}`
    (the form with that release chosen)."""
    from playwright.sync_api import expect

    rel = _release_for_build(lab.server, unique("bld"))
    build = lab.server.ok("POST", "builds", {"release_id": rel["id"], "base_image": base_image})
    root = lab.tab("builds")
    row = root.locator(f'[data-testid="mlops-build-row"][data-build-id="{build["id"]}"]')
    lab.wait_attr(row, "data-release-id", str(rel["id"]))
    row.click()
    lab.wait_attr(row, "data-state", "succeeded", timeout=120)
    lab.wait_text(root.locator('[data-testid="mlops-log"]'), "Successfully built", timeout=30)

    row.locator('[role="button"]').first.click()
    root.locator('[data-testid="mlops-log"]').wait_for(state="detached")
    lab.command("mlops:open-jobs")
    lab.start_command("mlops:show-build")  # without an id: picked
    lab.pick("Show which build?", re.compile(rf"^#{build['id']} {rel['model']}:1\.0:none · succeeded · "))
    lab.wait_text(root.locator('[data-testid="mlops-log"]'), "Successfully built")
    row.locator('[role="button"]').first.click()
    root.locator('[data-testid="mlops-log"]').wait_for(state="detached")
    lab.command("mlops:show-build", {"id": build["id"]})
    lab.wait_text(root.locator('[data-testid="mlops-log"]'), "Successfully built")
    lab.command("mlops:open-registry")
    lab.command("mlops:start-build", {"release_id": rel["id"]})
    expect(root.locator('[data-testid="mlops-build-release"]')).to_have_value(str(rel["id"]))
    expect(root.locator('[data-testid="mlops-build-release"]')).to_be_focused()
    lab.assert_no_console_errors()


def test_builds_tab_starts_and_pushes_a_build(lab: Lab, base_image: str, registry_addr: str) -> None:
    """Contract: form `mlops-build-release` (a <select> of release ids), `mlops-build-base-image`,
    `mlops-build-tag`, `mlops-build-start`; a server validation error shows in
    `mlops-field-error[data-field=<field>]`; in a finished row `mlops-build-push` opens a form
    `mlops-push-registry` + `mlops-push-start`; the pushed reference@digest shows in
    `mlops-build-pushes`; `mlops:push-build` picks a finished build and opens its push form."""
    from playwright.sync_api import expect

    name = unique("bldui")
    rel = _release_for_build(lab.server, name)
    root = lab.tab("builds")
    root.locator('[data-testid="mlops-build-release"]').select_option(str(rel["id"]))
    root.locator('[data-testid="mlops-build-base-image"]').fill(base_image)
    root.locator('[data-testid="mlops-build-tag"]').fill("Not A Tag")
    root.locator('[data-testid="mlops-build-start"]').click()
    lab.wait_text(root.locator('[data-testid="mlops-field-error"][data-field="tag"]'), "must be an image reference")
    assert not lab.server.ok("GET", "builds", release_id=str(rel["id"]))["items"]
    root.locator('[data-testid="mlops-build-tag"]').fill(f"e2e/{name}:1")
    root.locator('[data-testid="mlops-build-start"]').click()
    row = root.locator(f'[data-testid="mlops-build-row"][data-release-id="{rel["id"]}"]')
    lab.wait_attr(row, "data-state", "succeeded", timeout=120)
    (build,) = lab.server.ok("GET", "builds", release_id=str(rel["id"]))["items"]
    assert build["tag"] == f"e2e/{name}:1" and build["state"] == "succeeded"

    row.click()
    root.locator('[data-testid="mlops-build-push"]').click()
    root.locator('[data-testid="mlops-push-registry"]').wait_for(state="visible")
    row.locator('[role="button"]').first.click()  # closed again: the palette opens it below
    root.locator('[data-testid="mlops-push-registry"]').wait_for(state="detached")
    lab.command("mlops:open-jobs")
    lab.start_command("mlops:push-build")
    lab.pick("Push the image of which build?", re.compile(rf"^#{build['id']} .* · succeeded · "))
    assert lab.command_result() is True
    expect(root.locator('[data-testid="mlops-push-registry"]')).to_be_focused()
    root.locator('[data-testid="mlops-push-registry"]').fill(registry_addr)
    root.locator('[data-testid="mlops-push-start"]').click()
    lab.wait_text(root.locator('[data-testid="mlops-build-pushes"]'),
                  re.compile(re.escape(f"{registry_addr}/e2e/{name}:1@sha256:") + "[0-9a-f]{64}"), timeout=120)
    # the refused tag is the only failed answer; the browser logs it
    refused = [re.sub(r"^(\d+ \w+) \S*/mlops/api/", r"\1 ", e) for e in lab.http_errors]
    assert refused == ["400 POST builds"], lab.http_errors
    lab.assert_no_console_errors(ignore=["the server responded with a status of 400 (Bad Request)"])
