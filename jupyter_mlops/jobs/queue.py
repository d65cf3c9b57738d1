"""The job queue: submit, read, cancel and recover jobs stored as rows.

A job that acts on local files (a kernel's environment, the models folder, a build
context, a secret file) records its place, this host and workspace, and only a worker of
that place claims it; a job that needs no local files may run on any worker. Any process
may read or cancel any job: the worker that runs it ends its process."""

from __future__ import annotations

import builtins
import hashlib
import os
import signal
import socket
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update

from ..errors import Conflict, InvalidInput
from ..fields import Field
from ..paging import check_limit, page
from ..store import Store, fetch
from ..store.schema import Job, JobLog, Worker, utcnow
from . import kinds

STATES = ("queued", "running", "succeeded", "failed", "cancelled", "interrupted")
ACTIVE_STATES = ("queued", "running")
FINAL_STATES = ("succeeded", "failed", "cancelled", "interrupted")
HOST = socket.gethostname()
#: A worker on another host whose heartbeat is older than this is taken for dead.
WORKER_STALE = timedelta(seconds=30)
STATE_FIELD = Field("string", enum=STATES)
#: How long a place may be (a host name, a colon, an absolute workspace path).
PLACE_LENGTH = 1024
#: Largest log line number (job_logs.seq is a 32-bit INTEGER; PostgreSQL refuses a larger operand).
SEQ_MAX = 2**31 - 1
#: Length of the jobs.dedupe_key column (PostgreSQL enforces it; SQLite would not).
DEDUPE_KEY_MAX = 512


def place_of(workspace: Path) -> str:
    """The place of jobs acting on `workspace` here: `host:/resolved/workspace`."""
    place = f"{HOST}:{workspace.resolve()}"
    if len(place) > PLACE_LENGTH:
        raise InvalidInput(
            f"workspace_dir: a job place (host and workspace path) must be at most {PLACE_LENGTH} characters",
            field="workspace_dir",
        )
    return place


def place_view(place: str | None) -> dict[str, str] | None:
    """A place as JSON: {host, workspace}; None for a job any worker may run."""
    if place is None:
        return None
    host, _, workspace = place.partition(":")
    return {"host": host, "workspace": workspace}


def stored_dedupe_key(key: str) -> str:
    """`key` as the column holds it: a longer one keeps its start, and its sha256 stands in
    for the rest, so two keys still match only when they are equal."""
    if len(key) <= DEDUPE_KEY_MAX:
        return key
    digest = hashlib.sha256(key.encode()).hexdigest()
    return f"{key[: DEDUPE_KEY_MAX - len(digest) - 1]}#{digest}"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def job_view(j: Job, now: datetime | None = None) -> dict[str, Any]:
    """A job as JSON, with elapsed seconds and an ETA from the recent rate."""
    now = now or utcnow()
    end = j.finished_at or now
    eta = None
    if j.state == "running" and j.progress_rate and j.progress_total:
        eta = max(0.0, (j.progress_total - j.progress_done) / j.progress_rate)
    return {
        "id": j.id,
        "kind": j.kind,
        "params": j.params,
        "state": j.state,
        "owner": j.owner,
        "place": place_view(j.place),
        "progress": {
            "done": j.progress_done,
            "total": j.progress_total,
            "unit": j.progress_unit,
            "fraction": (j.progress_done / j.progress_total) if j.progress_total else None,
            "rate": j.progress_rate,
            "eta_seconds": eta,
        },
        "message": j.message,
        "error": j.error,
        "result": j.result,
        "cancel_requested": j.cancel_requested,
        "log_count": j.log_count,
        "created_at": _iso(j.created_at),
        "started_at": _iso(j.started_at),
        "finished_at": _iso(j.finished_at),
        "elapsed_seconds": (end - j.started_at).total_seconds() if j.started_at else None,
    }


def pid_alive(pid: int | None) -> bool:
    """Whether a process with this pid exists on this host (zombies count as dead)."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except OSError:
        return True


def process_started(pid: int) -> float | None:
    """When a process on this host started, in epoch seconds (None if unknown)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            ticks = int(fh.read().rsplit(b")", 1)[1].split()[19])
        with open("/proc/stat", "rb") as fh:
            boot = next(int(line.split()[1]) for line in fh if line.startswith(b"btime "))
    except (OSError, ValueError, IndexError, StopIteration):
        return None
    return boot + ticks / os.sysconf("SC_CLK_TCK")


def is_runner_of(pid: int, job_id: int) -> bool:
    """Whether `pid` is the job subprocess of `job_id` (guards against reused pids)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            args = fh.read().split(b"\0")
    except OSError:
        return False
    # A standby runner (see worker.py) was started before it knew its job: it has no id in
    # its arguments, and the caller has the pid from the job's own row.
    return b"jupyter_mlops.jobs.runner" in args and (str(job_id).encode() in args or b"--standby" in args)


def signal_job(pid: int, job_id: int, sig: int) -> bool:
    """Send `sig` to a job subprocess's process group on this host; False if it is gone."""
    if not is_runner_of(pid, job_id):
        return False
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        return False
    return True


class JobQueue:
    """Jobs as rows: any process may submit, read, or cancel them. Jobs of kinds that act
    on local files are placed at `place` (see `place_of`); None places them nowhere in
    particular (a queue with no workspace: any worker runs them)."""

    def __init__(self, store: Store, place: str | None = None) -> None:
        self.store = store
        self.place = place
        #: Called after a job is queued; the server points it at its worker's `wake`.
        self.on_submit: Callable[[], None] | None = None

    def submit(
        self, kind: str, params: dict[str, Any] | None = None, *, owner: str = "", dedupe_key: str | None = None
    ) -> dict[str, Any]:
        """Queue a job. With `dedupe_key`, an active job with the same key is
        returned instead of a second one (marked `"deduplicated": true`)."""
        with self.store.write() as s:
            job, twin = self.enqueue(s, kind, params, owner=owner, dedupe_key=dedupe_key)
            view = job_view(job)
        if twin:
            return {**view, "deduplicated": True}
        self.woken()
        return view

    def enqueue(
        self, s: Any, kind: str, params: dict[str, Any] | None = None, *, owner: str = "", dedupe_key: str | None = None
    ) -> tuple[Job, bool]:
        """Queue a job inside the caller's write transaction, so it commits (or not) with
        the caller's rows; returns (job, True) when an active twin was found instead.
        Call `woken()` after the commit. A twin is a job of the same place: the same
        download asked for in two workspaces is two jobs."""
        kinds.resolve(kind)
        if params is not None and not isinstance(params, dict):
            raise InvalidInput("params: must be a JSON object", field="params")
        place = self.place if kind not in kinds.ANYWHERE else None
        if dedupe_key:
            dedupe_key = stored_dedupe_key(dedupe_key)
            twin = s.scalar(
                select(Job).where(Job.dedupe_key == dedupe_key, Job.state.in_(ACTIVE_STATES), _at(Job.place, place))
            )
            if twin is not None:
                return twin, True
        job = Job(kind=kind, params=params or {}, owner=owner, dedupe_key=dedupe_key, state="queued", place=place)
        s.add(job)
        s.flush()
        return job, False

    def woken(self) -> None:
        """Tell the worker (if this process has one) that a job was queued."""
        if self.on_submit is not None:
            self.on_submit()

    def get(self, job_id: int) -> dict[str, Any]:
        """One job."""
        with self.store.read() as s:
            return job_view(self._job(s, job_id))

    @staticmethod
    def _job(s: Any, job_id: int) -> Job:
        return fetch(s, Job, job_id, "job")

    def list(
        self,
        *,
        state: str | None = None,
        kind: str | None = None,
        active: bool = False,
        limit: Any = None,
        cursor: str | None = None,
    ) -> dict[str, Any]:
        """Jobs newest first, by state or kind; one page."""
        stmt = select(Job)
        if state:
            stmt = stmt.where(Job.state == STATE_FIELD.clean("state", state))
        if active:
            stmt = stmt.where(Job.state.in_(ACTIVE_STATES))
        if kind:
            stmt = stmt.where(Job.kind == kind)
        with self.store.read() as s:
            rows, nxt = page(s, stmt, Job.id, descending=True, limit=limit, cursor=cursor)
            now = utcnow()
            return {"items": [job_view(j, now) for j in rows], "next_cursor": nxt}

    def counts(self) -> dict[str, int]:
        """How many jobs are in each state."""
        with self.store.read() as s:
            found = dict(s.execute(select(Job.state, func.count()).group_by(Job.state)).all())
        return {state: found.get(state, 0) for state in STATES}

    def log(self, job_id: int, *, after: int = 0, limit: Any = 500) -> dict[str, Any]:
        """Log lines with seq > `after`, oldest first, and the job's state."""
        size = check_limit(limit)
        if isinstance(after, bool) or not isinstance(after, int) or after < 0:
            raise InvalidInput(f"after: must be a whole number >= 0 (got {after!r})", field="after")
        with self.store.read() as s:
            job = self._job(s, job_id)
            rows = s.scalars(
                select(JobLog)
                .where(JobLog.job_id == job_id, JobLog.seq > min(after, SEQ_MAX))
                .order_by(JobLog.seq)
                .limit(size)
            ).all()
            lines = [{"seq": r.seq, "at": _iso(r.at), "stream": r.stream, "line": r.line} for r in rows]
            return {
                "job_id": job_id,
                "state": job.state,
                "lines": lines,
                "next_after": lines[-1]["seq"] if lines else after,
                "log_count": job.log_count,
            }

    def cancel(self, job_id: int) -> dict[str, Any]:
        """Cancel a job from any process, on any host: a queued one at once; a running one
        is ended by its worker, which watches for the request (on this host the job's
        subprocess is also signalled at once)."""
        with self.store.write() as s:
            job = self._job(s, job_id)
            if job.state in FINAL_STATES:
                raise Conflict(f"job {job_id} already {job.state}; nothing to cancel")
            job.cancel_requested = True
            if job.state == "queued":
                job.state, job.finished_at, job.message = "cancelled", utcnow(), "cancelled before it started"
            pid, host = job.pid, job.host
        if pid and host == HOST:
            signal_job(pid, job_id, signal.SIGTERM)
        return self.get(job_id)

    def has_live_worker(self) -> bool:
        """Whether a worker (a server's) of this queue's place is alive and taking jobs."""
        with self.store.read() as s:
            workers = s.scalars(select(Worker).where(Worker.stopped_at.is_(None), _at(Worker.place, self.place))).all()
            return any(worker_alive(w) for w in workers)

    def recover(self) -> builtins.list[int]:
        """Mark jobs left running by dead workers interrupted, whichever server's they
        were (a worker on this host is dead when its process is, elsewhere when its
        heartbeat is stale); end their leftover subprocesses on this host. Returns the ids
        marked. Reads first: with nothing dead, nothing is written."""
        with self.store.read() as s:
            live = s.scalars(select(Worker).where(Worker.stopped_at.is_(None))).all()
            alive = {w.id for w in live if worker_alive(w)}
            dead_here = [w.id for w in live if w.id not in alive and w.host == HOST]
            orphans = [
                j.id
                for j in s.scalars(select(Job).where(Job.state == "running"))
                if j.worker_id is None or j.worker_id not in alive
            ]
        if not orphans and not dead_here:
            return []
        marked: builtins.list[int] = []
        with self.store.write() as s:
            for job in s.scalars(select(Job).where(Job.id.in_(orphans), Job.state == "running").with_for_update()):
                if job.pid and job.host == HOST:
                    signal_job(job.pid, job.id, signal.SIGKILL)
                job.state, job.finished_at = "interrupted", utcnow()
                job.error = "the process running this job stopped before it finished"
                marked.append(job.id)
            if dead_here:
                s.execute(update(Worker).where(Worker.id.in_(dead_here)).values(stopped_at=utcnow()))
        return marked


def _at(column: Any, place: str | None) -> Any:
    """A filter on `column` (a job's or a worker's place) for rows of `place`."""
    return column.is_(None) if place is None else column == place


def worker_alive(w: Worker) -> bool:
    """A worker is alive if its process exists (this host) or its heartbeat is fresh (other hosts)."""
    if w.stopped_at is not None:
        return False
    if w.host == HOST:
        if not pid_alive(w.pid):
            return False
        started = process_started(w.pid)
        # A pid reused by a process born after the worker registered is not the worker.
        return started is None or started <= w.started_at.timestamp() + 2
    return utcnow() - w.heartbeat_at < WORKER_STALE
