"""Helpers for tests that drive the REST API through the `api` fixture."""
from __future__ import annotations

import asyncio
from typing import Any


async def wait_job(api: Any, job_id: int, timeout: float = 120, interval: float = 0.1) -> dict[str, Any]:
    """Poll `GET jobs/{id}` until the job leaves queued/running; fail after `timeout` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        code, job = await api("GET", f"jobs/{job_id}")
        assert code == 200, job
        if job["state"] not in ("queued", "running"):
            return job
        assert loop.time() < deadline, job
        await asyncio.sleep(interval)
