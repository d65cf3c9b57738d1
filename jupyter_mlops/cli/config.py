"""`config`: the effective settings and where each came from (as `git config --show-origin`
or `pip config list` show theirs); secrets are never shown."""

from __future__ import annotations

import argparse

from ..errors import InvalidInput
from .render import Result
from .tree import Context, Tree

CONFIG_COLUMNS = ("name", "value", "source")
#: A source names a file: show it whole.
SOURCE_LIMIT = 400


def _config(ctx: Context, a: argparse.Namespace) -> Result:
    from ..config import NAMES

    rows = ctx.settings.describe()
    if a.name:
        if a.name not in NAMES:
            raise InvalidInput(f"name: {a.name!r} is not a setting; the settings are {', '.join(NAMES)}", field="name")
        row = next(r for r in rows if r["name"] == a.name)
        return Result(f"{a.name}: {row['help']}", row, record={k: row[k] for k in ("value", "source", "env")})
    title = (
        f"settings of workspace {ctx.settings.workspace.root} (highest first: argument, environment, "
        "config files, default)"
    )
    return Result(title, {r["name"]: r for r in rows}, CONFIG_COLUMNS, rows=rows, cell_limit=SOURCE_LIMIT)


def register(tree: Tree) -> None:
    """Add `config` to `tree`."""
    p = tree.command(
        tree.commands, "config", "the effective settings and where each came from (secrets hidden)", _config
    )
    p.add_argument("name", metavar="NAME", nargs="?", help="only this setting (with its help)")
