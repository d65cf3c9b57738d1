"""A job that counts and sleeps: checks the job machinery end to end
(`jupyter mlops jobs selftest`) and drives its tests."""

from __future__ import annotations

import time
from typing import Any

from .context import JobContext


def count(ctx: JobContext, n: int = 10, delay: float = 0.1, fail_at: int | None = None) -> dict[str, Any]:
    """Count to `n`, sleeping `delay` seconds a step; raise at step `fail_at` if given."""
    ctx.progress(0, n, "steps", "counting")
    for i in range(1, n + 1):
        time.sleep(delay)
        if fail_at is not None and i == fail_at:
            raise RuntimeError(f"asked to fail at step {i}")
        ctx.log(f"step {i} of {n}")
        ctx.progress(i, n, "steps", f"step {i} of {n}")
    return {"counted": n}
