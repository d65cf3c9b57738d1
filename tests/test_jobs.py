"""Durable jobs through real parts: a real SQLite file or PostgreSQL database, workers in their own
processes (`python -m jupyter_mlops.jobs.worker`), job subprocesses
(`python -m jupyter_mlops.jobs.runner`), real signals, and the server extension's
own worker reached over REST. The job kind is `diagnostic.count` (n, delay, fail_at)."""
from __future__ import annotations

import asyncio
import math
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from jupyter_mlops.errors import Conflict, NotFound, one_line
from jupyter_mlops.jobs import FINAL_STATES, JobQueue
from jupyter_mlops.jobs.context import FLUSH_INTERVAL, MAX_LINE, MAX_PIECES, JobContext
from jupyter_mlops.jobs.follow import follow
from jupyter_mlops.jobs.queue import HOST, WORKER_STALE, is_runner_of, pid_alive, place_of
from jupyter_mlops.jobs.worker import Worker
from jupyter_mlops.store import Store
from jupyter_mlops.store.schema import Job, Worker as WorkerRow, utcnow
from jupyter_mlops.config import Settings
from pg_support import db_settings

pytestmark = [pytest.mark.timeout(90), pytest.mark.both_stores]

T = TypeVar("T")
KIND = "diagnostic.count"
START_TIMEOUT = 30.0  # a cold Python + SQLAlchemy import on a busy 2-core machine
PROMPT = 5.0  # what "promptly" means for cancel / kill handling


# -- helpers -------------------------------------------------------------------------

def wait_for(predicate: Callable[[], T], timeout: float, what: str, interval: float = 0.05) -> T:
    """Poll `predicate` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        last = predicate()
        if last:
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")
        time.sleep(interval)


async def await_for(predicate: Callable[[], Awaitable[T]], timeout: float, what: str,
                    interval: float = 0.1) -> T:
    """`wait_for` for the server tests: sleeps without blocking the server's event loop."""
    deadline = time.monotonic() + timeout
    while True:
        last = await predicate()
        if last:
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")
        await asyncio.sleep(interval)


def wait_job(queue: JobQueue, job_id: int, states: tuple[str, ...] | str, timeout: float = START_TIMEOUT,
             cond: Callable[[dict[str, Any]], bool] = lambda j: True) -> dict[str, Any]:
    """The job once it is in one of `states` (and `cond` holds)."""
    states = (states,) if isinstance(states, str) else states
    return wait_for(lambda: (lambda j: j if j["state"] in states and cond(j) else None)(queue.get(job_id)),
                    timeout, f"job {job_id} in {states}")


def job_row(store: Store, job_id: int) -> Job:
    with store.read() as s:
        job = s.get(Job, job_id)
        assert job is not None
        return job


def wait_gone(pid: int, timeout: float = PROMPT) -> None:
    wait_for(lambda: not pid_alive(pid), timeout, f"process {pid} to end")


def all_log(queue: JobQueue, job_id: int) -> list[dict[str, Any]]:
    """Every log line of a job, paging with `after`."""
    lines: list[dict[str, Any]] = []
    after = 0
    for _ in range(1000):
        page = queue.log(job_id, after=after, limit=500)
        if not page["lines"]:
            return lines
        lines += page["lines"]
        after = page["next_after"]
    raise AssertionError("log paging did not end")


PROBES = {
    "sqlite": [
        "CREATE TABLE probe_updates (job_id INTEGER, done REAL, log_count INTEGER)",
        "CREATE TABLE probe_claims (job_id INTEGER)",
        """CREATE TRIGGER probe_jobs_update AFTER UPDATE ON jobs
           BEGIN INSERT INTO probe_updates VALUES (NEW.id, NEW.progress_done, NEW.log_count); END""",
        """CREATE TRIGGER probe_jobs_claim AFTER UPDATE OF started_at ON jobs
           BEGIN INSERT INTO probe_claims VALUES (NEW.id); END""",
    ],
    "postgresql": [
        "CREATE TABLE probe_updates (job_id BIGINT, done DOUBLE PRECISION, log_count INTEGER)",
        "CREATE TABLE probe_claims (job_id BIGINT)",
        """CREATE FUNCTION probe_update() RETURNS trigger LANGUAGE plpgsql AS $$
           BEGIN INSERT INTO probe_updates VALUES (NEW.id, NEW.progress_done, NEW.log_count); RETURN NEW; END $$""",
        """CREATE FUNCTION probe_claim() RETURNS trigger LANGUAGE plpgsql AS $$
           BEGIN INSERT INTO probe_claims VALUES (NEW.id); RETURN NEW; END $$""",
        """CREATE TRIGGER probe_jobs_update AFTER UPDATE ON jobs FOR EACH ROW EXECUTE FUNCTION probe_update()""",
        """CREATE TRIGGER probe_jobs_claim AFTER UPDATE OF started_at ON jobs FOR EACH ROW
           EXECUTE FUNCTION probe_claim()""",
    ],
}


def install_probes(store: Store) -> None:
    """Triggers that record, from whichever process writes, every UPDATE of a job row and
    every claim (a write of started_at)."""
    with store.write() as s:
        for sql in PROBES[s.get_bind().dialect.name]:
            s.execute(text(sql))


def probe_count(store: Store, table: str, job_id: int) -> int:
    with store.read() as s:
        return s.scalar(text(f"SELECT count(*) FROM {table} WHERE job_id = :job"), {"job": job_id}) or 0


def kill_leftover_runners(store: Store) -> None:
    """SIGKILL every job subprocess still alive for a job of this store."""
    try:
        with store.read() as s:
            rows = s.execute(select(Job.id, Job.pid).where(Job.pid.is_not(None))).all()
    except Exception:
        return
    for job_id, pid in rows:
        if is_runner_of(pid, job_id):
            try:
                os.killpg(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


# -- fixtures ------------------------------------------------------------------------

@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "ws" / ".mlops" / "mlops.db"


@pytest.fixture
def store(db: Path, db_url: str | None) -> Iterator[Store]:
    """A migrated store on a real file (or PostgreSQL database); job subprocesses left behind
    are killed after."""
    st = Store(db_url or f"sqlite:///{db}")
    st.upgrade()
    yield st
    kill_leftover_runners(st)
    st.dispose()


@pytest.fixture
def queue(store: Store) -> JobQueue:
    return JobQueue(store)


class WorkerProcess:
    """A standalone worker: `JUPYTER_MLOPS_DB_URL=... python -m jupyter_mlops.jobs.worker`."""

    def __init__(self, store: Store, cwd: Path) -> None:
        self.store = store
        self.proc = subprocess.Popen([sys.executable, "-m", "jupyter_mlops.jobs.worker"], cwd=cwd,
                                     stdin=subprocess.DEVNULL, env={**os.environ, "JUPYTER_MLOPS_DB_URL": store.url})
        self.id: int = wait_for(self._registered, START_TIMEOUT, "the worker process to register")

    def _registered(self) -> int | None:
        assert self.proc.poll() is None, f"worker exited with {self.proc.returncode}"
        with self.store.read() as s:
            return s.scalar(select(WorkerRow.id).where(WorkerRow.pid == self.proc.pid,
                                                       WorkerRow.stopped_at.is_(None)))

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def start_worker(store: Store, tmp_path: Path) -> Iterator[Callable[[], WorkerProcess]]:
    """Start worker processes; every one is stopped (or reaped) after the test."""
    started: list[WorkerProcess] = []

    def start() -> WorkerProcess:
        w = WorkerProcess(store, tmp_path)
        started.append(w)
        return w

    yield start
    for w in started:
        w.stop()


def running_with_progress(min_done: float) -> Callable[[dict[str, Any]], bool]:
    return lambda j: j["progress"]["done"] >= min_done


# -- queue, states, progress and log seen from another process ------------------------

def start_long_job(queue: JobQueue, store: Store, min_done: float = 1) -> tuple[dict[str, Any], int]:
    """Submit a 30 s counting job, wait until it runs with progress; return it and its
    subprocess's pid (checked to be that job's runner)."""
    job = queue.submit(KIND, {"n": 300, "delay": 0.1})
    wait_job(queue, job["id"], "running", cond=running_with_progress(min_done))
    pid = job_row(store, job["id"]).pid
    assert pid and is_runner_of(pid, job["id"])
    return job, pid


def test_job_runs_in_worker_process_with_progress_and_log_visible_here(
        queue: JobQueue, store: Store, start_worker: Callable[[], WorkerProcess]) -> None:
    worker = start_worker()
    n = 20
    job = queue.submit(KIND, {"n": n, "delay": 0.1}, owner="alice")
    assert job["state"] == "queued" and job["owner"] == "alice" and job["started_at"] is None
    assert job["progress"]["done"] == 0 and job["created_at"]

    # Mid-way, read by this process while the worker's subprocess writes.
    mid = wait_job(queue, job["id"], "running", cond=lambda j: 3 <= j["progress"]["done"] < n)
    assert mid["progress"]["total"] == n and mid["progress"]["unit"] == "steps"
    assert mid["message"].startswith("step ") and mid["finished_at"] is None and mid["started_at"]
    assert 0 < mid["progress"]["fraction"] < 1
    partial = queue.log(job["id"], after=0)
    assert partial["state"] == "running" and partial["lines"]
    rated = wait_job(queue, job["id"], ("running", "succeeded"),
                     cond=lambda j: j["state"] == "running" and j["progress"]["rate"] is not None)
    assert 0 < rated["progress"]["rate"] <= 1 / 0.1 * 1.2  # steps a second; a step takes >= 0.1 s
    assert rated["progress"]["eta_seconds"] is not None

    row = job_row(store, job["id"])
    assert row.worker_id == worker.id and row.pid and row.pid != worker.pid
    assert is_runner_of(row.pid, job["id"])  # its own subprocess: python -m jupyter_mlops.jobs.runner

    done = wait_job(queue, job["id"], ("succeeded", "failed", "cancelled", "interrupted"))
    assert done["state"] == "succeeded", done
    assert done["result"] == {"counted": n} and done["error"] is None
    assert done["progress"]["done"] == n and done["progress"]["fraction"] == 1
    created, started, finished = (datetime.fromisoformat(done[k]) for k in ("created_at", "started_at",
                                                                           "finished_at"))
    assert created <= started <= finished and done["elapsed_seconds"] >= n * 0.1 * 0.9

    lines = all_log(queue, job["id"])
    assert [ln["seq"] for ln in lines] == list(range(1, n + 1))
    assert [ln["line"] for ln in lines] == [f"step {i} of {n}" for i in range(1, n + 1)]
    assert all(ln["stream"] == "out" for ln in lines)
    tail = queue.log(job["id"], after=15)
    assert [ln["seq"] for ln in tail["lines"]] == [16, 17, 18, 19, 20] and tail["next_after"] == 20
    assert tail["state"] == "succeeded" and tail["log_count"] == n
    assert queue.log(job["id"], after=20)["lines"] == []
    wait_gone(row.pid)
    assert worker.alive()


def test_two_workers_claim_each_job_once_each_in_its_own_subprocess(
        queue: JobQueue, store: Store, start_worker: Callable[[], WorkerProcess]) -> None:
    install_probes(store)
    workers = [start_worker(), start_worker()]
    ids = [queue.submit(KIND, {"n": 3, "delay": 0.05})["id"] for _ in range(6)]
    for job_id in ids:
        assert wait_job(queue, job_id, ("succeeded", "failed", "cancelled", "interrupted"),
                        timeout=60)["state"] == "succeeded"
    rows = [job_row(store, i) for i in ids]
    assert all(probe_count(store, "probe_claims", i) == 1 for i in ids)  # claimed exactly once
    assert len({r.pid for r in rows}) == len(ids)  # one subprocess per job
    assert not {r.pid for r in rows} & {w.pid for w in workers}
    assert {r.worker_id for r in rows} == {w.id for w in workers}  # both took work
    assert all(len(all_log(queue, i)) == 3 for i in ids)


def test_progress_and_log_writes_are_rate_bounded(queue: JobQueue, store: Store) -> None:
    install_probes(store)
    n = 10_000  # 10,000 ctx.progress calls and 10,000 log lines, as fast as the job can
    job = queue.submit(KIND, {"n": n, "delay": 0.0001})
    done = Worker(store).run_job(job["id"])
    assert done["state"] == "succeeded", done
    updates = probe_count(store, "probe_updates", job["id"])
    # claim + pid + final state, plus at most one flush per FLUSH_INTERVAL of runtime (+ the closing one)
    allowed = 3 + math.ceil(done["elapsed_seconds"] / FLUSH_INTERVAL) + 3
    assert 2 < updates <= allowed, (updates, done["elapsed_seconds"])
    assert updates < 100  # versus 10,000 progress calls
    lines = all_log(queue, job["id"])
    assert len(lines) == n and [ln["seq"] for ln in lines] == list(range(1, n + 1))
    assert lines[0]["line"] == f"step 1 of {n}" and lines[-1]["line"] == f"step {n} of {n}"
    assert done["log_count"] == n and done["progress"]["done"] == n


def test_progress_stays_cheap_in_a_tight_loop_past_the_rate_window(
        queue: JobQueue, store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """A download reports progress per chunk for minutes: each call must stay cheap
    once the rate window is full (the window is shortened here to keep the test quick)."""
    from jupyter_mlops.jobs import context

    monkeypatch.setattr(context, "RATE_WINDOW", 0.5)
    job = queue.submit(KIND, {"n": 1})
    ctx = context.JobContext(store, job["id"], {})

    def spin(seconds: float, done: int) -> int:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            ctx.progress(done, 10**12, "B")
            done += 1
        return done

    first = spin(0.5, 0)  # fills the window
    second = spin(1.0, first) - first  # runs with a full window
    assert first > 1000
    assert second > first / 4, (first, second)  # same speed would give 2x first
    ctx.flush()
    row = queue.get(job["id"])
    assert row["progress"]["done"] == first + second - 1 and row["progress"]["unit"] == "B"
    assert row["progress"]["rate"] > second / 4  # calls a second, roughly


def test_rate_starts_again_when_the_unit_changes(queue: JobQueue, store: Store) -> None:
    """A build sends its context in bytes, then counts steps: the steps' rate must not be
    measured against the bytes (it went negative: -10519235.48 steps a second)."""
    from jupyter_mlops.jobs import context

    job = queue.submit(KIND, {"n": 1})
    ctx = context.JobContext(store, job["id"], {})
    for i in range(1, 6):  # 5 MB sent over ~0.5 s
        ctx.progress(i * 1_000_000, 5_000_000, "B", "sending context")
        time.sleep(0.1)
    ctx.flush()
    sending = queue.get(job["id"])["progress"]
    assert sending["unit"] == "B" and sending["rate"] > 1_000_000
    rates = []
    for step in range(1, 5):
        ctx.progress(step, 4, "steps", f"step {step}/4")
        ctx.flush()
        rates.append(queue.get(job["id"])["progress"]["rate"])
        time.sleep(0.3)
    assert rates[0] is None  # one sample of the new unit: no rate yet
    assert all(r is None or 0 < r < 10 for r in rates), rates  # steps a second, never negative
    assert rates[-1] is not None


# -- cancel ----------------------------------------------------------------------------

def test_cancel_running_job_from_another_process(
        queue: JobQueue, store: Store, start_worker: Callable[[], WorkerProcess]) -> None:
    worker = start_worker()
    job, pid = start_long_job(queue, store, min_done=2)
    t0 = time.monotonic()
    answer = queue.cancel(job["id"])
    assert answer["cancel_requested"] is True
    final = wait_job(queue, job["id"], ("cancelled", "failed", "succeeded", "interrupted"), timeout=PROMPT)
    took = time.monotonic() - t0
    assert final["state"] == "cancelled", final
    assert took < PROMPT and final["finished_at"] and final["progress"]["done"] < 300
    wait_gone(pid)
    with pytest.raises(Conflict):
        queue.cancel(job["id"])
    assert worker.alive()
    # The worker still runs jobs after a cancel.
    nxt = queue.submit(KIND, {"n": 2, "delay": 0.01})
    assert wait_job(queue, nxt["id"], ("succeeded", "failed"))["state"] == "succeeded"


def test_cancel_queued_job_at_once_and_finished_job_conflicts(queue: JobQueue, store: Store) -> None:
    job = queue.submit(KIND, {"n": 1, "delay": 0})
    cancelled = queue.cancel(job["id"])  # no worker runs: it never started
    assert cancelled["state"] == "cancelled" and cancelled["finished_at"] and cancelled["started_at"] is None
    assert queue.get(job["id"])["state"] == "cancelled"
    with pytest.raises(Conflict):
        queue.cancel(job["id"])
    # A worker does not run a cancelled job.
    assert Worker(store).run_job(job["id"])["state"] == "cancelled"
    assert job_row(store, job["id"]).pid is None

    ok = queue.submit(KIND, {"n": 1, "delay": 0})
    assert Worker(store).run_job(ok["id"])["state"] == "succeeded"
    with pytest.raises(Conflict):
        queue.cancel(ok["id"])
    assert queue.get(ok["id"])["state"] == "succeeded"
    with pytest.raises(NotFound):
        queue.cancel(987654)


# -- crashes ---------------------------------------------------------------------------

def test_kill9_of_job_subprocess_fails_job_and_worker_goes_on(
        queue: JobQueue, store: Store, start_worker: Callable[[], WorkerProcess]) -> None:
    worker = start_worker()
    job, pid = start_long_job(queue, store, min_done=1)
    os.kill(pid, signal.SIGKILL)
    final = wait_job(queue, job["id"], ("failed", "cancelled", "succeeded", "interrupted"), timeout=PROMPT)
    assert final["state"] == "failed", final
    assert "killed by signal 9" in final["error"]
    assert worker.alive()
    nxt = queue.submit(KIND, {"n": 2, "delay": 0.01})
    assert wait_job(queue, nxt["id"], ("succeeded", "failed"))["state"] == "succeeded"
    assert job_row(store, nxt["id"]).worker_id == worker.id


def test_kill9_of_worker_interrupts_job_and_ends_orphan(
        queue: JobQueue, store: Store, start_worker: Callable[[], WorkerProcess]) -> None:
    worker = start_worker()
    job, pid = start_long_job(queue, store, min_done=1)
    worker.proc.kill()
    worker.proc.wait(timeout=10)
    # The job subprocess notices that its worker died: no server is needed for this.
    final = wait_job(queue, job["id"], ("interrupted", "failed", "cancelled", "succeeded"), timeout=PROMPT)
    assert final["state"] == "interrupted", final
    assert final["error"] and final["finished_at"]
    wait_gone(pid)
    # A new worker leaves it interrupted and runs new work.
    start_worker()
    assert queue.get(job["id"])["state"] == "interrupted"
    nxt = queue.submit(KIND, {"n": 2, "delay": 0.01})
    assert wait_job(queue, nxt["id"], ("succeeded", "failed"))["state"] == "succeeded"


def test_kill9_of_worker_and_job_then_new_worker_marks_interrupted(
        queue: JobQueue, store: Store, start_worker: Callable[[], WorkerProcess]) -> None:
    worker = start_worker()
    job, pid = start_long_job(queue, store, min_done=1)
    # Freeze both first so neither can notice the other's death, then kill both.
    os.kill(worker.pid, signal.SIGSTOP)
    os.kill(pid, signal.SIGSTOP)
    os.kill(pid, signal.SIGKILL)
    worker.proc.kill()
    worker.proc.wait(timeout=10)
    wait_gone(pid)
    time.sleep(0.5)
    assert queue.get(job["id"])["state"] == "running"  # nobody is left to say otherwise
    assert not queue.has_live_worker()
    start_worker()  # its start marks the job left running by a dead process
    final = wait_job(queue, job["id"], ("interrupted", "failed", "cancelled", "succeeded"), timeout=PROMPT)
    assert final["state"] == "interrupted" and final["error"], final
    nxt = queue.submit(KIND, {"n": 2, "delay": 0.01})
    assert wait_job(queue, nxt["id"], ("succeeded", "failed"))["state"] == "succeeded"


def test_worker_survives_a_store_error_and_goes_on(
        store: Store, queue: JobQueue, start_worker: Callable[[], WorkerProcess]) -> None:
    """A failing store query (here: the jobs table briefly missing) must not end the worker."""
    worker = start_worker()
    with store.write() as s:
        s.execute(text("ALTER TABLE jobs RENAME TO jobs_away"))
    time.sleep(1.0)  # several ticks fail
    with store.write() as s:
        s.execute(text("ALTER TABLE jobs_away RENAME TO jobs"))
    assert worker.alive(), "the worker process died on a store error"
    job = queue.submit(KIND, {"n": 2, "delay": 0.01})
    assert wait_job(queue, job["id"], ("succeeded", "failed"))["state"] == "succeeded"
    assert worker.alive()


# -- inline worker (a kernel or the CLI with no server) --------------------------------

def test_inline_run_succeeds_and_failure_is_recorded_with_traceback(queue: JobQueue, store: Store,
                                                                    tmp_path: Path) -> None:
    ok = queue.submit(KIND, {"n": 3, "delay": 0.01})
    ticks: list[int] = []
    done = Worker(store).run_job(ok["id"], on_tick=lambda: ticks.append(1))
    assert done["state"] == "succeeded" and done["result"] == {"counted": 3}
    assert [ln["line"] for ln in all_log(queue, ok["id"])] == ["step 1 of 3", "step 2 of 3", "step 3 of 3"]
    assert ticks
    assert not queue.has_live_worker()  # the inline worker deregistered

    bad = queue.submit(KIND, {"n": 5, "delay": 0.01, "fail_at": 3})
    failed = Worker(store).run_job(bad["id"])
    assert failed["state"] == "failed"
    assert failed["error"] == "RuntimeError: asked to fail at step 3"
    assert failed["progress"]["done"] == 2 and failed["finished_at"]
    lines = all_log(queue, bad["id"])
    assert [ln["line"] for ln in lines[:2]] == ["step 1 of 5", "step 2 of 5"]
    # The traceback is kept whole, one log line per line, on its own stream.
    trace = [ln["line"] for ln in lines if ln["stream"] == "trace"]
    assert trace[0] == "Traceback (most recent call last):" and trace[-1] == "RuntimeError: asked to fail at step 3"
    assert any("diagnostic.py" in ln for ln in trace) and not any("\n" in ln for ln in trace)
    assert [ln["stream"] for ln in lines] == ["out", "out"] + ["trace"] * len(trace)

    # A face following the job sees the job's lines, not the traceback (it shows the one-line error).
    seen: list[str] = []
    follow(queue, bad["id"], scratch=tmp_path, on_line=seen.append)
    assert seen == ["step 1 of 5", "step 2 of 5"]


def test_a_long_line_is_kept_as_continuation_lines(store: Store, queue: JobQueue) -> None:
    job = queue.submit(KIND, {"n": 1})
    ctx = JobContext(store, job["id"], {})
    path = "/very/long/" + "segment/" * 1000 + "end.bin"  # 8,015 characters: over MAX_LINE
    ctx.log(f"first\n{path}\nlast")
    ctx.log("x" * (MAX_LINE * (MAX_PIECES + 2)))
    ctx.flush()
    lines = [ln["line"] for ln in all_log(queue, job["id"])]
    assert lines[0] == "first" and "".join(lines[1:4]) == path and lines[4] == "last"
    assert [len(ln) for ln in lines[1:4]] == [MAX_LINE, MAX_LINE, len(path) - 2 * MAX_LINE]
    rest = lines[5:]
    assert len(rest) == MAX_PIECES + 1 and rest[-1] == f"… {2 * MAX_LINE} more characters cut"


def test_log_after_any_whole_number_answers(store: Store, queue: JobQueue) -> None:
    """`after` past every line number the column can hold (32 bits) is no line, not an error."""
    job = queue.submit(KIND, {"n": 1})
    ctx = JobContext(store, job["id"], {})
    ctx.log("only")
    ctx.flush()
    for after in (2**31, 2**63 - 1):
        page = queue.log(job["id"], after=after)
        assert page["lines"] == [] and page["next_after"] == after


def test_one_line_names_the_cause_not_the_chain() -> None:
    try:
        try:
            raise OSError("[Errno 111] Connection refused")
        except OSError as inner:
            raise RuntimeError("download failed\nmore detail on a second line") from inner
    except RuntimeError as exc:
        assert one_line(exc) == "RuntimeError: download failed"
    assert one_line(NotFound("model 'x' does not exist")) == "model 'x' does not exist"
    assert one_line(KeyError()) == "KeyError"


def test_dedupe_returns_the_active_job(queue: JobQueue) -> None:
    first = queue.submit(KIND, {"n": 1}, dedupe_key="download:org/model@main")
    assert "deduplicated" not in first
    again = queue.submit(KIND, {"n": 1}, dedupe_key="download:org/model@main")
    assert again["id"] == first["id"] and again["deduplicated"] is True
    other = queue.submit(KIND, {"n": 1}, dedupe_key="download:org/other@main")
    assert other["id"] != first["id"]
    queue.cancel(first["id"])  # no longer active: a new job
    fresh = queue.submit(KIND, {"n": 1}, dedupe_key="download:org/model@main")
    assert fresh["id"] not in (first["id"], other["id"]) and "deduplicated" not in fresh
    assert queue.counts()["queued"] == 2 and queue.counts()["cancelled"] == 1


def test_dedupe_keys_longer_than_their_column_still_tell_jobs_apart(queue: JobQueue) -> None:
    """A key of a long interpreter path (`deps:<python>`) fits the column on PostgreSQL too."""
    long = "deps:/" + "d" * 1000
    first = queue.submit(KIND, {"n": 1}, dedupe_key=long + "/a")
    assert queue.submit(KIND, {"n": 1}, dedupe_key=long + "/a")["id"] == first["id"]
    assert queue.submit(KIND, {"n": 1}, dedupe_key=long + "/b")["id"] != first["id"]


def test_dedupe_holds_when_submitters_race(queue: JobQueue, store: Store) -> None:
    """Eight submitters on their own connections, released at once, one key: one job."""
    import threading

    stores = [Store(store.url) for _ in range(8)]
    barrier = threading.Barrier(len(stores))
    answers: list[dict[str, Any]] = []
    errors: list[BaseException] = []

    def submit(st: Store) -> None:
        try:
            barrier.wait(timeout=10)
            answers.append(JobQueue(st).submit(KIND, {"n": 1}, dedupe_key="race"))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=submit, args=(st,)) for st in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    for st in stores:
        st.dispose()
    assert not errors and len(answers) == len(stores)
    assert len({a["id"] for a in answers}) == 1
    assert sum(1 for a in answers if a.get("deduplicated")) == len(stores) - 1
    assert queue.counts()["queued"] == 1


# -- the server extension's worker -------------------------------------------------------

async def test_server_worker_runs_and_cancels_jobs(api: Any, jp_root_dir: Path, db_url: str | None) -> None:
    code, body = await api("GET", "health")
    assert code == 200, body
    ws = Settings.of(jp_root_dir, **db_settings(db_url)).workspace
    assert db_url or (ws.sqlite_path == jp_root_dir / ".mlops" / "mlops.db" and ws.sqlite_path.exists())
    store = Store(ws.db_url)  # this test process's own engine on the server's store
    queue = JobQueue(store)
    try:
        job = queue.submit(KIND, {"n": 4, "delay": 0.05})

        async def job_in(job_id: int, states: tuple[str, ...], cond: Callable[[dict[str, Any]], bool]
                         = lambda j: True) -> Callable[[], Awaitable[dict[str, Any] | None]]:
            async def check() -> dict[str, Any] | None:
                code, body = await api("GET", f"jobs/{job_id}")
                assert code == 200, body
                return body if body["state"] in states and cond(body) else None
            return check

        done = await await_for(await job_in(job["id"], ("succeeded", "failed", "cancelled", "interrupted")),
                               START_TIMEOUT, "the server's worker to finish the job")
        assert done["state"] == "succeeded" and done["result"] == {"counted": 4}, done
        code, log = await api("GET", f"jobs/{job['id']}/log", after=0)
        assert code == 200, log
        assert [ln["line"] for ln in log["lines"]] == [f"step {i} of 4" for i in range(1, 5)]
        code, log = await api("GET", f"jobs/{job['id']}/log", after=2)
        assert [ln["seq"] for ln in log["lines"]] == [3, 4] and log["next_after"] == 4

        long = queue.submit(KIND, {"n": 300, "delay": 0.1})
        await await_for(await job_in(long["id"], ("running",), running_with_progress(1)),
                        START_TIMEOUT, "the long job to run")
        pid = job_row(store, long["id"]).pid
        assert pid and is_runner_of(pid, long["id"])
        t0 = time.monotonic()
        code, body = await api("POST", f"jobs/{long['id']}/cancel")
        assert code == 200 and body["cancel_requested"] is True, body
        final = await await_for(await job_in(long["id"], ("cancelled", "failed", "succeeded", "interrupted")),
                                PROMPT, "the cancel")
        assert final["state"] == "cancelled" and time.monotonic() - t0 < PROMPT, final
        await await_for(lambda: asyncio.sleep(0, not pid_alive(pid)), PROMPT, "the job process to end")
        code, body = await api("POST", f"jobs/{long['id']}/cancel")
        assert code == 409, body
    finally:
        kill_leftover_runners(store)
        store.dispose()


def test_the_store_url_is_on_no_process_argv(store: Store, tmp_path: Path) -> None:
    """`ps` shows every process's arguments to every user: the worker and its job runners
    get the store's URL (a PostgreSQL one may hold a password) by environment and stdin."""
    url = store.url
    if store.is_postgresql:  # the test cluster trusts local clients and ignores the password
        url = make_url(url).set(password="s3cret-pw").render_as_string(hide_password=False)
    secret = "s3cret-pw" if store.is_postgresql else url
    own = Store(url)
    worker = WorkerProcess(own, tmp_path)
    try:
        job, pid = start_long_job(JobQueue(own), own)
        for proc in (worker.pid, pid):
            with open(f"/proc/{proc}/cmdline", "rb") as fh:
                argv = fh.read().decode()
            assert "jupyter_mlops.jobs" in argv and secret not in argv, argv
        JobQueue(own).cancel(job["id"])
    finally:
        worker.stop()
        own.dispose()


def test_kill9_of_worker_while_job_process_starts_still_interrupts(
        queue: JobQueue, store: Store, start_worker: Callable[[], WorkerProcess]) -> None:
    """The worker dies before its job subprocess is even up (still importing)."""
    worker = start_worker()
    job = queue.submit(KIND, {"n": 300, "delay": 0.1})
    pid = wait_for(lambda: job_row(store, job["id"]).pid, START_TIMEOUT, "the job subprocess to be started",
                   interval=0.005)
    worker.proc.kill()
    worker.proc.wait(timeout=10)
    final = wait_job(queue, job["id"], ("interrupted", "failed", "cancelled", "succeeded"), timeout=START_TIMEOUT)
    assert final["state"] == "interrupted", final
    wait_gone(pid)


# -- standby runner ----------------------------------------------------------------------

def standby_runners(worker_pid: int) -> list[int]:
    """Pids of `--standby` runner processes whose parent is `worker_pid`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            args = (entry / "cmdline").read_bytes().split(b"\0")
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if b"jupyter_mlops.jobs.runner" in args and b"--standby" in args and ppid == worker_pid:
            found.append(int(entry.name))
    return found


def test_serving_worker_hands_jobs_to_a_ready_standby_runner_and_ends_it_on_stop(
        queue: JobQueue, store: Store, start_worker: Callable[[], WorkerProcess]) -> None:
    worker = start_worker()
    (first,) = wait_for(lambda: standby_runners(worker.pid) or None, START_TIMEOUT, "a standby runner")
    job = queue.submit(KIND, {"n": 200, "delay": 0.05})
    wait_job(queue, job["id"], "running", cond=running_with_progress(1))
    assert job_row(store, job["id"]).pid == first  # the job ran in the runner that was waiting
    assert is_runner_of(first, job["id"])
    # no next standby takes CPU from the running job
    assert [p for p in standby_runners(worker.pid) if p != first] == []
    queue.cancel(job["id"])  # from this process: the signal reaches a runner started as standby
    assert wait_job(queue, job["id"], FINAL_STATES, timeout=PROMPT)["state"] == "cancelled"
    (second,) = wait_for(lambda: [p for p in standby_runners(worker.pid) if p != first] or None,
                         START_TIMEOUT, "the next standby runner, once the worker is idle")
    worker.stop()
    wait_gone(second)  # its input closed with the worker: the standby ends


def test_standby_runner_ends_when_its_worker_is_killed(start_worker: Callable[[], WorkerProcess]) -> None:
    worker = start_worker()
    (standby,) = wait_for(lambda: standby_runners(worker.pid) or None, START_TIMEOUT, "a standby runner")
    os.kill(worker.pid, signal.SIGKILL)
    worker.proc.wait()
    wait_gone(standby)


# -- places: where a job may run ---------------------------------------------------------

def test_a_worker_claims_its_places_jobs_and_jobs_any_worker_may_run(store: Store, tmp_path: Path) -> None:
    here, there = place_of(tmp_path / "ada"), place_of(tmp_path / "bob")
    ada, bob = JobQueue(store, here), JobQueue(store, there)
    repair = bob.submit("deps.repair", {"python": sys.executable}, dedupe_key="deps:x")
    assert repair["place"] == {"host": HOST, "workspace": str((tmp_path / "bob").resolve())}
    anywhere = bob.submit(KIND, {"n": 1})
    assert anywhere["place"] is None, "a job that touches no local file may run on any worker"
    # the same dedupe key in another workspace is another job; in the same one, the twin
    assert ada.submit("deps.repair", {"python": sys.executable}, dedupe_key="deps:x")["id"] != repair["id"]
    assert bob.submit("deps.repair", {"python": sys.executable}, dedupe_key="deps:x")["deduplicated"] is True

    worker = Worker(store, place=here)
    worker.register()
    try:
        assert worker._claim(repair["id"]) is False, "Bob's repair is not Ada's worker's to run"
        assert job_row(store, repair["id"]).state == "queued"
        assert worker._claim(anywhere["id"]) is True
        wait_for(lambda: job_row(store, anywhere["id"]).state == "succeeded" or worker.tick(claim=False),
                 START_TIMEOUT, "the job any worker may run")
    finally:
        worker.shutdown()
    assert ada.has_live_worker() is False and bob.has_live_worker() is False


def test_a_worker_on_a_place_counts_as_live_only_for_that_place(store: Store, tmp_path: Path) -> None:
    here, there = place_of(tmp_path / "ada"), place_of(tmp_path / "bob")
    worker = Worker(store, place=here)
    worker.register()
    try:
        assert JobQueue(store, here).has_live_worker() is True
        # a kernel in Bob's workspace runs its job inline rather than wait for Ada's server
        assert JobQueue(store, there).has_live_worker() is False
    finally:
        worker.shutdown()


def test_a_silent_worker_on_another_host_has_its_running_jobs_interrupted(store: Store, queue: JobQueue) -> None:
    """A server elsewhere that stopped heart-beating: any other server's sweep marks its job."""
    job = queue.submit(KIND, {"n": 300, "delay": 0.1})
    stale = utcnow() - WORKER_STALE - timedelta(seconds=1)
    with store.write() as s:
        far = WorkerRow(host="elsewhere.example", pid=1, started_at=stale, heartbeat_at=stale)
        s.add(far)
        s.flush()
        row = s.get(Job, job["id"])
        assert row is not None
        row.state, row.worker_id, row.host, row.pid = "running", far.id, "elsewhere.example", 1
    assert queue.recover() == [job["id"]]
    assert queue.get(job["id"])["state"] == "interrupted"
    assert queue.recover() == [], "nothing left to mark; nothing written"
