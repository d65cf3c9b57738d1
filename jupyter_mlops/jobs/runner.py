"""The job subprocess: `python -m jupyter_mlops.jobs.runner JOB_ID` (or `--standby`), with
the store's URL as the first line of its stdin: never on argv, which every user of the
machine can read (`ps`), and a PostgreSQL URL may hold a password.

Runs one claimed job, sends its own stdout/stderr (and its children's) to the
job log, and writes the final state. SIGTERM cancels."""

from __future__ import annotations

import importlib
import os
import signal
import sys
import threading
import traceback
from typing import Any

from sqlalchemy import select, update

from ..errors import one_line
from ..store import Store
from ..store.schema import Job, Worker, utcnow
from .context import TRACE, JobCancelled, JobContext
from .kinds import PRELOAD, WARM, resolve


def _finish(store: Store, job_id: int, **values: Any) -> None:
    with store.write() as s:
        s.execute(update(Job).where(Job.id == job_id, Job.state == "running").values(finished_at=utcnow(), **values))


def _capture_output(ctx: JobContext) -> threading.Thread:
    """Point fds 1 and 2 at a pipe whose lines go to the job log."""
    read_fd, write_fd = os.pipe()
    os.dup2(write_fd, 1)
    os.dup2(write_fd, 2)
    os.close(write_fd)
    sys.stdout = os.fdopen(1, "w", buffering=1, closefd=False)
    sys.stderr = os.fdopen(2, "w", buffering=1, closefd=False)

    def pump() -> None:
        with os.fdopen(read_fd, "r", errors="replace") as pipe:
            for line in pipe:
                ctx.log(line)

    thread = threading.Thread(target=pump, name="job-output", daemon=True)
    thread.start()
    return thread


def _release_output(pump: threading.Thread) -> None:
    """Close our ends of the log pipe and let the pump drain it."""
    sys.stdout.flush()
    sys.stderr.flush()
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    os.close(devnull)
    pump.join(timeout=2)


def _watch_parent(ctx: JobContext) -> None:
    """End the job if the worker that started it dies (it becomes interrupted)."""
    ctx.orphaned.wait()
    os.kill(os.getpid(), signal.SIGUSR1)


class _Orphaned(BaseException):
    pass


def run(db_url: str, job_id: int, store: Store | None = None) -> int:
    """Run one job to its end (with `store`, one opened already); returns the process exit code."""
    store = store or Store(db_url)
    with store.read() as s:
        job = s.get(Job, job_id)
        if job is None or job.state != "running":
            return 2
        kind, params = job.kind, dict(job.params)
        # The worker that claimed the job started us: its pid is our parent's, so a
        # worker that died while we were still starting is noticed too.
        worker_pid = s.scalar(select(Worker.pid).where(Worker.id == job.worker_id)) if job.worker_id else None

    def on_term(_sig: int, _frame: Any) -> None:
        raise JobCancelled()

    def on_orphan(_sig: int, _frame: Any) -> None:
        raise _Orphaned()

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGUSR1, on_orphan)
    ctx = JobContext(store, job_id, params, parent=worker_pid)
    ctx.start()
    pump = _capture_output(ctx)
    threading.Thread(target=_watch_parent, args=(ctx,), daemon=True).start()
    final: dict[str, Any]
    try:
        result = resolve(kind)(ctx, **params)
        final = {"state": "succeeded", "result": result if isinstance(result, dict) else {"value": result}}
    except JobCancelled:
        final = {"state": "cancelled", "message": "cancelled"}
    except _Orphaned:
        final = {"state": "interrupted", "error": "the worker that started this job stopped"}
    except Exception as exc:  # the job failed: record why
        # The cause in one line for every face; the whole traceback, line by line, in the log.
        ctx.log(traceback.format_exc(), stream=TRACE)
        final = {"state": "failed", "error": one_line(exc)}
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    _release_output(pump)
    ctx.close()
    _finish(store, job_id, **final)
    return 0


def _detach_stdin() -> None:
    """Point fd 0 at /dev/null: the job and its children read nothing from the worker's pipe."""
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)


def standby(db_url: str) -> int:
    """Import what jobs need, then wait for a job id on stdin and run it (end of input: exit).
    The worker keeps one standby runner so a job does not wait for these imports."""
    for module in PRELOAD:
        try:
            importlib.import_module(module)
        except Exception:  # a missing optional library fails later, in the job that needs it
            pass
    for target in WARM:
        module, _, name = target.partition(":")
        try:
            getattr(importlib.import_module(module), name)()
        except Exception:  # as for PRELOAD
            pass
    store = Store(db_url)
    try:  # connected ahead too: the job's first read does not wait for it
        with store.read() as s:
            s.execute(select(1))
    except Exception:  # the job says why, when it runs
        pass
    line = sys.stdin.readline().strip()
    if not line:
        return 0
    _detach_stdin()
    return run(db_url, int(line), store)


def main(argv: list[str]) -> int:
    """Read the store's URL from stdin, then run job `argv[0]` or stand by (`--standby`)."""
    db_url = sys.stdin.readline().strip()
    if not db_url:
        return 0
    if argv[0] == "--standby":
        return standby(db_url)
    _detach_stdin()
    return run(db_url, int(argv[0]))


if __name__ == "__main__":
    code = main(sys.argv[1:])
    # The outcome is committed: skip interpreter teardown (joining library thread pools,
    # closing HTTP clients), which can take half a second after a download.
    os._exit(code)
