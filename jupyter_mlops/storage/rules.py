"""The input rules of scans, fetches and publishes."""

from __future__ import annotations

from ..fields import Field, Shape
from ..registry.rules import NAME, S3_URI, STORAGE_PATH

S3_PREFIX = Field(
    "string",
    max_length=1024,
    pattern=S3_URI,
    rule="must be an s3:// URI: s3://bucket/prefix (a bucket name of 3-63 lowercase letters, digits, '.' and '-')",
)
#: Scan a model's files at its storage_path.
SCAN = Shape({"model": NAME}, required=("model",))
#: Fetch the objects under an s3:// prefix into the local cache.
FETCH = Shape({"uri": S3_PREFIX}, required=("uri",))
#: Publish a local folder (or a model's, when `source` is absent) to `destination`, then
#: register `model` there.
PUBLISH = Shape(
    {"source": STORAGE_PATH, "destination": S3_PREFIX, "model": NAME},
    required=("destination",),
)
