"""Run a checked plan: one batch install; if it fails, bisect to isolate the failing
requirements and install the rest. Output goes to the caller's log line by line."""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .plan import ProbeLike, installer_command, installer_env

Log = Callable[[str], None]
TAIL = 12


@dataclass
class Outcome:
    """Which requirements went in, and which failed with the installer's last words."""

    installed: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


def run_logged(cmd: Sequence[str], timeout: float, log: Log) -> tuple[int, str]:
    """Run `cmd`, sending each output line to `log`; kill its process group after `timeout`.
    Returns the exit code (-9 on timeout) and the output's tail."""
    tail: deque[str] = deque(maxlen=TAIL)
    proc = subprocess.Popen(
        list(cmd),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        errors="replace",
        env=installer_env(),
        start_new_session=True,
    )

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            tail.append(line.rstrip("\n"))
            log(line.rstrip("\n"))

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        code = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        reader.join(timeout=5)
        return -9, f"timed out after {timeout:.0f} s\n" + "\n".join(tail)
    except BaseException:  # a cancelled job takes its installer down with it
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise
    reader.join(timeout=5)
    return code, "\n".join(tail)


def install(
    probe: ProbeLike,
    installer: str,
    requirements: Sequence[str],
    pins: Sequence[str],
    index_options: Sequence[str],
    log: Log,
    *,
    per_package_timeout: float = 300.0,
) -> Outcome:
    """Install `requirements` in one batch with `pins` as constraints; on failure bisect."""
    outcome = Outcome()
    with tempfile.TemporaryDirectory(prefix="mlops-install-") as tmp:
        constraints = Path(tmp) / "constraints.txt"
        constraints.write_text("".join(f"{pin}\n" for pin in pins))

        def attempt(batch: Sequence[str]) -> tuple[bool, str]:
            cmd = installer_command(
                probe,
                installer,
                dry_run=False,
                constraints_file=constraints,
                requirements=batch,
                index_options=index_options,
            )
            log(f"$ {' '.join(cmd)}")
            code, tail = run_logged(cmd, per_package_timeout * len(batch), log)
            return code == 0, tail

        def settle(batch: Sequence[str]) -> None:
            ok, tail = attempt(batch)
            if ok:
                outcome.installed.extend(batch)
            elif len(batch) == 1:
                outcome.failed[batch[0]] = tail
            else:
                log(f"the batch of {len(batch)} failed; splitting it to find the failing requirements")
                half = len(batch) // 2
                settle(batch[:half])
                settle(batch[half:])

        if requirements:
            settle(list(requirements))
    return outcome
