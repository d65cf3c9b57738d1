"""The worker: claims queued jobs atomically and runs each in its own subprocess.

The server runs one in a thread; a kernel or the CLI runs one inline for a single
job when no server worker of its place is alive. Same code either way. A worker claims
the jobs of its place (this host and workspace) and those any worker may run; every
few seconds it also marks interrupted the running jobs of workers that died, any
server's, so a dead server's jobs are seen as such from everywhere."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import or_, select, update

from ..store import Store
from ..store.schema import Job, utcnow
from ..store.schema import Worker as WorkerRow
from .queue import HOST, JobQueue

log = logging.getLogger(__name__)
TICK = 0.2
STANDBY = "--standby"
#: The db_url setting's environment variable: the standalone worker's store.
DB_URL_ENV = "JUPYTER_MLOPS_DB_URL"
HEARTBEAT = 2.0
#: How often a worker looks for jobs left running by dead workers.
SWEEP = 5.0
CANCEL_GRACE = 5.0
ERROR_BACKOFF = 1.0


@dataclass
class _Running:
    job_id: int
    proc: subprocess.Popen[bytes]
    term_sent_at: float | None = None
    started: float = field(default_factory=time.monotonic)


class Worker:
    """Runs jobs from the store, at most `max_jobs` at once."""

    def __init__(
        self,
        store: Store,
        *,
        max_jobs: int = 2,
        env: dict[str, str] | None = None,
        scratch: Path | None = None,
        standby: bool = False,
        place: str | None = None,
    ) -> None:
        """`place`: the jobs' place it takes (see `queue.place_of`); None takes only jobs
        any worker may run."""
        self.store = store
        self.queue = JobQueue(store, place)
        self.place = place
        self.max_jobs = max_jobs
        self.env = env
        self.scratch = scratch
        self.id: int | None = None
        self._running: dict[int, _Running] = {}
        self.standby = standby
        self._standby: subprocess.Popen[bytes] | None = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._last_beat = 0.0
        self._last_sweep = 0.0

    # -- lifecycle -----------------------------------------------------------------
    def register(self) -> None:
        """Mark jobs of dead workers interrupted, then record this worker."""
        if self.id is not None:
            return
        marked = self.queue.recover()
        if marked:
            log.warning("jupyter_mlops: jobs %s were left running by a stopped process; now interrupted", marked)
        with self.store.write() as s:
            row = WorkerRow(host=HOST, pid=os.getpid(), place=self.place)
            s.add(row)
            s.flush()
            self.id = row.id

    def wake(self) -> None:
        """Look for queued jobs now instead of at the next tick."""
        self._wake.set()

    def stop(self) -> None:
        """Ask `serve` to return."""
        self._stop.set()
        self._wake.set()

    def serve(self) -> None:
        """Claim and run jobs until `stop()`; on return, running jobs are ended and interrupted."""
        self.register()
        if self.standby:
            self._refill_standby()
        try:
            while not self._stop.is_set():
                try:
                    self.tick()
                except Exception:  # a store hiccup must not end the worker for good
                    log.exception("jupyter_mlops: job worker tick failed; retrying")
                    self._stop.wait(ERROR_BACKOFF)
                self._wake.wait(TICK)
                self._wake.clear()
        finally:
            self.shutdown()

    def run_job(self, job_id: int, *, on_tick: Callable[[], object] | None = None) -> dict[str, object]:
        """Run one queued job inline (no server worker) and wait for its end; returns the job."""
        self.register()
        try:
            if self._claim(job_id):
                while self._running:
                    self.tick(claim=False)
                    if on_tick is not None:
                        on_tick()
                    self._wake.wait(TICK)
                    self._wake.clear()
        except KeyboardInterrupt:  # an interrupted kernel cell cancels its job
            self.queue.cancel(job_id)
            deadline = time.monotonic() + CANCEL_GRACE + 1
            while self._running and time.monotonic() < deadline:
                self.tick(claim=False)
                time.sleep(TICK)
            self._end_all("the caller stopped while the job ran")
            raise
        except BaseException:
            self._end_all("the caller stopped while the job ran")
            raise
        finally:
            self._unregister()
        return self.queue.get(job_id)

    def shutdown(self) -> None:
        """End running jobs (they become interrupted), the standby runner, and deregister."""
        self._stop_standby()
        self._end_all("the server stopped while the job ran")
        self._unregister()

    # -- one step ------------------------------------------------------------------
    def tick(self, *, claim: bool = True) -> None:
        """Reap finished subprocesses, enforce cancels, claim new jobs, heartbeat, and
        (a serving worker) sweep up dead workers' jobs."""
        for run in list(self._running.values()):
            code = run.proc.poll()
            if code is not None:
                self._reap(run, code)
        self._enforce_cancels()
        while claim and len(self._running) < self.max_jobs and self._claim():
            pass
        if self.standby and not self._running:
            self._refill_standby()
        now = time.monotonic()
        if now - self._last_beat >= HEARTBEAT and self.id is not None:
            with self.store.write() as s:
                s.execute(update(WorkerRow).where(WorkerRow.id == self.id).values(heartbeat_at=utcnow()))
            self._last_beat = now
        if claim and now - self._last_sweep >= SWEEP:
            self._last_sweep = now
            marked = self.queue.recover()
            if marked:
                log.warning("jupyter_mlops: jobs %s were left running by a worker that died; now interrupted", marked)

    def _claim(self, job_id: int | None = None) -> bool:
        if job_id is None:
            # Look before taking the write lock: an idle worker must not write every tick.
            with self.store.read() as s:
                if s.scalar(select(Job.id).where(Job.state == "queued", self._mine()).limit(1)) is None:
                    return False
        with self.store.write() as s:
            stmt = select(Job).where(Job.state == "queued", self._mine())
            stmt = stmt.where(Job.id == job_id) if job_id is not None else stmt.order_by(Job.id).limit(1)
            job = s.scalar(stmt.with_for_update(skip_locked=True))
            if job is None:
                return False
            job.state, job.worker_id, job.host = "running", self.id, HOST
            job.started_at = job.heartbeat_at = utcnow()
            job.message = "starting"
            claimed = job.id
        try:
            proc = self._hand_to_standby(claimed) or self._spawn(str(claimed))
        except OSError as exc:
            with self.store.write() as s:
                s.execute(
                    update(Job)
                    .where(Job.id == claimed)
                    .values(state="failed", error=f"could not start the job process: {exc}", finished_at=utcnow())
                )
            return True
        with self.store.write() as s:
            s.execute(update(Job).where(Job.id == claimed).values(pid=proc.pid))
        self._running[claimed] = _Running(claimed, proc)

        # Wake the loop the moment the job process ends, instead of at the next tick.
        def wake_when_done() -> None:
            proc.wait()
            self._wake.set()

        threading.Thread(target=wake_when_done, name=f"job-{claimed}-wait", daemon=True).start()
        return True

    def _mine(self) -> Any:
        """A filter for the jobs this worker may run: its place's and any worker's."""
        anywhere = Job.place.is_(None)
        return anywhere if self.place is None else or_(anywhere, Job.place == self.place)

    def _spawn(self, job: str) -> subprocess.Popen[bytes]:
        """A runner process for job id `job`, or `--standby` (waits for an id on stdin). The
        store's URL goes down its stdin, never on its argv (`ps` shows argv to every user)."""
        proc = subprocess.Popen(
            [sys.executable, "-m", "jupyter_mlops.jobs.runner", job],
            start_new_session=True,
            stdin=subprocess.PIPE,
            env=self.env,
            cwd=self.scratch,
        )
        assert proc.stdin is not None
        try:
            proc.stdin.write(f"{self.store.url}\n".encode())
            if job == STANDBY:
                proc.stdin.flush()
            else:
                proc.stdin.close()
        except OSError:
            _killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise
        return proc

    def _refill_standby(self) -> None:
        """Start the next standby runner so its imports are done before a job needs it.
        Called only while no job runs: its start-up would take CPU from a running job."""
        if self._standby is None or self._standby.poll() is not None:
            try:
                self._standby = self._spawn(STANDBY)
            except OSError:
                self._standby = None

    def _hand_to_standby(self, job_id: int) -> subprocess.Popen[bytes] | None:
        """Give `job_id` to the waiting standby runner; None when there is none alive."""
        proc, self._standby = self._standby, None
        if proc is None or proc.poll() is not None or proc.stdin is None:
            return None
        try:
            proc.stdin.write(f"{job_id}\n".encode())
            proc.stdin.close()
        except OSError:
            _killpg(proc.pid, signal.SIGKILL)
            return None
        return proc

    def _stop_standby(self) -> None:
        proc, self._standby = self._standby, None
        if proc is not None:
            if proc.stdin is not None:
                proc.stdin.close()  # end of input: a standby runner exits on it
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                _killpg(proc.pid, signal.SIGKILL)
                proc.wait()

    def _enforce_cancels(self) -> None:
        if not self._running:
            return
        with self.store.read() as s:
            wanted = set(s.scalars(select(Job.id).where(Job.id.in_(list(self._running)), Job.cancel_requested)))
        now = time.monotonic()
        for job_id in wanted:
            run = self._running[job_id]
            if run.term_sent_at is None:
                _killpg(run.proc.pid, signal.SIGTERM)
                run.term_sent_at = now
            elif now - run.term_sent_at > CANCEL_GRACE:
                _killpg(run.proc.pid, signal.SIGKILL)

    def _reap(self, run: _Running, code: int) -> None:
        del self._running[run.job_id]
        _killpg(run.proc.pid, signal.SIGKILL)  # children the job left behind
        how = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
        with self.store.write() as s:
            job = s.get(Job, run.job_id)
            if job is None or job.state != "running":
                return
            job.finished_at = utcnow()
            if job.cancel_requested:
                job.state, job.message = "cancelled", "cancelled"
            else:
                job.state, job.error = "failed", f"the job process {how} before reporting a result"

    def _end_all(self, reason: str) -> None:
        for run in self._running.values():
            _killpg(run.proc.pid, signal.SIGKILL)
        for run in list(self._running.values()):
            run.proc.wait()
            del self._running[run.job_id]
            with self.store.write() as s:
                s.execute(
                    update(Job)
                    .where(Job.id == run.job_id, Job.state == "running")
                    .values(state="interrupted", error=reason, finished_at=utcnow())
                )

    def _unregister(self) -> None:
        if self.id is None:
            return
        with self.store.write() as s:
            s.execute(update(WorkerRow).where(WorkerRow.id == self.id).values(stopped_at=utcnow()))
        self.id = None


def _killpg(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def main(argv: list[str] | None = None) -> None:
    """`python -m jupyter_mlops.jobs.worker [WORKSPACE]`: a standalone worker until SIGTERM/SIGINT,
    taking the jobs of WORKSPACE here (without it, only jobs any worker may run), on the store of
    $JUPYTER_MLOPS_DB_URL (an environment variable, not an argument: `ps` shows arguments to
    every user, and a PostgreSQL URL may hold a password)."""
    from ..store import open_store
    from .queue import place_of

    args = argv if argv is not None else sys.argv[1:]
    db_url = os.environ.get(DB_URL_ENV, "")
    if len(args) > 1 or not db_url:
        sys.exit(f"usage: {DB_URL_ENV}=URL python -m jupyter_mlops.jobs.worker [WORKSPACE]")
    place = place_of(Path(args[0])) if args else None
    worker = Worker(open_store(db_url), standby=True, place=place)
    signal.signal(signal.SIGTERM, lambda *_: worker.stop())
    worker.serve()


if __name__ == "__main__":
    main()
