"""Where the workspace, the store and the model cache are (the settings decide; see config.py)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

STATE_DIRNAME = ".mlops"


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

    def has_store(self) -> bool:
        """Whether the store is there: the SQLite file exists (a database server's is taken to)."""
        path = self.sqlite_path
        return path is None or path.is_file()

    @property
    def sqlite_path(self) -> Path | None:
        """The database file when the store is SQLite, else None."""
        prefix = "sqlite:///"
        if self.db_url.startswith(prefix):
            return Path(self.db_url[len(prefix) :])
        return None


def find_root(start: Path | None = None) -> Path:
    """The nearest folder upward from `start` (default: cwd) holding `.mlops/`, else `start`."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / STATE_DIRNAME).is_dir():
            return folder
    return here
