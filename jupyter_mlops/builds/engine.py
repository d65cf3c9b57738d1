"""The Docker Engine through docker-py's low-level client: connect with a clear message
when the daemon is missing, and read build and push streams, whose failures arrive as
`error` chunks (the HTTP status says nothing)."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from typing import Any

from ..errors import MLOpsError, Unavailable

PING_TIMEOUT = 10
#: Seconds a job's client waits for the daemon's next chunk: a build step may be silent a long time.
JOB_TIMEOUT = 86_400
STEP = re.compile(r"Step (\d+)/(\d+) :")


class DaemonError(MLOpsError):
    """The daemon answered with an error (a failed RUN, a bad base image, a refused push)."""

    status = 502


def explain(host: str, exc: BaseException) -> str:
    """What went wrong reaching the daemon, and what to check."""
    text = str(exc)
    socket = host[len("unix://") :] if host.startswith("unix://") else None
    if socket and not os.path.exists(socket):
        why = f"no Docker daemon socket at {socket}"
    elif "Permission denied" in text or isinstance(exc, PermissionError):
        why = (
            f"no permission to use the Docker socket {socket or host}; add your user to the 'docker' "
            f"group (then log in again) or point docker_host at a daemon you may use"
        )
    elif "Connection refused" in text or "No such file" in text:
        why = f"nothing answers at {host}; the socket is there but the daemon is not running"
    else:
        why = f"the Docker daemon at {host} failed: {text}"
    return (
        f"Docker is not available: {why}. Check the docker_host setting (now {host}; "
        f"`jupyter mlops config` shows where it comes from: $DOCKER_HOST or c.MLOpsApp.docker_host), "
        f"that the socket exists and you may use it, and that the docker service is running "
        f"(systemctl status docker)."
    )


def connect(host: str, *, timeout: int = PING_TIMEOUT) -> Any:
    """A `docker.APIClient` that has answered a ping; Unavailable (saying what to check) if not."""
    import docker
    from docker.errors import DockerException
    from requests.exceptions import RequestException

    try:
        api = docker.APIClient(base_url=host, version="auto", timeout=timeout)
        api.ping()
    except (DockerException, RequestException, OSError) as exc:
        raise Unavailable(explain(host, exc)) from None
    return api


def failure(chunk: dict[str, Any]) -> str | None:
    """The daemon's error message in a stream chunk, if it is one."""
    if "error" in chunk or "errorDetail" in chunk:
        detail = chunk.get("errorDetail") or {}
        return str(detail.get("message") or chunk.get("error") or "unknown daemon error").strip()
    return None


def follow_build(chunks: Iterable[dict[str, Any]], log: Callable[[str], None], step: Callable[[int, int], None]) -> str:
    """Read a build stream to its end: log its lines, report steps; returns the image id,
    or raises DaemonError with the daemon's message."""
    image_id: str | None = None
    for chunk in chunks:
        problem = failure(chunk)
        if problem:
            raise DaemonError(f"the build failed: {problem}")
        text = chunk.get("stream")
        if text:
            for line in text.splitlines():
                if line.strip():
                    log(line)
                    found = STEP.match(line)
                    if found:
                        step(int(found.group(1)), int(found.group(2)))
        elif "status" in chunk:
            log(_status_line(chunk))
        aux = chunk.get("aux")
        if isinstance(aux, dict) and aux.get("ID"):
            image_id = str(aux["ID"])
    if not image_id:
        raise DaemonError("the build ended without an image id (the daemon stopped answering)")
    return image_id


def follow_push(
    chunks: Iterable[dict[str, Any]], log: Callable[[str], None], sent: Callable[[int, int], None]
) -> dict[str, Any]:
    """Read a push stream: log layer states, report bytes; returns {digest, size},
    or raises DaemonError (docker-py does not raise on a failed push)."""
    layers: dict[str, tuple[int, int]] = {}
    digest: str | None = None
    size: int | None = None
    for chunk in chunks:
        problem = failure(chunk)
        if problem:
            raise DaemonError(f"the push failed: {problem}")
        detail = chunk.get("progressDetail") or {}
        if chunk.get("id") and detail.get("total"):
            layers[chunk["id"]] = (int(detail.get("current") or 0), int(detail["total"]))
            sent(sum(c for c, _ in layers.values()), sum(t for _, t in layers.values()))
        elif "status" in chunk:
            log(_status_line(chunk))
        aux = chunk.get("aux")
        if isinstance(aux, dict) and aux.get("Digest"):
            digest, size = str(aux["Digest"]), aux.get("Size")
    if not digest:
        raise DaemonError("the registry did not confirm the push (no digest in the daemon's answer)")
    return {"digest": digest, "size": size}


def _status_line(chunk: dict[str, Any]) -> str:
    return " ".join(str(chunk[k]) for k in ("id", "status", "progress") if chunk.get(k))
