"""Model download speed: a 200 MB multi-file repo from a Hub-compatible server on
127.0.0.1, over plain HTTP (LFS files) and over Xet (the same files in the test Hub's Xet
CAS, uploaded through hf_xet), through our download job vs two peers: a bare
`huggingface_hub.snapshot_download` in a fresh Python process (as a script or `hf download`
runs it), and `snapshot_download` called in an already-running Python (imports done, as in
a notebook). Each with a fresh cache, alternating; prints medians, the ratios (target <= 1.10
of the in-process peer) and how often progress reached the store during the transfer
(target >= 2 updates a second).

    python bench/hub.py [--runs 5 --mb 200 --files 8]
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from hub_server import FakeHub, payload  # noqa: E402

REPO = "bench-org/big-model"
XET_REPO = "bench-org/big-model-xet"


def ours(hub: FakeHub, root: Path, repo: str) -> tuple[float, float]:
    """Seconds from submitting the download job to its success as the store records it, with a
    worker set up as the server's (a thread, a standby runner), and progress updates a second
    seen in the store."""
    from jupyter_mlops.jobs.worker import Worker
    from jupyter_mlops.services import Services
    from jupyter_mlops.config import Settings

    services = Services(Settings.of(root, models_dir=str(root / "models"), hf_endpoint=hub.url, download_disk_margin=0))
    worker = Worker(services.store, standby=True, place=services.jobs.place)
    services.jobs.on_submit = worker.wake
    thread = threading.Thread(target=worker.serve, daemon=True)
    thread.start()
    time.sleep(3)  # the server has been up a while: its standby runner is ready
    seen: list[tuple[float, float]] = []
    submitted = datetime.now(timezone.utc)
    job = services.hub.start_download({"repo_id": repo}, "bench")
    deadline = time.monotonic() + 300
    last, final = None, None
    while time.monotonic() < deadline:
        final = services.jobs.get(job["id"])
        if final["state"] not in ("queued", "running"):
            break
        if final["progress"]["done"] != last:
            last = final["progress"]["done"]
            seen.append((time.monotonic(), last))
        # Sampled at 20 Hz (progress is written 4 times a second): polling faster would take the
        # GIL from the test Hub serving in this process. The time is the job's own record.
        time.sleep(0.05)
    worker.stop()
    thread.join(30)
    if final is None or final["state"] != "succeeded":
        raise RuntimeError(f"the download job ended {final and final['state']}: {final and final['error']}")
    elapsed = (datetime.fromisoformat(final["finished_at"]) - submitted).total_seconds()
    moving = [t for t, done in seen if done]
    span = (moving[-1] - moving[0]) if len(moving) > 1 else 0.0
    return elapsed, (len(moving) - 1) / span if span > 0 else 0.0


def bare(hub: FakeHub, root: Path, repo: str) -> float:
    """Seconds for a bare snapshot_download of the same repo in a fresh Python process,
    as a script or `hf download` runs it (our job runs in its own process too)."""
    code = ("import sys; from huggingface_hub import snapshot_download; "
            "snapshot_download(sys.argv[1], cache_dir=sys.argv[2], endpoint=sys.argv[3])")
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code, repo, str(root / "models"), hub.url], check=True,
                   capture_output=True, timeout=600)
    return time.perf_counter() - t0


def in_process(hub: FakeHub, root: Path, repo: str) -> float:
    """Seconds for snapshot_download of the same repo in this already-running Python."""
    from huggingface_hub import snapshot_download

    t0 = time.perf_counter()
    snapshot_download(repo, cache_dir=str(root / "models"), endpoint=hub.url)
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
    os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"  # the peers draw no bars (our job draws none either)
    per_file = args.mb * 1024 * 1024 // args.files
    files = {f"model-{i:05d}-of-{args.files:05d}.safetensors": payload(f"f{i}", per_file) for i in range(args.files)}
    files["config.json"] = b'{"model_type": "bench"}'
    times: dict[str, list[float]] = {}
    rates: dict[str, list[float]] = {"http": [], "xet": []}
    with FakeHub() as hub, tempfile.TemporaryDirectory() as tmp:
        os.environ["HF_HOME"] = str(Path(tmp) / "hf-home")  # hf_xet's caches, here and in the jobs
        os.environ["HF_XET_CACHE"] = str(Path(tmp) / "xet-cache")
        hub.add_repo(REPO, files)
        hub.add_repo(XET_REPO, files, xet={name for name in files if name.endswith(".safetensors")})
        in_process(hub, Path(tmp) / "warm", REPO)  # imports and first connections done: a running Python
        shutil.rmtree(Path(tmp) / "warm")
        for run in range(args.runs):
            for kind, repo in (("http", REPO), ("xet", XET_REPO)):
                elapsed, rate = ours(hub, Path(tmp) / f"ours-{kind}-{run}", repo)
                times.setdefault(f"ours {kind}", []).append(elapsed)
                rates[kind].append(rate)
                times.setdefault(f"bare {kind}", []).append(bare(hub, Path(tmp) / f"bare-{kind}-{run}", repo))
                times.setdefault(f"in-process {kind}", []).append(
                    in_process(hub, Path(tmp) / f"inproc-{kind}-{run}", repo))
                for folder in Path(tmp).glob(f"*-{kind}-{run}"):
                    shutil.rmtree(folder, ignore_errors=True)
        # progress, on a transfer slowed to 50 MB/s so it lasts a few seconds (the runs above are too quick to see it)
        hub.throttle = 50 * 1024 * 1024
        for kind, repo in (("http", REPO), ("xet", XET_REPO)):
            rates[kind] = [ours(hub, Path(tmp) / f"progress-{kind}", repo)[1]]
        hub.throttle = None
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"download of {args.mb} MB in {args.files + 1} files from 127.0.0.1, fresh cache each run, {args.runs} runs:")
    for kind in ("http", "xet"):
        a, b, c = med[f"ours {kind}"], med[f"in-process {kind}"], med[f"bare {kind}"]
        print(f"  {kind:4s} ours (download job) {a:6.2f} s | snapshot_download in a running Python {b:6.2f} s "
              f"(ratio {a / b:5.3f}, target <= 1.10) | in a fresh process {c:6.2f} s (ratio {a / c:5.3f}) | "
              f"progress at 50 MB/s {statistics.median(rates[kind]):.1f} updates/s (target >= 2)")


if __name__ == "__main__":
    main()
