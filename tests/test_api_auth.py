"""Every route and every verb of /mlops/api needs Jupyter authentication and the
`mlops` authorization; checked through a real server and by inspecting the handlers."""
from __future__ import annotations

import inspect
import json
import re
from typing import Any

import pytest
from jupyter_server.auth import Authorizer
from jupyter_server.auth.decorator import authorized
from tornado import web

from jupyter_mlops.server.base import MLOpsHandler
from jupyter_mlops.server.routes import PATH_PARAMS, ROUTES, Route

#: A value for each path parameter that the route pattern accepts.
SAMPLES = {"name": "m1", "model": "m1", "org": "m1", "repo": "m1", "alias": "production", "release_id": "1", "artifact_id": "1",
           "deployment_id": "1", "job_id": "1", "build_id": "1", "action": "promote"}
VERBS = ("get", "head", "post", "put", "patch", "delete", "options")
CALLS = [pytest.param(route, verb, id=f"{verb.upper()} {route.path}") for route in ROUTES for verb in route.ops]
CREDENTIALS = {"no token": "", "wrong token": "token not-the-token", "malformed": "Bearer"}


def sample_path(route: Route) -> str:
    """The route's path with every parameter filled in."""
    path = re.sub(r"{(\w+)}", lambda m: SAMPLES[m.group(1)], route.path)
    for param in route.params:  # the sample must match the route's own pattern
        assert re.fullmatch(PATH_PARAMS[param][0], SAMPLES[param]), param
    return path


async def fetch(jp_fetch: Any, route: Route, verb: str, authorization: str | None = None) -> tuple[int, str]:
    """One request to `route` with `verb`; `authorization` replaces the token header when given."""
    headers = {"Authorization": authorization} if authorization is not None else None
    body = json.dumps({}) if verb in ("post", "put", "patch") else None
    resp = await jp_fetch("mlops", "api", *sample_path(route).strip("/").split("/"), method=verb.upper(),
                          body=body, headers=headers, raise_error=False, follow_redirects=False)
    return resp.code, (resp.body or b"").decode()


def test_sample_params_cover_the_table() -> None:
    assert set(SAMPLES) == set(PATH_PARAMS)


async def _refused_without_credentials(jp_fetch: Any, route: Route, verb: str) -> None:
    for label, authorization in CREDENTIALS.items():
        code, text = await fetch(jp_fetch, route, verb, authorization)
        assert code in (401, 403), (label, code, text)


@pytest.mark.parametrize(("route", "verb"), CALLS)
async def test_every_verb_refuses_unauthenticated(jp_fetch: Any, route: Route, verb: str) -> None:
    await _refused_without_credentials(jp_fetch, route, verb)


class TestWithoutTheServerWideGuard:
    """With `allow_unauthenticated_access` on, Jupyter no longer refuses for us: the
    handlers' own decorators must."""

    @pytest.fixture
    def jp_server_config(self, jp_server_config: dict[str, Any]) -> dict[str, Any]:
        return {**jp_server_config,
                "ServerApp": {**jp_server_config["ServerApp"], "allow_unauthenticated_access": True}}

    @pytest.mark.parametrize(("route", "verb"), CALLS)
    async def test_every_verb_refuses_unauthenticated(self, jp_fetch: Any, route: Route, verb: str) -> None:
        await _refused_without_credentials(jp_fetch, route, verb)


def _layers(fn: Any) -> list[Any]:
    """The chain of functions behind `fn`, outermost first, followed through `__wrapped__`."""
    chain = [fn]
    while hasattr(chain[-1], "__wrapped__"):
        chain.append(chain[-1].__wrapped__)
    return chain


AUTHENTICATED_CODE = web.authenticated(lambda self: None).__code__
AUTHORIZED_CODE = authorized(lambda self: None).__code__


@pytest.mark.parametrize(("route", "verb"), CALLS)
def test_every_verb_is_wrapped_by_authenticated_then_authorized(route: Route, verb: str) -> None:
    assert issubclass(route.handler, MLOpsHandler)
    assert route.handler.auth_resource == "mlops"
    chain = _layers(getattr(route.handler, verb))
    codes = [f.__code__ for f in chain]
    assert codes[:2] == [AUTHENTICATED_CODE, AUTHORIZED_CODE], f"{route.handler.__name__}.{verb}"
    assert AUTHENTICATED_CODE not in codes[2:] and AUTHORIZED_CODE not in codes[2:]
    assert inspect.iscoroutinefunction(chain[-1])


@pytest.mark.parametrize("route", ROUTES, ids=[r.path for r in ROUTES])
def test_handlers_define_only_the_documented_verbs(route: Route) -> None:
    own = {verb for verb in VERBS if verb in vars(route.handler)}
    assert own == set(route.ops), route.handler.__name__
    assert not any(verb in vars(MLOpsHandler) for verb in VERBS)


def test_each_handler_serves_one_route() -> None:
    handlers = [route.handler for route in ROUTES]
    assert len(handlers) == len(set(handlers))


class DenyMLOps(Authorizer):
    """Allows everything but the `mlops` resource, and remembers what it was asked."""

    asked: list[tuple[str, str, str]] = []

    def is_authorized(self, handler: Any, user: Any, action: str, resource: str) -> bool:
        DenyMLOps.asked.append((handler.request.method, action, resource))
        return resource != "mlops"


class TestDenyingAuthorizer:
    @pytest.fixture
    def jp_server_config(self, jp_server_config: dict[str, Any]) -> dict[str, Any]:
        DenyMLOps.asked = []
        return {**jp_server_config, "ServerApp": {**jp_server_config["ServerApp"], "authorizer_class": DenyMLOps}}

    @pytest.mark.parametrize(("route", "verb"), CALLS)
    async def test_every_verb_is_forbidden(self, jp_fetch: Any, route: Route, verb: str) -> None:
        code, text = await fetch(jp_fetch, route, verb)
        assert code == 403, (code, text)
        action = "read" if verb == "get" else "write"
        assert DenyMLOps.asked == [(verb.upper(), action, "mlops")]

    async def test_other_resources_still_allowed(self, jp_fetch: Any) -> None:
        resp = await jp_fetch("api", "contents", raise_error=False)
        assert resp.code == 200
        assert ("GET", "read", "contents") in DenyMLOps.asked


async def test_the_token_is_enough(api: Any) -> None:
    code, body = await api("GET", "health")
    assert code == 200, body
