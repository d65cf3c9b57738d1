"""Checks on the store's files that are safe while this process has the store open."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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
