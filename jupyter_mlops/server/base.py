"""The base handler: auth on every verb, JSON in and out, domain errors to status codes."""

from __future__ import annotations

import asyncio
import json
import threading
from asyncio import Future
from collections.abc import Callable
from concurrent.futures import Future as ThreadFuture
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from http.client import responses
from typing import TYPE_CHECKING, Any

from jupyter_server.auth.identity import IdentityProvider, LegacyIdentityProvider, PasswordIdentityProvider
from jupyter_server.base.handlers import APIHandler
from tornado import web

from ..errors import InvalidInput, MLOpsError, NotFound, Unavailable
from ..fields import INT64_MAX, MAX_DEPTH, json_problem
from ..identity import Actor, current_actor, server_actor

if TYPE_CHECKING:
    from ..services import Services

#: Blocking service calls run here, never on the event loop.
EXECUTOR = ThreadPoolExecutor(max_workers=8, thread_name_prefix="mlops-api")
#: How deep a body may nest (each field has its own, smaller limit: fields.MAX_DEPTH).
BODY_DEPTH = 2 * MAX_DEPTH
#: The body size limit when the settings cannot say (they failed to load).
DEFAULT_MAX_BODY = 10 << 20
#: `error` of a JSON answer for an HTTP status the server itself raised (auth, XSRF, 404...).
HTTP_ERRORS = {
    400: "InvalidInput",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    413: "TooLarge",
    503: "Unavailable",
}


#: Jupyter's own logins (a token, a password): one person's server, whose users are anonymous.
SINGLE_USER_PROVIDERS = (IdentityProvider, PasswordIdentityProvider, LegacyIdentityProvider)


class ServiceHolder:
    """Services built once, in a background thread, when the server's loop runs
    (or at the first request, whichever comes first); requests wait for them."""

    def __init__(self, build: Callable[[], Services]) -> None:
        self.future: ThreadFuture[Services] = ThreadFuture()
        self._build = build
        self._lock = threading.Lock()
        self._started = False

    def start(self) -> None:
        """Begin building the services in a thread (once)."""
        with self._lock:
            if self._started:
                return
            self._started = True
        threading.Thread(target=self._run, name="mlops-start", daemon=True).start()

    def _run(self) -> None:
        try:
            self.future.set_result(self._build())
        except BaseException as exc:
            self.future.set_exception(exc)

    def get(self, timeout: float = 60.0) -> Services:
        """The services, waiting up to `timeout` for start-up to finish."""
        self.start()
        try:
            return self.future.result(timeout=timeout)
        except FutureTimeout:
            raise Unavailable("the MLOps store is still starting; try again shortly") from None
        except MLOpsError:
            raise
        except Exception as exc:
            raise Unavailable(f"the MLOps store failed to start: {exc}") from None


@web.stream_request_body
class MLOpsHandler(APIHandler):
    """Every MLOps route: verbs decorated `@authenticated` and `@authorized` in the subclasses.

    The body is streamed in and capped (the `max_body_bytes` setting): a larger one is refused
    with 413 as soon as its size is known, before it is read. Every error answer is JSON
    `{error, message[, field]}`, the server's own (403 for a missing XSRF token, 404...) too."""

    auth_resource = "mlops"
    _body: list[bytes]
    _body_size: int

    @property
    def max_body(self) -> int:
        effective = self.settings.get("mlops_settings")
        return int(getattr(effective, "max_body_bytes", DEFAULT_MAX_BODY))

    # jupyter_server's JupyterHandler.prepare and APIHandler.prepare already disagree with
    # tornado's (and with each other): no signature matches all three; this one is APIHandler's.
    async def prepare(self) -> None:  # type: ignore[override]
        """Auth and XSRF (the server's), then the body cap, before any of the body is read."""
        self._body, self._body_size = [], 0
        await super().prepare()
        length = self.request.headers.get("Content-Length")
        if length is not None and length.isdigit() and int(length) > self.max_body:
            raise web.HTTPError(413, f"body: must be at most {self.max_body} bytes (got {length})")

    def data_received(self, chunk: bytes) -> None:
        """Keep the body's chunks; past the cap (a chunked body has no length to refuse
        early) answer 413 at once and drop the rest as it comes."""
        if self._finished:
            return
        self._body_size += len(chunk)
        if self._body_size > self.max_body:
            self._body = []
            error = web.HTTPError(413, f"body: must be at most {self.max_body} bytes")
            self.send_error(413, exc_info=(type(error), error, None))
            return
        self._body.append(chunk)

    def finish(self, chunk: Any = None) -> Future[None]:
        """Finish once (after an early 413 tornado still calls the verb when the body ends)."""
        if self._finished:
            done: Future[None] = asyncio.get_running_loop().create_future()
            done.set_result(None)
            return done
        return super().finish(chunk)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """The server's own errors as this API's JSON errors (the message, never a traceback)."""
        exc = (kwargs.get("exc_info") or (None, None, None))[1]
        message = (exc.log_message if isinstance(exc, web.HTTPError) else None) or responses.get(status_code, "error")
        body: dict[str, Any] = {"error": HTTP_ERRORS.get(status_code, "HTTPError"), "message": message}
        if status_code == 413:
            body["field"] = "body"
        if status_code == 405:
            self.set_header("Allow", ", ".join(self.allowed_methods()))
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body))

    @property
    def services(self) -> Services:
        holder: ServiceHolder = self.settings["mlops_services"]
        return holder.get()

    @property
    def actor(self) -> Actor:
        """Who acts, as the audit history and job owners record it, with the groups that give
        its role. Under Jupyter's own token or password login the server is one person's, and
        its anonymous user ids change with every browser session (and are random for a
        token-only client): the actor is that person as a kernel and the CLI name them
        (`identity.current_actor`). Under JupyterHub, or any other identity provider, it is
        the provider's user, with the groups JupyterHub's user model lists."""
        if type(self.identity_provider) in SINGLE_USER_PROVIDERS:
            return current_actor()
        return server_actor(self.current_user)

    def allowed_methods(self) -> list[str]:
        """The verbs this handler answers (for a 405's Allow header)."""
        return [
            m.upper()
            for m in ("get", "post", "put", "patch", "delete")
            if getattr(type(self), m) is not getattr(web.RequestHandler, m)
        ]

    def json_body(self) -> Any:
        """The request body as JSON, or InvalidInput naming `body` (not JSON, or nested too
        deep); each field's rules check its text."""
        raw = b"".join(self._body)
        if not raw:
            return {}
        try:
            data = json.loads(raw, parse_constant=_no_constant)
        except (ValueError, UnicodeDecodeError) as exc:
            raise InvalidInput(f"body: is not valid JSON ({exc})", field="body") from None
        except RecursionError:
            raise InvalidInput(f"body: must not nest deeper than {BODY_DEPTH} levels", field="body") from None
        problem = json_problem(data, BODY_DEPTH, content=False)  # text and numbers are each field's rule
        if problem:
            raise InvalidInput(f"body: {problem}", field="body")
        return data

    def query(self, *names: str) -> dict[str, str | None]:
        """Named query arguments (missing ones None); an unknown argument is InvalidInput
        (but Jupyter's own `token`, with which a browser may log in)."""
        unknown = sorted(set(self.request.query_arguments) - set(names) - {"token"})
        if unknown:
            allowed = ", ".join(names) or "none"
            raise InvalidInput(f"{unknown[0]}: unknown query parameter; allowed: {allowed}", field=unknown[0])
        return {name: self.get_query_argument(name, None) for name in names}

    def flag(self, name: str) -> bool:
        """A boolean query argument: true/1/yes or false/0/no."""
        value = (self.get_query_argument(name, "false") or "").lower()
        if value not in ("true", "1", "yes", "false", "0", "no", ""):
            raise InvalidInput(f"{name}: must be true or false (got {value!r})", field=name)
        return value in ("true", "1", "yes")

    async def respond(
        self, fn: Callable[[dict[str, str | None]], Any], *, params: tuple[str, ...] = (), status: int = 200
    ) -> None:
        """In a thread: check the query against `params`, call `fn(query)`; write
        its answer, or its domain error, as JSON. A 201 answer marked `deduplicated`
        (an active twin job was returned) is sent as 200. Nothing runs once the request was
        answered already (a body refused while it streamed in)."""
        if self._finished:
            return
        try:
            result = await asyncio.get_running_loop().run_in_executor(EXECUTOR, lambda: fn(self.query(*params)))
        except MLOpsError as exc:
            self.set_status(exc.status)
            self.finish(json.dumps(exc.to_dict()))
            return
        if status == 201 and isinstance(result, dict) and result.get("deduplicated"):
            status = 200  # the same work was already queued: answered, not created
        self.set_status(status)
        self.finish(json.dumps(result, default=str, allow_nan=False))


class NotFoundHandler(MLOpsHandler):
    """Any other path under /mlops/api: a JSON 404 (after auth, like every route)."""

    @web.authenticated
    async def get(self, path: str) -> None:
        raise web.HTTPError(404, f"no such API path: {path}")

    post = put = patch = delete = get


def _no_constant(name: str) -> Any:
    """NaN and Infinity are not JSON; Python's parser accepts them unless told not to."""
    raise ValueError(f"{name} is not a JSON value")


def int_arg(name: str, value: str | None) -> int | None:
    """A whole-number query argument (at most 64-bit), or InvalidInput naming it."""
    if value in (None, ""):
        return None
    try:
        number = int(value)
    except ValueError:
        raise InvalidInput(f"{name}: must be a whole number (got {value!r})", field=name) from None
    if abs(number) > INT64_MAX:
        raise InvalidInput(f"{name}: must be at most {INT64_MAX} (got {value})", field=name)
    return number


def id_arg(what: str, value: str) -> int:
    """An id from the path (digits only, by the route pattern); one too big to be stored
    names nothing, so it is NotFound rather than an overflow deep in the driver."""
    number = int(value)
    if number > INT64_MAX:
        raise NotFound(f"{what} {value} does not exist")
    return number
