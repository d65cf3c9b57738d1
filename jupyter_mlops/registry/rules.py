"""The registry's input rules and release lifecycle, used by every face."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any

from ..errors import InvalidInput
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
#: Names every face suggests (any safe label is accepted too).
QUANTIZATIONS = ("none", "fp32", "fp16", "bf16", "fp8", "int8", "int4", "nf4", "awq", "gptq")
#: Families that take a variant after a dash: gguf-q4_k_m, exl2-4.0bpw, mlx-4bit, bnb-nf4, gptq-4bit-128g.
QUANTIZATION_FAMILIES = ("gguf", "exl2", "exl3", "mlx", "bnb", "awq", "gptq", "hqq")
#: Other spellings of the same thing.
QUANTIZATION_ALIASES = {
    "float32": "fp32",
    "f32": "fp32",
    "float16": "fp16",
    "f16": "fp16",
    "half": "fp16",
    "bfloat16": "bf16",
    "bitsandbytes": "bnb",
}
#: A llama.cpp (GGUF) type as its tools print it: Q4_K_M, Q8_0, IQ2_XXS, TQ1_0 (lower-cased here).
GGUF_TYPE = re.compile(r"[it]?q[1-8](?:_[0-9a-z]{1,3}){0,3}")
_FAMILY_VARIANT = re.compile(rf"({'|'.join(QUANTIZATION_FAMILIES)}|bitsandbytes)[-_.]?([a-z0-9].*)")
#: Suggestions for a quantization field: the names, and the GGUF types people use most.
QUANTIZATION_SUGGESTIONS = (
    *QUANTIZATIONS,
    "gguf-q4_k_m",
    "gguf-q5_k_m",
    "gguf-q8_0",
    "exl2-4.0bpw",
    "mlx-4bit",
    "bnb-4bit",
    "awq-4bit",
    "gptq-4bit-128g",
)


def normalize_quantization(value: str) -> str:
    """How a quantization is stored and shown: lower case; other spellings of a known name
    become it (`FLOAT16` -> fp16); a GGUF type gets its family (`Q4_K_M` -> gguf-q4_k_m); a
    family and its variant are joined by a dash (`EXL2_4.0bpw` -> exl2-4.0bpw)."""
    label = value.lower()
    label = QUANTIZATION_ALIASES.get(label, label)
    if GGUF_TYPE.fullmatch(label):
        return f"gguf-{label}"
    family = _FAMILY_VARIANT.fullmatch(label)
    if family:
        return f"{QUANTIZATION_ALIASES.get(family[1], family[1])}-{family[2]}"
    return label


QUANTIZATION = Field(
    "string",
    max_length=64,
    normalize=normalize_quantization,
    pattern=r"[A-Za-z0-9](?:[A-Za-z0-9._+-]{0,62}[A-Za-z0-9+])?",
    rule="must be a quantization such as none, fp16, int8, Q4_K_M (gguf-q4_k_m), exl2-4.0bpw, mlx-4bit, bnb-4bit, "
    "awq or gptq-4bit-128g, or a label of letters, digits and . _ + - (at most 64, starting with a letter or digit "
    "and not ending with . _ or -)",
    examples=QUANTIZATION_SUGGESTIONS,
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
#: A Hub repo id: org/name, or a single name (the Hub's legacy canonical models, as gpt2).
HF_REPO = r"(?:[A-Za-z0-9](?:[A-Za-z0-9_.-]*[A-Za-z0-9])?/)?[A-Za-z0-9](?:[A-Za-z0-9_.-]*[A-Za-z0-9])?"
S3_URI = r"s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/[^\x00]*)?"
HF_URI = rf"hf://{HF_REPO}(@[A-Za-z0-9][A-Za-z0-9._/-]*)?"


#: MLflow's own references (a registered model, a run's artifacts, its artifact store).
MLFLOW_URI = r"(?:models|runs|mlflow-artifacts):/[^\x00]+"


def _storage_problem(value: str) -> str | None:
    if re.match(r"(?:models|runs|mlflow-artifacts):", value):
        return (
            None
            if re.fullmatch(MLFLOW_URI, value)
            else "MLflow URIs are models:/NAME, runs:/RUN_ID/PATH or mlflow-artifacts:/PATH"
        )
    if re.match(r"[A-Za-z][A-Za-z0-9+.-]*://", value):
        if value.startswith("s3://"):
            return None if re.fullmatch(S3_URI, value) else "s3:// paths need a valid bucket name: s3://bucket/key"
        if value.startswith("hf://"):
            return (
                None
                if re.fullmatch(HF_URI, value) and ".." not in value
                else ("hf:// paths must be hf://org/name or hf://org/name@revision (or hf://name, as hf://gpt2)")
            )
        return "must be an s3:// or hf:// URI, an MLflow URI (models:/, runs:/) or a filesystem path"
    if "\x00" in value or not value.strip():
        return "must be a non-empty filesystem path without NUL characters"
    return None


STORAGE_PATH = Field(
    "string",
    max_length=1024,
    min_length=1,
    rule="s3://bucket/key, hf://org/name[@revision], an MLflow URI (models:/NAME, runs:/RUN_ID/PATH) or a "
    "filesystem path",
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

#: An MLflow run id (32 hex digits from MLflow's own store; other stores use other ids).
RUN_ID = r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}"


def normalize_run(value: str) -> str:
    """A run reference as stored: `runs:/<run id>`, from a bare run id or a runs:/ URI
    (an artifact path after the id is dropped: the release records the run)."""
    rest = value[len("runs:/") :] if value.startswith("runs:/") else value
    return f"runs:/{rest.split('/', 1)[0]}"


MLFLOW_RUN = Field(
    "string",
    nullable=True,
    max_length=300,
    normalize=normalize_run,
    pattern=rf"(?:runs:/)?{RUN_ID}(?:/[A-Za-z0-9._-]+)*",
    rule="must be an MLflow run id or a runs:/<run id>[/path] URI",
)


def run_id(reference: str) -> str:
    """The run id of a stored `runs:/<run id>` reference."""
    return reference[len("runs:/") :] if reference.startswith("runs:/") else reference


RELEASE_FIELDS = {
    "model": NAME,
    "version": VERSION,
    "quantization": QUANTIZATION,
    "release_notes": Field("string", nullable=True, max_length=20_000),
    "metadata": METADATA,
    "auto_build": Field("boolean"),
    "mlflow_run": MLFLOW_RUN,
}
RELEASE = Shape(
    RELEASE_FIELDS, required=("model", "version"), updatable=("release_notes", "metadata", "auto_build", "mlflow_run")
)

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

#: How an alias got its target, in its timeline.
ALIAS_ACTIONS = ("set", "move", "delete", "rollback", "import")
AS_OF_RULE = (
    "must be an ISO 8601 time such as 2026-05-01T12:00:00Z or 2026-05-01T14:00:00+02:00 (one without an offset is UTC)"
)


def as_of(value: Any) -> datetime:
    """The time `as_of` names, timezone-aware (a time without an offset is UTC), or
    InvalidInput naming `as_of` and the rule."""
    text = value.strip() if isinstance(value, str) else ""
    try:
        when = datetime.fromisoformat(text.upper())
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        return when.astimezone(timezone.utc)
    except (ValueError, OverflowError):
        raise InvalidInput(f"as_of: {AS_OF_RULE} (got {str(value)[:60]!r})", field="as_of") from None
