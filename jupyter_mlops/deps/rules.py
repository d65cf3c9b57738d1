"""The dependency doctor's input rules: the fields of a check, plan or repair request.
The REST bodies are checked against these Shapes and the OpenAPI document shows them;
GET deps/status takes the same names as query parameters (lists comma-separated)."""

from __future__ import annotations

from typing import Any

from ..fields import Field, Shape

INSTALLERS = ("uv", "pip")
TARGET_FIELDS: dict[str, Field] = {
    "kernel_id": Field(
        "string", "a running kernel's id: its interpreter is the one checked", nullable=True, max_length=200
    ),
    "python": Field(
        "string", "path of the interpreter to check (instead of kernel_id)", nullable=True, max_length=1024
    ),
    "project": Field(
        "string",
        "project folder (default: found upward from the kernel's notebook folder, else from the workspace root)",
        nullable=True,
        max_length=1024,
    ),
    "extras": Field(
        "array",
        "optional extras of the project to include",
        nullable=True,
        items=Field("string", max_length=200),
        max_items=100,
    ),
    "groups": Field(
        "array", "[dependency-groups] to include", nullable=True, items=Field("string", max_length=200), max_items=100
    ),
    "requirement_files": Field(
        "array",
        "requirements files (relative to the project) to read",
        nullable=True,
        items=Field("string", max_length=4096),
        max_items=100,
    ),
}
#: The fields that are lists (comma-separated in a query string).
LIST_FIELDS = ("extras", "groups", "requirement_files")
TARGET = Shape(TARGET_FIELDS, one_of=("kernel_id", "python"))
PLAN = Shape(
    {
        **TARGET_FIELDS,
        "installer": Field("string", "uv or pip (default: uv when available)", nullable=True, enum=INSTALLERS),
    },
    one_of=("kernel_id", "python"),
)


def interpreter_of(fields: dict[str, Any]) -> tuple[str | None, str | None]:
    """(kernel_id, python) of a request TARGET or PLAN checked: exactly one of them is given."""
    return fields.get("kernel_id") or None, fields.get("python") or None
