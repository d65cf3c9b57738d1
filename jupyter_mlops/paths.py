"""The one rule for paths a request names: each resolves (symlinks followed) inside an
allowed root, or it is refused naming the field, before anything is read there.

The roots are the workspace, the model cache and the `extra_roots` setting (see
`Settings.roots`); a caller may narrow them (a requirements file must be inside its
project, a build's include inside the build's project)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from .errors import Forbidden, InvalidInput

#: Longest name of one path component, and of a whole path, the file system takes (Linux).
NAME_MAX = 255
PATH_MAX = 4096


def usable(value: str | os.PathLike[str], field: str) -> Path:
    """`value` as a Path, `~` expanded; InvalidInput naming `field` when no file system
    could hold it (a NUL byte, a lone surrogate, a component over NAME_MAX bytes)."""
    text = os.fspath(value)
    try:
        encoded = os.fsencode(os.path.expanduser(text))
    except (UnicodeEncodeError, ValueError):
        raise InvalidInput(
            f"{field}: is not a usable path (it holds characters no file name can)", field=field
        ) from None
    if b"\0" in encoded:
        raise InvalidInput(f"{field}: is not a usable path (it holds a NUL byte)", field=field)
    if len(encoded) > PATH_MAX:
        raise InvalidInput(f"{field}: is longer than {PATH_MAX} bytes", field=field)
    if any(len(part) > NAME_MAX for part in encoded.split(b"/")):
        raise InvalidInput(f"{field}: has a name longer than {NAME_MAX} bytes", field=field)
    return Path(os.fsdecode(encoded))


def inside(path: Path, root: Path) -> bool:
    """Whether the (resolved) `path` is `root` or below it."""
    return path == root or root in path.parents


class Roots:
    """The folders requests may name (already resolved)."""

    def __init__(self, roots: Iterable[Path]) -> None:
        self.roots: tuple[Path, ...] = tuple(dict.fromkeys(roots))

    def resolve(
        self, value: str | os.PathLike[str], field: str, *, base: Path, within: Sequence[Path] | None = None
    ) -> Path:
        """`value` (relative to `base`) with every symlink resolved, when it lies inside one
        of `within` (default: the roots); else Forbidden naming `field` and how to allow it.
        Nothing at the path is read, only the links on the way to it."""
        path = usable(value, field)
        path = path if path.is_absolute() else base / path
        real = Path(os.path.realpath(path))
        allowed = tuple(within) if within is not None else self.roots
        if not any(inside(real, root) for root in allowed):
            where = ", ".join(str(r) for r in allowed)
            hint = "" if within is not None else "; add its folder to the extra_roots setting to allow it"
            raise Forbidden(
                f"{field}: {os.fspath(value)!r} is outside the allowed folders ({where}){hint}", field=field
            )
        return real

    def contains(self, real: Path) -> bool:
        """Whether a resolved path lies inside one of the roots."""
        return any(inside(real, root) for root in self.roots)
