"""`init [DIR]`: make a folder an MLOps workspace (its `.mlops/` and an empty store), as
`git init` makes a repository; running it again changes nothing."""

from __future__ import annotations

import argparse
from pathlib import Path

from .render import Result
from .tree import Context, Tree


def _init(ctx: Context, a: argparse.Namespace) -> Result:
    from ..config import ROOT_SOURCE, load_settings

    # DIR, else the workspace a setting names, else this folder (as `git init` does)
    named = ctx.settings.origins.get("workspace_dir") != ROOT_SOURCE
    root = Path(a.dir).expanduser().resolve() if a.dir else ctx.settings.workspace.root if named else Path.cwd()
    settings = load_settings({"workspace_dir": str(root), "db_url": a.db_url}, cwd=root)
    existed = settings.workspace.state_dir.is_dir() and settings.workspace.has_store()
    settings.workspace.state_dir.mkdir(parents=True, exist_ok=True)
    ctx.settings, ctx.given_services, ctx.writes = settings, None, True
    where = ctx.services.settings.where()  # opening the store makes and migrates it
    verb = "reinitialized existing" if existed else "initialized empty"
    return Result(f"{verb} MLOps workspace in {where['path']} (store {where['store']})", where, record=where)


def register(tree: Tree) -> None:
    """Add `init` to `tree`."""
    p = tree.command(
        tree.commands,
        "init",
        "make DIR (default: this folder) an MLOps workspace with an empty registry",
        _init,
        writes=True,
    )
    p.add_argument("dir", metavar="DIR", nargs="?", help="the folder (made if missing)")
