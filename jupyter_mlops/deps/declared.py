"""What a project declares: `pyproject.toml` dependencies, chosen extras, dependency
groups (PEP 735) and pip requirements files, read into one `Declaration`.

Nothing is installed or fetched here. Bad input raises `InvalidInput` naming the file
(and line or table) and the rule it broke.

Which requirements files are read: the ones given, else `[tool.jupyter-mlops]
requirements` from pyproject, else `requirements.txt` next to pyproject when present.
A `requirements/` folder is never read on its own: such folders usually split dev,
docs and test sets, and guessing would check the kernel against the wrong one.
"""

from __future__ import annotations

import os
import re
import shlex
import sys
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.markers import Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from ..errors import InvalidInput
from ..paths import Roots, usable

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

#: Files that make a folder a project.
PROJECT_FILES = ("pyproject.toml", "requirements.txt")
#: Keys allowed in `[tool.jupyter-mlops]`.
SETTINGS_KEYS = ("extras", "groups", "protected", "requirements")
SETTINGS_TABLE = "pyproject.toml [tool.jupyter-mlops]"

# pip's own rules for requirements files: a comment starts a line or follows blanks;
# `${NAME}` is replaced from the environment; a trailing backslash joins lines.
_COMMENT = re.compile(r"(^|\s+)#.*$")
_ENV_VAR = re.compile(r"\$\{([A-Z0-9_]+)\}")
#: A URL requirement starts with a scheme (`https://...`, `git+ssh://...`, `file:///...`).
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
_ARCHIVE = (".whl", ".zip", ".tar.gz", ".tgz", ".tar.bz2", ".tbz", ".tar.xz", ".txz", ".tar")
_EGG = re.compile(r"[#&]egg=([A-Za-z0-9][A-Za-z0-9._-]*)")
_USERINFO = re.compile(r"(?<=://)[^/@\s]+@")

# Options of a requirements file: which take a value, and what each one becomes.
_LONG = {
    "--requirement": "r",
    "--constraint": "c",
    "--editable": "e",
    "--index-url": "index",
    "--extra-index-url": "index",
    "--find-links": "index",
    "--trusted-host": "index",
    "--only-binary": "index",
    "--no-binary": "index",
    "--hash": "line",
    "--config-settings": "line",
    "--global-option": "line",
    "--install-option": "line",
    "--use-feature": "ignore",
}
_SHORT = {
    "-r": "--requirement",
    "-c": "--constraint",
    "-e": "--editable",
    "-i": "--index-url",
    "-f": "--find-links",
    "-C": "--config-settings",
}
_FLAGS = {"--no-index": "index", "--pre": "index", "--prefer-binary": "index", "--require-hashes": "ignore"}


@dataclass(frozen=True)
class Declared:
    """One declared requirement: the parsed `requirement`, its original `text`, where it
    came from (`source`, e.g. "requirements.txt:12") and the optional-dependency `extra`
    it belongs to (None outside an extra), for marker evaluation."""

    requirement: Requirement
    text: str
    source: str
    extra: str | None = None

    @property
    def key(self) -> str:
        """PEP 503 canonical name."""
        return canonicalize_name(self.requirement.name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.requirement.name,
            "key": self.key,
            "requirement": str(self.requirement),
            "text": self.text,
            "source": self.source,
            "extra": self.extra,
        }


@dataclass(frozen=True)
class Unsupported:
    """A declaration kept but not checked (editable, URL, local path, dynamic
    dependencies, remote file): its text, source, why, and its name when known."""

    text: str
    source: str
    reason: str
    key: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, credentials in URLs masked."""
        return {"text": redact(self.text), "source": self.source, "reason": self.reason, "key": self.key}


@dataclass
class Declaration:
    """Everything a project declares for the check.

    `extras` and `groups` are the chosen ones (normalized names); a requirement whose
    `extra` is None has its marker evaluated with no extra and with each chosen extra.
    `index_options` are pip arguments (`--index-url URL`, `--pre`, ...) in file order.
    `settings` holds the `[tool.jupyter-mlops]` keys that were set, normalized."""

    project: Path
    requirements: list[Declared] = field(default_factory=list)
    constraints: list[Declared] = field(default_factory=list)
    index_options: list[str] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    unsupported: list[Unsupported] = field(default_factory=list)
    extras: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "project": str(self.project),
            "requirements": [d.to_dict() for d in self.requirements],
            "constraints": [d.to_dict() for d in self.constraints],
            "index_options": [redact(o) for o in self.index_options],
            "settings": dict(self.settings),
            "unsupported": [u.to_dict() for u in self.unsupported],
            "extras": list(self.extras),
            "groups": list(self.groups),
            "files": list(self.files),
        }


def redact(text: str) -> str:
    """`text` with the user:password (or token) part of any URL replaced by `****`, for
    output; the Declaration itself keeps the real values for pip."""
    return _USERINFO.sub("****@", text)


def find_project(start: Path, *, stop: Path | None = None) -> Path | None:
    """The nearest folder from `start` (a folder or a file in it) upward that holds
    `pyproject.toml` or `requirements.txt`; None when none is found before the
    filesystem root or after checking `stop` (e.g. the workspace root)."""
    here = Path(start).expanduser().resolve()
    if not here.is_dir():
        here = here.parent
    limit = Path(stop).expanduser().resolve() if stop is not None else None
    while True:
        if any((here / name).is_file() for name in PROJECT_FILES):
            return here
        if here == limit or here.parent == here:
            return None
        here = here.parent


def read_declared(
    project: Path,
    *,
    extras: Sequence[str] | None = None,
    groups: Sequence[str] | None = None,
    requirement_files: Sequence[str | Path] | None = None,
    roots: Roots | None = None,
) -> Declaration:
    """Read what `project` declares.

    `extras` / `groups` / `requirement_files` left as None take the defaults from
    `[tool.jupyter-mlops]` (and `requirements.txt` when present); an empty sequence
    means none. Requirement files are relative to `project` and must lie inside it;
    the files they include (`-r`, `-c`) must lie inside `roots` (default: the project).
    Raises InvalidInput for anything unreadable or unknown, Forbidden for a file outside;
    reads only, and never quotes a line it cannot read as a requirement."""
    return _Reader(Path(project), roots).read(extras, groups, requirement_files)


class _Reader:
    """One read of one project; collects into `self.out`."""

    def __init__(self, project: Path, roots: Roots | None) -> None:
        root = usable(project, "project")
        if not root.is_dir():
            raise InvalidInput(f"project: {project} is not a folder", field="project")
        self.root = root.resolve()
        self.roots = roots or Roots([self.root])
        self.out = Declaration(project=self.root)
        self.read_files: set[tuple[Path, bool]] = set()

    # ---- top level -----------------------------------------------------------------

    def read(
        self,
        extras: Sequence[str] | None,
        groups: Sequence[str] | None,
        requirement_files: Sequence[str | Path] | None,
    ) -> Declaration:
        pyproject = self.root / "pyproject.toml"
        data: dict[str, Any] = {}
        text = ""
        if pyproject.is_file():
            text, data = _load_toml(pyproject)
            self.out.files.append("pyproject.toml")
            self.out.settings = _settings(data)
        settings = self.out.settings

        if requirement_files is not None:
            files, origin = list(requirement_files), "requirement_files"
        elif "requirements" in settings:
            files, origin = list(settings["requirements"]), f"{SETTINGS_TABLE} requirements"
        else:
            files, origin = (["requirements.txt"] if (self.root / "requirements.txt").is_file() else []), ""
        if not pyproject.is_file() and not files:
            raise InvalidInput(
                f"project: {self.root} holds neither pyproject.toml nor requirements.txt", field="project"
            )

        chosen_extras = list(extras) if extras is not None else list(settings.get("extras", []))
        chosen_groups = list(groups) if groups is not None else list(settings.get("groups", []))
        extras_origin = "extras" if extras is not None else f"{SETTINGS_TABLE} extras"
        groups_origin = "groups" if groups is not None else f"{SETTINGS_TABLE} groups"
        _Pyproject(self, data, text, present=pyproject.is_file()).read(
            chosen_extras, extras_origin, chosen_groups, groups_origin
        )

        field = origin.rsplit(" ", 1)[-1] if origin else "requirement_files"
        for name in files:
            path = self.roots.resolve(name, field, base=self.root, within=[self.root])
            if not path.is_file():
                raise InvalidInput(f"{origin}: requirements file {str(name)!r} not found ({path})", field=field)
            self.read_requirements(path, constraint=False, stack=())
        return self.out

    def display(self, path: Path) -> str:
        """`path` relative to the project when inside it, else absolute."""
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return str(path)

    # ---- requirements files ----------------------------------------------------------

    def read_requirements(self, path: Path, *, constraint: bool, stack: tuple[Path, ...]) -> None:
        """Read one requirements (or constraints) file and the files it includes."""
        if (path, constraint) in self.read_files:
            return
        self.read_files.add((path, constraint))
        name = self.display(path)
        self.out.files.append(name)
        try:
            text = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InvalidInput(f"{name}: not UTF-8 text ({exc.reason} at byte {exc.start})", field=name) from None
        stack = (*stack, path)
        for lineno, line in _logical_lines(text):
            where = f"{name}:{lineno}"
            if line.startswith("-"):
                self._option_line(line, where, path, constraint, stack)
            else:
                self._requirement_line(line, where, constraint)

    def _option_line(self, line: str, where: str, path: Path, constraint: bool, stack: tuple[Path, ...]) -> None:
        for option, value in _options(line, where):
            kind = _LONG.get(option) or _FLAGS.get(option)
            if kind in ("r", "c"):
                self._include(value or "", where, path, constraint or kind == "c", stack, option)
            elif kind == "e":
                self.out.unsupported.append(
                    Unsupported(f"-e {value}", where, "editable install: its version is not checked", _egg_name(value))
                )
            elif kind == "index":
                self._index_option(option, value, path)
            elif kind == "line":
                raise InvalidInput(f"{where}: option {option} must follow a requirement on the same line", field=where)
            # "ignore": --use-feature, --require-hashes change how pip installs, not what

    def _include(
        self, value: str, where: str, path: Path, constraint: bool, stack: tuple[Path, ...], option: str
    ) -> None:
        if "://" in value:
            self.out.unsupported.append(
                Unsupported(f"{option} {value}", where, "remote requirements file: not fetched")
            )
            return
        target = self.roots.resolve(value, where, base=path.parent)
        if not target.is_file():
            raise InvalidInput(f"{where}: requirements file {value!r} not found ({target})", field=where)
        if target in stack:
            chain = " -> ".join(self.display(p) for p in (*stack[stack.index(target) :], target))
            raise InvalidInput(f"{where}: {option} {value} makes an include cycle ({chain})", field=where)
        self.read_requirements(target, constraint=constraint, stack=stack)

    def _index_option(self, option: str, value: str | None, path: Path) -> None:
        args = [option]
        if value is not None:
            if option == "--find-links" and "://" not in value:
                local = path.parent / os.path.expanduser(value)
                if local.exists():  # pip: relative to the requirements file when it exists there
                    value = str(local.resolve())
            args.append(value)
        opts = self.out.index_options
        if not any(opts[i : i + len(args)] == args for i in range(len(opts))):
            opts.extend(args)

    def _requirement_line(self, line: str, where: str, constraint: bool) -> None:
        tokens = line.split()
        cut = next((i for i, t in enumerate(tokens) if t.startswith("-")), len(tokens))
        spec = " ".join(tokens[:cut])
        for option, _ in _options(" ".join(tokens[cut:]), where):
            if _LONG.get(option) != "line":
                raise InvalidInput(
                    f"{where}: option {option} is not allowed after a requirement "
                    "(per-line options are --hash, --config-settings, --global-option)",
                    field=where,
                )
        reason = _path_or_url(spec, self.root)
        if reason:
            self.out.unsupported.append(Unsupported(spec, where, reason, _egg_name(spec)))
            return
        req = _parse(spec, where, quote=False)
        if req.url:
            self.out.unsupported.append(
                Unsupported(
                    spec, where, "direct URL reference: its version is not checked", canonicalize_name(req.name)
                )
            )
            return
        if constraint and req.extras:
            raise InvalidInput(f"{where}: constraints cannot have extras ({spec!r})", field=where)
        (self.out.constraints if constraint else self.out.requirements).append(Declared(req, spec, where))


class _Pyproject:
    """Reads `[project]`, its extras and `[dependency-groups]` of one parsed pyproject."""

    def __init__(self, reader: _Reader, data: dict[str, Any], text: str, *, present: bool) -> None:
        self.reader = reader
        self.text = text
        self.present = present
        project = data.get("project", {})
        if not isinstance(project, dict):
            raise InvalidInput("pyproject.toml [project]: must be a table", field="pyproject.toml")
        name = project.get("name")
        self.name = canonicalize_name(name) if isinstance(name, str) else None
        self.dependencies = _string_list(project.get("dependencies", []), "pyproject.toml [project] dependencies")
        self.dynamic = _string_list(project.get("dynamic", []), "pyproject.toml [project] dynamic")
        optional = project.get("optional-dependencies", {})
        if not isinstance(optional, dict):
            raise InvalidInput(
                "pyproject.toml [project.optional-dependencies]: must be a table of lists", field="pyproject.toml"
            )
        self.extras: dict[str, tuple[str, list[str]]] = {}
        for extra, items in optional.items():
            label = f"pyproject.toml [project.optional-dependencies] {extra}"
            self._unique(self.extras, extra, label, (extra, _string_list(items, label)))
        groups = data.get("dependency-groups", {})
        if not isinstance(groups, dict):
            raise InvalidInput("pyproject.toml [dependency-groups]: must be a table of lists", field="pyproject.toml")
        self.groups: dict[str, tuple[str, Any]] = {}
        for group, items in groups.items():
            label = f"pyproject.toml [dependency-groups] {group}"
            if not isinstance(items, list):
                raise InvalidInput(f"{label}: must be a list", field="pyproject.toml")
            self._unique(self.groups, group, label, (group, items))
        self.poetry = isinstance(data.get("tool"), dict) and isinstance(data["tool"].get("poetry"), dict)

    @staticmethod
    def _unique(table: dict[str, Any], name: str, label: str, value: Any) -> None:
        key = canonicalize_name(name)
        if key in table:
            raise InvalidInput(f"{label}: same name as {table[key][0]!r} once normalized", field="pyproject.toml")
        table[key] = value

    def read(self, extras: list[str], extras_origin: str, groups: list[str], groups_origin: str) -> None:
        out = self.reader.out
        extra_keys = [
            self._known(e, self.extras, extras_origin, "extra", "[project.optional-dependencies]") for e in extras
        ]
        group_keys = [
            self._known(g, self.groups, groups_origin, "dependency group", "[dependency-groups]") for g in groups
        ]
        out.extras = list(dict.fromkeys(extra_keys))
        out.groups = list(dict.fromkeys(group_keys))
        if not self.present:
            return
        if "dependencies" in self.dynamic:
            out.unsupported.append(
                Unsupported(
                    'dynamic = ["dependencies"]',
                    "pyproject.toml [project]",
                    "dependencies are computed by the build backend: not read",
                )
            )
        if self.poetry and not self.dependencies and not self.extras:
            out.unsupported.append(
                Unsupported(
                    "[tool.poetry.dependencies]",
                    "pyproject.toml [tool.poetry]",
                    "Poetry's own dependency tables are not read; declare [project].dependencies",
                )
            )

        # Sections to read: (kind, key, marker inherited from a self-reference).
        queue: deque[tuple[str, str | None, Marker | None]] = deque(
            [("deps", None, None), *(("extra", e, None) for e in out.extras), *(("group", g, None) for g in out.groups)]
        )
        seen: set[tuple[str, str | None]] = set()
        while queue:
            kind, key, outer = queue.popleft()
            if (kind, key) in seen:
                continue
            seen.add((kind, key))
            for text, source, extra in self._items(kind, key, seen):
                req = _parse(text, self._where(source, text))
                if req.url:
                    out.unsupported.append(
                        Unsupported(
                            text,
                            source,
                            "direct URL reference: its version is not checked",
                            canonicalize_name(req.name),
                        )
                    )
                    continue
                marker = _and(outer, req.marker)
                if self.name and canonicalize_name(req.name) == self.name:
                    # `myproj[gpu]` inside the project itself: read those sections instead.
                    queue.append(("deps", None, marker))
                    for name in sorted(req.extras):
                        if canonicalize_name(name) not in self.extras:
                            raise InvalidInput(
                                f"{self._where(source, text)}: {text!r} names unknown extra {name!r}; "
                                f"{self._defined('[project.optional-dependencies]', self.extras)}",
                                field="pyproject.toml",
                            )
                        queue.append(("extra", canonicalize_name(name), marker))
                    continue
                if marker is not req.marker:
                    req = Requirement(str(req))
                    req.marker = marker
                out.requirements.append(Declared(req, text, source, extra))

    def _items(
        self, kind: str, key: str | None, seen: set[tuple[str, str | None]]
    ) -> Iterator[tuple[str, str, str | None]]:
        """(text, source, extra) of one section; groups with their includes expanded."""
        if kind == "deps":
            for text in self.dependencies:
                yield text, "pyproject.toml [project.dependencies]", None
        elif kind == "extra":
            assert key is not None
            name, items = self.extras[key]
            for text in items:
                yield text, f"pyproject.toml [project.optional-dependencies] {name}", key
        else:
            assert key is not None
            yield from self._group(key, (), seen)

    def _group(
        self, key: str, stack: tuple[str, ...], seen: set[tuple[str, str | None]]
    ) -> Iterator[tuple[str, str, str | None]]:
        name, items = self.groups[key]
        label = f"pyproject.toml [dependency-groups] {name}"
        stack = (*stack, key)
        for n, item in enumerate(items, 1):
            if isinstance(item, str):
                yield item, label, None
            elif isinstance(item, dict) and set(item) == {"include-group"} and isinstance(item["include-group"], str):
                target = canonicalize_name(item["include-group"])
                if target not in self.groups:
                    raise InvalidInput(
                        f"{label}: include-group {item['include-group']!r} is not a dependency group; "
                        f"{self._defined('[dependency-groups]', self.groups)}",
                        field="pyproject.toml",
                    )
                if target in stack:
                    chain = " -> ".join(self.groups[k][0] for k in (*stack[stack.index(target) :], target))
                    raise InvalidInput(f"{label}: include-group cycle ({chain})", field="pyproject.toml")
                if ("group", target) in seen and target not in stack:
                    continue  # already read in full (its cycles were checked then)
                seen.add(("group", target))
                yield from self._group(target, stack, seen)
            else:
                raise InvalidInput(
                    f'{label} item {n}: must be a requirement string or {{include-group = "name"}}',
                    field="pyproject.toml",
                )

    def _known(self, name: str, table: dict[str, Any], origin: str, what: str, section: str) -> str:
        key = canonicalize_name(name)
        if key not in table:
            raise InvalidInput(
                f"{origin}: unknown {what} {name!r}; {self._defined(section, table)}",
                field=origin.rsplit(" ", 1)[-1],
            )
        return key

    def _defined(self, section: str, table: dict[str, Any]) -> str:
        if not self.present:
            return "there is no pyproject.toml"
        if not table:
            return f"pyproject.toml defines no {section}"
        return f"pyproject.toml {section} defines: {', '.join(sorted(v[0] for v in table.values()))}"

    def _where(self, source: str, text: str) -> str:
        """`source` with the line of `text` in pyproject.toml when it can be found."""
        line = _line_of(self.text, text)
        return source.replace("pyproject.toml", f"pyproject.toml:{line}", 1) if line else source


# ---- helpers ---------------------------------------------------------------------------


def _load_toml(path: Path) -> tuple[str, dict[str, Any]]:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            f"pyproject.toml: not UTF-8 text ({exc.reason} at byte {exc.start})", field="pyproject.toml"
        ) from None
    try:
        return text, tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput(f"pyproject.toml: not valid TOML: {exc}", field="pyproject.toml") from None


def _settings(data: dict[str, Any]) -> dict[str, Any]:
    """`[tool.jupyter-mlops]`, checked: lists of strings under known keys, names normalized."""
    tool = data.get("tool", {})
    table = tool.get("jupyter-mlops") if isinstance(tool, dict) else None
    if table is None:
        return {}
    if not isinstance(table, dict):
        raise InvalidInput(f"{SETTINGS_TABLE}: must be a table", field="pyproject.toml")
    unknown = sorted(set(table) - set(SETTINGS_KEYS))
    if unknown:
        raise InvalidInput(
            f"{SETTINGS_TABLE}: unknown key {unknown[0]!r}; allowed keys are {', '.join(SETTINGS_KEYS)}",
            field="pyproject.toml",
        )
    settings: dict[str, Any] = {}
    for key, value in table.items():
        items = _string_list(value, f"{SETTINGS_TABLE} {key}")
        if any(not item.strip() for item in items):
            raise InvalidInput(f"{SETTINGS_TABLE} {key}: must not hold empty strings", field="pyproject.toml")
        settings[key] = items if key == "requirements" else [canonicalize_name(i.strip()) for i in items]
    return settings


def _string_list(value: Any, label: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidInput(f"{label}: must be a list of strings", field="pyproject.toml")
    return value


def _parse(text: str, where: str, *, quote: bool = True) -> Requirement:
    """`text` as a Requirement, or InvalidInput saying where and what is wrong (quoting
    `text` only with `quote`: a line of a file that may not be a requirements file is not)."""
    try:
        return Requirement(text)
    except InvalidRequirement as exc:
        lines = str(exc).splitlines()
        problem = lines[0] if lines else "not a requirement"
        if len(lines) >= 3 and "^" in lines[2]:
            problem += f" at column {lines[2].index('^') - 3}"
        if quote:
            raise InvalidInput(f"{where}: invalid requirement {text!r}: {problem}", field=where) from None
        raise InvalidInput(f"{where}: not a valid requirement ({problem})", field=where) from None


def _and(outer: Marker | None, inner: Marker | None) -> Marker | None:
    if outer is None:
        return inner
    if inner is None:
        return outer
    return Marker(f"({outer}) and ({inner})")


def _line_of(text: str, value: str) -> int | None:
    for quote in ('"', "'"):
        at = text.find(f"{quote}{value}{quote}")
        if at >= 0:
            return text.count("\n", 0, at) + 1
    return None


def _logical_lines(text: str) -> Iterator[tuple[int, str]]:
    """(first line number, content) of each non-empty line, as pip reads them:
    backslash continuations joined, comments dropped, `${VAR}` expanded."""
    start = 0
    parts: list[str] = []
    for number, line in enumerate(text.splitlines(), 1):
        if line.endswith("\\") and not _COMMENT.match(line):
            if not parts:
                start = number
            parts.append(line[:-1])
            continue
        if parts:
            parts.append(" " + line if _COMMENT.match(line) else line)
            joined, first = "".join(parts), start
            parts = []
        else:
            joined, first = line, number
        yield from _clean(first, joined)
    if parts:
        yield from _clean(start, "".join(parts))


def _clean(number: int, line: str) -> Iterator[tuple[int, str]]:
    line = _COMMENT.sub("", line).strip()
    if line:
        yield number, _ENV_VAR.sub(lambda m: os.environ.get(m.group(1), m.group(0)), line)


def _options(text: str, where: str) -> list[tuple[str, str | None]]:
    """(long option, value) pairs of an option string, as pip's option parser reads them."""
    try:
        tokens = shlex.split(text)
    except ValueError as exc:
        raise InvalidInput(f"{where}: cannot split options ({exc})", field=where) from None
    found: list[tuple[str, str | None]] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        i += 1
        value: str | None = None
        if token.startswith("--"):
            option, eq, attached = token.partition("=")
            value = attached if eq else None
        elif token[:2] in _SHORT:
            option, value = _SHORT[token[:2]], (token[2:] or None)
        else:
            raise InvalidInput(f"{where}: unknown option {token}", field=where)
        if option in _FLAGS:
            if value is not None:
                raise InvalidInput(f"{where}: option {option} takes no value", field=where)
        elif option in _LONG:
            if value is None:
                if i >= len(tokens):
                    raise InvalidInput(f"{where}: option {option} needs a value", field=where)
                value = tokens[i]
                i += 1
        else:
            raise InvalidInput(f"{where}: unknown option {option}", field=where)
        found.append((option, value))
    return found


def _path_or_url(spec: str, project: Path) -> str | None:
    """Why `spec` (a requirement line) is a URL or an existing local path (relative to the
    project, where pip runs) rather than a name, or None: a line that is neither is read
    as a requirement, so the text of a file that is not a requirements file is never kept."""
    head = spec.split(";", 1)[0].strip()
    if " @ " in head or ("@" in head.split("://", 1)[0] and "://" in head):
        return None  # `name @ url`: a named direct reference, parsed as a Requirement
    if _URL.match(head):
        return "URL requirement: its version is not checked"
    looks_like_path = head.startswith((".", "/", "~")) or "/" in head or "\\" in head
    if looks_like_path or head.lower().endswith(_ARCHIVE):
        try:
            local = Path(os.path.expanduser(head))
            exists = (local if local.is_absolute() else project / local).exists()
        except (OSError, ValueError):
            exists = False
        if exists:
            return "local path requirement: its version is not checked"
    return None


def _egg_name(spec: str | None) -> str | None:
    match = _EGG.search(spec or "")
    return canonicalize_name(match.group(1)) if match else None
