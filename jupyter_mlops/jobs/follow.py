"""See a job to its end from any face: run it inline when no server worker is alive,
else follow its row; report every state and each new log line on the way."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import MLOpsError, Unavailable

if TYPE_CHECKING:
    from .queue import JobQueue

#: Seconds between two reads of a job's row while a server worker runs it.
POLL = 0.25
#: Seconds a face follows a job before it gives up waiting (the job goes on).
FOLLOW_TIMEOUT = 86_400.0
LOG_PAGE = 500


@dataclass(frozen=True)
class Followed:
    """A job seen to its end, and where it ran ("inline" or "by the server's worker")."""

    job: dict[str, Any]
    where: str

    def require_success(self, what: str) -> dict[str, Any]:
        """The job, or MLOpsError saying how `what` ended (with the job's error)."""
        if self.job["state"] != "succeeded":
            why = self.job.get("error") or self.job.get("message")
            raise MLOpsError(f"{what} {self.job['state']}" + (f": {why}" if why else ""))
        return self.job


def follow(
    jobs: JobQueue,
    job_id: int,
    *,
    scratch: Path,
    timeout: float = FOLLOW_TIMEOUT,
    on_job: Callable[[dict[str, Any]], None] | None = None,
    on_line: Callable[[str], None] | None = None,
    after: int = 0,
    poll: float = POLL,
) -> Followed:
    """Run job `job_id` inline in a worker of this process when it is still queued and no
    server worker of its place is alive (a plain kernel, the CLI), else follow its row for up to
    `timeout` seconds (Unavailable after that). `on_job` gets every state seen, `on_line`
    each log line after seq `after` but a failure's traceback (`jobs log` shows it).
    `scratch` is the inline job's working folder."""
    from .context import TRACE
    from .queue import ACTIVE_STATES

    seen = after

    def tick() -> dict[str, Any]:
        nonlocal seen
        while on_line is not None:
            page = jobs.log(job_id, after=seen, limit=LOG_PAGE)
            for line in page["lines"]:
                if line["stream"] != TRACE:  # the face shows the job's one-line error instead
                    on_line(line["line"])
            seen = page["next_after"]
            if len(page["lines"]) < LOG_PAGE:
                break
        current = jobs.get(job_id)
        if on_job is not None:
            on_job(current)
        return current

    job = tick()
    if job["state"] == "queued" and not jobs.has_live_worker():
        from .worker import Worker

        Worker(jobs.store, max_jobs=1, scratch=scratch, place=jobs.place).run_job(job_id, on_tick=tick)
        where = "inline"
    else:
        deadline = time.monotonic() + timeout
        while job["state"] in ACTIVE_STATES:
            if time.monotonic() > deadline:
                raise Unavailable(
                    f"job {job_id} is still {job['state']} after {timeout:g} s; follow it with `jobs log {job_id}`"
                )
            time.sleep(poll)
            job = tick()
        where = "by the server's worker"
    return Followed(tick(), where)
