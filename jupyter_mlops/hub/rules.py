"""Input rules for the model hub: repo ids, revisions, patterns and file names.

Each rule is a `jupyter_mlops.fields.Field`, so REST validation, the notebook faces
and the OpenAPI document all come from the same place."""

from __future__ import annotations

import re
from typing import Any

from ..fields import Field, Shape

PART_MAX = 96
#: One part of a repo id: a letter or digit first, a letter, digit or '_' last, at most 96.
REPO_PART = rf"[A-Za-z0-9](?:[A-Za-z0-9_.-]{{0,{PART_MAX - 2}}}[A-Za-z0-9_])?"
#: Nowhere in a repo id (Hugging Face's rule).
REPO_FORBID = r"--|\.\."
REPO_RULE = (
    "must be org/name, or a single name like gpt2 (the Hub's legacy canonical models): parts of letters, "
    "digits, '-', '_' and '.', not starting or ending with '-' or '.', without '--' or '..', each at most 96 "
    "characters"
)
COMMIT = re.compile(r"[0-9a-f]{40}")
REVISION_RULE = (
    "must be a branch, tag or 40-hex commit: letters, digits and . _ - / + , "
    "no '..', no leading or trailing '/', at most 200 characters"
)
PATTERN_RULE = "must be a relative glob (letters, digits, . _ - / * ? [ ] + , = @ ~ and spaces), without '..' parts"
FILE_RULE = "must be a relative file path in the repo (or a glob), without '..' parts"


def _relative_path_problem(value: str) -> str | None:
    if value.startswith(("/", "~")) or re.match(r"[A-Za-z]:", value):
        return "must be relative, not absolute"
    if "\\" in value or "%" in value:
        return "must not contain backslashes or '%' escapes"
    if any(seg in ("..", ".") for seg in value.split("/")):
        return "must not contain '..' or '.' parts"
    if "//" in value or value.endswith("/"):
        return "must not contain empty parts"
    return None


def _revision_problem(value: str) -> str | None:
    if ".." in value or "//" in value or value.startswith("/") or value.endswith("/"):
        return "must not contain '..' or '//', nor start or end with '/'"
    if value.endswith(".lock") or "@{" in value:
        return "is not a valid git ref name"
    return None


REPO_ID = Field(
    "string",
    description="Hugging Face model repo id, org/name (or a single name, as gpt2)",
    max_length=2 * PART_MAX + 1,
    pattern=f"(?:{REPO_PART}/)?{REPO_PART}",
    forbid=REPO_FORBID,
    rule=REPO_RULE,
)
REVISION = Field(
    "string",
    description="branch, tag or commit (default main)",
    max_length=200,
    pattern=r"[A-Za-z0-9][A-Za-z0-9._+,/-]*",
    rule=REVISION_RULE,
    check=_revision_problem,
)
PATTERN = Field(
    "string", max_length=500, pattern=r"[A-Za-z0-9._*?\[\]+,=@~ /-]+", rule=PATTERN_RULE, check=_relative_path_problem
)
PATTERNS = Field(
    "array",
    nullable=True,
    items=PATTERN,
    max_items=100,
    description="globs of repo files (e.g. ['*Q4_K_M*.gguf', '*.json'])",
)
FILE_NAME = Field("string", max_length=1000, pattern=r"[^\x00\\%]+", rule=FILE_RULE, check=_relative_path_problem)
FILE_NAMES = Field(
    "array",
    nullable=True,
    items=FILE_NAME,
    max_items=1000,
    description="repo file paths or globs to delete from the revision(s)",
)
TOKEN = Field(
    "string",
    nullable=True,
    max_length=500,
    pattern=r"[\x21-\x7e]+",
    rule="must be a Hugging Face token (printable characters, no spaces)",
    description="Hugging Face token for private or gated repos; never stored",
    secret=True,
)
NAME = Field(
    "string",
    nullable=True,
    max_length=100,
    pattern=r"[A-Za-z0-9][A-Za-z0-9._-]*",
    rule="must start with a letter or digit and use only letters, digits, '.', '_' and '-' (at most 100)",
)
FORCE = Field("boolean", description="delete even if in use")

DOWNLOAD = Shape(
    {"repo_id": REPO_ID, "revision": REVISION, "allow_patterns": PATTERNS, "ignore_patterns": PATTERNS, "token": TOKEN},
    required=("repo_id",),
)
DELETE = Shape(
    {
        "repo_id": REPO_ID,
        "revision": Field(
            "string",
            nullable=True,
            max_length=200,
            pattern=REVISION.pattern,
            rule=REVISION_RULE,
            check=_revision_problem,
        ),
        "files": FILE_NAMES,
        "force": FORCE,
    },
    required=("repo_id",),
)
CREATE_MODEL = Shape({"repo_id": REPO_ID, "revision": REVISION, "name": NAME}, required=("repo_id",))
#: The body of a register request: the repo comes from the path.
REGISTER = Shape({"revision": REVISION, "name": NAME})
DEFAULT_MODEL = Shape(
    {"name": Field("string", max_length=100, pattern=NAME.pattern, rule=NAME.rule)}, required=("name",)
)


def repo_id(value: Any, name: str = "repo_id") -> str:
    """A valid `org/name` (or single `name`), or InvalidInput naming `name`."""
    return str(REPO_ID.clean(name, value))


def revision(value: Any, name: str = "revision") -> str:
    """A valid branch, tag or commit, or InvalidInput."""
    return str(REVISION.clean(name, value))


def is_commit(value: str) -> bool:
    """Whether `value` is a full 40-hex commit id."""
    return bool(COMMIT.fullmatch(value))


def repo_folder(repo: str) -> str:
    """The cache folder name of a model repo (`models--org--name`, `models--gpt2`)."""
    return "models--" + repo.replace("/", "--")


def parse_hf_uri(value: str) -> tuple[str, str | None] | None:
    """`hf://org/name[@rev]` (or `hf://name[@rev]`) -> (repo_id, rev); None for anything else."""
    if not isinstance(value, str) or not value.startswith("hf://"):
        return None
    body = value[len("hf://") :]
    repo, _, rev = body.partition("@")
    return repo, (rev or None)
