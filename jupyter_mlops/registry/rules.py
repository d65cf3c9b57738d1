"""The registry's input rules and release lifecycle, used by every face."""

from __future__ import annotations

import re
from typing import Any

from ..fields import Field, Shape

NAME_RULE = "must start with a letter or digit and use only letters, digits, '.', '_' and '-' (at most 100)"
NAME = Field(
    "string",
    max_length=100,
    pattern=r"[A-Za-z0-9][A-Za-z0-9._-]*",
    rule=NAME_RULE,
    check=lambda v: "must not end with '.'" if v.endswith(".") else None,
)
VERSION = Field(
    "string",
    max_length=64,
    pattern=r"v?\d+(\.\d+){0,3}([-+._]?[0-9A-Za-z]+([-.+_][0-9A-Za-z]+)*)?",
    rule="must be a version such as 1, 1.2, 1.2.3, v2.0.0-rc1 or 2024.05.01",
)
QUANTIZATIONS = ("none", "fp32", "fp16", "bf16", "fp8", "int8", "int4", "nf4", "awq", "gptq")
QUANTIZATION = Field(
    "string",
    max_length=32,
    normalize=str.lower,
    pattern=rf"({'|'.join(QUANTIZATIONS)}|gguf(-[a-z0-9_]+)?)",
    rule=f"must be one of {', '.join(QUANTIZATIONS)}, gguf or gguf-<variant> such as gguf-q4_k_m",
)
TAG = Field(
    "string",
    max_length=64,
    pattern=r"[A-Za-z0-9][A-Za-z0-9._:=/-]*",
    rule="must start with a letter or digit and use only letters, digits and . _ : = / - (at most 64)",
)
#: A letter, then letters, digits, '_' and '-'; but not `v` and digits only (a version).
ALIAS_PATTERN = r"(?:[A-Za-uw-z][A-Za-z0-9_-]*|v(?:[0-9]*[A-Za-z_-][A-Za-z0-9_-]*)?)"
ALIAS = Field(
    "string",
    max_length=64,
    pattern=ALIAS_PATTERN,
    rule="must start with a letter and use only letters, digits, '_' and '-' (at most 64), and not look like "
    "a version (v1, v20)",
)
HF_REPO = r"[A-Za-z0-9](?:[A-Za-z0-9_.-]*[A-Za-z0-9])?/[A-Za-z0-9](?:[A-Za-z0-9_.-]*[A-Za-z0-9])?"
S3_URI = r"s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/[^\x00]*)?"
HF_URI = rf"hf://{HF_REPO}(@[A-Za-z0-9][A-Za-z0-9._/-]*)?"


def _storage_problem(value: str) -> str | None:
    if re.match(r"[A-Za-z][A-Za-z0-9+.-]*://", value):
        if value.startswith("s3://"):
            return None if re.fullmatch(S3_URI, value) else "s3:// paths need a valid bucket name: s3://bucket/key"
        if value.startswith("hf://"):
            return (
                None
                if re.fullmatch(HF_URI, value) and ".." not in value
                else ("hf:// paths must be hf://org/name or hf://org/name@revision")
            )
        return "must be an s3:// or hf:// URI, or a filesystem path"
    if "\x00" in value or not value.strip():
        return "must be a non-empty filesystem path without NUL characters"
    return None


STORAGE_PATH = Field(
    "string",
    max_length=1024,
    min_length=1,
    rule="s3://bucket/key, hf://org/name[@revision] or a filesystem path",
    check=_storage_problem,
)
METADATA = Field(
    "object",
    description="free-form JSON object (at most 64 KiB when encoded)",
    check=lambda v: "must be at most 65536 bytes as JSON" if len(_json(v)) > 65536 else None,
)


def _json(value: Any) -> str:
    import json

    return json.dumps(value, default=str)


MODEL_FIELDS = {
    "name": NAME,
    "storage_path": STORAGE_PATH,
    "repository": Field("string", nullable=True, max_length=1024),
    "company": Field("string", nullable=True, max_length=200),
    "base_model": Field("string", nullable=True, max_length=200),
    "parameter_count": Field("integer", nullable=True, minimum=0, maximum=10**15),
    "description": Field("string", nullable=True, max_length=10_000),
    "tags": Field("array", items=TAG, max_items=50),
    "metadata": METADATA,
}
MODEL = Shape(MODEL_FIELDS, required=("name", "storage_path"), updatable=tuple(k for k in MODEL_FIELDS if k != "name"))

RELEASE_FIELDS = {
    "model": NAME,
    "version": VERSION,
    "quantization": QUANTIZATION,
    "release_notes": Field("string", nullable=True, max_length=20_000),
    "metadata": METADATA,
    "auto_build": Field("boolean"),
}
RELEASE = Shape(RELEASE_FIELDS, required=("model", "version"), updatable=("release_notes", "metadata", "auto_build"))

ARTIFACT_KINDS = ("file", "weights", "tokenizer", "config", "dataset", "report", "image", "other")
ARTIFACT_FIELDS = {
    "model": NAME,
    "release_id": Field("integer", minimum=1),
    "name": Field("string", max_length=200, pattern=r"[^\x00/\\]+", rule="must be a file name without slashes"),
    "path": STORAGE_PATH,
    "kind": Field("string", enum=ARTIFACT_KINDS),
    "size": Field("integer", nullable=True, minimum=0),
    "sha256": Field("string", nullable=True, pattern=r"[0-9a-f]{64}", rule="must be 64 lowercase hex digits"),
}
ARTIFACT = Shape(ARTIFACT_FIELDS, required=("name", "path"), one_of=("release_id", "model"))

DEPLOYMENT_STATUSES = ("pending", "active", "failed", "retired")
DEPLOYMENT_FIELDS = {
    "release_id": Field("integer", minimum=1),
    "environment": Field(
        "string",
        max_length=64,
        pattern=r"[A-Za-z0-9][A-Za-z0-9._-]*",
        rule="must use only letters, digits, '.', '_' and '-' (at most 64)",
    ),
    "endpoint": Field("string", nullable=True, max_length=1024),
    "status": Field("string", enum=DEPLOYMENT_STATUSES),
    "notes": Field("string", nullable=True, max_length=10_000),
}
DEPLOYMENT = Shape(DEPLOYMENT_FIELDS, required=("release_id", "environment"), updatable=("endpoint", "status", "notes"))

ALIAS_TARGET = Shape({"release_id": Field("integer", minimum=1)}, required=("release_id",))

RELEASE_STATUSES = ("candidate", "released", "demoted", "deprecated")
#: action -> (states it may start from, state it leads to)
TRANSITIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "promote": (("candidate", "demoted"), "released"),
    "demote": (("released",), "demoted"),
    "deprecate": (("candidate", "released", "demoted"), "deprecated"),
}
