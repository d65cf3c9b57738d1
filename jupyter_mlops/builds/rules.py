"""Input rules for image builds and pushes: image references, build options, run checks
and registry credentials. REST, the notebook faces and the OpenAPI document use these."""

from __future__ import annotations

import re
from typing import Any

from ..fields import Field, Shape, clean

#: Docker's reference grammar (distribution/reference): lowercase path components,
#: an optional registry host[:port] in front and a tag after ':'.
COMPONENT = r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
HOST = rf"(?:{_LABEL}(?:\.{_LABEL})*|\[[0-9a-fA-F:]+\])(?::[0-9]{{1,5}})?"
TAG_PART = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
#: A repository path without its registry host.
REPO_PATH = rf"{COMPONENT}(?:/{COMPONENT})*"
#: A first part Docker reads as a registry host: with a '.' or a ':port', or localhost.
REGISTRY_HOST = (
    rf"(?:{_LABEL}(?:\.{_LABEL})+(?::[0-9]{{1,5}})?|{_LABEL}:[0-9]{{1,5}}|localhost"
    rf"|\[[0-9a-fA-F]*:[0-9a-fA-F:]*\](?::[0-9]{{1,5}})?)"
)
#: A first path component that cannot be read as a host (no '.').
_PLAIN = r"[a-z0-9]+(?:(?:_|__|-+)[a-z0-9]+)*"
#: A whole reference, as `_image_problem` reads it (the document publishes this): a host
#: and a path, or a path whose first part has no '.', or a single component; then a tag.
IMAGE_PATTERN = rf"(?:{REGISTRY_HOST}/{REPO_PATH}|{_PLAIN}(?:/{COMPONENT})+|{COMPONENT})(?::{TAG_PART})?"
IMAGE_RULE = (
    "must be an image reference name[:tag]: lowercase letters, digits and separators . _ __ - "
    "in '/'-separated parts, optionally a registry host[:port]/ in front, a tag of letters, digits, "
    "_ . - (at most 128, not starting with . or -), no digest, at most 255 characters"
)
ACCELERATORS = ("rocm", "cuda", "cpu")
#: Base images by accelerator target when nothing else is configured.
DEFAULT_BASE_IMAGES = {"rocm": "rocm/pytorch:latest", "cuda": "pytorch/pytorch:latest", "cpu": "python:3.12-slim"}
DOCKERFILE_MODES = ("auto", "generated", "custom")
DEVICES = ("none", "rocm", "cuda")
ARG_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def split_image(ref: str) -> tuple[str, str]:
    """`name[:tag]` -> (repository, tag), tag defaulting to latest; a registry port is not a tag."""
    name, sep, tag = ref.rpartition(":")
    if sep and "/" not in tag:
        return name, tag
    return ref, "latest"


def without_registry(repository: str) -> str:
    """The repository path without a registry host in front (Docker's rule: a first part
    with '.' or ':', or localhost, is a host)."""
    first, sep, rest = repository.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        return rest
    return repository


def _image_problem(value: str) -> str | None:
    repo, tag = split_image(value)
    if len(value) > 255:
        return "must be at most 255 characters"
    path = without_registry(repo)
    host = repo[: -len(path) - 1] if path != repo else ""
    if (host and not re.fullmatch(HOST, host)) or not re.fullmatch(REPO_PATH, path) or not re.fullmatch(TAG_PART, tag):
        return IMAGE_RULE
    return None


def _build_args_problem(value: dict[str, Any]) -> str | None:
    if len(value) > 100:
        return "must have at most 100 arguments"
    for key, item in value.items():
        if not ARG_NAME.fullmatch(key) or len(key) > 100:
            return f"argument name {key!r} must be letters, digits and '_', not starting with a digit"
        if not isinstance(item, str) or len(item) > 4000 or "\x00" in item:
            return f"argument {key} must be a string of at most 4000 characters without NUL"
    return None


def _relative_problem(value: str) -> str | None:
    if value.startswith(("/", "~")) or "\\" in value or "\x00" in value:
        return "must be a path relative to the project folder"
    if any(part in ("..", "") for part in value.split("/")):
        return "must not contain '..' or empty parts"
    return None


IMAGE = Field(
    "string",
    max_length=255,
    pattern=IMAGE_PATTERN,
    rule=IMAGE_RULE,
    check=_image_problem,
    description="image name[:tag], e.g. registry.local:5000/team/model:1.0",
)
BASE_IMAGE = Field(
    "string",
    nullable=True,
    max_length=255,
    pattern=IMAGE_PATTERN,
    rule=IMAGE_RULE,
    check=_image_problem,
    description="base image of the generated Dockerfile (default: by accelerator)",
)
RELATIVE = Field("string", max_length=500, rule="a path relative to the project folder", check=_relative_problem)
COMMAND = Field(
    "array",
    items=Field("string", max_length=4000),
    max_items=100,
    check=lambda v: "must not be empty" if not v else None,
    description="argv of the command, e.g. ['python', '-c', 'import torch']",
)
RUN_CHECK = Shape(
    {
        "command": COMMAND,
        "devices": Field(
            "string",
            enum=DEVICES,
            description="GPU devices to pass: rocm (/dev/kfd, /dev/dri, group video), cuda (all GPUs) or none",
        ),
        "timeout": Field("integer", minimum=1, maximum=3600, description="seconds before the check is stopped"),
    },
    required=("command",),
)


def _run_check_problem(value: dict[str, Any]) -> str | None:
    try:
        clean(RUN_CHECK.fields, value, required=RUN_CHECK.required, what="run_check")
    except Exception as exc:  # the nested message names the inner field
        return str(exc)
    return None


BUILD = Shape(
    {
        "release_id": Field("integer", minimum=1, description="the release to build"),
        "tag": Field(
            "string",
            nullable=True,
            max_length=255,
            rule=IMAGE_RULE,
            check=_image_problem,
            description="image name[:tag] (default: <model>:<version>[-<quantization>])",
        ),
        "accelerator": Field("string", enum=ACCELERATORS, description="base image family (default rocm)"),
        "base_image": BASE_IMAGE,
        "dockerfile": Field(
            "string",
            enum=DOCKERFILE_MODES,
            description="generated, custom (the model folder's Dockerfile) or auto (custom when "
            "the model folder has one)",
        ),
        "project": Field(
            "string",
            nullable=True,
            max_length=500,
            rule="a folder relative to the workspace root",
            check=_relative_problem,
            description="folder with requirements.txt, requirements/, third_party/ (default: the workspace root)",
        ),
        "include": Field(
            "array", items=RELATIVE, max_items=50, description="more project folders or files to copy into the image"
        ),
        "build_args": Field("object", check=_build_args_problem, description="build-time ARG values"),
        "platform": Field(
            "string",
            nullable=True,
            max_length=64,
            pattern=r"[a-z0-9]+/[a-z0-9_]+(/[a-z0-9]+)?",
            rule="must be os/arch[/variant], e.g. linux/amd64",
        ),
        "no_cache": Field("boolean", description="build every layer afresh and never reuse an image"),
        "pull": Field("boolean", description="pull a newer base image first"),
        "run_check": Field(
            "object",
            nullable=True,
            check=_run_check_problem,
            description="start the built image with {command, devices?, timeout?} and record its exit code",
        ),
    },
    required=("release_id",),
)

PUSH = Shape(
    {
        "registry": Field(
            "string",
            max_length=255,
            pattern=HOST,
            rule="must be a registry host[:port], e.g. 127.0.0.1:5000 or ghcr.io",
            description="registry address",
        ),
        "repository": Field(
            "string",
            nullable=True,
            max_length=255,
            pattern=REPO_PATH,
            rule="must be lowercase path parts of letters, digits and . _ __ -",
            description="repository in the registry (default: the build's image name)",
        ),
        "tag": Field(
            "string",
            nullable=True,
            max_length=128,
            pattern=TAG_PART,
            rule="must be letters, digits, _ . - (at most 128, not starting with . or -)",
        ),
        "username": Field("string", max_length=500, min_length=1, description="registry user; never stored"),
        "password": Field(
            "string",
            max_length=4000,
            min_length=1,
            secret=True,
            description="registry password or token; never stored",
        ),
    },
    required=("registry",),
    together=("username", "password"),
)


def default_tag(model: str, version: str, quantization: str) -> str:
    """`<model>:<version>[-<quantization>]`, made to fit Docker's grammar."""
    repo = re.sub(r"[^a-z0-9._-]+", "-", model.lower()).strip("._-") or "model"
    repo = re.sub(r"([._-])[._-]+", r"\1", repo)
    tag = version if quantization in ("", "none") else f"{version}-{quantization}"
    tag = re.sub(r"[^A-Za-z0-9_.-]", "-", tag).lstrip(".-")[:128] or "latest"
    return f"{repo}:{tag}"
