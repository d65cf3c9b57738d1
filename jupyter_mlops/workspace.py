"""Where the workspace, the store and the model cache are."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

STATE_DIRNAME = ".mlops"
ENV_WORKSPACE = "JUPYTER_MLOPS_WORKSPACE"
ENV_DB_URL = "JUPYTER_MLOPS_DB_URL"
ENV_MODELS_DIR = "JUPYTER_MLOPS_MODELS_DIR"


@dataclass(frozen=True)
class Workspace:
    """Resolved locations for one workspace."""

    root: Path
    db_url: str
    models_dir: Path

    @property
    def state_dir(self) -> Path:
        """`<root>/.mlops`: the database, its backups and job scratch space."""
        return self.root / STATE_DIRNAME

    @property
    def sqlite_path(self) -> Path | None:
        """The database file when the store is SQLite, else None."""
        prefix = "sqlite:///"
        if self.db_url.startswith(prefix):
            return Path(self.db_url[len(prefix):])
        return None


def find_root(start: Path | None = None) -> Path:
    """The workspace root: `$JUPYTER_MLOPS_WORKSPACE`, else the nearest folder upward
    from `start` (default: cwd) holding `.mlops/`, else `start` itself."""
    env = os.environ.get(ENV_WORKSPACE)
    if env:
        return Path(env).expanduser().resolve()
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / STATE_DIRNAME).is_dir():
            return folder
    return here


def resolve(
    root: str | Path | None = None,
    db_url: str | None = None,
    models_dir: str | Path | None = None,
) -> Workspace:
    """Build a Workspace from explicit values, then environment, then defaults."""
    root_path = Path(root).expanduser().resolve() if root else find_root()
    url = db_url or os.environ.get(ENV_DB_URL) or f"sqlite:///{root_path / STATE_DIRNAME / 'mlops.db'}"
    models = models_dir or os.environ.get(ENV_MODELS_DIR) or root_path / "models"
    models_path = Path(models).expanduser()
    if not models_path.is_absolute():
        models_path = root_path / models_path
    return Workspace(root=root_path, db_url=url, models_dir=models_path.resolve())
