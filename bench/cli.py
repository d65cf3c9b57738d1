"""How long the command line takes to answer, against the peers people use for the same
question, in alternating runs on one machine; prints medians and ratios.

- `jupyter mlops config` (the effective settings and their sources) vs `pip config list`
  and `git config --list --show-origin`;
- `jupyter mlops --help` vs `hf --help` (huggingface_hub's CLI);
- `jupyter mlops models list` (opens the store) vs `hf cache ls` (scans the model cache).

    python bench/cli.py [--runs 15]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent


def timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> float:
    """Seconds `cmd` takes to run to its end (it must succeed)."""
    t0 = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    mlops = [str(BIN / "jupyter-mlops")]
    hf = [str(BIN / "hf")]
    cases = [
        ("settings and their sources", [*mlops, "config"],
         [("pip config list", [sys.executable, "-m", "pip", "config", "list"]),
          ("git config --list --show-origin", [shutil.which("git") or "git", "config", "--list", "--show-origin"])]),
        ("help", [*mlops, "--help"], [("hf --help", [*hf, "--help"])]),
        ("list what is there", [*mlops, "models", "list"], [("hf cache ls", [*hf, "cache", "ls"])]),
    ]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / ".mlops").mkdir()
        (root / "hf" / "hub").mkdir(parents=True)  # an empty cache: hf cache ls refuses a missing one
        env = {**os.environ, "JUPYTER_CONFIG_DIR": str(root / "jupyter-config"), "HF_HOME": str(root / "hf"),
               "HF_HUB_DISABLE_TELEMETRY": "1"}
        timed([*mlops, "models", "list"], root, env)  # migrate the store once
        for title, ours, peers in cases:
            times: dict[str, list[float]] = {"jupyter mlops " + " ".join(ours[1:]): []}
            for name, _ in peers:
                times[name] = []
            for _ in range(args.runs):
                times["jupyter mlops " + " ".join(ours[1:])].append(timed(ours, root, env))
                for name, cmd in peers:
                    times[name].append(timed(cmd, root, env))
            medians = {name: statistics.median(values) for name, values in times.items()}
            mine = next(iter(medians.values()))
            print(f"{title}: medians over {args.runs} alternating runs")
            for name, value in medians.items():
                ratio = "" if value == mine else f"  (jupyter mlops / this: {mine / value:.2f})"
                print(f"  {name:<40} {1000 * value:7.1f} ms{ratio}")


if __name__ == "__main__":
    main()
