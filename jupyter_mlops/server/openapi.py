"""The OpenAPI 3.1 document, made from the routes table."""

from __future__ import annotations

from typing import Any

from jupyter_server.utils import url_path_join

from .. import __version__
from ..fields import INT64_MAX
from ..jobs.queue import STATES
from ..paging import MAX_LIMIT
from .routes import API_PREFIX, PATH_PARAMS, ROUTES
from .schemas import SCHEMAS, ref

ERROR = {
    "type": "object",
    "properties": {"error": {"type": "string"}, "message": {"type": "string"}, "field": {"type": "string"}},
    "required": ["error", "message"],
}
#: A true/false query flag as the server reads it (empty: the default, false).
FLAG = {"type": "string", "enum": ["true", "false", "1", "0", "yes", "no", ""]}
#: Query parameters whose values the server checks, by name (any other is a string).
QUERY_SCHEMAS: dict[str, dict[str, Any]] = {
    "limit": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
    "after": {"type": "integer", "minimum": 0, "maximum": INT64_MAX},
    "release_id": {"type": "integer", "minimum": -INT64_MAX, "maximum": INT64_MAX},
    "active": FLAG,
    "cascade": FLAG,
    "force": FLAG,
    "state": {"type": "string", "enum": [*STATES, ""]},
}
ERRORS = {
    "400": "invalid input: the message names the field and the rule",
    "403": "not authenticated, not authorized, no XSRF token, a path outside the allowed folders, or the "
    "caller's role on the registry does not allow this (the message names the role needed)",
    "404": "unknown object",
    "405": "the path does not take this verb (the Allow header lists those it takes)",
    "409": "conflict with the current state",
    "413": "the body is larger than the max_body_bytes setting (field: body)",
    "503": "the store is still starting, or failed to start, or a backing service (Docker) is down",
}


def document(base_url: str = "/") -> dict[str, Any]:
    """Every route and verb, with parameters, bodies, answers and error responses."""
    paths: dict[str, Any] = {}
    for route in ROUTES:
        item: dict[str, Any] = {}
        for method, op in route.ops.items():
            params = [{"name": p, "in": "path", "required": True, "schema": PATH_PARAMS[p][1]} for p in route.params]
            params += [
                {
                    "name": q,
                    "in": "query",
                    "required": False,
                    "description": text,
                    "schema": op.query_schemas.get(q) or QUERY_SCHEMAS.get(q) or {"type": "string"},
                }
                for q, text in op.query.items()
            ]
            spec: dict[str, Any] = {
                "summary": op.summary,
                "operationId": f"{method}_{route.handler.__name__.removesuffix('Handler')}",
                "parameters": params,
                "responses": {
                    str(op.status): {
                        "description": "success",
                        "content": {"application/json": {"schema": ref(op.response) if op.response else {}}},
                    },
                    **(
                        {
                            "200": {
                                "description": "the same work is queued or running already: that one, with "
                                "deduplicated: true",
                                "content": {"application/json": {"schema": ref(op.response) if op.response else {}}},
                            }
                        }
                        if op.dedupes
                        else {}
                    ),
                    **{
                        code: {"description": text, "content": {"application/json": {"schema": ERROR}}}
                        for code, text in ERRORS.items()
                    },
                },
                "security": [{"token": []}],
            }
            if op.body is not None:
                spec["requestBody"] = {"required": True, "content": {"application/json": {"schema": op.body}}}
            item[method] = spec
        paths[route.path] = item
    return {
        "openapi": "3.1.0",
        "info": {"title": "jupyter_mlops", "version": __version__},
        "servers": [{"url": url_path_join(base_url, *API_PREFIX)}],
        "paths": paths,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {"token": {"type": "apiKey", "in": "header", "name": "Authorization"}},
        },
    }
