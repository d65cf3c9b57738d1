"""End-to-end support (pytest plugin): a real `jupyter lab` subprocess, headless Chromium
driven by Python Playwright, and helpers that drive the MLOps sidebar and notebooks.

Fixtures:

- `lab_hub` (session): a FakeHub (tests/hub_server.py) on 127.0.0.1 that the lab server's
  download jobs use (`HF_ENDPOINT` and `MLOpsApp.hf_endpoint`). It is shared: a test that
  sets `throttle` or adds repos uses repo ids of its own; `lab` resets `throttle`.
- `lab_server` (session): `jupyter lab` of this interpreter's environment on 127.0.0.1, a
  free port, a random token, a temporary workspace as root_dir; the user's config, data,
  runtime, settings, workspaces (IStateDB) and IPython dirs are private to the run while
  the environment's own `share/jupyter` and `etc/jupyter` (where the installed extension
  lives) stay on the search paths. DOCKER_HOST and JUPYTER_MLOPS_TEST_REGISTRY pass
  through. Stopped at the end (SIGTERM, then SIGKILL), with every process it started.
- `lab_browser` (module): Debian's Chromium through `playwright.sync_api`. Module scope on
  purpose: while the sync API lives it marks its event loop as running in this thread, so
  an async test of another module run meanwhile would fail; stopping it at the end of
  the module keeps the rest of the suite unaffected. Never `playwright install`.
- `lab` (function): a `Lab` - a fresh browser context and page logged in at
  `<url>/lab/workspaces/<test>?reset&token=...`, JupyterLab started and restored, console
  errors, page errors and 5xx answers collected. On teardown a screenshot goes to
  `test-artifacts/e2e/<test name>.png` (always; for a failed test also `.console.txt`).

Helpers on `Lab`: `open_mlops()`, `tab(name)`, `testid(...)`, `wait_text(...)`,
`wait_attr(...)`, `command(...)`, `open_notebook(path)`, `wait_kernel_idle(path)`,
`run_cell(path, index)`, `cell_output(...)`, `kernel_python(path)`, `reload()`,
`assert_no_console_errors()`. On `LabServer`: `request(...)`, `mlops(...)`, `wait_job(...)`,
`put_notebook(...)`, `put_file(...)`, `log_tail()`.

Helpers for other modules: `start_lab(...)` (the same server start for another
environment, e.g. a fresh venv with the built wheel), `build_wheel(...)`,
`page_config(...)`.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
import pytest
from hub_server import FakeHub

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = Path(os.environ.get("JUPYTER_MLOPS_E2E_ARTIFACTS", ROOT / "test-artifacts" / "e2e"))
CHROMIUM = os.environ.get("JUPYTER_MLOPS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SIDEBAR_ID = "jupyter-mlops-sidebar"
#: IStateDB key of the sidebar's saved view state (labextension/src/index.ts)
SAVED_STATE_KEY = "jupyter_mlops:plugin:sidebar"
TABS = ("registry", "dependencies", "models", "builds", "jobs")
#: Bounds (seconds) of every wait here.
SERVER_START_TIMEOUT = 90.0
SERVER_STOP_TIMEOUT = 20.0
LAB_READY_TIMEOUT = 60.0
KERNEL_TIMEOUT = 60.0
UI_TIMEOUT = 20.0
#: Marks every process a lab server started (kernels, job subprocesses) to find them at stop.
MARK_ENV = "JUPYTER_MLOPS_E2E_MARK"
#: Environment variables a test server must not inherit from the machine or the shell.
_DROPPED_ENV = ("JUPYTER_TOKEN", "JUPYTER_PATH", "JUPYTER_CONFIG_PATH", "JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR",
                "JUPYTER_RUNTIME_DIR", "JUPYTERLAB_SETTINGS_DIR", "JUPYTERLAB_WORKSPACES_DIR", "JUPYTERLAB_DIR",
                "IPYTHONDIR", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_HUB_CACHE", "HF_HUB_OFFLINE",
                "HF_ENDPOINT", "HF_HOME", "JUPYTER_MLOPS_DB_URL", "JUPYTER_MLOPS_MODELS_DIR",
                "JUPYTER_MLOPS_WORKSPACE", "PYTHONSTARTUP")
#: User settings that keep JupyterLab from asking about news and update checks in a toast.
_QUIET_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings":
        {"fetchNews": "false", "checkForUpdates": False, "doNotDisturbMode": False},
}


# -- processes ------------------------------------------------------------------------------

def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _marked_pids(mark: str) -> list[int]:
    """Live processes whose environment holds MARK_ENV=mark (only our own are readable)."""
    needle = f"{MARK_ENV}={mark}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _stop_marked(mark: str, grace: float) -> list[int]:
    """SIGTERM every process carrying `mark`, SIGKILL what is left after `grace` s;
    returns the pids that had to be killed."""
    pids = _marked_pids(mark)
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(_alive(p) for p in pids):
        time.sleep(0.1)
    killed = [p for p in _marked_pids(mark) if _alive(p)]
    for pid in killed:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return killed


# -- the server -----------------------------------------------------------------------------

@dataclass
class LabServer:
    """A running `jupyter lab`: `url` ends with '/', `token` logs in, `root_dir` is the workspace."""

    url: str
    token: str
    root_dir: Path
    home: Path
    log_path: Path
    proc: subprocess.Popen[bytes]
    env: dict[str, str]
    mark: str
    stopped: bool = False

    @property
    def lab_url(self) -> str:
        return f"{self.url}lab?token={self.token}"

    def workspace_url(self, workspace: str, reset: bool = True) -> str:
        """The lab at a named JupyterLab workspace (its own IStateDB layout), logged in."""
        query = urllib.parse.urlencode({"token": self.token}) + ("&reset" if reset else "")
        return f"{self.url}lab/workspaces/{urllib.parse.quote(workspace)}?{query}"

    def request(self, method: str, path: str, body: Any = None, params: Mapping[str, Any] | None = None,
                timeout: float = 30.0, raw: bool = False) -> tuple[int, Any]:
        """Call `<url><path>` with the token: (status, JSON answer or text; bytes when `raw`).
        HTTP errors are answers, not exceptions."""
        url = self.url + path.lstrip("/")
        if params:
            url += "?" + urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})
        data = json.dumps(body).encode() if body is not None else (b"" if method in ("POST", "PUT", "PATCH") else None)
        req = urllib.request.Request(url, data=data, method=method,
                                     headers={"Authorization": f"token {self.token}",
                                              "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                status, payload = resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            status, payload = exc.code, exc.read()
        if raw:
            return status, payload
        text = payload.decode("utf-8", "replace")
        try:
            return status, json.loads(text) if text else None
        except json.JSONDecodeError:
            return status, text

    def mlops(self, method: str, path: str, body: Any = None, **params: Any) -> tuple[int, Any]:
        """Call `/mlops/api/<path>`: (status, JSON)."""
        return self.request(method, f"mlops/api/{path.lstrip('/')}", body, params or None)

    def ok(self, method: str, path: str, body: Any = None, **params: Any) -> Any:
        """`mlops(...)` that insists on 200/201; returns the JSON answer."""
        status, answer = self.mlops(method, path, body, **params)
        assert status in (200, 201), (method, path, status, answer)
        return answer

    def wait_job(self, job_id: int, timeout: float = 120.0, until: Sequence[str] = ()) -> dict[str, Any]:
        """Poll `jobs/{id}` until it leaves queued/running (or reaches a state in `until`)."""
        deadline = time.monotonic() + timeout
        while True:
            job = self.ok("GET", f"jobs/{job_id}")
            if (job["state"] in until) if until else job["state"] not in ("queued", "running"):
                return job
            assert time.monotonic() < deadline, f"job {job_id} still {job['state']} after {timeout:g} s: {job}"
            time.sleep(0.1)

    @property
    def has_mlops(self) -> bool:
        """Whether the jupyter_mlops server extension answers."""
        return self.mlops("GET", "health")[0] == 200

    def make_folders(self, path: str) -> None:
        """Create the folders above the workspace path `path` through the contents API."""
        parts = path.strip("/").split("/")
        for i in range(1, len(parts)):
            folder = "/".join(parts[:i])
            if self.request("GET", f"api/contents/{folder}", params={"content": "0"})[0] == 404:
                status, answer = self.request("PUT", f"api/contents/{folder}", {"type": "directory"})
                assert status in (200, 201), answer

    def put_file(self, path: str, text: str) -> None:
        """Write a text file into the workspace through the contents API (folders made as needed)."""
        self.make_folders(path)
        status, answer = self.request("PUT", f"api/contents/{path}",
                                      {"type": "file", "format": "text", "content": text})
        assert status in (200, 201), answer

    def put_notebook(self, path: str, sources: Sequence[str]) -> None:
        """Write a notebook of code cells (python3 kernel) into the workspace."""
        cells = [{"cell_type": "code", "id": uuid.uuid4().hex[:8], "metadata": {}, "execution_count": None,
                  "outputs": [], "source": src} for src in sources]
        nb = {"nbformat": 4, "nbformat_minor": 5, "cells": cells,
              "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                          "language": "python"},
                           "language_info": {"name": "python"}}}
        self.make_folders(path)
        status, answer = self.request("PUT", f"api/contents/{path}", {"type": "notebook", "content": nb})
        assert status in (200, 201), answer

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> list[int]:
        """Stop the server (SIGTERM, SIGKILL after SERVER_STOP_TIMEOUT) and every process it
        started; returns pids that needed SIGKILL (the caller may insist there were none)."""
        if self.stopped:
            return []
        self.stopped = True
        killed: list[int] = []
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(SERVER_STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                killed.append(self.proc.pid)
                self.proc.kill()
                self.proc.wait(10)
        killed += _stop_marked(self.mark, grace=5.0)
        return killed


def isolated_env(home: Path, base: Mapping[str, str] | None = None, **extra: str) -> dict[str, str]:
    """`base` (default os.environ) with the user's Jupyter/IPython/HF dirs moved under `home`
    and the variables that would leak the machine's settings dropped."""
    env = {k: v for k, v in (base if base is not None else os.environ).items() if k not in _DROPPED_ENV}
    dirs = {"JUPYTER_CONFIG_DIR": home / "config", "JUPYTER_DATA_DIR": home / "data",
            "JUPYTER_RUNTIME_DIR": home / "runtime", "IPYTHONDIR": home / "ipython", "HF_HOME": home / "hf-home"}
    for name, path in dirs.items():
        path.mkdir(parents=True, exist_ok=True)
        env[name] = str(path)
    env.update(HF_HUB_DISABLE_TELEMETRY="1", HF_HUB_DISABLE_PROGRESS_BARS="1", PYTHONUNBUFFERED="1",
               JUPYTER_PLATFORM_DIRS="1")
    env.update(extra)
    return env


def start_lab(root_dir: Path, home: Path, *, bindir: Path | None = None,
              env: Mapping[str, str] | None = None, extra_args: Sequence[str] = (),
              timeout: float = SERVER_START_TIMEOUT) -> LabServer:
    """Start `<bindir>/jupyter-lab` (default: this interpreter's environment) on 127.0.0.1 with
    a random token and wait (bounded) until `/api/status` answers with it. `bindir` goes first
    on PATH, as in an activated venv (`jupyter lab` would look subcommands up on PATH first,
    and could run another environment's). `home` holds the private user dirs (see
    `isolated_env`), the settings and workspaces dirs and the log. Raises with the log's tail
    when the server exits or does not answer in time."""
    token = secrets.token_hex(24)
    port = free_port()
    mark = uuid.uuid4().hex
    bindir = bindir or Path(sys.executable).parent
    env = dict(env) if env is not None else isolated_env(home)
    env[MARK_ENV] = mark
    env["PATH"] = os.pathsep.join([str(bindir), *[p for p in env.get("PATH", "").split(os.pathsep)
                                                  if p and p != str(bindir)]])
    settings, workspaces = home / "lab" / "user-settings", home / "lab" / "workspaces"
    for name, values in _QUIET_SETTINGS.items():
        plugin, _, file = name.rpartition("/")
        target = settings / plugin / file
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(values))
    workspaces.mkdir(parents=True, exist_ok=True)
    cmd = [str(bindir / "jupyter-lab"), "--no-browser", "--ServerApp.open_browser=False",
           "--ServerApp.ip=127.0.0.1", f"--port={port}", "--ServerApp.port_retries=0",
           f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root_dir}",
           "--ServerApp.allow_remote_access=False", "--ServerApp.disable_check_xsrf=False",
           f"--LabApp.user_settings_dir={settings}", f"--LabApp.workspaces_dir={workspaces}",
           "--LabApp.expose_app_in_browser=True", "--LabApp.extension_manager=readonly",
           "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
           *(["--allow-root"] if os.geteuid() == 0 else []), *extra_args]
    log_path = home / "jupyter-lab.log"
    log = open(log_path, "wb")  # noqa: SIM115 - closed below; the child keeps its own handle
    try:
        proc = subprocess.Popen(cmd, cwd=root_dir, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
    finally:
        log.close()
    server = LabServer(url=f"http://127.0.0.1:{port}/", token=token, root_dir=root_dir, home=home,
                       log_path=log_path, proc=proc, env=env, mark=mark)
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            server.stop()
            raise RuntimeError(f"jupyter lab exited with {proc.returncode}:\n{server.log_tail()}")
        try:
            status, _ = server.request("GET", "api/status", timeout=5)
            if status == 200:
                return server
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() > deadline:
            server.stop()
            raise RuntimeError(f"jupyter lab did not answer /api/status within {timeout:g} s:\n{server.log_tail()}")
        time.sleep(0.2)


KERNEL_TIMEOUT = 120.0


class ServerKernel:
    """A kernel the server started for a notebook (through its sessions API, as JupyterLab
    starts one when a notebook opens), driven over ZMQ."""

    def __init__(self, server: LabServer, path: str) -> None:
        from jupyter_client.blocking import BlockingKernelClient

        status, answer = server.request("POST", "api/sessions", {"path": path, "name": Path(path).name,
                                                                 "type": "notebook", "kernel": {"name": "python3"}})
        assert status == 201, answer
        self.server, self.kernel_id = server, answer["kernel"]["id"]
        connection = Path(server.env["JUPYTER_RUNTIME_DIR"]) / f"kernel-{self.kernel_id}.json"
        deadline = time.monotonic() + KERNEL_TIMEOUT
        while not connection.is_file():
            assert time.monotonic() < deadline, f"no connection file {connection}"
            time.sleep(0.1)
        self.client = BlockingKernelClient(connection_file=str(connection))
        self.client.load_connection_file()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=KERNEL_TIMEOUT)

    def execute(self, code: str, timeout: float = KERNEL_TIMEOUT * 3) -> tuple[list[Any], bool]:
        """Run `code` as a cell: its outputs (nbformat output nodes) and whether it succeeded."""
        outputs: list[Any] = []

        def hook(msg: dict[str, Any]) -> None:
            if msg["header"]["msg_type"] in ("stream", "display_data", "execute_result", "error"):
                outputs.append(nbformat.v4.output_from_msg(msg))

        reply = self.client.execute_interactive(code, output_hook=hook, timeout=timeout, allow_stdin=False)
        return outputs, reply["content"]["status"] == "ok"

    def close(self) -> None:
        self.client.stop_channels()
        self.server.request("DELETE", f"api/kernels/{self.kernel_id}")


def run_all(server: LabServer, path: str, *, edits: Mapping[str, str] | None = None,
            timeout: float = KERNEL_TIMEOUT * 3) -> Any:
    """Open notebook `path` (relative to the server's root) as JupyterLab does, in a kernel the
    server starts, and Run All: the code cells in order, each cell's outputs kept, stopping at
    the first cell that fails (its error is its last output; later cells stay unrun).
    `edits` replace the source of the code cell starting with a key, as a user changes what
    the notebook's markdown says to change. Returns the notebook with its outputs (not saved)."""
    nb = nbformat.read(server.root_dir / path, as_version=4)
    for start, source in (edits or {}).items():
        cells = [c for c in nb.cells if c.cell_type == "code" and c.source.startswith(start)]
        assert len(cells) == 1, f"{path}: {len(cells)} code cells start with {start!r}"
        cells[0].source = source
    kernel = ServerKernel(server, path)
    try:
        for count, cell in enumerate((c for c in nb.cells if c.cell_type == "code"), start=1):
            cell.outputs, succeeded = kernel.execute(cell.source, timeout)
            cell.execution_count = count
            if not succeeded:
                break
    finally:
        kernel.close()
    return nb


def page_config(server: LabServer) -> dict[str, Any]:
    """The `jupyter-config-data` JSON that `/lab` embeds (e.g. its `federated_extensions`)."""
    status, html = server.request("GET", "lab")
    assert status == 200, html
    found = re.search(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>', html, re.DOTALL)
    assert found, "no jupyter-config-data in /lab"
    return json.loads(found.group(1))


def build_wheel(dest: Path, python: str = sys.executable, timeout: float = 600.0) -> Path:
    """Build the project's wheel into `dest` with the test environment's build backend (no
    isolation: hatchling and hatch-jupyter-builder come from the test extra). Returns it."""
    env = {k: v for k, v in os.environ.items() if k != "PIP_FIND_LINKS"}
    subprocess.run([python, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(dest),
                    str(ROOT)], check=True, timeout=timeout, env=env)
    (wheel,) = dest.glob("jupyter_mlops-*.whl")
    return wheel


@pytest.fixture(scope="session")
def lab_hub() -> Iterator[FakeHub]:
    """One FakeHub for the session's lab server."""
    with FakeHub() as hub:
        yield hub


@pytest.fixture(scope="session")
def lab_server(tmp_path_factory: pytest.TempPathFactory, lab_hub: FakeHub, mlflow_server: Any,
               s3_server: Any) -> Iterator[LabServer]:
    """`jupyter lab` on a temporary workspace, the test Hub as its model hub, the test MLflow
    server as its tracking server and the run's S3 server, its keys in the AWS variables,
    as its object storage (see module doc)."""
    base = tmp_path_factory.mktemp("lab")
    root, home = base / "workspace", base / "home"
    root.mkdir()
    env = isolated_env(home, HF_ENDPOINT=lab_hub.url, JUPYTER_MLOPS_WORKSPACE=str(root),
                       AWS_ACCESS_KEY_ID=s3_server.key, AWS_SECRET_ACCESS_KEY=s3_server.secret,
                       AWS_CONFIG_FILE=str(home / "no-aws-config"), AWS_SHARED_CREDENTIALS_FILE=str(home / "no-aws"),
                       AWS_EC2_METADATA_DISABLED="true", AWS_REGION="us-east-1")
    server = start_lab(root, home, env=env, extra_args=[
        f"--MLOpsApp.workspace_dir={root}", f"--MLOpsApp.hf_endpoint={lab_hub.url}",
        "--MLOpsApp.download_disk_margin=0", f"--MLOpsApp.mlflow_tracking_uri={mlflow_server.url}",
        f"--MLOpsApp.s3_endpoint_url={s3_server.endpoint}", "--MLOpsApp.s3_addressing_style=path"])
    try:
        yield server
    finally:
        killed = server.stop()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(server.log_path, ARTIFACTS / "jupyter-lab.log")
        assert not killed, f"processes needed SIGKILL at stop: {killed}"


# -- the browser ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def lab_browser() -> Iterator[Any]:
    """Headless Debian Chromium through Playwright's sync API (module scope: see module doc)."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (never `playwright install`)")
    pw = sync_playwright().start()
    try:
        browser = pw.chromium.launch(headless=True, executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
    finally:
        pw.stop()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Keep each phase's report on the item (`item.rep_setup`, `rep_call`) for the fixtures."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


def _artifact_name(node: pytest.Item) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", node.name).strip("_")[:150]


@dataclass
class Lab:
    """One logged-in JupyterLab page (`page`: the Playwright Page) and its server."""

    page: Any
    server: LabServer
    console: list[str] = field(default_factory=list)  # console errors and warnings, as "type: text"
    page_errors: list[str] = field(default_factory=list)  # uncaught exceptions in the page
    server_errors: list[str] = field(default_factory=list)  # answers with status >= 500
    http_errors: list[str] = field(default_factory=list)  # every answer >= 400, "status METHOD url"
    api_calls: list[tuple[float, str, str]] = field(default_factory=list)  # (monotonic s, method, url) to /mlops/api/
    workspace: str = "default"

    # -- lifecycle --
    def goto(self, workspace: str | None = None, reset: bool = True) -> None:
        """Open the lab at a JupyterLab workspace (reset: an empty layout) and wait until ready."""
        self.workspace = workspace or self.workspace
        self.page.goto(self.server.workspace_url(self.workspace, reset=reset), wait_until="domcontentloaded")
        self.wait_ready()

    def reload(self) -> None:
        """Reload the page (the layout and panel state are restored from the workspace)."""
        self.page.goto(self.server.workspace_url(self.workspace, reset=False), wait_until="domcontentloaded")
        self.wait_ready()

    def wait_saved(self, where: Callable[[dict[str, Any]], bool] | None = None, **expected: Any) -> dict[str, Any]:
        """Wait until the workspace on the server holds the sidebar's saved state with these
        values (and `where` holds for it); JupyterLab saves the workspace with a debounce."""
        deadline = time.monotonic() + UI_TIMEOUT
        while True:
            status, answer = self.server.request("GET", f"lab/api/workspaces/{urllib.parse.quote(self.workspace)}")
            state = (answer.get("data") or {}).get(SAVED_STATE_KEY, {}) if status == 200 else {}
            if all(state.get(k) == v for k, v in expected.items()) and (where is None or where(state)):
                return state
            assert time.monotonic() < deadline, f"the workspace holds {state}, not {expected}"
            time.sleep(0.1)

    def wait_ready(self, timeout: float = LAB_READY_TIMEOUT) -> None:
        """Wait until the splash is gone, the shell shows and the app has restored its layout."""
        ms = timeout * 1000
        self.page.wait_for_selector(".jp-LabShell", state="visible", timeout=ms)
        self.page.wait_for_selector("#jupyterlab-splash", state="detached", timeout=ms)
        self.page.wait_for_function("() => window.jupyterapp !== undefined", timeout=ms)
        self.page.evaluate(f"""async () => {{
            await Promise.race([window.jupyterapp.restored,
                                new Promise((_, no) => setTimeout(() => no(new Error('not restored')), {ms}))]);
        }}""")

    # -- finding things --
    def testid(self, testid: str, **attrs: str | int) -> Any:
        """Locator of `[data-testid=testid]` with optional `data-<name>=value` attributes
        (`data_kind="hub.download"` -> `[data-kind="hub.download"]`)."""
        sel = f'[data-testid="{testid}"]' + "".join(
            f'[data-{k.replace("_", "-")}="{v}"]' for k, v in attrs.items())
        return self.page.locator(sel)

    def wait_text(self, target: Any, text: str | re.Pattern[str], timeout: float = UI_TIMEOUT) -> Any:
        """Wait until `target` (a Locator or a selector) contains `text` (a string or a regex)."""
        from playwright.sync_api import expect

        loc = self.page.locator(target) if isinstance(target, str) else target
        expect(loc).to_contain_text(text, timeout=timeout * 1000)
        return loc

    def wait_attr(self, target: Any, name: str, value: str | re.Pattern[str], timeout: float = UI_TIMEOUT) -> Any:
        """Wait until `target` has attribute `name` equal to (or matching) `value`."""
        from playwright.sync_api import expect

        loc = self.page.locator(target) if isinstance(target, str) else target
        expect(loc).to_have_attribute(name, value, timeout=timeout * 1000)
        return loc

    def wait_visible(self, target: Any, timeout: float = UI_TIMEOUT) -> Any:
        loc = self.page.locator(target) if isinstance(target, str) else target
        loc.first.wait_for(state="visible", timeout=timeout * 1000)
        return loc

    def command(self, command_id: str, args: dict[str, Any] | None = None) -> Any:
        """Execute a JupyterLab command (as the palette or a menu would); returns its JSON-able result."""
        return self.page.evaluate(
            "async ([id, args]) => { const r = await window.jupyterapp.commands.execute(id, args);"
            " try { return JSON.parse(JSON.stringify(r ?? null)); } catch { return null; } }",
            [command_id, args or {}])

    def start_command(self, command_id: str, args: dict[str, Any] | None = None) -> None:
        """Execute a command that opens a dialog without waiting for it; `command_result` waits."""
        self.page.evaluate("([id, args]) => { window.__mlopsCommand = window.jupyterapp.commands.execute(id, args); }",
                           [command_id, args or {}])

    def command_result(self) -> Any:
        """What the command `start_command` started resolved to (waits for it)."""
        return self.page.evaluate("async () => { const r = await window.__mlopsCommand;"
                                  " try { return JSON.parse(JSON.stringify(r ?? null)); } catch { return null; } }")

    def dialog(self, title: str | re.Pattern[str]) -> Any:
        """The open JupyterLab dialog whose header shows `title`."""
        dialog = self.page.locator(".jp-Dialog").filter(has=self.page.locator(".jp-Dialog-header", has_text=title))
        return self.wait_visible(dialog)

    def pick(self, title: str | re.Pattern[str], label: str | re.Pattern[str]) -> list[str]:
        """In the picker dialog `title`, choose the option matching `label` and accept; returns all options."""
        dialog = self.dialog(title)
        select = dialog.locator("select")
        options = [o.strip() for o in select.locator("option").all_inner_texts()]
        matches = [o for o in options if (label.search(o) if isinstance(label, re.Pattern) else o == label)]
        assert len(matches) == 1, (label, options)
        select.select_option(label=matches[0])
        dialog.locator(".jp-Dialog-button.jp-mod-accept").click()
        return options

    def toast(self, text: str | re.Pattern[str]) -> Any:
        """Wait for a JupyterLab notification showing `text`."""
        return self.wait_visible(self.page.locator(".jp-toast-message", has_text=text))

    # -- the MLOps sidebar --
    def sidebar_tab(self) -> Any:
        """The left-sidebar tab that opens the MLOps panel."""
        return self.page.locator(f'.jp-SideBar .lm-TabBar-tab[data-id="{SIDEBAR_ID}"]')

    def open_mlops(self, timeout: float = UI_TIMEOUT) -> Any:
        """Click the MLOps tab of the left sidebar (unless the panel already shows); returns the panel."""
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        panel = self.page.locator(f"#{SIDEBAR_ID}")
        tab = self.sidebar_tab()
        try:
            tab.wait_for(state="visible", timeout=timeout * 1000)
        except PlaywrightTimeout:
            federated = [e["name"] for e in page_config(self.server).get("federated_extensions", [])]
            raise AssertionError(f"no left-sidebar tab [data-id={SIDEBAR_ID}] after {timeout:g} s; the lab "
                                 f"loads these prebuilt extensions: {federated}; the server extension "
                                 f"{'answers' if self.server.has_mlops else 'does not answer'}") from None
        if not panel.is_visible():
            tab.click()
        panel.wait_for(state="visible", timeout=timeout * 1000)
        return panel

    def tab(self, name: str, timeout: float = UI_TIMEOUT) -> Any:
        """Open the panel, click `mlops-tab-<name>` and return the visible tab root `mlops-<name>`."""
        assert name in TABS, name
        self.open_mlops(timeout)
        self.testid(f"mlops-tab-{name}").click()
        root = self.testid(f"mlops-{name}")
        root.wait_for(state="visible", timeout=timeout * 1000)
        return root

    # -- notebooks --
    def open_notebook(self, path: str, timeout: float = KERNEL_TIMEOUT) -> Any:
        """Open a workspace notebook in the main area (docmanager:open), wait for its kernel to be
        idle, and return the notebook panel's locator."""
        self.command("docmanager:open", {"path": path, "factory": "Notebook"})
        self.wait_kernel_idle(path, timeout)
        return self.notebook(path)

    def notebook(self, path: str) -> Any:
        """The visible notebook panel of `path` (its tab title is the file name)."""
        self.page.evaluate(
            """(path) => { for (const w of window.jupyterapp.shell.widgets('main')) {
                 if (w.context && w.context.path === path) { w.node.dataset.mlopsE2ePath = path; } } }""", path)
        return self.page.locator(f'.jp-NotebookPanel[data-mlops-e2e-path="{path}"]')

    def wait_kernel_idle(self, path: str, timeout: float = KERNEL_TIMEOUT) -> None:
        """Wait (bounded) until the notebook `path` has a running kernel that is idle."""
        self.page.wait_for_function(
            """(path) => { for (const w of window.jupyterapp.shell.widgets('main')) {
                 if (w.context && w.context.path === path && w.sessionContext) {
                   const k = w.sessionContext.session && w.sessionContext.session.kernel;
                   return !!k && k.status === 'idle' && k.connectionStatus === 'connected'; } }
               return false; }""", arg=path, timeout=timeout * 1000, polling=200)

    def kernel_id(self, path: str) -> str:
        """The id of the kernel of the open notebook `path`."""
        return self.page.evaluate(
            """(path) => { for (const w of window.jupyterapp.shell.widgets('main')) {
                 if (w.context && w.context.path === path) { return w.sessionContext.session.kernel.id; } }
               return null; }""", path)

    def cell(self, path: str, index: int) -> Any:
        return self.notebook(path).locator(".jp-Notebook .jp-Cell").nth(index)

    def run_cell(self, path: str, index: int, wait: bool = True, timeout: float = KERNEL_TIMEOUT) -> str:
        """Select cell `index` of the open notebook `path`, press Shift+Enter as a user would,
        and (wait) until its prompt shows an execution count; returns its output text."""
        self.activate(path)
        cell = self.cell(path, index)
        cell.locator(".jp-InputPrompt").click()
        self.page.keyboard.press("Shift+Enter")
        prompt = cell.locator(".jp-InputPrompt")
        if not wait:
            self.wait_text(prompt, re.compile(r"\[(\*|\d+)\]"), timeout)
            return ""
        self.wait_text(prompt, re.compile(r"\[\d+\]"), timeout)
        return self.cell_output(path, index)

    def activate(self, path: str) -> None:
        """Bring the notebook `path` to the front of the main area."""
        self.page.evaluate(
            """(path) => { for (const w of window.jupyterapp.shell.widgets('main')) {
                 if (w.context && w.context.path === path) { window.jupyterapp.shell.activateById(w.id); } } }""",
            path)

    def cell_output(self, path: str, index: int) -> str:
        """The text of cell `index`'s outputs (stdout, stderr and results)."""
        outputs = self.cell(path, index).locator(".jp-OutputArea-output")
        return "\n".join(outputs.all_inner_texts())

    def api_calls_during(self, seconds: float) -> list[str]:
        """Wait `seconds` and return the "METHOD url" of the /mlops/api/ requests the page made meanwhile."""
        start = time.monotonic()
        self.page.wait_for_timeout(seconds * 1000)
        return [f"{m} {u}" for t, m, u in self.api_calls if t >= start]

    # -- checks --
    def assert_no_console_errors(self, ignore: Sequence[str | re.Pattern[str]] = ()) -> None:
        """No uncaught page error, no 5xx answer, no console error (except those matching `ignore`:
        JupyterLab reports some of its own either way, e.g. the subshell request a kernel restart
        cancels, as a console error or, by timing, as an uncaught rejection)."""
        def kept(line: str) -> bool:
            return not any((p.search(line) if isinstance(p, re.Pattern) else p in line) for p in ignore)

        errors = [e for e in self.console if e.startswith("error:") and kept(e)]
        uncaught = [e for e in self.page_errors if kept(e)]
        if uncaught or self.server_errors or errors:
            raise AssertionError("the page reported errors:\n" + "\n".join(
                [*uncaught, *self.server_errors, *errors, "answers >= 400:", *self.http_errors]))


def new_lab(browser: Any, server: LabServer, workspace: str) -> Lab:
    """A new browser context and page on `server` with the collectors attached (call `goto`)."""
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    context.set_default_timeout(UI_TIMEOUT * 1000)
    page = context.new_page()
    lab = Lab(page=page, server=server, workspace=workspace)
    page.on("console", lambda m: lab.console.append(f"{m.type}: {m.text}")
            if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda exc: lab.page_errors.append(str(exc)))

    def on_response(response: Any) -> None:
        if response.status >= 400:
            line = f"{response.status} {response.request.method} {response.url}"
            lab.http_errors.append(line)
            if response.status >= 500:
                lab.server_errors.append(line)

    page.on("response", on_response)
    page.on("request", lambda r: lab.api_calls.append((time.monotonic(), r.method, r.url))
            if "/mlops/api/" in r.url else None)
    return lab


@pytest.fixture
def lab(request: pytest.FixtureRequest, lab_browser: Any, lab_server: LabServer, lab_hub: FakeHub) -> Iterator[Lab]:
    """A logged-in JupyterLab page on `lab_server` in a JupyterLab workspace of this test's
    own; a screenshot (and for a failure the console) goes to test-artifacts/e2e/."""
    name = _artifact_name(request.node)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    lab = new_lab(lab_browser, lab_server, workspace=f"e2e-{name}"[:100])
    ready = False
    try:
        lab.goto()
        ready = True
        yield lab
    finally:
        lab_hub.throttle = None
        try:
            lab.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), timeout=10_000)
        except Exception as exc:  # noqa: BLE001 - a screenshot must not hide the test's result
            print(f"screenshot of {name} failed: {exc}")
        failed = not ready or getattr(getattr(request.node, "rep_call", None), "failed", False)
        if failed:
            (ARTIFACTS / f"{name}.console.txt").write_text("\n".join(
                ["# console", *lab.console, "# page errors", *lab.page_errors, "# answers >= 400", *lab.http_errors,
                 "# server log (tail)", lab_server.log_tail(200)]))
        lab.page.context.close()
