"""Job kinds: name -> "module:function" run by the job subprocess.

A job function takes a JobContext and the job's params as keyword arguments and
returns a JSON-able dict (the job's result)."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from ..errors import InvalidInput

KINDS: dict[str, str] = {
    "diagnostic.count": "jupyter_mlops.jobs.diagnostic:count",
    "deps.repair": "jupyter_mlops.deps.repair:repair",
    "hub.download": "jupyter_mlops.hub.download:download",
    "build.image": "jupyter_mlops.builds.job:build",
    "build.push": "jupyter_mlops.builds.job:push",
    "mlflow.import": "jupyter_mlops.tracking.importer:import_models",
    "storage.scan": "jupyter_mlops.storage.scan:scan",
    "storage.fetch": "jupyter_mlops.storage.fetch:fetch",
    "storage.publish": "jupyter_mlops.storage.publish:publish",
}
#: Kinds that touch no local file, which any worker may run. Every other kind acts on
#: its workspace's files (a kernel's environment, the models folder, a build context, a
#: secret file handed to it) and runs only where it was submitted.
ANYWHERE: frozenset[str] = frozenset({"diagnostic.count"})


#: What a standby runner makes ahead of its job ("module:function", called with no
#: argument): the Hub's HTTP client (its TLS context takes ~20 ms to build).
WARM: tuple[str, ...] = ("huggingface_hub.utils:get_session",)
#: Heavy libraries a standby runner imports ahead of its job.
PRELOAD: tuple[str, ...] = (
    "packaging.requirements",
    "huggingface_hub",
    "huggingface_hub.file_download",
    "huggingface_hub._snapshot_download",
    "huggingface_hub.hf_api",
)


def resolve(kind: str) -> Callable[..., dict[str, Any]]:
    """The function behind a kind."""
    target = KINDS.get(kind)
    if target is None:
        raise InvalidInput(f"kind: unknown job kind {kind!r}; known kinds are {', '.join(sorted(KINDS))}", field="kind")
    module, _, name = target.partition(":")
    function: Callable[..., dict[str, Any]] = getattr(importlib.import_module(module), name)
    return function
