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


async def ok(api: Any, method: str, path: str, body: Any = None, **params: Any) -> Any:
    """Call the API and insist on success; returns the JSON answer."""
    code, answer = await api(method, path, body, **params)
    assert code in (200, 201), (method, path, code, answer)
    return answer


async def walk(api: Any, path: str, limit: int, **params: Any) -> list[list[Any]]:
    """Every page of a list, following next_cursor (each page at most `limit` items)."""
    pages, cursor = [], None
    for _ in range(10_000):  # bounded
        answer = await ok(api, "GET", path, limit=str(limit), **params, **({"cursor": cursor} if cursor else {}))
        assert len(answer["items"]) <= limit
        pages.append(answer["items"])
        cursor = answer["next_cursor"]
        if cursor is None:
            return pages
    raise AssertionError(f"{path}: more than 10000 pages")
