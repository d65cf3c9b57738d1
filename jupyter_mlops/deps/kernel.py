"""Which interpreter a running kernel uses: ask the kernel, else read its kernelspec.

`await kernel_python(kernel_manager, kernel_id)` works with jupyter_server's
(Async)MappingKernelManager (`serverapp.kernel_manager`) and with jupyter_client's
multi-kernel managers, from a tornado handler or any asyncio code.
"""

from __future__ import annotations

import ast
import asyncio
import inspect
import os
import queue
import shutil
import sys
from dataclasses import asdict, dataclass
from typing import Any

from ..errors import InvalidInput, NotFound, Unavailable

__all__ = ["KernelPython", "kernel_python", "kernelspec_python"]

# Evaluated by the kernel as user_expressions of a silent execute request: no
# execution count, no history, no output on iopub, nothing in the user namespace.
_EXPRESSIONS = {
    "python": "__import__('sys').executable",
    "prefix": "__import__('sys').prefix",
}


@dataclass(frozen=True)
class KernelPython:
    """The interpreter of a kernel; source says how it was found ("kernel" | "kernelspec")."""

    python: str
    prefix: str | None  # None when only the kernelspec was read (the probe tells it)
    source: str
    kernel_name: str
    detail: str = ""  # why the kernelspec was used, when it was

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return asdict(self)


async def _call(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Await an async client method; run a blocking client's method in a thread."""
    if inspect.iscoroutinefunction(fn):
        return await fn(*args, **kwargs)
    result = await asyncio.to_thread(fn, *args, **kwargs)
    return await result if inspect.isawaitable(result) else result


async def _ask(km: Any, timeout: float) -> tuple[str, str]:
    """(sys.executable, sys.prefix) as the kernel reports them; raises TimeoutError/ValueError."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    client = km.client()
    try:
        # The answer comes back on our own shell (DEALER) socket as the execute_reply,
        # so only that channel is opened: no iopub subscription (and no slow-joiner
        # race), no stdin, heartbeat or control sockets to leave behind.
        started = client.start_channels(shell=True, iopub=False, stdin=False, hb=False, control=False)
        if inspect.isawaitable(started):
            await started
        msg_id = client.execute(
            "",
            silent=True,
            store_history=False,
            user_expressions=dict(_EXPRESSIONS),
            allow_stdin=False,
            stop_on_error=False,
        )
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError
            try:
                reply = await _call(client.get_shell_msg, timeout=remaining)
            except queue.Empty:
                raise TimeoutError from None
            if (reply.get("parent_header") or {}).get("msg_id") == msg_id:
                break
    finally:
        client.stop_channels()
    content = reply.get("content") or {}
    if content.get("status") != "ok":
        raise ValueError(f"execute_reply status {content.get('status')!r}")
    values = []
    for key in _EXPRESSIONS:
        item = (content.get("user_expressions") or {}).get(key) or {}
        if item.get("status") != "ok":
            raise ValueError(f"{key}: {item.get('ename', 'no value')} {item.get('evalue', '')}".strip())
        text = (item.get("data") or {}).get("text/plain")
        value = ast.literal_eval(text) if isinstance(text, str) else None
        if not isinstance(value, str) or not value:
            raise ValueError(f"{key}: not a path: {text!r}")
        values.append(value)
    return values[0], values[1]


def kernelspec_python(spec: Any, kernel_name: str) -> str:
    """The interpreter a kernelspec's argv[0] names, as jupyter_client launches it.

    jupyter_client replaces an argv[0] of `python`, `python3` or `python3.X` (the
    server's own version) with the server's sys.executable; other bare names are
    looked up on the kernel's PATH (its spec's `env`, else the server's). A `{...}`
    placeholder cannot be argv[0]. Raises Unavailable when no interpreter is named.
    """
    argv = list(getattr(spec, "argv", None) or [])
    argv0 = str(argv[0]) if argv else ""
    if not argv0 or "{" in argv0:
        raise Unavailable(
            f"kernel_id: the kernelspec {kernel_name!r} names no interpreter (argv[0] is {argv0!r})", field="kernel_id"
        )
    if argv0 in {"python", f"python{sys.version_info[0]}", "python{}.{}".format(*sys.version_info[:2])}:
        return sys.executable
    if os.path.dirname(argv0):
        path = os.path.abspath(os.path.expanduser(argv0))
    else:
        env_path = (getattr(spec, "env", None) or {}).get("PATH") or os.environ.get("PATH")
        path = shutil.which(argv0, path=env_path) or ""
    if not path or not os.path.isfile(path) or not os.access(path, os.X_OK):
        raise Unavailable(
            f"kernel_id: the kernelspec {kernel_name!r} starts {argv0!r}, which is not an executable file here",
            field="kernel_id",
        )
    return path


async def kernel_python(kernel_manager: Any, kernel_id: str, timeout: float = 10) -> KernelPython:
    """The interpreter of the running kernel `kernel_id`.

    Asks the kernel for sys.executable / sys.prefix (silently, within `timeout`
    seconds); a kernel that is busy, stopped or not answering in time falls back to
    its kernelspec's argv[0]. Raises NotFound for an unknown id, InvalidInput for a
    kernel that is not Python, Unavailable when neither way names an interpreter.
    """
    if not isinstance(kernel_id, str) or not kernel_id.strip():
        raise InvalidInput("kernel_id: must be a non-empty kernel id", field="kernel_id")
    # Membership first: jupyter_server's MappingKernelManager answers an unknown id in
    # get_kernel with tornado's HTTPError(404), jupyter_client's with KeyError.
    missing = NotFound(f"kernel_id: no running kernel with id {kernel_id!r}", field="kernel_id")
    if kernel_id not in kernel_manager:
        raise missing
    try:
        km = kernel_manager.get_kernel(kernel_id)
    except KeyError:
        raise missing from None
    kernel_name = str(getattr(km, "kernel_name", "") or "")
    try:
        spec = km.kernel_spec
    except Exception:  # the spec was removed after the kernel started
        spec = None
    language = str(getattr(spec, "language", "") or "python").lower()
    if language != "python":
        raise InvalidInput(
            f"kernel_id: kernel {kernel_id!r} runs {language}, not Python; the dependency doctor needs a Python kernel",
            field="kernel_id",
        )
    if timeout > 0:
        try:
            python, prefix = await asyncio.wait_for(_ask(km, timeout), timeout + 1)
            return KernelPython(python=python, prefix=prefix, source="kernel", kernel_name=kernel_name)
        except (TimeoutError, asyncio.TimeoutError):
            detail = f"the kernel did not answer within {timeout:g} s"
        except (ValueError, SyntaxError) as exc:
            detail = f"the kernel's answer was unusable: {exc}"
        except Exception as exc:  # a dead kernel, closed sockets, a gateway error
            detail = f"the kernel could not be asked: {type(exc).__name__}: {exc}"
    else:
        detail = "not asked (timeout 0)"
    if spec is None:
        raise Unavailable(f"kernel_id: {detail}, and its kernelspec {kernel_name!r} is gone", field="kernel_id")
    python = kernelspec_python(spec, kernel_name)
    return KernelPython(python=python, prefix=None, source="kernelspec", kernel_name=kernel_name, detail=detail)
