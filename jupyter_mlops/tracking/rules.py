"""The input rules of MLflow imports."""

from __future__ import annotations

from ..fields import Field, Shape

REGISTERED_MODEL = Field(
    "string", max_length=256, pattern=r"[^\x00]+", rule="must be a registered model name (1-256 characters, no NUL)"
)
#: Import some registered models by name (all when `names` is absent).
IMPORT = Shape({"names": Field("array", items=REGISTERED_MODEL, max_items=1000)})
