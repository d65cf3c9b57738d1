"""Checks on the store's files that are safe while this process has the store open."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

SCAN = """import pathlib, sys
files = [p for p in pathlib.Path(sys.argv[1]).rglob("*") if p.is_file()]
print(len(files), [str(p) for p in files if sys.argv[2].encode() in p.read_bytes()])
"""


def assert_secret_nowhere(folder: Path, secret: str) -> None:
    """No file under `folder` (the database, its WAL, secret files) holds `secret`. Read by
    another process: closing a file descriptor of the database here would drop this
    process's SQLite locks (POSIX locks are per process), and its open connections would
    then read a stale WAL."""
    proc = subprocess.run([sys.executable, "-c", SCAN, str(folder), secret], capture_output=True, text=True,
                          timeout=60, check=True)
    count, found = proc.stdout.split(" ", 1)
    assert int(count) > 0 and found.strip() == "[]", proc.stdout


def all_rows(store_or_url: Any) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table of a store (a `Store`, or the URL of one, opened and closed
    here) but the workers' heartbeats, which tick on their own: compare two to see that
    nothing changed."""
    from sqlalchemy import select

    from jupyter_mlops.store import Store
    from jupyter_mlops.store.schema import Base

    store = Store(store_or_url) if isinstance(store_or_url, str) else store_or_url
    try:
        with store.read() as s:
            return {t.name: sorted(map(tuple, s.execute(select(t)).all()), key=repr)
                    for t in Base.metadata.sorted_tables if t.name != "workers"}
    finally:
        if store is not store_or_url:
            store.dispose()
