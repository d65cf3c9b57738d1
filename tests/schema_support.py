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
    """Fail when an answer is not what the document says: every error is the JSON error
    object (path known or not), a success has a documented status and matches its schema."""
    from jupyter_mlops.server.openapi import ERROR, ERRORS

    op = operation(method, path)
    if status >= 400:
        error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(ERROR).iter_errors(answer))
        assert error is None, f"{method} {path}: the {status} answer is not the documented error object: {answer!r}"
        assert op is None or str(status) in ERRORS or status == 405, f"{method} {path}: undocumented {status}"
        return
    if op is None:
        return
    documented = {op.status, *((200,) if op.dedupes else ())}
    assert status in documented, f"{method} {path}: answered {status}, documented {sorted(documented)}"
    if op.response is None:
        return
    error = jsonschema.exceptions.best_match(validator(op.response).iter_errors(answer))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(top)"
        raise AssertionError(f"{method} {path}: the answer does not match schema {op.response} at {where}: "
                             f"{error.message}")
