"""What a running job sees: progress, log lines and cancel, written to the store
at a bounded rate by a background flusher."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import insert, update

from ..store import Store
from ..store.schema import Job, JobLog, utcnow

FLUSH_INTERVAL = 0.25
HEARTBEAT_INTERVAL = 5.0
MAX_LINE = 4000
#: A log line longer than MAX_LINE is kept as continuation lines, up to this many; the rest is cut.
MAX_PIECES = 16
#: The stream of a failed job's traceback: kept in the log, but not shown as the job runs.
TRACE = "trace"
RATE_WINDOW = 5.0
RATE_SAMPLE = 0.1  # at most one rate sample per this many seconds


class JobCancelled(BaseException):
    """Raised inside a job when it is cancelled; a BaseException so broad
    `except Exception` blocks in job code do not swallow it."""


@contextmanager
def stop_on_term(event: threading.Event, on_stop: Callable[[], None] | None = None) -> Iterator[threading.Event]:
    """While inside (in the main thread), the first SIGTERM sets `event`, so a transfer's
    threads stop at their next chunk, calls `on_stop` (to stop transfers that watch no
    event), then cancels the job as before (the previous handler, else JobCancelled); a
    later one is ignored (a cancel may signal twice: the queue and the worker), so the
    cleanup after a cancel is not cut short. Elsewhere it does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield event
        return
    previous = signal.getsignal(signal.SIGTERM)

    def on_term(signum: int, frame: Any) -> None:
        if event.is_set():
            return
        event.set()
        if on_stop is not None:
            on_stop()
        if callable(previous):
            previous(signum, frame)
        else:
            raise JobCancelled()

    signal.signal(signal.SIGTERM, on_term)
    try:
        yield event
    finally:
        if not event.is_set():
            signal.signal(signal.SIGTERM, previous)


class JobContext:
    """Progress and log sink for one job; thread-safe, flushed every FLUSH_INTERVAL."""

    def __init__(self, store: Store, job_id: int, params: dict[str, Any], *, parent: int | None = None) -> None:
        self.store = store
        self.job_id = job_id
        self.params = params
        self._lock = threading.Lock()
        self._lines: list[tuple[str, str, Any]] = []
        self._progress: dict[str, Any] | None = None
        self._samples: deque[tuple[float, float]] = deque()
        self._unit = ""
        self._seq = 0
        self._last_heartbeat = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # The worker's pid: if we are already orphaned at start, getppid() is not it.
        self._parent = parent if parent is not None else os.getppid()
        self.orphaned = threading.Event()

    # -- called by job code --------------------------------------------------------
    def progress(self, done: float, total: float | None = None, unit: str = "", message: str | None = None) -> None:
        """Report progress; cheap to call often (only the latest is written)."""
        now = time.monotonic()
        with self._lock:
            if unit != self._unit or (self._samples and done < self._samples[-1][1]):
                # A new unit (bytes sent, then build steps) or a count that went back
                # starts a new rate: the old samples measure something else.
                self._samples.clear()
                self._unit = unit
            # Thinned samples in a deque: a job calling this in a tight loop must not
            # pile up (and then shift) one sample per call.
            if not self._samples or now - self._samples[-1][0] >= RATE_SAMPLE:
                self._samples.append((now, float(done)))
            while len(self._samples) > 2 and now - self._samples[0][0] > RATE_WINDOW:
                self._samples.popleft()
            first_t, first_done = self._samples[0]
            rate = (done - first_done) / (now - first_t) if now - first_t > 0.2 else None
            self._progress = {
                "progress_done": float(done),
                "progress_total": total,
                "progress_unit": unit,
                "progress_rate": rate,
            }
            if message is not None:
                self._progress["message"] = message[:MAX_LINE]

    def log(self, text: str, stream: str = "out") -> None:
        """Append `text` as log lines: one per line of it, a long line as continuation
        lines of MAX_LINE characters (MAX_PIECES at most, then cut with a mark)."""
        at = utcnow()
        rows: list[tuple[str, str, Any]] = []
        for line in text.rstrip("\n").split("\n"):
            pieces = [line[i : i + MAX_LINE] for i in range(0, len(line), MAX_LINE)] or [""]
            if len(pieces) > MAX_PIECES:
                pieces = [*pieces[:MAX_PIECES], f"… {len(line) - MAX_PIECES * MAX_LINE} more characters cut"]
            rows.extend((stream, piece, at) for piece in pieces)
        with self._lock:
            self._lines.extend(rows)

    # -- flushing ------------------------------------------------------------------
    def start(self) -> None:
        """Start the background flusher."""
        self._thread = threading.Thread(target=self._run, name=f"job-{self.job_id}-flush", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop the flusher and write what is pending."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.flush()

    def _run(self) -> None:
        while not self._stop.wait(FLUSH_INTERVAL):
            if os.getppid() != self._parent:
                self.orphaned.set()
            try:
                self.flush()
            except Exception:  # a busy store must not kill the job; the next flush retries
                pass

    def flush(self) -> None:
        """Write pending progress, log lines and the heartbeat in one short transaction."""
        with self._lock:
            lines, self._lines = self._lines, []
            progress, self._progress = self._progress, None
        now = time.monotonic()
        beat = now - self._last_heartbeat >= HEARTBEAT_INTERVAL
        if not lines and not progress and not beat:
            return
        values: dict[str, Any] = dict(progress or {})
        if beat:
            values["heartbeat_at"] = utcnow()
        try:
            with self.store.write() as s:
                if lines:
                    s.execute(
                        insert(JobLog),
                        [
                            {"job_id": self.job_id, "seq": self._seq + i + 1, "stream": stream, "line": line, "at": at}
                            for i, (stream, line, at) in enumerate(lines)
                        ],
                    )
                    values["log_count"] = self._seq + len(lines)
                if values:
                    s.execute(update(Job).where(Job.id == self.job_id).values(**values))
        except Exception:
            with self._lock:  # keep them for the next try, in order
                self._lines[:0] = lines
                if self._progress is None:
                    self._progress = progress
            raise
        self._seq += len(lines)
        if beat:
            self._last_heartbeat = now
