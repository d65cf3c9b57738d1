"""Server start time with the extension vs without it (the peer: the same Jupyter
server with jupyter_mlops disabled), measured in alternating runs; prints medians
and the ratio. Also prints what importing the package and loading the extension
pulls in.

    python bench/startup.py [--runs 7]
"""
from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

TOKEN = "bench-token"
HEAVY = ("docker", "huggingface_hub", "alembic", "ipywidgets", "sqlalchemy")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ok(url: str, deadline: float) -> bool:
    """Poll `url` until it answers 200 or the deadline passes."""
    while time.monotonic() < deadline:
        try:
            req = urllib.request.Request(url, headers={"Authorization": f"token {TOKEN}"})
            with urllib.request.urlopen(req, timeout=2) as resp:
                if resp.status == 200:
                    return True
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.02)
    return False


def start_once(enabled: bool, root: Path) -> tuple[float, float | None]:
    """Seconds until /api/status answers, and (with the extension) until /mlops/api/health does."""
    port = free_port()
    cmd = [sys.executable, "-m", "jupyter_server", "--no-browser", "--allow-root", f"--port={port}",
           "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={root}",
           f"--ServerApp.jpserver_extensions=jupyter_mlops={enabled}"]
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ})
    try:
        base = f"http://127.0.0.1:{port}"
        if not wait_ok(f"{base}/api/status", t0 + 60):
            raise RuntimeError("the server did not start within 60 s")
        ready = time.monotonic() - t0
        health = None
        if enabled:
            if not wait_ok(f"{base}/mlops/api/health", t0 + 60):
                raise RuntimeError("/mlops/api/health did not answer within 60 s")
            health = time.monotonic() - t0
        return ready, health
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def loaded_modules() -> list[str]:
    """Heavy modules present after importing jupyter_mlops and loading its extension points."""
    code = ("import sys, jupyter_mlops; jupyter_mlops._jupyter_server_extension_points(); "
            "import jupyter_mlops.app; "
            f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    return [m for m in out.split(",") if m]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with_ext: list[float] = []
    without: list[float] = []
    health: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        start_once(True, root)  # warm the file cache and create the store once
        for _ in range(args.runs):
            ready, ok = start_once(True, root)
            with_ext.append(ready)
            health.append(ok or 0.0)
            without.append(start_once(False, root)[0])
    a, b = statistics.median(with_ext), statistics.median(without)
    print(f"server ready, with jupyter_mlops:    median {a:.3f} s over {args.runs} runs")
    print(f"server ready, without (the peer):   median {b:.3f} s over {args.runs} runs")
    print(f"ratio with/without: {a / b:.3f}  (added {1000 * (a - b):+.0f} ms)")
    print(f"/mlops/api/health answering (store open, migrations checked): median {statistics.median(health):.3f} s")
    heavy = loaded_modules()
    print(f"heavy modules imported by the package and extension load: {', '.join(heavy) or 'none'}")


if __name__ == "__main__":
    main()
