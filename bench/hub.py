"""Model download speed: a 200 MB multi-file repo from a Hub-compatible server on
127.0.0.1, through our download job vs a bare `huggingface_hub.snapshot_download` of
the same repo in a fresh Python process (the peer), each with a fresh cache, alternating; prints medians, the
ratio (target <= 1.10) and how often progress reached the store during the transfer
(target >= 2 updates a second).

    python bench/hub.py [--runs 5 --mb 200 --files 8]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from hub_server import FakeHub, payload  # noqa: E402

REPO = "bench-org/big-model"


def ours(hub: FakeHub, root: Path) -> tuple[float, float]:
    """Seconds from submitting the download job to its success, with a worker set up as
    the server's (a thread, a standby runner), and progress updates a second seen in the store."""
    from jupyter_mlops.jobs.worker import Worker
    from jupyter_mlops.services import Services
    from jupyter_mlops.config import Settings

    services = Services(Settings.of(root, models_dir=root / "models"))
    services.hub.endpoint = hub.url
    worker = Worker(services.store, standby=True)
    services.jobs.on_submit = worker.wake
    thread = threading.Thread(target=worker.serve, daemon=True)
    thread.start()
    time.sleep(3)  # the server has been up a while: its standby runner is ready
    seen: list[tuple[float, float]] = []
    t0 = time.perf_counter()
    job = services.hub.start_download({"repo_id": REPO}, "bench")
    deadline = time.monotonic() + 300
    last, final = None, None
    while time.monotonic() < deadline:
        final = services.jobs.get(job["id"])
        if final["state"] not in ("queued", "running"):
            break
        if final["progress"]["done"] != last:
            last = final["progress"]["done"]
            seen.append((time.monotonic(), last))
        time.sleep(0.02)
    elapsed = time.perf_counter() - t0
    worker.stop()
    thread.join(30)
    if final is None or final["state"] != "succeeded":
        raise RuntimeError(f"the download job ended {final and final['state']}: {final and final['error']}")
    moving = [t for t, done in seen if done]
    span = (moving[-1] - moving[0]) if len(moving) > 1 else 0.0
    return elapsed, (len(moving) - 1) / span if span > 0 else 0.0


def bare(hub: FakeHub, root: Path) -> float:
    """Seconds for a bare snapshot_download of the same repo in a fresh Python process,
    as a script or `hf download` runs it (our job runs in its own process too)."""
    code = ("import sys; from huggingface_hub import snapshot_download; "
            "snapshot_download(sys.argv[1], cache_dir=sys.argv[2], endpoint=sys.argv[3])")
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code, REPO, str(root / "models"), hub.url], check=True,
                   capture_output=True, timeout=600)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--mb", type=int, default=200)
    parser.add_argument("--files", type=int, default=8)
    args = parser.parse_args()
    for key in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_ENDPOINT"):
        os.environ.pop(key, None)
    os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
    per_file = args.mb * 1024 * 1024 // args.files
    files = {f"model-{i:05d}-of-{args.files:05d}.safetensors": payload(f"f{i}", per_file) for i in range(args.files)}
    files["config.json"] = b'{"model_type": "bench"}'
    ours_s, bare_s, rates = [], [], []
    with FakeHub() as hub, tempfile.TemporaryDirectory() as tmp:
        hub.add_repo(REPO, files)
        for run in range(args.runs):
            elapsed, rate = ours(hub, Path(tmp) / f"ours-{run}")
            ours_s.append(elapsed)
            rates.append(rate)
            bare_s.append(bare(hub, Path(tmp) / f"bare-{run}"))
    a, b = statistics.median(ours_s), statistics.median(bare_s)
    print(f"download of {args.mb} MB in {args.files + 1} files from 127.0.0.1, fresh cache each run, {args.runs} runs:")
    print(f"  ours (download job) median {a:6.2f} s | bare snapshot_download median {b:6.2f} s | "
          f"ratio {a / b:5.3f} (target <= 1.10)")
    print(f"  progress updates reaching the store during the transfer: median {statistics.median(rates):.1f}/s "
          "(target >= 2/s)")


if __name__ == "__main__":
    main()
