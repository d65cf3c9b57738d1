"""Check REST answers against the schemas the OpenAPI document publishes for them, so
the document (and the sidebar's types generated from it) cannot drift from the server."""
from __future__ import annotations

import re
from functools import cache
from typing import Any

import jsonschema

from jupyter_mlops.server.routes import ROUTES, Op
from jupyter_mlops.server.schemas import SCHEMAS


@cache
def validator(name: str) -> jsonschema.Draft202012Validator:
    """A validator of the named schema, its `$ref`s resolved within SCHEMAS."""
    return jsonschema.Draft202012Validator({"$ref": f"#/components/schemas/{name}",
                                            "components": {"schemas": SCHEMAS}})


def operation(method: str, path: str) -> Op | None:
    """The documented verb that serves `method path` (path relative to mlops/api)."""
    path = "/" + path.split("?", 1)[0].strip("/")
    for route in ROUTES:
        if re.fullmatch(route.pattern(), path):
            return route.ops.get(method.lower())
    return None


def check_answer(method: str, path: str, status: int, answer: Any) -> None:
    """Fail when a successful answer does not match its documented schema."""
    op = operation(method, path)
    if not 200 <= status < 300 or op is None or op.response is None:
        return
    error = jsonschema.exceptions.best_match(validator(op.response).iter_errors(answer))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(top)"
        raise AssertionError(f"{method} {path}: the answer does not match schema {op.response} at {where}: "
                             f"{error.message}")
