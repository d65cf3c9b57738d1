"""Team mode: two real Jupyter servers, two users' workspaces, one registry store (a SQLite
file, and a PostgreSQL database).

Each server's worker runs only the jobs of its own workspace (its downloads, repairs,
builds act on that workspace's files), a job any worker may run goes to either, any
server may cancel any job (the owning worker ends it), and a server killed with -9
leaves its running jobs interrupted as seen from the other one."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from hub_server import FakeHub, payload

pytestmark = pytest.mark.both_stores
from lab_support import LabServer, isolated_env, start_lab
from jupyter_mlops.jobs.queue import HOST, JobQueue, pid_alive, place_of
from jupyter_mlops.jobs.worker import SWEEP
from jupyter_mlops.store import Store
from jupyter_mlops.store.schema import Job, Worker

MB = 1024 * 1024
REPO = "team/slow"
#: Bounded waits (the machine is small and busy).
JOB_TIMEOUT = 90.0


@dataclass
class Team:
    hub: FakeHub
    db_url: str
    ada: LabServer
    bob: LabServer

    def store(self) -> Store:
        return Store(self.db_url)


def _server(base: Path, name: str, hub: FakeHub, db_url: str) -> LabServer:
    """`name`'s server on `base/name/workspace` (made when missing), on the store `db_url`."""
    root, home = base / name / "workspace", base / name / "home"
    root.mkdir(parents=True, exist_ok=True)
    env = isolated_env(home, HF_ENDPOINT=hub.url, JUPYTERHUB_USER=name)
    return start_lab(root, home, env=env, extra_args=[
        f"--MLOpsApp.workspace_dir={root}", f"--MLOpsApp.db_url={db_url}", f"--MLOpsApp.hf_endpoint={hub.url}",
        "--MLOpsApp.download_disk_margin=0"])


@pytest.fixture
def team(tmp_path: Path, db_url: str | None) -> Iterator[Team]:
    """Ada's and Bob's servers on one store, each with its own workspace and models folder."""
    db_url = db_url or f"sqlite:///{tmp_path / 'team.db'}"
    with FakeHub() as hub:
        hub.add_repo(REPO, {"config.json": b"{}", "big.gguf": payload(REPO, 8 * MB)})
        hub.throttle = 256 * 1024  # 32 s for the big file: time to look, cancel or kill
        ada = _server(tmp_path, "ada", hub, db_url)
        try:
            bob = _server(tmp_path, "bob", hub, db_url)
        except BaseException:
            ada.stop()
            raise
        team = Team(hub, db_url, ada, bob)
        try:
            yield team
        finally:  # the servers the test left (it may have started Bob's again)
            hub.throttle = None
            team.bob.stop()
            team.ada.stop()


def _running(server: LabServer, job_id: int) -> dict[str, Any]:
    return server.wait_job(job_id, timeout=JOB_TIMEOUT, until=("running", "succeeded", "failed", "cancelled"))


def _download(server: LabServer) -> dict[str, Any]:
    code, job = server.mlops("POST", "hub/downloads", {"repo_id": REPO})
    assert code == 201, job
    return dict(job)


def _runner_of(store: Store, job_id: int) -> tuple[int, str | None]:
    with store.read() as s:
        job = s.get(Job, job_id)
        assert job is not None and job.worker_id is not None
        worker = s.get(Worker, job.worker_id)
        assert worker is not None and job.pid
        return job.pid, worker.place


def test_each_server_runs_its_own_downloads_and_sees_the_others(team: Team) -> None:
    ada_root, bob_root = team.ada.root_dir, team.bob.root_dir
    store = team.store()
    try:
        mine = _download(team.ada)
        theirs = _download(team.bob)
        assert theirs["id"] != mine["id"] and not theirs.get("deduplicated"), "two workspaces, two downloads"
        assert mine["place"] == {"host": HOST, "workspace": str(ada_root.resolve())}
        assert theirs["place"] == {"host": HOST, "workspace": str(bob_root.resolve())}
        for server, job, root in ((team.ada, mine, ada_root), (team.bob, theirs, bob_root)):
            assert _running(server, job["id"])["state"] == "running"
            assert _runner_of(store, job["id"])[1] == place_of(root), "run by the worker of its workspace"
        # each sees the other's job, with where it runs
        assert team.ada.ok("GET", f"jobs/{theirs['id']}")["place"]["workspace"] == str(bob_root.resolve())
        assert team.bob.ok("GET", f"jobs/{mine['id']}")["place"]["workspace"] == str(ada_root.resolve())

        # a job of a workspace no server serves stays queued, with both workers alive
        carol = team.ada.root_dir.parent.parent / "carol"
        carol.mkdir()
        queued = JobQueue(store, place_of(carol)).submit("hub.download", {"repo_id": REPO, "revision": "main"})
        time.sleep(3 * 0.2 + 2)  # many worker ticks
        assert team.bob.ok("GET", f"jobs/{queued['id']}")["state"] == "queued"
        assert team.ada.ok("POST", f"jobs/{queued['id']}/cancel")["state"] == "cancelled"

        team.hub.throttle = None
        for server, job, root in ((team.ada, mine, ada_root), (team.bob, theirs, bob_root)):
            done = server.wait_job(job["id"], timeout=JOB_TIMEOUT)
            assert done["state"] == "succeeded", done
            cached = list((root / "models").rglob("big.gguf")) or list(root.rglob("big.gguf"))
            assert cached, f"the download landed in {root}"
        assert not list((carol).rglob("big.gguf"))
    finally:
        store.dispose()


def test_ada_cancels_bobs_download_and_bobs_worker_ends_it(team: Team) -> None:
    store = team.store()
    try:
        job = _download(team.bob)
        assert _running(team.bob, job["id"])["state"] == "running"
        pid, _ = _runner_of(store, job["id"])
        cancelled = team.ada.ok("POST", f"jobs/{job['id']}/cancel")
        assert cancelled["cancel_requested"] is True
        final = team.ada.wait_job(job["id"], timeout=JOB_TIMEOUT)
        assert final["state"] == "cancelled", final
        deadline = time.monotonic() + 15
        while pid_alive(pid):
            assert time.monotonic() < deadline, "Bob's job process outlived the cancel"
            time.sleep(0.1)
        assert not list(team.bob.root_dir.rglob("big.gguf")), "no partial file is left"
    finally:
        store.dispose()


def test_kill9_of_bobs_server_leaves_his_running_job_interrupted_seen_from_ada(team: Team) -> None:
    store = team.store()
    try:
        job = _download(team.bob)
        assert _running(team.bob, job["id"])["state"] == "running"
        pid, _ = _runner_of(store, job["id"])
        os.kill(team.bob.proc.pid, signal.SIGKILL)
        team.bob.proc.wait(10)
        t0 = time.monotonic()
        final = team.ada.wait_job(job["id"], timeout=SWEEP * 4 + 10)
        assert final["state"] == "interrupted", final
        assert time.monotonic() - t0 < SWEEP * 4 + 10
        deadline = time.monotonic() + 15
        while pid_alive(pid):  # Ada's worker ended the orphaned job process (same host)
            assert time.monotonic() < deadline, "Bob's orphaned job process was left running"
            time.sleep(0.1)
        # Bob comes back: the download runs again to the end
        team.hub.throttle = None
        team.bob.stop()
        bob = team.bob = _server(team.bob.root_dir.parent.parent, "bob", team.hub, team.db_url)
        again = _download(bob)
        assert bob.wait_job(again["id"], timeout=JOB_TIMEOUT)["state"] == "succeeded"
    finally:
        store.dispose()

